/* detector calc_anchors: k-means (1 - IoU) over the training labels' box
 * sizes at the network's size, printed ready to paste into [yolo] anchors=. */
#include "detector_cmds.h"

#include <stdio.h>
#include <stdlib.h>

#include "abc/base/util.h"
#include "data_file.h"
#include "det_eval.h"
#include "detector_common.h"

int abc_detector_calc_anchors(const char *datafile, int clusters, int w, int h, unsigned long seed)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs paths = abc_det_list_load(&d, "train", 0, NULL);
    float *wh = NULL;
    int n = 0, cap = 0;
    for (int i = 0; i < paths.n; ++i) {
        char lp[4096];
        abc_det_label_path(paths.v[i], lp, sizeof lp);
        abc_label *l;
        int k = abc_det_read_labels(lp, d.classes, &l);
        for (int j = 0; j < k; ++j) {
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                wh = realloc(wh, (size_t)cap * 2 * sizeof *wh);
                if (!wh) abc_die("out of memory (label boxes)");
            }
            wh[2 * n] = l[j].w * (float)w;
            wh[2 * n + 1] = l[j].h * (float)h;
            ++n;
        }
        free(l);
    }
    if (n < clusters)
        abc_die("calc_anchors: the training labels hold %d boxes, fewer than the %d clusters asked for", n, clusters);
    float *anchors = abc_xmalloc((size_t)clusters * 2 * sizeof *anchors);
    float iou = abc_kmeans_anchors(wh, n, clusters, seed, anchors);
    if (iou < 0) abc_die("calc_anchors: k-means failed on the %d label boxes", n);
    printf("%d boxes of %d images at %dx%d, %d clusters, mean IoU with the best anchor %.2f%%\nanchors = ", n, paths.n,
           w, h, clusters, 100 * iou);
    for (int c = 0; c < clusters; ++c)
        printf("%s%.0f,%.0f", c ? ",  " : "", anchors[2 * c], anchors[2 * c + 1]);
    printf("\n");
    free(anchors);
    free(wh);
    abc_strs_free(&paths);
    abc_data_cfg_free(&d);
    return 0;
}
