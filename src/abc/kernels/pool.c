#include "pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/threads.h"

#define ABC_POOL_MAX 256

typedef void (*abc_pool_fn)(void *ctx, int task, int thread);

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_mutex_t run_mu; /* one job at a time */
    int started;            /* workers created so far (thread ids 1..started) */
    /* the current job: number << 16 | workers taking part (atomic; one word, so a worker reads both at once) */
    unsigned long ticket;
    /* low 32 bits of the job number << 32 | OPEN while workers may still join | workers in it (atomic) */
    uint64_t state;
    int sleepers; /* workers asleep on `wake` (under mu) */
    int waiting;  /* the caller is asleep on `done` (atomic) */
    abc_pool_fn fn;
    void *ctx;
    int ntasks;
    int next; /* next task to hand out (atomic) */
    unsigned long first_seen[ABC_POOL_MAX + 1]; /* a new worker's last job before its first */
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER,
          .run_mu = PTHREAD_MUTEX_INITIALIZER};

/* Spin iterations (pause instructions, ~30-100 us) a worker waits for the next
 * job, and the caller for the workers, before sleeping on a condition variable:
 * on a virtual machine a wake-up costs tens of microseconds, as much as a whole
 * small binary layer. */
#define ABC_POOL_SPIN 3000

#define OPEN (1ull << 31)

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

/* A worker that sees a new job while spinning joins it without the mutex (the
 * ticket's release store publishes the job; fn, ctx and ntasks stay put until
 * every worker that joined has left), so the caller never holds a lock a
 * worker waits for; the mutex and condition variables are only for sleeping.
 * Once the caller has handed out every task it closes the job: a worker that
 * comes later (descheduled on a busy machine) does not join, and the caller
 * waits only for those that did. */
static void *worker(void *arg)
{
    int id = (int)(long)arg;
    self_id = id;
    unsigned long seen = pool.first_seen[id];
    for (;;) {
        unsigned long t = __atomic_load_n(&pool.ticket, __ATOMIC_ACQUIRE);
        for (int s = 0; s < ABC_POOL_SPIN && t >> 16 == seen; ++s) { /* the next job often follows at once */
            cpu_relax();
            t = __atomic_load_n(&pool.ticket, __ATOMIC_ACQUIRE);
        }
        if (t >> 16 == seen) {
            pthread_mutex_lock(&pool.mu);
            pool.sleepers++;
            while ((t = __atomic_load_n(&pool.ticket, __ATOMIC_ACQUIRE)) >> 16 == seen)
                pthread_cond_wait(&pool.wake, &pool.mu);
            pool.sleepers--;
            pthread_mutex_unlock(&pool.mu);
        }
        seen = t >> 16;
        if (id > (int)(t & 0xffff)) continue; /* not taking part in this one */
        uint64_t st = __atomic_load_n(&pool.state, __ATOMIC_ACQUIRE);
        int joined = 0;
        while (!joined && st >> 32 == (uint32_t)seen && (st & OPEN))
            joined = __atomic_compare_exchange_n(&pool.state, &st, st + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
        if (!joined) continue; /* closed: every task was handed out before this worker came */
        drain(pool.fn, pool.ctx, pool.ntasks, id);
        st = __atomic_sub_fetch(&pool.state, 1, __ATOMIC_SEQ_CST);
        if (!(st & OPEN) && (st & (OPEN - 1)) == 0 && __atomic_load_n(&pool.waiting, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&pool.mu); /* the caller went to sleep: wake it */
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
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
    unsigned long job = __atomic_load_n(&pool.ticket, __ATOMIC_RELAXED) >> 16;
    while (pool.started < helpers) {
        pthread_t th;
        long id = pool.started + 1;
        pool.first_seen[id] = job;
        if (pthread_create(&th, NULL, worker, (void *)id) != 0) break;
        pthread_detach(th);
        pool.started++;
    }
    if (helpers > pool.started) helpers = pool.started;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.ntasks = ntasks;
    __atomic_store_n(&pool.next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.state, (uint64_t)(uint32_t)(job + 1) << 32 | OPEN, __ATOMIC_RELAXED);
    __atomic_store_n(&pool.ticket, (job + 1) << 16 | (unsigned long)helpers, __ATOMIC_RELEASE);
    if (pool.sleepers) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);

    drain(fn, ctx, ntasks, 0);

    __atomic_fetch_and(&pool.state, ~OPEN, __ATOMIC_SEQ_CST); /* every task is handed out: no one else joins */
    for (int s = 0; s < ABC_POOL_SPIN && (__atomic_load_n(&pool.state, __ATOMIC_ACQUIRE) & (OPEN - 1)); ++s)
        cpu_relax();
    if (__atomic_load_n(&pool.state, __ATOMIC_ACQUIRE) & (OPEN - 1)) {
        pthread_mutex_lock(&pool.mu);
        __atomic_store_n(&pool.waiting, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&pool.state, __ATOMIC_SEQ_CST) & (OPEN - 1)) pthread_cond_wait(&pool.done, &pool.mu);
        __atomic_store_n(&pool.waiting, 0, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&pool.mu);
    }
    pthread_mutex_unlock(&pool.run_mu);
}

typedef struct {
    void (*fn)(void *ctx, int by_cols, int lo, int hi);
    void *ctx;
    int by_cols, n, unit, units, parts;
} product_job;

static void product_part(void *ctx, int task, int thread)
{
    (void)thread;
    const product_job *j = ctx;
    long lo = (long)j->units * task / j->parts * j->unit, hi = (long)j->units * (task + 1) / j->parts * j->unit;
    if (hi > j->n) hi = j->n;
    if (lo < hi) j->fn(j->ctx, j->by_cols, (int)lo, (int)hi);
}

void abc_pool_split_product(int M, int N, int nrows, int ncols, void (*fn)(void *ctx, int by_cols, int lo, int hi),
                            void *ctx)
{
    int cu = (N + ncols - 1) / ncols, ru = (M + nrows - 1) / nrows, by_cols = cu >= ru;
    product_job j = {fn, ctx, by_cols, by_cols ? N : M, by_cols ? ncols : nrows, by_cols ? cu : ru, 0};
    int most = 4 * abc_pool_threads();
    j.parts = j.units < most ? j.units : most;
    abc_pool_run(j.parts, product_part, &j);
}

void abc_split_range(int n, int parts, int part, int *lo, int *hi)
{
    long q = n / parts, r = n % parts;
    *lo = (int)(part * q + (part < r ? part : r));
    *hi = (int)(*lo + q + (part < r ? 1 : 0));
}
