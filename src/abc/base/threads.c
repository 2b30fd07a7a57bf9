#include "threads.h"

#include <stdlib.h>
#include <unistd.h>

#include "mode.h"
#include "util.h"

static int abc_threads;

int abc_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void abc_set_threads(int n)
{
    if (n <= 0) n = abc_cpu_count();
    abc_threads = n;
}

int abc_get_threads(void)
{
    if (abc_threads <= 0) {
        const char *e = abc_mode_get(ABC_MODE_THREADS);
        long n = 0;
        if (e) {
            char *end;
            n = strtol(e, &end, 10);
            if (*end || n < 1 || n > ABC_MAX_THREADS)
                abc_die("ABC_THREADS='%s': expected a number from 1 to %d", e, ABC_MAX_THREADS);
        }
        abc_set_threads((int)n);
    }
    return abc_threads;
}
