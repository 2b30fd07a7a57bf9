#include "wquant.h"

#include <math.h>
#include <string.h>

const abc_wquant *const abc_wquants[] = {&abc_wquant_smooth, &abc_wquant_md_tanh, &abc_wquant_md_tanh_s,
                                         &abc_wquant_gd_tanh, NULL};

const abc_wquant *abc_wquant_find(const char *name)
{
    for (int i = 0; abc_wquants[i]; ++i)
        if (!strcmp(abc_wquants[i]->name, name)) return abc_wquants[i];
    return NULL;
}

const char *abc_wquant_names(void)
{
    static char buf[256];
    if (!buf[0]) {
        for (int i = 0; abc_wquants[i]; ++i) strcat(strcat(buf, i ? "|" : ""), abc_wquants[i]->name);
    }
    return buf;
}

float abc_wquant_beta(float beta0, float growth, int every, size_t it)
{
    double b = beta0 * pow(growth, (double)(it / (size_t)(every > 0 ? every : 1)));
    return b > 1e30 ? 1e30f : (float)b;
}

void abc_wquant_tanh(const float *w, int len, float beta, float *wq)
{
    for (int i = 0; i < len; ++i) wq[i] = tanhf(beta * w[i]);
}

void abc_wquant_straight(const float *w, const float *wq, int len, float beta, float *g)
{
    (void)w, (void)wq, (void)len, (void)beta, (void)g;
}
