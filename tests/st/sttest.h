/* sttest.h — helpers shared by the tests of src/st: compile a program (from
 * a string or a file), run its tasks on the virtual clock, read and write
 * its variables by name. Every helper fails the test (cmocka) on an
 * unexpected error, so tests read straight. Static: each test includes it.
 */
#ifndef TESTS_ST_STTEST_H
#define TESTS_ST_STTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st/st.h"
#include "testutil.h"

struct prog {
    struct st_image *img;
    struct st_vm *vm;
    vtime_t now;
    struct st_fault fault;
    uint64_t executed;
};

/* Prints the diagnostics into a malloc'd string. */
static inline char *diags_text(const struct st_diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    st_diags_print(d, f);
    fclose(f);
    return buf;
}

static inline struct st_image *compile_named(const char *name, const char *text)
{
    struct st_diags d;
    st_diags_init(&d);
    struct st_source src = {name, text, strlen(text)};
    struct st_image *img = st_compile(&src, 1, &d);
    if (!img) {
        char *t = diags_text(&d);
        st_diags_clear(&d);
        fail_msg("compilation failed:\n%s", t ? t : "?");
        free(t);
        return NULL;
    }
    st_diags_clear(&d);
    return img;
}

static inline struct prog *prog_from_image(struct st_image *img)
{
    struct prog *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->img = img;
    struct err e;
    p->vm = st_vm_new(img, &e);
    if (!p->vm)
        fail_msg("st_vm_new: %s", e.msg);
    return p;
}

static inline struct prog *prog_new(const char *text)
{
    return prog_from_image(compile_named("test.st", text));
}

static inline struct prog *prog_file(const char *rel)
{
    const char *path = tu_path(rel);
    struct st_diags d;
    st_diags_init(&d);
    struct st_image *img = st_compile_files(&path, 1, &d);
    if (!img) {
        char *t = diags_text(&d);
        st_diags_clear(&d);
        fail_msg("compilation of %s failed:\n%s", rel, t ? t : "?");
        free(t);
        return NULL;
    }
    st_diags_clear(&d);
    return prog_from_image(img);
}

static inline void prog_free(struct prog *p)
{
    if (!p)
        return;
    st_vm_free(p->vm);
    st_image_free(p->img);
    free(p);
}

/* Runs every task once at time `now`; returns 0 or -1 (p->fault). */
static inline int prog_try(struct prog *p, vtime_t now, uint64_t budget)
{
    p->now = now;
    for (size_t t = 0; t < st_image_ntasks(p->img); t++)
        if (st_vm_run_task(p->vm, t, now, budget, &p->executed, &p->fault) != 0)
            return -1;
    return 0;
}

/* Runs every task once at `now`, failing the test on a fault. */
static inline void prog_scan(struct prog *p, vtime_t now)
{
    if (prog_try(p, now, 100000000) != 0)
        fail_msg("fault: %s", p->fault.msg);
}

/* Runs n scans, `step` apart, from the current time. */
static inline void prog_scans(struct prog *p, int n, vtime_t step)
{
    for (int i = 0; i < n; i++)
        prog_scan(p, p->now + step);
}

static inline struct st_ref prog_ref(struct prog *p, const char *name)
{
    struct st_ref r;
    struct err e;
    if (st_vm_lookup(p->vm, name, &r, &e) != 0)
        fail_msg("lookup %s: %s", name, e.msg);
    return r;
}

static inline double getf(struct prog *p, const char *name)
{
    struct st_ref r = prog_ref(p, name);
    return st_vm_get_f(p->vm, &r);
}

static inline int64_t geti(struct prog *p, const char *name)
{
    struct st_ref r = prog_ref(p, name);
    return st_vm_get_i(p->vm, &r);
}

static inline void seti(struct prog *p, const char *name, int64_t v)
{
    struct st_ref r = prog_ref(p, name);
    st_vm_set_i(p->vm, &r, v);
}

static inline void setf(struct prog *p, const char *name, double v)
{
    struct st_ref r = prog_ref(p, name);
    st_vm_set_f(p->vm, &r, v);
}

static inline const char *gets_(struct prog *p, const char *name)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    struct st_ref r = prog_ref(p, name);
    st_vm_get_s(p->vm, &r, b, 1024);
    return b;
}

/* Asserts an integer variable. */
#define EXPECT_I(p, name, v)                                                          \
    do {                                                                              \
        int64_t got_ = geti((p), (name)), want_ = (int64_t)(v);                        \
        if (got_ != want_)                                                            \
            fail_msg("%s = %lld, expected %lld", (name), (long long)got_,              \
                     (long long)want_);                                               \
    } while (0)

#define EXPECT_F(p, name, v, tol) TU_NEAR(getf((p), (name)), (v), (tol))

#define EXPECT_S(p, name, v) assert_string_equal(gets_((p), (name)), (v))

/* Compiles text expecting failure; returns the printed diagnostics (free). */
static inline char *compile_fails(const char *name, const char *text)
{
    struct st_diags d;
    st_diags_init(&d);
    struct st_source src = {name, text, strlen(text)};
    struct st_image *img = st_compile(&src, 1, &d);
    if (img) {
        st_image_free(img);
        st_diags_clear(&d);
        fail_msg("%s compiled, but an error was expected", name);
        return NULL;
    }
    char *t = diags_text(&d);
    st_diags_clear(&d);
    return t;
}

#endif
