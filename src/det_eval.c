/* Detection metrics (det_eval.h): written from the definitions of VOC2010+ all-point AP and COCO's 101-point AP.
 * Ground truth is indexed by (class, image) once, so each detection meets only the boxes of its own image and
 * class; every figure is computed in double. */
#include "det_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#include "abc/base/rng.h"
#include "abc/base/util.h"

float abc_box_iou(abc_box a, abc_box b)
{
    double aw = (double)a.x1 - a.x0, ah = (double)a.y1 - a.y0;
    double bw = (double)b.x1 - b.x0, bh = (double)b.y1 - b.y0;
    if (!(aw > 0 && ah > 0 && bw > 0 && bh > 0)) return 0; /* also NaN */
    double iw = fmin(a.x1, b.x1) - fmax(a.x0, b.x0);
    double ih = fmin(a.y1, b.y1) - fmax(a.y0, b.y0);
    if (!(iw > 0 && ih > 0)) return 0;
    double inter = iw * ih, iou = inter / (aw * ah + bw * bh - inter);
    if (!(iou > 0)) return 0; /* inf / inf */
    return iou >= 1 ? 1.0f : (float)iou;
}

/* ---- ranking: score descending, NaN last, then input order ---- */

typedef struct {
    int image, cls; /* used by abc_nms only */
    float score;
    int idx;
} rank_entry;

static int by_rank(const rank_entry *a, const rank_entry *b)
{
    int an = isnan(a->score), bn = isnan(b->score);
    if (an != bn) return an - bn;
    if (!an && a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_rank(const void *pa, const void *pb) { return by_rank(pa, pb); }

static int cmp_group_rank(const void *pa, const void *pb)
{
    const rank_entry *a = pa, *b = pb;
    if (a->image != b->image) return a->image < b->image ? -1 : 1;
    if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    return by_rank(a, b);
}

int abc_nms(abc_det *d, int n, float iou_thresh)
{
    if (!d || n <= 0) return 0;
    rank_entry *e = abc_xmalloc((size_t)n * sizeof *e);
    for (int i = 0; i < n; ++i) e[i] = (rank_entry){d[i].image, d[i].cls, d[i].score, i};
    qsort(e, (size_t)n, sizeof *e, cmp_group_rank);
    /* within each (image, class) run, greedy: a candidate survives when no kept box overlaps it too much */
    int *kept = abc_xmalloc((size_t)n * sizeof *kept), nk = 0;
    for (int lo = 0; lo < n;) {
        int hi = lo + 1;
        while (hi < n && e[hi].image == e[lo].image && e[hi].cls == e[lo].cls) ++hi;
        int first = nk;
        for (int i = lo; i < hi; ++i) {
            abc_box b = d[e[i].idx].box;
            int keep = 1;
            for (int j = first; j < nk && keep; ++j)
                if (abc_box_iou(d[kept[j]].box, b) > iou_thresh) keep = 0;
            if (keep) kept[nk++] = e[i].idx;
        }
        lo = hi;
    }
    /* the survivors in global rank order, moved to the front of d */
    for (int j = 0; j < nk; ++j) e[j] = (rank_entry){0, 0, d[kept[j]].score, kept[j]};
    qsort(e, (size_t)nk, sizeof *e, cmp_rank);
    abc_det *tmp = abc_xmalloc((size_t)(nk ? nk : 1) * sizeof *tmp);
    for (int j = 0; j < nk; ++j) tmp[j] = d[e[j].idx];
    memcpy(d, tmp, (size_t)nk * sizeof *d);
    free(tmp);
    free(kept);
    free(e);
    return nk;
}

/* ---- mAP ---- */

static int box_finite(abc_box b) { return isfinite(b.x0) && isfinite(b.y0) && isfinite(b.x1) && isfinite(b.y1); }

/* Ground truth indexed by class, then image, then input order. */
typedef struct {
    int image, idx;
} gt_key;

static int cmp_gt_key(const void *pa, const void *pb)
{
    const gt_key *a = pa, *b = pb;
    if (a->image != b->image) return a->image < b->image ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

typedef struct {
    const abc_det *dets;
    const abc_gt *gts;
    int classes;
    int *dstart, *gstart;   /* [classes + 1]: each class's range in dord / gord */
    int *dord;              /* detection indices, by class, then rank */
    gt_key *gord;           /* ground truth, by class, then image */
    int *glo, *ghi;         /* per rank position: the range in gord of the same class and image */
    unsigned char *taken;   /* per gord position */
    unsigned char *tp;      /* per rank position: matched at the current threshold */
    float *iou;             /* per rank position: IoU of the match at the current threshold */
} eval_ctx;

/* Greedy matching of class c at IoU threshold t: tp[] and iou[] over the class's rank positions. */
static void match_class(eval_ctx *x, int c, float t)
{
    memset(x->taken + x->gstart[c], 0, (size_t)(x->gstart[c + 1] - x->gstart[c]));
    for (int p = x->dstart[c]; p < x->dstart[c + 1]; ++p) {
        abc_box b = x->dets[x->dord[p]].box;
        int best = -1;
        float best_iou = -1;
        for (int g = x->glo[p]; g < x->ghi[p]; ++g) {
            if (x->taken[g]) continue;
            float iou = abc_box_iou(b, x->gts[x->gord[g].idx].box);
            if (iou >= t && iou > best_iou) best = g, best_iou = iou;
        }
        x->tp[p] = best >= 0;
        x->iou[p] = best >= 0 ? best_iou : 0;
        if (best >= 0) x->taken[best] = 1;
    }
}

/* Interpolated precision pi[i] = max over ranks j >= i of tp(0..j) / (j + 1), for n ranks of tp flags. */
static void interpolated_precision(const unsigned char *tp, int n, double *pi)
{
    int cum = 0;
    for (int i = 0; i < n; ++i) cum += tp[i];
    double best = 0;
    for (int i = n - 1; i >= 0; --i) {
        double prec = (double)cum / (i + 1);
        if (prec > best) best = prec;
        pi[i] = best;
        cum -= tp[i];
    }
}

/* All-point AP: the recall grows by 1/gt at each true positive, at the interpolated precision there. */
static double ap_all_point(const unsigned char *tp, int n, int gt, double *pi)
{
    interpolated_precision(tp, n, pi);
    double sum = 0;
    for (int i = 0; i < n; ++i)
        if (tp[i]) sum += pi[i];
    return sum / gt;
}

/* 101-point AP: the interpolated precision at the first rank whose recall reaches k/100, k = 0..100. */
static double ap_101(const unsigned char *tp, int n, int gt, double *pi)
{
    interpolated_precision(tp, n, pi);
    double sum = 0;
    long long cum = 0;
    int k = 0;
    for (int i = 0; i < n && k <= 100; ++i) {
        cum += tp[i];
        while (k <= 100 && cum * 100 >= (long long)k * gt) sum += pi[i], ++k;
    }
    return sum / 101;
}

int abc_map_compute(const abc_det *dets, int nd, const abc_gt *gts, int ng, int classes, float iou_thresh,
                    float conf_thresh, abc_map_result *r)
{
    if (!r) return -1;
    memset(r, 0, sizeof *r);
    if (classes < 1 || nd < 0 || ng < 0 || (nd && !dets) || (ng && !gts) || !(iou_thresh > 0 && iou_thresh <= 1) ||
        isnan(conf_thresh))
        return -1;
    for (int i = 0; i < nd; ++i)
        if (dets[i].cls < 0 || dets[i].cls >= classes || isnan(dets[i].score) || !box_finite(dets[i].box)) return -1;
    for (int i = 0; i < ng; ++i)
        if (gts[i].cls < 0 || gts[i].cls >= classes || !box_finite(gts[i].box)) return -1;

    eval_ctx x = {.dets = dets, .gts = gts, .classes = classes};
    x.dstart = abc_xcalloc((size_t)classes + 1, sizeof *x.dstart);
    x.gstart = abc_xcalloc((size_t)classes + 1, sizeof *x.gstart);
    size_t nd1 = (size_t)(nd ? nd : 1), ng1 = (size_t)(ng ? ng : 1);
    x.dord = abc_xmalloc(nd1 * sizeof *x.dord);
    x.gord = abc_xmalloc(ng1 * sizeof *x.gord);
    x.glo = abc_xmalloc(nd1 * sizeof *x.glo);
    x.ghi = abc_xmalloc(nd1 * sizeof *x.ghi);
    x.taken = abc_xmalloc(ng1);
    x.tp = abc_xmalloc(nd1);
    x.iou = abc_xmalloc(nd1 * sizeof *x.iou);
    double *pi = abc_xmalloc(nd1 * sizeof *pi);
    rank_entry *rk = abc_xmalloc(nd1 * sizeof *rk);
    int *fill = abc_xmalloc(((size_t)classes + 1) * sizeof *fill);

    /* counting sort by class, then rank / image order within each class */
    for (int i = 0; i < nd; ++i) x.dstart[dets[i].cls + 1]++;
    for (int i = 0; i < ng; ++i) x.gstart[gts[i].cls + 1]++;
    for (int c = 0; c < classes; ++c) x.dstart[c + 1] += x.dstart[c], x.gstart[c + 1] += x.gstart[c];
    memcpy(fill, x.dstart, ((size_t)classes + 1) * sizeof *fill);
    for (int i = 0; i < nd; ++i) rk[fill[dets[i].cls]++] = (rank_entry){0, 0, dets[i].score, i};
    memcpy(fill, x.gstart, ((size_t)classes + 1) * sizeof *fill);
    for (int i = 0; i < ng; ++i) x.gord[fill[gts[i].cls]++] = (gt_key){gts[i].image, i};
    for (int c = 0; c < classes; ++c) {
        qsort(rk + x.dstart[c], (size_t)(x.dstart[c + 1] - x.dstart[c]), sizeof *rk, cmp_rank);
        qsort(x.gord + x.gstart[c], (size_t)(x.gstart[c + 1] - x.gstart[c]), sizeof *x.gord, cmp_gt_key);
    }
    for (int p = 0; p < nd; ++p) x.dord[p] = rk[p].idx;
    /* each detection's run of ground truth: binary searches in its class's range */
    for (int p = 0; p < nd; ++p) {
        const abc_det *d = &dets[x.dord[p]];
        int lo = x.gstart[d->cls], hi = x.gstart[d->cls + 1];
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (x.gord[mid].image < d->image) lo = mid + 1;
            else hi = mid;
        }
        int end = lo;
        hi = x.gstart[d->cls + 1];
        while (end < hi) {
            int mid = end + (hi - end) / 2;
            if (x.gord[mid].image <= d->image) end = mid + 1;
            else hi = mid;
        }
        x.glo[p] = lo;
        x.ghi[p] = end;
    }

    r->classes = classes;
    r->iou_thresh = iou_thresh;
    r->conf_thresh = conf_thresh;
    r->dets = nd;
    r->gt = ng;
    r->per_class = abc_xcalloc((size_t)classes, sizeof *r->per_class);
    double iou_sum = 0;
    for (int c = 0; c < classes; ++c) {
        abc_class_eval *pc = &r->per_class[c];
        int d0 = x.dstart[c], n = x.dstart[c + 1] - d0;
        pc->gt = x.gstart[c + 1] - x.gstart[c];
        pc->dets = n;
        /* at iou_thresh: all-point AP, and the figures at conf_thresh (a prefix of the ranking) */
        match_class(&x, c, iou_thresh);
        for (int i = 0; i < n && dets[x.dord[d0 + i]].score >= conf_thresh; ++i) {
            if (x.tp[d0 + i]) pc->tp++, iou_sum += x.iou[d0 + i];
            else pc->fp++;
        }
        pc->fn = pc->gt - pc->tp;
        r->tp += pc->tp;
        r->fp += pc->fp;
        r->fn += pc->fn;
        if (!pc->gt) continue;
        pc->ap = ap_all_point(x.tp + d0, n, pc->gt, pi);
        for (int t = 0; t < ABC_COCO_IOUS; ++t) {
            match_class(&x, c, (float)((50 + 5 * t) / 100.0));
            double ap = ap_101(x.tp + d0, n, pc->gt, pi);
            pc->ap_coco += ap;
            r->map_coco_at[t] += ap;
        }
        pc->ap_coco /= ABC_COCO_IOUS;
        r->classes_in_map++;
        r->map += pc->ap;
        r->map_coco += pc->ap_coco;
    }
    if (r->classes_in_map) {
        r->map /= r->classes_in_map;
        r->map_coco /= r->classes_in_map;
        for (int t = 0; t < ABC_COCO_IOUS; ++t) r->map_coco_at[t] /= r->classes_in_map;
    }
    r->precision = r->tp + r->fp ? (double)r->tp / (r->tp + r->fp) : 0;
    r->recall = r->gt ? (double)r->tp / r->gt : 0;
    r->f1 = r->precision + r->recall > 0 ? 2 * r->precision * r->recall / (r->precision + r->recall) : 0;
    r->avg_iou = r->tp ? iou_sum / r->tp : 0;

    free(fill);
    free(rk);
    free(pi);
    free(x.iou);
    free(x.tp);
    free(x.taken);
    free(x.ghi);
    free(x.glo);
    free(x.gord);
    free(x.dord);
    free(x.gstart);
    free(x.dstart);
    return 0;
}

void abc_map_free(abc_map_result *r)
{
    if (!r) return;
    free(r->per_class);
    memset(r, 0, sizeof *r);
}


static void json_num_or_null(FILE *fp, int present, double v)
{
    if (present) fprintf(fp, "%.6f", v);
    else fputs("null", fp);
}

void abc_map_print_json(FILE *fp, const abc_map_result *r, const char *const *names)
{
    int any = r->classes_in_map > 0;
    fprintf(fp, "{\"classes\": %d, \"iou_thresh\": %.6g, \"conf_thresh\": %.6g, \"dets\": %d, \"gt\": %d, "
                "\"classes_in_map\": %d, \"map\": ",
            r->classes, r->iou_thresh, r->conf_thresh, r->dets, r->gt, r->classes_in_map);
    json_num_or_null(fp, any, r->map);
    fputs(", \"map_coco\": ", fp);
    json_num_or_null(fp, any, r->map_coco);
    fputs(", \"map_coco_at\": [", fp);
    for (int t = 0; t < ABC_COCO_IOUS; ++t) {
        fputs(t ? ", " : "", fp);
        json_num_or_null(fp, any, r->map_coco_at[t]);
    }
    fprintf(fp, "], \"tp\": %d, \"fp\": %d, \"fn\": %d, \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, "
                "\"avg_iou\": %.6f, \"per_class\": [",
            r->tp, r->fp, r->fn, r->precision, r->recall, r->f1, r->avg_iou);
    for (int c = 0; c < r->classes; ++c) {
        const abc_class_eval *pc = &r->per_class[c];
        fprintf(fp, "%s{\"id\": %d, \"name\": ", c ? ", " : "", c);
        abc_json_string(fp, names ? names[c] : NULL);
        fprintf(fp, ", \"gt\": %d, \"dets\": %d, \"in_map\": %s, \"ap\": ", pc->gt, pc->dets, pc->gt ? "true" : "false");
        json_num_or_null(fp, pc->gt > 0, pc->ap);
        fputs(", \"ap_coco\": ", fp);
        json_num_or_null(fp, pc->gt > 0, pc->ap_coco);
        fprintf(fp, ", \"tp\": %d, \"fp\": %d, \"fn\": %d}", pc->tp, pc->fp, pc->fn);
    }
    fputs("]}\n", fp);
}

void abc_map_print(FILE *fp, const abc_map_result *r, const char *const *names)
{
    for (int c = 0; c < r->classes; ++c) {
        const abc_class_eval *pc = &r->per_class[c];
        fprintf(fp, "class_id = %d, name = ", c);
        if (names && names[c]) fputs(names[c], fp);
        else fprintf(fp, "%d", c);
        if (pc->gt) fprintf(fp, ", ap = %.2f%%   \t (TP = %d, FP = %d) \n", 100 * pc->ap, pc->tp, pc->fp);
        else fprintf(fp, ", ap = -- (no ground truth, not in mAP) \t (TP = %d, FP = %d) \n", pc->tp, pc->fp);
    }
    fprintf(fp, "\n for conf_thresh = %.2f, precision = %.2f, recall = %.2f, F1-score = %.2f \n", r->conf_thresh,
            r->precision, r->recall, r->f1);
    fprintf(fp, " for conf_thresh = %.2f, TP = %d, FP = %d, FN = %d, average IoU = %.2f %% \n\n", r->conf_thresh, r->tp,
            r->fp, r->fn, 100 * r->avg_iou);
    fprintf(fp, " IoU threshold = %g %%, used Area-Under-Curve for each unique Recall \n", 100 * r->iou_thresh);
    if (!r->classes_in_map) {
        fputs(" mean average precision: no class has ground truth \n", fp);
        return;
    }
    fprintf(fp, " mean average precision (mAP@%.2f) = %f, or %.2f %% \n", r->iou_thresh, r->map, 100 * r->map);
    fprintf(fp, " COCO mAP@[.5:.95] (101-point) = %f, or %.2f %% (AP50 %.2f %%, AP75 %.2f %%), over %d classes \n",
            r->map_coco, 100 * r->map_coco, 100 * r->map_coco_at[0], 100 * r->map_coco_at[5], r->classes_in_map);
}

/* ---- k-means anchors ---- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = abc_mix64(*s);
    *s += 0x9e3779b97f4a7c15ull;
    return z;
}

/* Uniform in [0, 1). */
static double urand01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1.0p-53; }

/* IoU of two boxes aligned at a corner. */
static double wh_iou(double w1, double h1, double w2, double h2)
{
    double inter = fmin(w1, w2) * fmin(h1, h2);
    return inter / (w1 * h1 + w2 * h2 - inter);
}

static int cmp_anchor(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb;
    double aa = a[0] * a[1], ba = b[0] * b[1];
    if (aa != ba) return aa < ba ? -1 : 1;
    return (a[0] > b[0]) - (a[0] < b[0]);
}

float abc_kmeans_anchors(const float *wh, int n, int k, uint64_t seed, float *anchors_wh)
{
    if (!wh || !anchors_wh || n < 1 || k < 1 || k > n) return -1;
    for (int i = 0; i < 2 * n; ++i)
        if (!(isfinite(wh[i]) && wh[i] > 0)) return -1;
    double *cen = abc_xmalloc((size_t)k * 2 * sizeof *cen), *sum = abc_xmalloc((size_t)k * 2 * sizeof *sum);
    double *dist = abc_xmalloc((size_t)n * sizeof *dist);
    int *assign = abc_xmalloc((size_t)n * sizeof *assign), *count = abc_xmalloc((size_t)k * sizeof *count);
    uint64_t rng = seed;

    /* k-means++: dist[i] = squared distance of box i to its nearest chosen centre */
    int first = (int)(urand01(&rng) * n);
    cen[0] = wh[2 * first], cen[1] = wh[2 * first + 1];
    for (int i = 0; i < n; ++i) {
        double d = 1 - wh_iou(wh[2 * i], wh[2 * i + 1], cen[0], cen[1]);
        dist[i] = d * d;
    }
    int trials = 2 + (int)log(k); /* greedy k-means++: the best of a few draws, as scikit-learn does */
    for (int c = 1; c < k; ++c) {
        double total = 0;
        for (int i = 0; i < n; ++i) total += dist[i];
        int pick = -1;
        double pick_pot = 0;
        for (int t = 0; t < trials; ++t) {
            int cand = -1;
            if (total > 0) {
                double u = urand01(&rng) * total, acc = 0;
                for (int i = 0; i < n; ++i)
                    if (dist[i] > 0) {
                        cand = i; /* the last box with a weight, should rounding leave u unreached */
                        acc += dist[i];
                        if (acc > u) break;
                    }
            } else {
                cand = (int)(urand01(&rng) * n); /* every box is already a centre */
            }
            double pot = 0; /* the potential (sum of squared distances) with cand added */
            for (int i = 0; i < n; ++i) {
                double d = 1 - wh_iou(wh[2 * i], wh[2 * i + 1], wh[2 * cand], wh[2 * cand + 1]);
                pot += fmin(dist[i], d * d);
            }
            if (pick < 0 || pot < pick_pot) pick = cand, pick_pot = pot;
        }
        cen[2 * c] = wh[2 * pick], cen[2 * c + 1] = wh[2 * pick + 1];
        for (int i = 0; i < n; ++i) {
            double d = 1 - wh_iou(wh[2 * i], wh[2 * i + 1], cen[2 * c], cen[2 * c + 1]);
            if (d * d < dist[i]) dist[i] = d * d;
        }
    }

    /* Lloyd iterations */
    for (int i = 0; i < n; ++i) assign[i] = -1;
    for (int iter = 0; iter < 1000; ++iter) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            int best = 0;
            double best_iou = -1;
            for (int c = 0; c < k; ++c) {
                double iou = wh_iou(wh[2 * i], wh[2 * i + 1], cen[2 * c], cen[2 * c + 1]);
                if (iou > best_iou) best = c, best_iou = iou;
            }
            dist[i] = 1 - best_iou;
            if (assign[i] != best) assign[i] = best, changed = 1;
        }
        if (!changed) break;
        memset(sum, 0, (size_t)k * 2 * sizeof *sum);
        memset(count, 0, (size_t)k * sizeof *count);
        for (int i = 0; i < n; ++i) {
            sum[2 * assign[i]] += wh[2 * i];
            sum[2 * assign[i] + 1] += wh[2 * i + 1];
            count[assign[i]]++;
        }
        for (int c = 0; c < k; ++c) {
            if (count[c]) {
                cen[2 * c] = sum[2 * c] / count[c], cen[2 * c + 1] = sum[2 * c + 1] / count[c];
                continue;
            }
            int far = -1; /* an empty cluster restarts at the box farthest from its centre, if any is off one */
            for (int i = 0; i < n; ++i)
                if (dist[i] > 0 && (far < 0 || dist[i] > dist[far])) far = i;
            if (far < 0) continue;
            cen[2 * c] = wh[2 * far], cen[2 * c + 1] = wh[2 * far + 1];
            dist[far] = 0; /* another empty cluster takes another box */
        }
    }

    qsort(cen, (size_t)k, 2 * sizeof *cen, cmp_anchor);
    for (int c = 0; c < 2 * k; ++c) cen[c] = (float)cen[c]; /* the mean IoU of the anchors as returned */
    double total = 0;
    for (int i = 0; i < n; ++i) {
        double best = 0;
        for (int c = 0; c < k; ++c) best = fmax(best, wh_iou(wh[2 * i], wh[2 * i + 1], cen[2 * c], cen[2 * c + 1]));
        total += best;
    }
    for (int c = 0; c < 2 * k; ++c) anchors_wh[c] = (float)cen[c];
    free(count);
    free(assign);
    free(dist);
    free(sum);
    free(cen);
    return (float)(total / n);
}
