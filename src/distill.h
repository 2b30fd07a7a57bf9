/* Distillation from a float teacher in classifier training: [net] teacher=<cfg>, teacher_weights=<weights>,
 * distill=<a> (0..1, default 0.5), distill_temperature=<T> (default 4). Each training batch's targets become
 * (1 - a) y + a softmax(z / T), z the teacher's logits on the same images (its inference path, no gradients),
 * so darknet's softmax cross-entropy trains the student on both; at T = 1 that is exactly the gradient of
 * (1 - a) CE(y) + a KL(teacher || student). */
#ifndef ABC_DISTILL_H
#define ABC_DISTILL_H

#include "darknet.h"

typedef struct abc_distill abc_distill;

/* The teacher named in cfg's [net] section, loaded for the student net (its batch, input size and outputs
 * checked), or NULL when the cfg names none. Dies with one line naming the cfg and key on a bad value. */
abc_distill *abc_distill_open(const char *cfg, const network *student);
/* The batch's targets mixed with the teacher's softened outputs, in place (rows of d->X and d->y). */
void abc_distill_targets(abc_distill *t, data *d);
/* The loss to report: the cross-entropy -sum t log p against the mixed targets, averaged over the images of the
 * batch's last forward (the student's output holds those). libdarknet's softmax adds -log p for every class whose
 * target is not 0, which soft targets inflate about tenfold; its gradient, t - p, is the right one. */
float abc_distill_loss(const network *student, const data *d);
/* One line: the teacher, a, T, and the seconds its forwards took so far. */
void abc_distill_report(const abc_distill *t, FILE *out, double train_seconds);
void abc_distill_close(abc_distill *t);

#endif
