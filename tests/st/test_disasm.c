/* test_disasm.c — golden bytecode: each program in tests/st/disasm/
 * compiles to exactly the instructions in the .expected file beside it
 * (st_disasm's text), as Lua's tests assert generated code. The programs
 * are small and each shows one thing: typed arithmetic and conversions,
 * conditions compiled to jumps, calls, array elements, the OpenPLC form.
 * ST_GOLDEN_UPDATE=1 rewrites the .expected files. */
#include <dirent.h>

#include "sttest.h"

#define MAX_FILES 64

static char *names[MAX_FILES];
static int nnames;

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void golden(void **state)
{
    const char *name = *state;
    char rel[256];
    snprintf(rel, sizeof rel, "tests/st/disasm/%s", name);
    char *text = tu_read_file(tu_path(rel), NULL);
    assert_non_null(text);
    struct st_image *img = compile_named(name, text);
    free(text);
    char *got = st_disasm(img);
    assert_non_null(got);
    st_image_free(img);
    snprintf(rel, sizeof rel, "tests/st/disasm/%.*s.expected", (int)(strlen(name) - 3), name);
    const char *path = tu_path(rel);
    if (getenv("ST_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(got, f);
        fclose(f);
    }
    char *want = tu_read_file(path, NULL);
    if (!want || strcmp(got, want) != 0) {
        print_message("expected:\n%s\ngot:\n%s\n", want ? want : "(none)", got);
        free(got);
        free(want);
        fail_msg("disassembly of %s differs from %s", name, rel);
        return;
    }
    free(got);
    free(want);
}

/* The disassembly names every opcode the VM has. */
static void opcode_tables(void **state)
{
    (void)state;
    struct st_image *i = compile_named("x.st", "PROGRAM m VAR x : INT; END_VAR x := x + 1; END_PROGRAM\n");
    char *d = st_disasm(i);
    TU_CONTAINS(d, "ADD_16     @");
    TU_CONTAINS(d, "RET");
    TU_CONTAINS(d, "; task main interval 0ns priority 0: m");
    free(d);
    st_image_free(i);
}

int main(void)
{
    DIR *dir = opendir(tu_path("tests/st/disasm"));
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL && nnames < MAX_FILES) {
            size_t n = strlen(e->d_name);
            if (n > 3 && !strcmp(e->d_name + n - 3, ".st"))
                names[nnames++] = strdup(e->d_name);
        }
        closedir(dir);
    }
    qsort(names, (size_t)nnames, sizeof names[0], cmp);
    static struct CMUnitTest tests[MAX_FILES + 2];
    int n = 0;
    for (int k = 0; k < nnames; k++) {
        tests[n].name = names[k];
        tests[n].test_func = golden;
        tests[n].initial_state = names[k];
        n++;
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(opcode_tables);
    int r = _cmocka_run_group_tests("st_disasm", tests, (size_t)n, NULL, NULL);
    for (int k = 0; k < nnames; k++)
        free(names[k]);
    return r;
}
