/* st_vm_run.c — the Structured Text side of bench/st_vm.sh.
 *
 *   st_vm_run FILE.st VARIABLE     compile, run the first task once without
 *                                  a budget; print "seconds value"
 *   st_vm_run --scan FILE.st N     run N scans (100 ms of virtual time
 *                                  apart) in batches of 100; print the
 *                                  median time of one scan in microseconds
 *                                  and the instructions it executed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "st/st.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct st_image *load(const char *path)
{
    struct st_diags d;
    st_diags_init(&d);
    struct st_image *img = st_compile_files(&path, 1, &d);
    st_diags_print(&d, stderr);
    st_diags_clear(&d);
    return img;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--scan")) {
        struct st_image *img = load(argv[2]);
        if (!img)
            return 1;
        struct err e;
        struct st_vm *vm = st_vm_new(img, &e);
        if (!vm) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        long n = atol(argv[3]);
        long batches = n / 100 > 0 ? n / 100 : 1;
        double *t = malloc((size_t)batches * sizeof *t);
        struct st_fault f;
        uint64_t ex = 0;
        vtime_t clock = 0;
        for (long b = 0; b < batches; b++) {
            double t0 = now_s();
            for (int k = 0; k < 100; k++) {
                clock += 100 * VT_MS;
                if (st_vm_run_task(vm, 0, clock, 0, &ex, &f) != 0) {
                    fprintf(stderr, "%s\n", f.msg);
                    return 1;
                }
            }
            t[b] = (now_s() - t0) / 100;
        }
        qsort(t, (size_t)batches, sizeof *t, cmp);
        printf("%.4f %llu\n", t[batches / 2] * 1e6, (unsigned long long)ex);
        free(t);
        st_vm_free(vm);
        st_image_free(img);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: st_vm_run FILE.st VARIABLE | st_vm_run --scan FILE.st N\n");
        return 2;
    }
    struct st_image *img = load(argv[1]);
    if (!img)
        return 1;
    struct err e;
    struct st_vm *vm = st_vm_new(img, &e);
    if (!vm) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    struct st_fault f;
    double t0 = now_s();
    int r = st_vm_run_task(vm, 0, 0, 0, NULL, &f);
    double dt = now_s() - t0;
    if (r != 0) {
        fprintf(stderr, "%s\n", f.msg);
        return 1;
    }
    struct st_ref ref;
    if (st_vm_lookup(vm, argv[2], &ref, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    if (ref.type == ST_REAL || ref.type == ST_LREAL)
        printf("%.6f %.6f\n", dt, st_vm_get_f(vm, &ref));
    else
        printf("%.6f %lld\n", dt, (long long)st_vm_get_i(vm, &ref));
    st_vm_free(vm);
    st_image_free(img);
    return 0;
}
