#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "abc_util.h"

#define ABC_POOL_MAX 256

typedef void (*abc_pool_fn)(void *ctx, int task, int thread);

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_mutex_t run_mu; /* one job at a time */
    int started;            /* workers created so far (thread ids 1..started) */
    int active;             /* workers taking part in the current job */
    unsigned long gen;      /* bumped for each job */
    int busy;               /* workers still on the current job */
    abc_pool_fn fn;
    void *ctx;
    int ntasks;
    int next; /* next task to hand out (atomic) */
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .run_mu = PTHREAD_MUTEX_INITIALIZER};

/* Spin iterations (pause instructions, ~30-100 us) a worker waits for the next
 * job, and the caller for the workers, before sleeping on a condition variable:
 * on a virtual machine a wake-up costs tens of microseconds, as much as a whole
 * small binary layer. */
#define ABC_POOL_SPIN 3000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_ia32_pause();
#endif
}

static _Thread_local int self_id;     /* 0 for callers, 1.. for workers */
static _Thread_local int in_task;

int abc_pool_threads(void)
{
    int n = abc_get_threads();
    return n > ABC_POOL_MAX ? ABC_POOL_MAX : n;
}

int abc_pool_self(void) { return in_task ? self_id : 0; }

static void drain(abc_pool_fn fn, void *ctx, int ntasks, int id)
{
    in_task = 1;
    for (;;) {
        int t = __atomic_fetch_add(&pool.next, 1, __ATOMIC_RELAXED);
        if (t >= ntasks) break;
        fn(ctx, t, id);
    }
    in_task = 0;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    self_id = id;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        if (pool.gen == seen) { /* spin a little before sleeping: the next job often follows at once */
            pthread_mutex_unlock(&pool.mu);
            for (int s = 0; s < ABC_POOL_SPIN && __atomic_load_n(&pool.gen, __ATOMIC_ACQUIRE) == seen; ++s) cpu_relax();
            pthread_mutex_lock(&pool.mu);
        }
        while (pool.gen == seen || id > pool.active) {
            seen = pool.gen;
            pthread_cond_wait(&pool.wake, &pool.mu);
        }
        seen = pool.gen;
        abc_pool_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int ntasks = pool.ntasks;
        pthread_mutex_unlock(&pool.mu);
        drain(fn, ctx, ntasks, id);
        pthread_mutex_lock(&pool.mu);
        if (__atomic_sub_fetch(&pool.busy, 1, __ATOMIC_RELEASE) == 0) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

static void run_serial(int ntasks, abc_pool_fn fn, void *ctx, int id)
{
    int was = in_task;
    in_task = 1;
    for (int t = 0; t < ntasks; ++t) fn(ctx, t, id);
    in_task = was;
}

void abc_pool_run(int ntasks, void (*fn)(void *ctx, int task, int thread), void *ctx)
{
    if (ntasks <= 0) return;
    int nthreads = abc_pool_threads();
    if (in_task) { run_serial(ntasks, fn, ctx, self_id); return; }
    pthread_mutex_lock(&pool.run_mu); /* thread ids (scratch) belong to one job */
    if (nthreads <= 1 || ntasks == 1) {
        run_serial(ntasks, fn, ctx, 0);
        pthread_mutex_unlock(&pool.run_mu);
        return;
    }
    int helpers = (ntasks < nthreads ? ntasks : nthreads) - 1;
    pthread_mutex_lock(&pool.mu);
    while (pool.started < helpers) {
        pthread_t th;
        long id = pool.started + 1;
        if (pthread_create(&th, NULL, worker, (void *)id) != 0) break;
        pthread_detach(th);
        pool.started++;
    }
    if (helpers > pool.started) helpers = pool.started;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.ntasks = ntasks;
    __atomic_store_n(&pool.next, 0, __ATOMIC_RELAXED);
    pool.active = helpers;
    pool.busy = helpers;
    __atomic_add_fetch(&pool.gen, 1, __ATOMIC_RELEASE); /* spinning workers read it without the lock */
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);

    drain(fn, ctx, ntasks, 0);

    for (int s = 0; s < ABC_POOL_SPIN && __atomic_load_n(&pool.busy, __ATOMIC_ACQUIRE) > 0; ++s) cpu_relax();
    pthread_mutex_lock(&pool.mu);
    while (pool.busy > 0) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&pool.run_mu);
}

void abc_split_range(int n, int parts, int part, int *lo, int *hi)
{
    long q = n / parts, r = n % parts;
    *lo = (int)(part * q + (part < r ? part : r));
    *hi = (int)(*lo + q + (part < r ? 1 : 0));
}
