/* The project's one thread pool: persistent pthreads workers shared by every
 * parallel kernel (float and binary). The calling thread takes part. */
#ifndef ABC_POOL_H
#define ABC_POOL_H

/* Runs fn(ctx, task, thread) for task = 0..ntasks-1 and returns when all are
 * done. thread is in [0, abc_pool_threads()) and no two tasks run at the same
 * time with the same thread, so it can index per-thread scratch. Uses
 * abc_get_threads() threads. Jobs from different threads run one after the
 * other; called from inside a task, it runs the tasks serially on the
 * calling thread with that thread's index. */
void abc_pool_run(int ntasks, void (*fn)(void *ctx, int task, int thread), void *ctx);

/* Threads the next abc_pool_run may use (abc_get_threads()). */
int abc_pool_threads(void);

/* Index of the calling thread inside a running task, else 0. */
int abc_pool_self(void);

/* An M x N product across the pool: split along the columns in units of
 * ncols, or along the rows in units of nrows, whichever gives more units,
 * into at most 4 parts a thread; fn(ctx, by_cols, lo, hi) computes the
 * part's columns (by_cols) or rows [lo, hi). */
void abc_pool_split_product(int M, int N, int nrows, int ncols, void (*fn)(void *ctx, int by_cols, int lo, int hi),
                            void *ctx);

/* Range [lo, hi) of part `part` when n items are split into `parts` near-equal parts. */
void abc_split_range(int n, int parts, int part, int *lo, int *hi);

#endif
