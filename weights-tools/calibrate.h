/* weights convert -data: the integer layers' input bounds calibrated on training images (calibrate.c). */
#ifndef ABC_CALIBRATE_H
#define ABC_CALIBRATE_H

/* Loads cfg + weights at batch `images`, runs that many images of the data's train list through it (evenly
 * spaced over the list; resized for a classifier, letterboxed for a detector), which sets the bounds of the
 * layers that lack them, and saves the weights again (atomically). Returns how many layers it calibrated (0:
 * none needed it, nothing written). Dies with one line on a bad list or image. */
/* Dies with one line unless the data's train list has the images abc_calibrate_inputs would take, decoding. */
void abc_calibrate_check(const char *datafile, int images);
int abc_calibrate_inputs(const char *datafile, const char *cfg, const char *weights, int images, int detector);

#endif
