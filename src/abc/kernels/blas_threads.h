/* The OpenBLAS thread count, set only when it changes: the fast kernels run
 * single-threaded sgemm inside pool tasks; stock code may want more. */
#ifndef ABC_BLAS_THREADS_H
#define ABC_BLAS_THREADS_H

void abc_blas_threads(int n);

#endif
