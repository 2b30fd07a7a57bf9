/* im2col / col2im for the float convolution, row-wise (memcpy when the
 * stride is 1) instead of darknet's per-pixel lookups. Layout as darknet's:
 * image c x h x w, columns (c*ks*ks) x (out_h*out_w). */
#ifndef ABC_IM2COL_H
#define ABC_IM2COL_H

/* Columns of output rows [r0, r1) only: col is (channels*ks*ks) x ((r1-r0)*out_w). */
void abc_im2col(const float *im, int channels, int h, int w, int ks, int stride, int pad,
                int out_w, int r0, int r1, float *col);

/* Adds the columns (channels*ks*ks) x (out_h*out_w) back into im (+=). */
void abc_col2im_add(const float *col, int channels, int h, int w, int ks, int stride, int pad,
                    int out_h, int out_w, float *im);

#endif
