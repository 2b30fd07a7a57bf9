/* The number of threads every parallel part of the project uses (the pool,
 * OpenBLAS): -threads N, else ABC_THREADS, else all cores online. */
#ifndef ABC_THREADS_H
#define ABC_THREADS_H

#define ABC_MAX_THREADS 1024

/* n <= 0: all cores. */
void abc_set_threads(int n);
int abc_get_threads(void);
int abc_cpu_count(void);

#endif
