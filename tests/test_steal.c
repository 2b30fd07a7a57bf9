/* Ranges with stealing (kernels/steal.h): every unit handed out exactly
 * once, a thread's own range first and in order, from one thread and from
 * the pool's threads at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/threads.h"
#include "kernels/pool.h"
#include "kernels/steal.h"
#include "test_util.h"

static _Alignas(64) uint64_t ranges[ABC_STEAL_WORDS(8)];

START_TEST(one_thread_takes_its_range_then_steals_from_the_back)
{
    int n = 23, parts = 3, lo, hi;
    abc_steal_init(ranges, parts, n);
    abc_split_range(n, parts, 1, &lo, &hi);
    ck_assert_int_eq(abc_steal_owner(parts, n, lo), 1);
    ck_assert_int_eq(abc_steal_owner(parts, n, hi - 1), 1);
    ck_assert_int_eq(abc_steal_owner(parts, n, hi), 2);
    int seen[23] = {0}, last[3] = {n, n, n}, u, k = 0;
    while (abc_steal_next(ranges, parts, 4, &u)) { /* thread 4 owns range 4 % 3 = 1 */
        ck_assert_int_ge(u, 0);
        ck_assert_int_lt(u, n);
        ck_assert_int_eq(seen[u]++, 0);
        if (k < hi - lo) ck_assert_int_eq(u, lo + k); /* its own range first, front to back */
        else {
            int o = abc_steal_owner(parts, n, u);
            ck_assert_int_ne(o, 1);
            ck_assert_int_lt(u, last[o]); /* another range is taken from its back */
            last[o] = u;
        }
        ++k;
    }
    ck_assert_int_eq(k, n);
    ck_assert_int_eq(abc_steal_next(ranges, parts, 0, &u), 0);
    abc_steal_init(ranges, 1, 0);
    ck_assert_int_eq(abc_steal_next(ranges, 1, 0, &u), 0);
}
END_TEST

enum { NUNITS = 20000 };
static int counts[NUNITS];

static void take_all(void *ctx, int task, int thread)
{
    (void)task;
    int u, parts = *(int *)ctx;
    while (abc_steal_next(ranges, parts, thread, &u)) __atomic_add_fetch(&counts[u], 1, __ATOMIC_RELAXED);
}

START_TEST(pool_threads_share_the_units_exactly_once)
{
    for (int threads = 1; threads <= 3; ++threads) {
        abc_set_threads(threads);
        for (int rep = 0; rep < 20; ++rep) {
            int parts = 1 + (rep % 4), n = rep % 5 == 0 ? rep : NUNITS - rep;
            memset(counts, 0, sizeof counts);
            abc_steal_init(ranges, parts, n);
            abc_pool_run(threads, take_all, &parts);
            int bad = -1; /* one check per run: each ck_assert marks a point through a pipe */
            for (int u = 0; u < NUNITS && bad < 0; ++u)
                if (counts[u] != (u < n)) bad = u;
            ck_assert_msg(bad < 0, "%d threads, %d ranges, %d units: unit %d taken %d times", threads, parts, n, bad,
                          bad < 0 ? 0 : counts[bad]);
        }
    }
    abc_set_threads(0);
}
END_TEST

static Suite *suite_steal(void)
{
    Suite *s = suite_create("steal");
    TCase *tc = tcase_create("steal");
    tcase_add_test(tc, one_thread_takes_its_range_then_steals_from_the_back);
    tcase_add_test(tc, pool_threads_share_the_units_exactly_once);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_steal)
