/* test_diag.c — golden diagnostics: every program in tests/st/bad/ fails to
 * compile, and the diagnostics printed (file:line:col: error: message, the
 * source line, the caret) are exactly those in the .expected file beside
 * it. ST_GOLDEN_UPDATE=1 rewrites the .expected files. Plus the limits of
 * recovery: several errors per run, and a cap on their number. */
#include <dirent.h>

#include "sttest.h"

#define MAX_FILES 128

static char *names[MAX_FILES];
static int nnames;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_files(void)
{
    DIR *d = opendir(tu_path("tests/st/bad"));
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && nnames < MAX_FILES) {
        size_t n = strlen(e->d_name);
        if (n > 3 && !strcmp(e->d_name + n - 3, ".st"))
            names[nnames++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)nnames, sizeof names[0], cmp);
}

static void golden(void **state)
{
    const char *name = *state;
    char rel[256];
    snprintf(rel, sizeof rel, "tests/st/bad/%s", name);
    char *text = tu_read_file(tu_path(rel), NULL);
    assert_non_null(text);
    char *got = compile_fails(name, text);
    free(text);
    snprintf(rel, sizeof rel, "tests/st/bad/%.*s.expected", (int)(strlen(name) - 3), name);
    const char *path = tu_path(rel);
    if (getenv("ST_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
    }
    char *want = tu_read_file(path, NULL);
    if (!want) {
        fail_msg("no %s; the diagnostics were:\n%s", rel, got);
        free(got);
        return;
    }
    if (strcmp(got, want) != 0) {
        print_message("expected:\n%s\ngot:\n%s\n", want, got);
        free(got);
        free(want);
        fail_msg("diagnostics of %s differ from %s", name, rel);
        return;
    }
    free(got);
    free(want);
}

static void several_errors_per_run(void **state)
{
    (void)state;
    char *text = tu_read_file(tu_path("tests/st/bad/several_errors.st"), NULL);
    char *got = compile_fails("several_errors.st", text);
    free(text);
    int n = 0;
    for (const char *p = got; (p = strstr(p, ": error: ")) != NULL; p++)
        n++;
    assert_int_equal(n, 3);
    free(got);
    text = tu_read_file(tu_path("tests/st/bad/several_semantic_errors.st"), NULL);
    got = compile_fails("several_semantic_errors.st", text);
    free(text);
    n = 0;
    for (const char *p = got; (p = strstr(p, ": error: ")) != NULL; p++)
        n++;
    assert_int_equal(n, 3);
    free(got);
}

static void error_limit(void **state)
{
    (void)state;
    /* 200 bad statements: the compiler stops after ST_MAX_ERRORS */
    size_t cap = 64 * 1024, len = 0;
    char *src = malloc(cap);
    len += (size_t)snprintf(src + len, cap - len, "PROGRAM main VAR x : INT; END_VAR\n");
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(src + len, cap - len, "x := := %d;\n", i);
    snprintf(src + len, cap - len, "END_PROGRAM\n");
    struct st_diags d;
    st_diags_init(&d);
    struct st_source s = {"many.st", src, strlen(src)};
    assert_null(st_compile(&s, 1, &d));
    assert_true(d.errors >= 50 && d.errors <= 52);
    TU_CONTAINS(d.v[d.n - 1].msg, "too many errors");
    st_diags_clear(&d);
    free(src);
}

static void warning_does_not_fail(void **state)
{
    (void)state;
    const char *src = "PROGRAM main VAR x : INT; spare : REAL; END_VAR x := x + 1; END_PROGRAM\n";
    struct st_diags d;
    st_diags_init(&d);
    struct st_source s = {"warn.st", src, strlen(src)};
    struct st_image *img = st_compile(&s, 1, &d);
    assert_non_null(img);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 1);
    assert_string_equal(d.v[0].msg, "variable 'spare' is never used");
    assert_int_equal(d.v[0].line, 1);
    assert_int_equal(d.v[0].col, 27);
    st_image_free(img);
    st_diags_clear(&d);
}

static void file_errors(void **state)
{
    (void)state;
    struct st_diags d;
    st_diags_init(&d);
    const char *paths[] = {"/nonexistent/x.st"};
    assert_null(st_compile_files(paths, 1, &d));
    assert_int_equal(d.errors, 1);
    assert_string_equal(d.v[0].file, "/nonexistent/x.st");
    TU_CONTAINS(d.v[0].msg, "cannot open");
    st_diags_clear(&d);
}

static void call_nesting_limit(void **state)
{
    (void)state;
    /* f1 calls f2 ... calls f70: deeper than the VM's call stack */
    size_t cap = 64 * 1024, len = 0;
    char *src = malloc(cap);
    for (int i = 1; i <= 70; i++) {
        if (i < 70)
            len += (size_t)snprintf(src + len, cap - len,
                                    "FUNCTION f%d : INT VAR_INPUT x : INT; END_VAR f%d := f%d(x); END_FUNCTION\n",
                                    i, i, i + 1);
        else
            len += (size_t)snprintf(src + len, cap - len,
                                    "FUNCTION f70 : INT VAR_INPUT x : INT; END_VAR f70 := x; END_FUNCTION\n");
    }
    snprintf(src + len, cap - len, "PROGRAM main VAR n : INT; END_VAR n := f1(1); END_PROGRAM\n");
    char *got = compile_fails("deep.st", src);
    TU_CONTAINS(got, "calls nest deeper than 64 levels");
    free(got);
    /* the same chain declared bottom-up */
    len = 0;
    len += (size_t)snprintf(src + len, cap - len,
                            "FUNCTION f70 : INT VAR_INPUT x : INT; END_VAR f70 := x; END_FUNCTION\n");
    for (int i = 69; i >= 1; i--)
        len += (size_t)snprintf(src + len, cap - len,
                                "FUNCTION f%d : INT VAR_INPUT x : INT; END_VAR f%d := f%d(x); END_FUNCTION\n",
                                i, i, i + 1);
    snprintf(src + len, cap - len, "PROGRAM main VAR n : INT; END_VAR n := f1(1); END_PROGRAM\n");
    got = compile_fails("deep2.st", src);
    TU_CONTAINS(got, "calls nest deeper than 64 levels");
    free(got);
    free(src);
}

int main(void)
{
    list_files();
    static struct CMUnitTest tests[MAX_FILES + 8];
    int n = 0;
    for (int i = 0; i < nnames; i++) {
        tests[n].name = names[i];
        tests[n].test_func = golden;
        tests[n].initial_state = names[i];
        n++;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(several_errors_per_run);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(error_limit);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(warning_does_not_fail);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(file_errors);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(call_nesting_limit);
    int r = _cmocka_run_group_tests("st_diag", tests, (size_t)n, NULL, NULL);
    for (int i = 0; i < nnames; i++)
        free(names[i]);
    return r;
}
