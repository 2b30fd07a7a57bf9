/* Detection metrics (src/det_eval.h): IoU, per-class NMS, all-point AP / mAP, COCO's 101-point AP@[.5:.95], the
 * figures at a confidence threshold, and k-means anchors; hand-computed cases (worked out in the comments), bad
 * inputs, and random cases against plain O(n * m) references written here. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "det_eval.h"
#include "test_util.h"

static abc_box mkbox(float x0, float y0, float x1, float y1) { return (abc_box){x0, y0, x1, y1}; }
static abc_det mkdet(int image, int cls, float score, abc_box b) { return (abc_det){image, cls, score, b}; }
static abc_gt mkgt(int image, int cls, abc_box b) { return (abc_gt){image, cls, b}; }

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define EXPECT_NEAR(got, want, tol) \
    ck_assert_msg(fabs((double)(got) - (double)(want)) <= (tol), "%s = %.9f, expected %.9f", #got, (double)(got), \
                  (double)(want))

/* ---- IoU ---- */

START_TEST(iou_hand_cases)
{
    /* disjoint */
    ck_assert_float_eq(abc_box_iou(mkbox(0, 0, 1, 1), mkbox(2, 2, 3, 3)), 0.0f);
    /* contained: inter 5*5 = 25, union 100 */
    EXPECT_NEAR(abc_box_iou(mkbox(0, 0, 10, 10), mkbox(2, 2, 7, 7)), 0.25, 1e-7);
    EXPECT_NEAR(abc_box_iou(mkbox(2, 2, 7, 7), mkbox(0, 0, 10, 10)), 0.25, 1e-7);
    /* identical: exactly 1 */
    ck_assert_float_eq(abc_box_iou(mkbox(0.1f, 0.2f, 0.7f, 0.9f), mkbox(0.1f, 0.2f, 0.7f, 0.9f)), 1.0f);
    /* partial: [0,2]x[0,2] and [1,3]x[0,2]: inter 2, union 6 */
    EXPECT_NEAR(abc_box_iou(mkbox(0, 0, 2, 2), mkbox(1, 0, 3, 2)), 1.0 / 3, 1e-7);
    /* exactly 1/2 as a float: [0,2]x[0,1] and [0,1]x[0,1] */
    ck_assert_float_eq(abc_box_iou(mkbox(0, 0, 2, 1), mkbox(0, 0, 1, 1)), 0.5f);
    /* touching along an edge, and at a corner */
    ck_assert_float_eq(abc_box_iou(mkbox(0, 0, 1, 1), mkbox(1, 0, 2, 1)), 0.0f);
    ck_assert_float_eq(abc_box_iou(mkbox(0, 0, 1, 1), mkbox(1, 1, 2, 2)), 0.0f);
    /* degenerate: zero width, zero height, inverted, a point, NaN and infinite coordinates */
    abc_box ref = mkbox(0, 0, 10, 10);
    abc_box bad[] = {mkbox(2, 2, 2, 8),          mkbox(2, 2, 8, 2),        mkbox(8, 2, 2, 8),
                     mkbox(5, 5, 5, 5),          mkbox(NAN, 0, 5, 5),      mkbox(0, 0, NAN, 5),
                     mkbox(-INFINITY, 0, 5, 5),  mkbox(0, -INFINITY, INFINITY, INFINITY),
                     mkbox(INFINITY, 0, -INFINITY, 5)};
    for (int i = 0; i < N_OF(bad); ++i) {
        float a = abc_box_iou(ref, bad[i]), b = abc_box_iou(bad[i], ref), c = abc_box_iou(bad[i], bad[i]);
        ck_assert_msg(a == 0 && b == 0 && c == 0, "degenerate box %d: IoU %g %g %g, expected 0", i, a, b, c);
    }
}
END_TEST

/* The definition in double: symmetric, in [0, 1], equal to inter / union. */
START_TEST(iou_random_against_definition)
{
    unsigned seed = 11;
    int bad = -1;
    double worst = 0;
    for (int i = 0; i < 20000 && bad < 0; ++i) {
        abc_box a, b;
        float *pa = &a.x0, *pb = &b.x0;
        for (int j = 0; j < 4; ++j) pa[j] = abc_test_urand(&seed, 0, 10), pb[j] = abc_test_urand(&seed, 0, 10);
        double aw = a.x1 - a.x0, ah = a.y1 - a.y0, bw = b.x1 - b.x0, bh = b.y1 - b.y0;
        double iw = fmin(a.x1, b.x1) - fmax(a.x0, b.x0), ih = fmin(a.y1, b.y1) - fmax(a.y0, b.y0);
        double want = 0;
        if (aw > 0 && ah > 0 && bw > 0 && bh > 0 && iw > 0 && ih > 0) want = iw * ih / (aw * ah + bw * bh - iw * ih);
        float got = abc_box_iou(a, b);
        if (got != abc_box_iou(b, a) || !(got >= 0 && got <= 1) || fabs(got - want) > 1e-6) bad = i;
        worst = fmax(worst, fabs(got - want));
    }
    ck_assert_msg(bad < 0, "case %d: IoU off its definition (worst %g)", bad, worst);
}
END_TEST

/* ---- NMS ---- */

START_TEST(nms_suppresses_within_image_and_class_only)
{
    /* A [0,10]^2 .9; B = A shifted by 1: IoU 90/110 = .818 > .45, same image and class: dropped; C far: kept */
    abc_det d[] = {mkdet(0, 0, 0.8f, mkbox(1, 0, 11, 10)), mkdet(0, 0, 0.7f, mkbox(20, 20, 30, 30)),
                   mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10))};
    ck_assert_int_eq(abc_nms(d, 3, 0.45f), 2);
    ck_assert_float_eq(d[0].score, 0.9f); /* kept, by score */
    ck_assert_float_eq(d[1].score, 0.7f);
    ck_assert_float_eq(d[1].box.x0, 20.0f);
    /* the same pair in another class, or in another image: both kept */
    abc_det e[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10)), mkdet(0, 1, 0.8f, mkbox(1, 0, 11, 10)),
                   mkdet(1, 0, 0.7f, mkbox(1, 0, 11, 10)), mkdet(5, 1, 0.95f, mkbox(1, 0, 11, 10))};
    ck_assert_int_eq(abc_nms(e, 4, 0.45f), 4);
    /* output ordered by score over all images and classes: .95 (image 5), .9, .8, .7 */
    ck_assert_int_eq(e[0].image, 5);
    ck_assert_int_eq(e[1].image, 0);
    ck_assert_int_eq(e[1].cls, 0);
    ck_assert_int_eq(e[2].cls, 1);
    ck_assert_int_eq(e[3].image, 1);
    /* empty and NULL */
    ck_assert_int_eq(abc_nms(e, 0, 0.45f), 0);
    ck_assert_int_eq(abc_nms(NULL, 3, 0.45f), 0);
}
END_TEST

START_TEST(nms_greedy_ties_and_threshold_equality)
{
    /* chain: A [0,10]; B [3,13]: IoU(A,B) = 70/130 = .54 > .5, dropped; C [6,16]: IoU(A,C) = 40/160 = .25 and
     * IoU(B,C) = .54, but B was dropped and suppresses nothing: C kept */
    abc_det c[] = {mkdet(0, 2, 0.9f, mkbox(0, 0, 10, 10)), mkdet(0, 2, 0.8f, mkbox(3, 0, 13, 10)),
                   mkdet(0, 2, 0.7f, mkbox(6, 0, 16, 10))};
    ck_assert_int_eq(abc_nms(c, 3, 0.5f), 2);
    ck_assert_float_eq(c[0].box.x0, 0.0f);
    ck_assert_float_eq(c[1].box.x0, 6.0f);
    /* equal scores: the first in input order is kept (P [0,10]x[0,9.5], IoU with Q = .95) */
    abc_det t[] = {mkdet(3, 0, 0.5f, mkbox(0, 0, 10, 9.5f)), mkdet(3, 0, 0.5f, mkbox(0, 0, 10, 10))};
    ck_assert_int_eq(abc_nms(t, 2, 0.5f), 1);
    ck_assert_float_eq(t[0].box.y1, 9.5f);
    abc_det u[] = {mkdet(3, 0, 0.5f, mkbox(0, 0, 10, 10)), mkdet(3, 0, 0.5f, mkbox(0, 0, 10, 9.5f))};
    ck_assert_int_eq(abc_nms(u, 2, 0.5f), 1);
    ck_assert_float_eq(u[0].box.y1, 10.0f);
    /* IoU exactly .5 ([0,2]x[0,1] and [0,1]x[0,1]) is not above a .5 threshold: kept; just below .5: dropped */
    abc_det e[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 2, 1)), mkdet(0, 0, 0.8f, mkbox(0, 0, 1, 1))};
    ck_assert_int_eq(abc_nms(e, 2, 0.5f), 2);
    ck_assert_int_eq(abc_nms(e, 2, nextafterf(0.5f, 0)), 1);
    ck_assert_float_eq(e[0].box.x1, 2.0f);
    /* a NaN score ranks last and does not suppress the real box it overlaps */
    abc_det n[] = {mkdet(0, 0, NAN, mkbox(0, 0, 10, 10)), mkdet(0, 0, 0.1f, mkbox(0, 0, 10, 10))};
    ck_assert_int_eq(abc_nms(n, 2, 0.5f), 1);
    ck_assert_float_eq(n[0].score, 0.1f);
}
END_TEST

static int ref_rank_before(const abc_det *d, int i, int j) /* does i rank before j (score desc, NaN last, index) */
{
    int in = isnan(d[i].score), jn = isnan(d[j].score);
    if (in != jn) return jn;
    if (!in && d[i].score != d[j].score) return d[i].score > d[j].score;
    return i < j;
}

/* All of d in rank order (insertion sort: plain and O(n^2)). */
static void ref_rank(const abc_det *d, int n, int *order)
{
    for (int i = 0; i < n; ++i) {
        int j = i;
        while (j > 0 && ref_rank_before(d, i, order[j - 1])) order[j] = order[j - 1], --j;
        order[j] = i;
    }
}

/* Plain greedy NMS: each box in rank order against every kept box. */
static int ref_nms(const abc_det *d, int n, float t, abc_det *out)
{
    int *order = malloc(sizeof(int) * (size_t)(n + 1)), k = 0;
    ref_rank(d, n, order);
    for (int a = 0; a < n; ++a) {
        const abc_det *x = &d[order[a]];
        int keep = 1;
        for (int b = 0; b < k && keep; ++b)
            if (out[b].image == x->image && out[b].cls == x->cls && abc_box_iou(out[b].box, x->box) > t) keep = 0;
        if (keep) out[k++] = *x;
    }
    free(order);
    return k;
}

START_TEST(nms_random_against_reference)
{
    unsigned seed = 100 + (unsigned)_i;
    int n = 40 + _i * 97, images = 1 + _i % 4, classes = 1 + _i % 3;
    abc_det *d = calloc((size_t)n, sizeof *d), *want = calloc((size_t)n, sizeof *want);
    for (int i = 0; i < n; ++i) {
        float x = abc_test_urand(&seed, 0, 60), y = abc_test_urand(&seed, 0, 60);
        float w = abc_test_urand(&seed, 2, 30), h = abc_test_urand(&seed, 2, 30);
        float s = (float)(rand_r(&seed) % 16) / 16; /* many ties */
        if (rand_r(&seed) % 50 == 0) s = NAN;
        d[i] = mkdet(rand_r(&seed) % images, rand_r(&seed) % classes, s, mkbox(x, y, x + w, y + h));
    }
    float t = 0.3f + 0.1f * (float)(_i % 4);
    int nk = ref_nms(d, n, t, want), got = abc_nms(d, n, t);
    ck_assert_int_eq(got, nk);
    ck_assert_msg(nk < n && nk > 0, "case %d: %d of %d kept: nothing exercised", _i, nk, n);
    int bad = -1;
    for (int i = 0; i < nk && bad < 0; ++i)
        if (memcmp(&d[i], &want[i], sizeof *d)) bad = i;
    ck_assert_msg(bad < 0, "case %d: kept detection %d differs from the reference", _i, bad);
    free(d);
    free(want);
}
END_TEST

/* ---- mAP: hand-computed cases ---- */

static abc_map_result eval(const abc_det *d, int nd, const abc_gt *g, int ng, int classes, float iou, float conf)
{
    abc_map_result r;
    ck_assert_int_eq(abc_map_compute(d, nd, g, ng, classes, iou, conf, &r), 0);
    ck_assert_int_eq(r.classes, classes);
    ck_assert_ptr_nonnull(r.per_class);
    return r;
}

START_TEST(map_perfect_detector)
{
    /* every ground truth found exactly, nothing else: AP 1 at every threshold, P = R = F1 = avg IoU = 1 */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10)), mkgt(1, 0, mkbox(5, 5, 9, 20)), mkgt(1, 1, mkbox(30, 30, 40, 45))};
    abc_det d[] = {mkdet(1, 1, 0.6f, mkbox(30, 30, 40, 45)), mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10)),
                   mkdet(1, 0, 0.8f, mkbox(5, 5, 9, 20))};
    abc_map_result r = eval(d, 3, g, 3, 2, 0.5f, 0.25f);
    EXPECT_NEAR(r.map, 1, 1e-12);
    EXPECT_NEAR(r.map_coco, 1, 1e-12);
    EXPECT_NEAR(r.map_coco_at[9], 1, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap, 1, 1e-12);
    EXPECT_NEAR(r.per_class[1].ap_coco, 1, 1e-12);
    ck_assert_int_eq(r.classes_in_map, 2);
    ck_assert_int_eq(r.tp, 3);
    ck_assert_int_eq(r.fp, 0);
    ck_assert_int_eq(r.fn, 0);
    EXPECT_NEAR(r.precision, 1, 1e-12);
    EXPECT_NEAR(r.recall, 1, 1e-12);
    EXPECT_NEAR(r.f1, 1, 1e-12);
    EXPECT_NEAR(r.avg_iou, 1, 1e-12);
    ck_assert_int_eq(r.per_class[0].gt, 2);
    ck_assert_int_eq(r.per_class[0].dets, 2);
    ck_assert_int_eq(r.dets, 3);
    ck_assert_int_eq(r.gt, 3);
    abc_map_free(&r);
    ck_assert_ptr_null(r.per_class);
    abc_map_free(&r); /* twice is safe */
}
END_TEST

START_TEST(map_false_positive_ranked_above_true_positive)
{
    /* one GT; ranks: FP (.9, elsewhere), TP (.8, exact). precision 0, 1/2; recall 0, 1.
     * all-point: the one recall step (0 -> 1) at interpolated precision max(1/2) = 1/2: AP = .5.
     * 101-point: every recall 0..1 first reached at rank 2 or earlier, interpolated precision 1/2 there (and
     * at rank 1 the right-max is 1/2): AP = .5 at every IoU threshold (IoU 1). */
    abc_gt g[] = {mkgt(7, 0, mkbox(0, 0, 10, 10))};
    abc_det d[] = {mkdet(7, 0, 0.8f, mkbox(0, 0, 10, 10)), mkdet(7, 0, 0.9f, mkbox(50, 50, 60, 60))};
    abc_map_result r = eval(d, 2, g, 1, 1, 0.5f, 0.5f);
    EXPECT_NEAR(r.per_class[0].ap, 0.5, 1e-12);
    EXPECT_NEAR(r.map, 0.5, 1e-12);
    EXPECT_NEAR(r.map_coco, 0.5, 1e-12);
    ck_assert_int_eq(r.tp, 1);
    ck_assert_int_eq(r.fp, 1);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_duplicate_is_a_false_positive)
{
    /* one GT [0,10]^2. D1 (.9) [0,10]x[0,6]: IoU .6; D2 (.8) exact: IoU 1.
     * At .5: D1 takes the GT (TP), D2 is a duplicate (FP): precision 1, 1/2, AP = 1 * 1 = 1.
     * COCO: at .50 .55 .60 the same (IoU .6 >= .6: the float .6 on both sides), AP 1; at .65 .. .95 D1 misses,
     * D2 matches: ranks FP, TP as in the case above, AP .5. ap_coco = (3 * 1 + 7 * .5) / 10 = .65.
     * At conf 0: TP 1 (IoU .6), FP 1, FN 0: P .5, R 1, F1 2/3, avg IoU .6. */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10))};
    abc_det d[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 6)), mkdet(0, 0, 0.8f, mkbox(0, 0, 10, 10))};
    abc_map_result r = eval(d, 2, g, 1, 1, 0.5f, 0);
    EXPECT_NEAR(r.per_class[0].ap, 1, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap_coco, 0.65, 1e-12);
    EXPECT_NEAR(r.map_coco_at[2], 1, 1e-12);
    EXPECT_NEAR(r.map_coco_at[3], 0.5, 1e-12);
    ck_assert_int_eq(r.tp, 1);
    ck_assert_int_eq(r.fp, 1);
    ck_assert_int_eq(r.fn, 0);
    EXPECT_NEAR(r.precision, 0.5, 1e-12);
    EXPECT_NEAR(r.recall, 1, 1e-12);
    EXPECT_NEAR(r.f1, 2.0 / 3, 1e-12);
    EXPECT_NEAR(r.avg_iou, 0.6, 1e-7);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_class_without_ground_truth_or_detections)
{
    /* class 0: one GT, found exactly: AP 1. class 1: one GT, no detections: AP 0. class 2: no GT, one
     * detection lying on class 1's box: excluded from the mAP, still a false positive.
     * mAP = (1 + 0) / 2 = .5 over 2 classes; at conf .5: TP 1, FP 1, FN 1: P = R = F1 = .5. */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10)), mkgt(0, 1, mkbox(20, 20, 30, 30))};
    abc_det d[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10)), mkdet(0, 2, 0.9f, mkbox(20, 20, 30, 30))};
    abc_map_result r = eval(d, 2, g, 2, 3, 0.5f, 0.5f);
    ck_assert_int_eq(r.classes_in_map, 2);
    EXPECT_NEAR(r.map, 0.5, 1e-12);
    EXPECT_NEAR(r.map_coco, 0.5, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap, 1, 1e-12);
    EXPECT_NEAR(r.per_class[1].ap, 0, 1e-12);
    ck_assert_int_eq(r.per_class[1].gt, 1);
    ck_assert_int_eq(r.per_class[1].dets, 0);
    ck_assert_int_eq(r.per_class[1].fn, 1);
    ck_assert_int_eq(r.per_class[2].gt, 0);
    ck_assert_int_eq(r.per_class[2].dets, 1);
    ck_assert_int_eq(r.per_class[2].fp, 1);
    ck_assert_int_eq(r.tp, 1);
    ck_assert_int_eq(r.fp, 1);
    ck_assert_int_eq(r.fn, 1);
    EXPECT_NEAR(r.precision, 0.5, 1e-12);
    EXPECT_NEAR(r.recall, 0.5, 1e-12);
    EXPECT_NEAR(r.f1, 0.5, 1e-12);
    abc_map_free(&r);
    /* no ground truth at all: nothing to average, mAP 0 over 0 classes; no detections either: all zero */
    r = eval(d, 2, NULL, 0, 3, 0.5f, 0.5f);
    ck_assert_int_eq(r.classes_in_map, 0);
    EXPECT_NEAR(r.map, 0, 0);
    ck_assert_int_eq(r.fp, 2);
    EXPECT_NEAR(r.recall, 0, 0);
    abc_map_free(&r);
    r = eval(NULL, 0, g, 2, 3, 0.5f, 0.5f);
    EXPECT_NEAR(r.map, 0, 0);
    ck_assert_int_eq(r.fn, 2);
    EXPECT_NEAR(r.precision, 0, 0);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_ties_in_confidence_follow_input_order)
{
    /* one GT; FP and TP with the same score .7. Input order FP, TP: ranks FP, TP: AP .5 (as above);
     * input order TP, FP: precision 1, 1/2 at recall 1, 1: AP 1. */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10))};
    abc_det fp_first[] = {mkdet(0, 0, 0.7f, mkbox(40, 40, 50, 50)), mkdet(0, 0, 0.7f, mkbox(0, 0, 10, 10))};
    abc_det tp_first[] = {fp_first[1], fp_first[0]};
    abc_map_result r = eval(fp_first, 2, g, 1, 1, 0.5f, 0.5f);
    EXPECT_NEAR(r.map, 0.5, 1e-12);
    abc_map_free(&r);
    r = eval(tp_first, 2, g, 1, 1, 0.5f, 0.5f);
    EXPECT_NEAR(r.map, 1, 1e-12);
    abc_map_free(&r);
    /* two tied detections on one GT, IoU .8 ([0,10]x[0,8]) and 1: the first in input order takes it, which the
     * average IoU of the true positives shows (.8 or 1) */
    abc_det p = mkdet(0, 0, 0.7f, mkbox(0, 0, 10, 8)), q = mkdet(0, 0, 0.7f, mkbox(0, 0, 10, 10));
    abc_det pq[] = {p, q}, qp[] = {q, p};
    r = eval(pq, 2, g, 1, 1, 0.5f, 0.5f);
    EXPECT_NEAR(r.avg_iou, 0.8, 1e-7);
    ck_assert_int_eq(r.tp, 1);
    abc_map_free(&r);
    r = eval(qp, 2, g, 1, 1, 0.5f, 0.5f);
    EXPECT_NEAR(r.avg_iou, 1, 1e-12);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_iou_exactly_at_threshold)
{
    /* GT [0,2]x[0,1], detection [0,1]x[0,1]: IoU exactly .5. At iou_thresh .5 a TP (AP 1); just above .5 a FP
     * (AP 0). COCO: a TP at .50 only: ap_coco = (1 + 9 * 0) / 10 = .1. */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 2, 1))};
    abc_det d[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 1, 1))};
    abc_map_result r = eval(d, 1, g, 1, 1, 0.5f, 0.5f);
    EXPECT_NEAR(r.map, 1, 1e-12);
    EXPECT_NEAR(r.map_coco, 0.1, 1e-12);
    ck_assert_int_eq(r.tp, 1);
    EXPECT_NEAR(r.avg_iou, 0.5, 1e-12);
    abc_map_free(&r);
    r = eval(d, 1, g, 1, 1, nextafterf(0.5f, 1), 0.5f);
    EXPECT_NEAR(r.map, 0, 1e-12);
    ck_assert_int_eq(r.tp, 0);
    ck_assert_int_eq(r.fp, 1);
    EXPECT_NEAR(r.avg_iou, 0, 0);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_coco_101_point_and_conf_threshold)
{
    /* one image, one class, two GTs: G1 [0,10]^2, G2 [20,30]x[0,10]. Ranks:
     *   D1 .9  [0,10]x[0,8.125]       IoU with G1 .8125
     *   D2 .8  [50,60]^2              FP everywhere
     *   D3 .7  [20,30]x[0,6.25]       IoU with G2 .625
     * All-point at .5: TP FP TP, precision 1, 1/2, 2/3, recall 1/2, 1/2, 1; interpolated 1, 2/3, 2/3:
     *   AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
     * 101-point, 2 GTs: recall k/100 is reached once tp * 100 >= 2k.
     *   t = .50 .55 .60: TP FP TP; k = 0..50 (51 points) at rank 1: 1; k = 51..100 (50) at rank 3: 2/3;
     *                    AP = (51 + 100/3) / 101 = 253/303
     *   t = .65 .. .80 (4 thresholds; .8125 >= .8): TP FP FP; k = 0..50: 1, the rest never reached: 0;
     *                    AP = 51/101
     *   t = .85 .90 .95: no TP: 0
     *   ap_coco = (3 * 253/303 + 4 * 51/101) / 10 = (253 + 204) / 1010 = 457/1010.
     * At conf .8 (D2's score, included: >=): D1 TP, D2 FP: TP 1, FP 1, FN 1, P = R = F1 = .5, avg IoU .8125.
     * At conf .81: D1 only: P 1, R .5, F1 2/3. At conf 0: TP 2, FP 1, FN 0, P 2/3, R 1, F1 .8,
     * avg IoU (.8125 + .625) / 2 = .71875. */
    abc_gt g[] = {mkgt(4, 0, mkbox(0, 0, 10, 10)), mkgt(4, 0, mkbox(20, 0, 30, 10))};
    abc_det d[] = {mkdet(4, 0, 0.7f, mkbox(20, 0, 30, 6.25f)), mkdet(4, 0, 0.9f, mkbox(0, 0, 10, 8.125f)),
                   mkdet(4, 0, 0.8f, mkbox(50, 50, 60, 60))};
    abc_map_result r = eval(d, 3, g, 2, 1, 0.5f, 0.8f);
    EXPECT_NEAR(r.map, 5.0 / 6, 1e-12);
    EXPECT_NEAR(r.map_coco_at[0], 253.0 / 303, 1e-12);
    EXPECT_NEAR(r.map_coco_at[2], 253.0 / 303, 1e-12);
    EXPECT_NEAR(r.map_coco_at[3], 51.0 / 101, 1e-12);
    EXPECT_NEAR(r.map_coco_at[6], 51.0 / 101, 1e-12);
    EXPECT_NEAR(r.map_coco_at[7], 0, 1e-12);
    EXPECT_NEAR(r.map_coco, 457.0 / 1010, 1e-12);
    EXPECT_NEAR(r.per_class[0].ap_coco, 457.0 / 1010, 1e-12);
    ck_assert_int_eq(r.tp, 1);
    ck_assert_int_eq(r.fp, 1);
    ck_assert_int_eq(r.fn, 1);
    ck_assert_int_eq(r.per_class[0].tp, 1);
    ck_assert_int_eq(r.per_class[0].fp, 1);
    ck_assert_int_eq(r.per_class[0].fn, 1);
    EXPECT_NEAR(r.precision, 0.5, 1e-12);
    EXPECT_NEAR(r.recall, 0.5, 1e-12);
    EXPECT_NEAR(r.f1, 0.5, 1e-12);
    EXPECT_NEAR(r.avg_iou, 0.8125, 1e-12);
    abc_map_free(&r);
    r = eval(d, 3, g, 2, 1, 0.5f, 0.81f);
    ck_assert_int_eq(r.tp, 1);
    ck_assert_int_eq(r.fp, 0);
    EXPECT_NEAR(r.precision, 1, 1e-12);
    EXPECT_NEAR(r.f1, 2.0 / 3, 1e-12);
    EXPECT_NEAR(r.map, 5.0 / 6, 1e-12); /* the AP does not depend on conf_thresh */
    abc_map_free(&r);
    r = eval(d, 3, g, 2, 1, 0.5f, 0);
    ck_assert_int_eq(r.tp, 2);
    ck_assert_int_eq(r.fp, 1);
    ck_assert_int_eq(r.fn, 0);
    EXPECT_NEAR(r.precision, 2.0 / 3, 1e-12);
    EXPECT_NEAR(r.recall, 1, 1e-12);
    EXPECT_NEAR(r.f1, 0.8, 1e-12);
    EXPECT_NEAR(r.avg_iou, 0.71875, 1e-12);
    abc_map_free(&r);
    /* at iou_thresh .75 D3 misses: TP FP FP, AP = 1/2 * 1 = .5 */
    r = eval(d, 3, g, 2, 1, 0.75f, 0);
    EXPECT_NEAR(r.map, 0.5, 1e-12);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_matches_the_best_free_ground_truth)
{
    /* G1 [0,10]^2 and G2 [2,12]x[0,10] overlap (IoU 80/120). D1 (.9) = G1 exactly takes G1. D2 (.8)
     * [.5,10.5]x[0,10]: IoU with G1 95/105 = .905 (taken), with G2 85/115 = .739: matched with G2, a TP (the VOC
     * devkit would call it a duplicate of G1). AP 1. */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10)), mkgt(0, 0, mkbox(2, 0, 12, 10))};
    abc_det d[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10)), mkdet(0, 0, 0.8f, mkbox(0.5f, 0, 10.5f, 10))};
    abc_map_result r = eval(d, 2, g, 2, 1, 0.5f, 0);
    EXPECT_NEAR(r.map, 1, 1e-12);
    ck_assert_int_eq(r.tp, 2);
    abc_map_free(&r);
    /* equal IoUs: the first in gts. T (.9) [1,11]x[0,10] has IoU 90/110 with both; D3 (.8) = G2 exactly has IoU
     * 1 with G2 and 80/120 < .7 with G1. At .7: if T took the first GT (G1), D3 takes G2: TP 2; with the GTs given
     * the other way round T takes G2 and D3 finds nothing: TP 1. */
    abc_det t[] = {mkdet(0, 0, 0.9f, mkbox(1, 0, 11, 10)), mkdet(0, 0, 0.8f, mkbox(2, 0, 12, 10))};
    r = eval(t, 2, g, 2, 1, 0.7f, 0);
    ck_assert_int_eq(r.tp, 2);
    abc_map_free(&r);
    abc_gt swapped[] = {g[1], g[0]};
    r = eval(t, 2, swapped, 2, 1, 0.7f, 0);
    ck_assert_int_eq(r.tp, 1);
    abc_map_free(&r);
}
END_TEST

START_TEST(map_bad_inputs)
{
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10)), mkgt(0, 1, mkbox(0, 0, 10, 10))};
    abc_det d[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10)), mkdet(0, 1, 0.5f, mkbox(0, 0, 10, 10))};
    abc_map_result r;
    struct {
        int cls_det, cls_gt;
        float score, coord;
        int classes, nd, ng, null_d, null_g;
        float iou, conf;
    } cases[] = {
        {-1, 1, .5f, 0, 2, 2, 2, 0, 0, .5f, .5f},       {2, 1, .5f, 0, 2, 2, 2, 0, 0, .5f, .5f},
        {1, -1, .5f, 0, 2, 2, 2, 0, 0, .5f, .5f},       {1, 2, .5f, 0, 2, 2, 2, 0, 0, .5f, .5f},
        {1, 1, NAN, 0, 2, 2, 2, 0, 0, .5f, .5f},        {1, 1, .5f, NAN, 2, 2, 2, 0, 0, .5f, .5f},
        {1, 1, .5f, INFINITY, 2, 2, 2, 0, 0, .5f, .5f}, {1, 1, .5f, 0, 0, 2, 2, 0, 0, .5f, .5f},
        {1, 1, .5f, 0, 2, -1, 2, 0, 0, .5f, .5f},       {1, 1, .5f, 0, 2, 2, -1, 0, 0, .5f, .5f},
        {1, 1, .5f, 0, 2, 2, 2, 1, 0, .5f, .5f},        {1, 1, .5f, 0, 2, 2, 2, 0, 1, .5f, .5f},
        {1, 1, .5f, 0, 2, 2, 2, 0, 0, 0, .5f},          {1, 1, .5f, 0, 2, 2, 2, 0, 0, 1.01f, .5f},
        {1, 1, .5f, 0, 2, 2, 2, 0, 0, NAN, .5f},        {1, 1, .5f, 0, 2, 2, 2, 0, 0, .5f, NAN},
    };
    for (int i = 0; i < N_OF(cases); ++i) {
        d[1].cls = cases[i].cls_det;
        g[1].cls = cases[i].cls_gt;
        d[1].score = cases[i].score;
        d[1].box.x0 = i == 6 ? cases[i].coord : 0;
        g[1].box.y1 = i == 5 ? cases[i].coord : 10;
        memset(&r, 0xa5, sizeof r);
        int ret = abc_map_compute(cases[i].null_d ? NULL : d, cases[i].nd, cases[i].null_g ? NULL : g, cases[i].ng,
                                  cases[i].classes, cases[i].iou, cases[i].conf, &r);
        ck_assert_msg(ret == -1, "bad case %d accepted", i);
        ck_assert_msg(r.per_class == NULL && r.classes == 0 && r.map == 0, "bad case %d: result not zeroed", i);
        abc_map_free(&r);
    }
    /* the same arrays made good again are accepted: the cases above fail for their one bad value */
    d[1].cls = 1, g[1].cls = 1, d[1].score = 0.5f, d[1].box.x0 = 0, g[1].box.y1 = 10;
    ck_assert_int_eq(abc_map_compute(d, 2, g, 2, 2, 1.0f, -INFINITY, &r), 0);
    EXPECT_NEAR(r.map, 1, 1e-12);
    abc_map_free(&r);
    ck_assert_int_eq(abc_map_compute(d, 2, g, 2, 2, 0.5f, 0.5f, NULL), -1);
}
END_TEST

START_TEST(map_json_and_table)
{
    /* the case of map_class_without_ground_truth_or_detections, names needing escapes */
    abc_gt g[] = {mkgt(0, 0, mkbox(0, 0, 10, 10)), mkgt(0, 1, mkbox(20, 20, 30, 30))};
    abc_det d[] = {mkdet(0, 0, 0.9f, mkbox(0, 0, 10, 10)), mkdet(0, 2, 0.9f, mkbox(20, 20, 30, 30))};
    abc_map_result r = eval(d, 2, g, 2, 3, 0.5f, 0.25f);
    const char *names[] = {"say \"hi\"", "back\\slash", "tab\there"};
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    abc_map_print_json(fp, &r, names);
    fclose(fp);
    const char *want[] = {"{\"classes\": 3, \"iou_thresh\": 0.5, \"conf_thresh\": 0.25, \"dets\": 2, \"gt\": 2, "
                          "\"classes_in_map\": 2, \"map\": 0.500000, \"map_coco\": 0.500000, \"map_coco_at\": [0.500000, ",
                          "\"tp\": 1, \"fp\": 1, \"fn\": 1, \"precision\": 0.500000, \"recall\": 0.500000, \"f1\": 0.500000, "
                          "\"avg_iou\": 1.000000, \"per_class\": [",
                          "{\"id\": 0, \"name\": \"say \\\"hi\\\"\", \"gt\": 1, \"dets\": 1, \"in_map\": true, \"ap\": 1.000000, "
                          "\"ap_coco\": 1.000000, \"tp\": 1, \"fp\": 0, \"fn\": 0}",
                          "\"name\": \"back\\\\slash\", \"gt\": 1, \"dets\": 0, \"in_map\": true, \"ap\": 0.000000",
                          "{\"id\": 2, \"name\": \"tab\\there\", \"gt\": 0, \"dets\": 1, \"in_map\": false, \"ap\": null, "
                          "\"ap_coco\": null, \"tp\": 0, \"fp\": 1, \"fn\": 0}]}\n"};
    for (int i = 0; i < N_OF(want); ++i) ck_assert_msg(strstr(buf, want[i]), "JSON lacks %s:\n%s", want[i], buf);
    ck_assert_int_eq(abc_test_count_lines(buf), 1);
    free(buf);
    fp = open_memstream(&buf, &len);
    abc_map_print_json(fp, &r, NULL);
    fclose(fp);
    ck_assert_msg(strstr(buf, "{\"id\": 1, \"name\": null, "), "JSON without names:\n%s", buf);
    free(buf);
    fp = open_memstream(&buf, &len);
    abc_map_print(fp, &r, names);
    fclose(fp);
    const char *lines[] = {"class_id = 0, name = say \"hi\", ap = 100.00%", "(TP = 1, FP = 0)",
                           "class_id = 1, name = back\\slash, ap = 0.00%",
                           "class_id = 2, name = tab\there, ap = -- (no ground truth, not in mAP)",
                           "for conf_thresh = 0.25, precision = 0.50, recall = 0.50, F1-score = 0.50",
                           "TP = 1, FP = 1, FN = 1, average IoU = 100.00 %", "IoU threshold = 50 %",
                           "mean average precision (mAP@0.50) = 0.500000, or 50.00 %",
                           "COCO mAP@[.5:.95] (101-point) = 0.500000"};
    for (int i = 0; i < N_OF(lines); ++i) ck_assert_msg(strstr(buf, lines[i]), "table lacks %s:\n%s", lines[i], buf);
    free(buf);
    abc_map_free(&r);
    /* no ground truth: null mAPs */
    r = eval(d, 2, NULL, 0, 3, 0.5f, 0.25f);
    fp = open_memstream(&buf, &len);
    abc_map_print_json(fp, &r, NULL);
    fclose(fp);
    ck_assert_msg(strstr(buf, "\"map\": null, \"map_coco\": null, \"map_coco_at\": [null, "), "%s", buf);
    free(buf);
    abc_map_free(&r);
}
END_TEST

/* ---- mAP: random cases against a plain reference ---- */

typedef struct {
    double ap[64], ap_coco[64], map, map_coco;
    int tp, fp, fn, in_map;
    double avg_iou;
} ref_result;

/* Plain evaluation: per class, detections in rank order, each compared with EVERY ground-truth box (O(n * m)). */
static void ref_match(const abc_det *d, const int *order, int n, const abc_gt *g, int ng, int c, float t,
                      unsigned char *taken, unsigned char *tp, float *iou)
{
    memset(taken, 0, (size_t)ng + 1);
    for (int a = 0; a < n; ++a) {
        const abc_det *x = &d[order[a]];
        int best = -1;
        float bi = 0;
        for (int j = 0; j < ng; ++j) {
            if (g[j].cls != c || g[j].image != x->image || taken[j]) continue;
            float v = abc_box_iou(x->box, g[j].box);
            if (v >= t && (best < 0 || v > bi)) best = j, bi = v;
        }
        tp[a] = best >= 0;
        iou[a] = bi;
        if (best >= 0) taken[best] = 1;
    }
}

static void ref_map(const abc_det *dets, int nd, const abc_gt *g, int ng, int classes, float iou_t, float conf,
                    ref_result *out)
{
    memset(out, 0, sizeof *out);
    abc_det *d = malloc(sizeof *d * (size_t)(nd + 1));
    int *idx = malloc(sizeof(int) * (size_t)(nd + 1)), *order = malloc(sizeof(int) * (size_t)(nd + 1));
    unsigned char *taken = malloc((size_t)ng + 1), *tp = malloc((size_t)nd + 1);
    float *iou = malloc(sizeof(float) * (size_t)(nd + 1));
    double *mrec = malloc(sizeof(double) * (size_t)(nd + 2)), *mpre = malloc(sizeof(double) * (size_t)(nd + 2));
    double iou_sum = 0;
    for (int c = 0; c < classes; ++c) {
        int n = 0, G = 0;
        for (int i = 0; i < nd; ++i)
            if (dets[i].cls == c) d[n] = dets[i], idx[n++] = i;
        for (int j = 0; j < ng; ++j) G += g[j].cls == c;
        ref_rank(d, n, order); /* ranks among the class's detections, kept in input order: same ties */
        ref_match(d, order, n, g, ng, c, iou_t, taken, tp, iou);
        int ctp = 0;
        for (int a = 0; a < n; ++a)
            if (d[order[a]].score >= conf) {
                if (tp[a]) out->tp++, ctp++, iou_sum += iou[a];
                else out->fp++;
            }
        out->fn += G - ctp;
        if (!G) continue;
        /* VOC2010 all-point: mrec = 0, recalls, 1; mpre = 0, precisions, 0; right max; sum of steps */
        int cum = 0;
        mrec[0] = 0, mpre[0] = 0;
        for (int a = 0; a < n; ++a) {
            cum += tp[a];
            mrec[a + 1] = (double)cum / G;
            mpre[a + 1] = (double)cum / (a + 1);
        }
        mrec[n + 1] = 1, mpre[n + 1] = 0;
        for (int a = n; a >= 0; --a) mpre[a] = fmax(mpre[a], mpre[a + 1]);
        double ap = 0;
        for (int a = 0; a <= n; ++a)
            if (mrec[a + 1] != mrec[a]) ap += (mrec[a + 1] - mrec[a]) * mpre[a + 1];
        out->ap[c] = ap;
        /* COCO: at each threshold, for each k the best precision over the ranks with tp * 100 >= k * G */
        double coco = 0;
        for (int t = 0; t < 10; ++t) {
            ref_match(d, order, n, g, ng, c, (float)((50 + 5 * t) / 100.0), taken, tp, iou);
            double s = 0;
            for (int k = 0; k <= 100; ++k) {
                double q = 0;
                cum = 0;
                for (int a = 0; a < n; ++a) {
                    cum += tp[a];
                    if (cum * 100 >= k * G) q = fmax(q, (double)cum / (a + 1));
                }
                s += q;
            }
            coco += s / 101;
        }
        out->ap_coco[c] = coco / 10;
        out->in_map++;
        out->map += out->ap[c];
        out->map_coco += out->ap_coco[c];
    }
    if (out->in_map) out->map /= out->in_map, out->map_coco /= out->in_map;
    out->avg_iou = out->tp ? iou_sum / out->tp : 0;
    free(d), free(idx), free(order), free(taken), free(tp), free(iou), free(mrec), free(mpre);
}

/* A random data set: per image 0..max_gt boxes (some overlapping each other), detections jittered around them
 * (some of another class, some duplicates), random false positives; the last class never has ground truth.
 * distinct: scores all different (else quantized: many ties). */
static void random_set(unsigned *seed, int images, int classes, int max_gt, int distinct, abc_det **pd, int *pnd,
                       abc_gt **pg, int *png)
{
    int capg = images * max_gt + 1, capd = capg * 3 + images * 3 + 1, nd = 0, ng = 0;
    abc_gt *g = malloc(sizeof *g * (size_t)capg);
    abc_det *d = malloc(sizeof *d * (size_t)capd);
    for (int im = 0; im < images; ++im) {
        int m = rand_r(seed) % (max_gt + 1);
        for (int j = 0; j < m; ++j) {
            float x = abc_test_urand(seed, 0, 80), y = abc_test_urand(seed, 0, 80);
            float w = abc_test_urand(seed, 4, 30), h = abc_test_urand(seed, 4, 30);
            int cls = classes > 1 ? rand_r(seed) % (classes - 1) : 0;
            g[ng++] = mkgt(im * 3, cls, mkbox(x, y, x + w, y + h)); /* image ids need not be contiguous */
            int copies = rand_r(seed) % 10 < 8 ? 1 + (rand_r(seed) % 4 == 0) : 0;
            for (int k = 0; k < copies; ++k) {
                float jx = w * abc_test_urand(seed, -0.3f, 0.3f), jy = h * abc_test_urand(seed, -0.3f, 0.3f);
                float jw = w * abc_test_urand(seed, 0.7f, 1.3f), jh = h * abc_test_urand(seed, 0.7f, 1.3f);
                int dc = rand_r(seed) % 10 == 0 ? rand_r(seed) % classes : cls;
                d[nd++] = mkdet(im * 3, dc, 0, mkbox(x + jx, y + jy, x + jx + jw, y + jy + jh));
            }
        }
        for (int k = rand_r(seed) % 4; k > 0; --k) {
            float x = abc_test_urand(seed, 0, 80), y = abc_test_urand(seed, 0, 80);
            float w = abc_test_urand(seed, 4, 30), h = abc_test_urand(seed, 4, 30);
            d[nd++] = mkdet(im * 3 + (k == 3), rand_r(seed) % classes, 0, mkbox(x, y, x + w, y + h));
        }
    }
    for (int i = 0; i < nd; ++i) /* scores: a permutation of distinct values, or 20 levels */
        d[i].score = distinct ? 0 : (float)(rand_r(seed) % 20) / 20;
    if (distinct) {
        int *perm = malloc(sizeof(int) * (size_t)(nd + 1));
        for (int i = 0; i < nd; ++i) perm[i] = i;
        for (int i = nd - 1; i > 0; --i) {
            int j = rand_r(seed) % (i + 1), t = perm[i];
            perm[i] = perm[j], perm[j] = t;
        }
        for (int i = 0; i < nd; ++i) d[i].score = (float)(perm[i] + 1) / (float)(nd + 1);
        free(perm);
    }
    *pd = d, *pnd = nd, *pg = g, *png = ng;
}

START_TEST(map_random_against_reference)
{
    unsigned seed = 1000 + (unsigned)_i;
    int images = 1 + _i * 12, classes = 1 + _i % 5, max_gt = 1 + _i % 7;
    abc_det *d;
    abc_gt *g;
    int nd, ng;
    random_set(&seed, images, classes, max_gt, _i % 3 == 0, &d, &nd, &g, &ng);
    float iou_t = _i % 2 ? 0.5f : 0.3f + 0.05f * (float)(_i % 9), conf = 0.05f * (float)(_i % 15);
    ref_result want;
    ref_map(d, nd, g, ng, classes, iou_t, conf, &want);
    abc_map_result r = eval(d, nd, g, ng, classes, iou_t, conf);
    char where[128];
    snprintf(where, sizeof where, "case %d (%d dets, %d GT, %d classes, IoU %.2f, conf %.2f)", _i, nd, ng, classes,
             iou_t, conf);
    ck_assert_msg(r.tp == want.tp && r.fp == want.fp && r.fn == want.fn, "%s: TP/FP/FN %d %d %d, reference %d %d %d",
                  where, r.tp, r.fp, r.fn, want.tp, want.fp, want.fn);
    ck_assert_msg(r.classes_in_map == want.in_map, "%s: %d classes in mAP, reference %d", where, r.classes_in_map,
                  want.in_map);
    int bad = -1;
    for (int c = 0; c < classes && bad < 0; ++c)
        if (fabs(r.per_class[c].ap - want.ap[c]) > 1e-9 || fabs(r.per_class[c].ap_coco - want.ap_coco[c]) > 1e-9)
            bad = c;
    ck_assert_msg(bad < 0, "%s: class %d AP %.12f / %.12f, reference %.12f / %.12f", where, bad,
                  bad < 0 ? 0 : r.per_class[bad].ap, bad < 0 ? 0 : r.per_class[bad].ap_coco, bad < 0 ? 0 : want.ap[bad],
                  bad < 0 ? 0 : want.ap_coco[bad]);
    ck_assert_msg(fabs(r.map - want.map) < 1e-9 && fabs(r.map_coco - want.map_coco) < 1e-9,
                  "%s: mAP %.12f %.12f, reference %.12f %.12f", where, r.map, r.map_coco, want.map, want.map_coco);
    ck_assert_msg(fabs(r.avg_iou - want.avg_iou) < 1e-9, "%s: avg IoU %.9f, reference %.9f", where, r.avg_iou,
                  want.avg_iou);
    /* not a trivial case: some true and some false positives */
    if (_i > 2) ck_assert_msg(want.tp > 0 && want.fp > 0 && want.map > 0 && want.map < 1, "%s: trivial", where);
    abc_map_free(&r);
    free(d);
    free(g);
}
END_TEST

/* 100k detections and ~20k ground-truth boxes: completes (grouped by image and class), and the figures hold
 * together: counts add up, and with distinct scores a permutation of the input changes nothing. */
START_TEST(map_scale_100k)
{
    unsigned seed = 77;
    abc_det *d;
    abc_gt *g;
    int nd, ng;
    random_set(&seed, 4000, 21, 9, 1, &d, &nd, &g, &ng);
    ck_assert_int_ge(ng, 15000);
    ck_assert_int_lt(nd, 100000);
    /* pad to 100k with false positives spread over the images */
    abc_det *all = realloc(d, sizeof *all * 100000);
    for (int i = nd; i < 100000; ++i) {
        float x = abc_test_urand(&seed, 0, 80), y = abc_test_urand(&seed, 0, 80);
        all[i] = mkdet(3 * (rand_r(&seed) % 4000), rand_r(&seed) % 21, 0, mkbox(x, y, x + 10, y + 10));
    }
    for (int i = 0; i < 100000; ++i) all[i].score = (float)((i * 7919L) % 100000 + 1) / 100001.0f; /* distinct */
    nd = 100000;
    abc_map_result r = eval(all, nd, g, ng, 21, 0.5f, 0.3f);
    int above = 0, sum_d = 0, sum_g = 0, sum_tp = 0;
    for (int i = 0; i < nd; ++i) above += all[i].score >= 0.3f;
    for (int c = 0; c < 21; ++c) sum_d += r.per_class[c].dets, sum_g += r.per_class[c].gt, sum_tp += r.per_class[c].tp;
    ck_assert_int_eq(r.tp + r.fp, above);
    ck_assert_int_eq(r.tp + r.fn, ng);
    ck_assert_int_eq(sum_d, nd);
    ck_assert_int_eq(sum_g, ng);
    ck_assert_int_eq(sum_tp, r.tp);
    ck_assert_int_eq(r.classes_in_map, 20);
    ck_assert_int_eq(r.per_class[20].gt, 0);
    ck_assert_msg(r.map > 0.01 && r.map < 0.95 && r.map_coco > 0 && r.map_coco < r.map, "mAP %f, COCO %f", r.map,
                  r.map_coco);
    /* reversed input: the same figures, to the last bit */
    abc_det *rd = malloc(sizeof *rd * (size_t)nd);
    abc_gt *rg = malloc(sizeof *rg * (size_t)ng);
    for (int i = 0; i < nd; ++i) rd[i] = all[nd - 1 - i];
    for (int i = 0; i < ng; ++i) rg[i] = g[ng - 1 - i];
    abc_map_result s = eval(rd, nd, rg, ng, 21, 0.5f, 0.3f);
    ck_assert(s.map == r.map && s.map_coco == r.map_coco && s.tp == r.tp && s.fp == r.fp && s.avg_iou == r.avg_iou);
    int bad = -1;
    for (int c = 0; c < 21 && bad < 0; ++c)
        if (memcmp(&s.per_class[c], &r.per_class[c], sizeof s.per_class[c])) bad = c;
    ck_assert_msg(bad < 0, "class %d differs when the input is reversed", bad);
    abc_map_free(&s);
    abc_map_free(&r);
    free(rd);
    free(rg);
    free(all);
    free(g);
}
END_TEST

/* ---- k-means anchors ---- */

static double ref_wh_iou(double w1, double h1, double w2, double h2)
{
    double inter = fmin(w1, w2) * fmin(h1, h2);
    return inter / (w1 * h1 + w2 * h2 - inter);
}

static double ref_mean_best_iou(const float *wh, int n, const float *a, int k)
{
    double s = 0;
    for (int i = 0; i < n; ++i) {
        double b = 0;
        for (int c = 0; c < k; ++c) b = fmax(b, ref_wh_iou(wh[2 * i], wh[2 * i + 1], a[2 * c], a[2 * c + 1]));
        s += b;
    }
    return s / n;
}

START_TEST(kmeans_recovers_separated_clusters)
{
    /* three clusters of four boxes each, (w +- 1, h +- 1) around (200,100), (20,20), (60,120): means exactly
     * the centres; sorted by area: (20,20) 400, (60,120) 7200, (200,100) 20000 */
    const float centre[3][2] = {{200, 100}, {20, 20}, {60, 120}}, want[6] = {20, 20, 60, 120, 200, 100};
    float wh[24];
    for (int c = 0, i = 0; c < 3; ++c)
        for (int s = 0; s < 4; ++s, ++i) wh[2 * i] = centre[c][0] + (s & 1 ? 1 : -1), wh[2 * i + 1] = centre[c][1] + (s & 2 ? 1 : -1);
    for (uint64_t seed = 1; seed <= 200; ++seed) {
        float a[6];
        float m = abc_kmeans_anchors(wh, 12, 3, seed, a);
        ck_assert_msg(!memcmp(a, want, sizeof a), "seed %d: anchors %g,%g %g,%g %g,%g", (int)seed, a[0], a[1], a[2],
                      a[3], a[4], a[5]);
        EXPECT_NEAR(m, ref_mean_best_iou(wh, 12, want, 3), 1e-6);
        ck_assert(m > 0.85f && m < 1);
    }
    /* k = n distinct boxes: each its own anchor, mean IoU exactly 1 */
    float a[24];
    ck_assert_float_eq(abc_kmeans_anchors(wh, 12, 12, 5, a), 1.0f);
    for (int c = 0; c < 12; ++c) {
        int found = 0;
        for (int i = 0; i < 12; ++i) found += a[2 * c] == wh[2 * i] && a[2 * c + 1] == wh[2 * i + 1];
        ck_assert_int_eq(found, 1);
        if (c) ck_assert(a[2 * c - 2] * a[2 * c - 1] <= a[2 * c] * a[2 * c + 1]);
    }
    /* every box the same, k = 3: no crash, three equal anchors, IoU 1 */
    float same[8] = {7, 9, 7, 9, 7, 9, 7, 9};
    ck_assert_float_eq(abc_kmeans_anchors(same, 4, 3, 1, a), 1.0f);
    ck_assert(a[0] == 7 && a[1] == 9 && a[4] == 7 && a[5] == 9);
}
END_TEST

START_TEST(kmeans_deterministic_and_converged)
{
    unsigned s = 3;
    int n = 800, k = 9;
    float *wh = malloc(sizeof(float) * 2 * (size_t)n);
    for (int i = 0; i < n; ++i) { /* log-uniform sizes, varied aspect */
        float base = expf(abc_test_urand(&s, logf(8), logf(400)));
        wh[2 * i] = base * abc_test_urand(&s, 0.5f, 2), wh[2 * i + 1] = base * abc_test_urand(&s, 0.5f, 2);
    }
    float a[18], b[18], c[18];
    srand(1);
    float ma = abc_kmeans_anchors(wh, n, k, 42, a);
    srand(999);
    (void)rand();
    float mb = abc_kmeans_anchors(wh, n, k, 42, b);
    ck_assert(ma == mb && !memcmp(a, b, sizeof a)); /* the seed alone decides, not rand() */
    float mc = abc_kmeans_anchors(wh, n, k, 43, c);
    ck_assert(ma > 0 && ma <= 1 && mc > 0 && mc <= 1);
    EXPECT_NEAR(ma, ref_mean_best_iou(wh, n, a, k), 1e-6);
    for (int j = 1; j < k; ++j) ck_assert(a[2 * j - 2] * a[2 * j - 1] <= a[2 * j] * a[2 * j + 1]);
    /* converged: each anchor is the mean of the boxes nearest to it (a fixed point of the iteration), and
     * better than the worst case of one anchor per box region: above the mean IoU of a single anchor */
    double sum[18] = {0};
    int cnt[9] = {0};
    for (int i = 0; i < n; ++i) {
        int best = 0;
        double bi = -1;
        for (int j = 0; j < k; ++j) {
            double v = ref_wh_iou(wh[2 * i], wh[2 * i + 1], a[2 * j], a[2 * j + 1]);
            if (v > bi) bi = v, best = j;
        }
        sum[2 * best] += wh[2 * i], sum[2 * best + 1] += wh[2 * i + 1], cnt[best]++;
    }
    for (int j = 0; j < k; ++j) {
        ck_assert_msg(cnt[j] > 0, "anchor %d has no box", j);
        ck_assert_msg(fabs(sum[2 * j] / cnt[j] - a[2 * j]) < 1e-3 * a[2 * j] &&
                          fabs(sum[2 * j + 1] / cnt[j] - a[2 * j + 1]) < 1e-3 * a[2 * j + 1],
                      "anchor %d (%g, %g) is not the mean (%g, %g) of its boxes", j, a[2 * j], a[2 * j + 1],
                      sum[2 * j] / cnt[j], sum[2 * j + 1] / cnt[j]);
    }
    float one[2];
    ck_assert(ma > abc_kmeans_anchors(wh, n, 1, 42, one));
    free(wh);
}
END_TEST

START_TEST(kmeans_bad_arguments)
{
    float wh[6] = {10, 10, 20, 20, 30, 30}, a[8] = {-5, -5, -5, -5, -5, -5, -5, -5};
    ck_assert_float_eq(abc_kmeans_anchors(NULL, 3, 2, 1, a), -1.0f);
    ck_assert_float_eq(abc_kmeans_anchors(wh, 3, 2, 1, NULL), -1.0f);
    ck_assert_float_eq(abc_kmeans_anchors(wh, 0, 1, 1, a), -1.0f);
    ck_assert_float_eq(abc_kmeans_anchors(wh, 3, 0, 1, a), -1.0f);
    ck_assert_float_eq(abc_kmeans_anchors(wh, 3, 4, 1, a), -1.0f);
    const float bad[] = {0, -1, NAN, INFINITY};
    for (int i = 0; i < 4; ++i) {
        wh[3] = bad[i];
        ck_assert_msg(abc_kmeans_anchors(wh, 3, 2, 1, a) == -1.0f, "h = %g accepted", bad[i]);
    }
    ck_assert(a[0] == -5 && a[3] == -5); /* untouched */
    wh[3] = 20;
    ck_assert(abc_kmeans_anchors(wh, 3, 3, 1, a) == 1.0f);
}
END_TEST

static Suite *suite_det_eval(void)
{
    Suite *s = suite_create("det_eval");
    TCase *tc = tcase_create("det_eval");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, iou_hand_cases);
    tcase_add_test(tc, iou_random_against_definition);
    tcase_add_test(tc, nms_suppresses_within_image_and_class_only);
    tcase_add_test(tc, nms_greedy_ties_and_threshold_equality);
    tcase_add_loop_test(tc, nms_random_against_reference, 0, 12);
    tcase_add_test(tc, map_perfect_detector);
    tcase_add_test(tc, map_false_positive_ranked_above_true_positive);
    tcase_add_test(tc, map_duplicate_is_a_false_positive);
    tcase_add_test(tc, map_class_without_ground_truth_or_detections);
    tcase_add_test(tc, map_ties_in_confidence_follow_input_order);
    tcase_add_test(tc, map_iou_exactly_at_threshold);
    tcase_add_test(tc, map_coco_101_point_and_conf_threshold);
    tcase_add_test(tc, map_matches_the_best_free_ground_truth);
    tcase_add_test(tc, map_bad_inputs);
    tcase_add_test(tc, map_json_and_table);
    tcase_add_loop_test(tc, map_random_against_reference, 0, 24);
    tcase_add_test(tc, map_scale_100k);
    tcase_add_test(tc, kmeans_recovers_separated_clusters);
    tcase_add_test(tc, kmeans_deterministic_and_converged);
    tcase_add_test(tc, kmeans_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_det_eval)
