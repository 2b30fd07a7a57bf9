#include "select.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cpu.h"

const abc_kernel_desc *abc_kernel_at(const abc_kernel_family *f, int i)
{
    return (const abc_kernel_desc *)(const void *)((const char *)f->rows + (size_t)i * f->stride);
}

int abc_kernel_usable(const abc_kernel_desc *d) { return abc_cpu_has(d->needs); }

const void *abc_kernel_find(const abc_kernel_family *f, const char *name)
{
    for (int i = 0; i < f->n; ++i)
        if (!strcmp(abc_kernel_at(f, i)->name, name)) return abc_kernel_at(f, i);
    return NULL;
}

const char *abc_kernel_names(const abc_kernel_family *f, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < f->n && at < n; ++i) {
        int w = snprintf(buf + at, n - at, "%s%s", i ? "|" : "", abc_kernel_at(f, i)->name);
        if (w < 0) break;
        at += (size_t)w;
    }
    return buf;
}

static const void *choose(const abc_kernel_family *f)
{
    const char *name = abc_mode_get(f->mode);
    if (name) {
        const abc_kernel_desc *d = abc_kernel_find(f, name);
        char names[256];
        const char *env = abc_mode_about(f->mode)->env;
        if (!d) abc_die("%s='%s': unknown kernel (kernels: %s)", env, name, abc_kernel_names(f, names, sizeof names));
        if (!abc_kernel_usable(d))
            abc_die("%s='%s': this CPU cannot run that kernel (kernels: %s)", env, name,
                    abc_kernel_names(f, names, sizeof names));
        return d;
    }
    for (int i = f->n - 1; i > 0; --i)
        if (abc_kernel_usable(abc_kernel_at(f, i))) return abc_kernel_at(f, i);
    return abc_kernel_at(f, 0);
}

const void *abc_kernel_chosen(abc_kernel_family *f)
{
    const void *c = __atomic_load_n(&f->chosen, __ATOMIC_ACQUIRE);
    if (!c) {
        c = choose(f);
        __atomic_store_n(&f->chosen, c, __ATOMIC_RELEASE);
    }
    return c;
}

const char *abc_kernel_chosen_name(abc_kernel_family *f)
{
    return ((const abc_kernel_desc *)abc_kernel_chosen(f))->name;
}

void abc_kernel_set(abc_kernel_family *f, const void *row) { __atomic_store_n(&f->chosen, row, __ATOMIC_RELEASE); }
