/* testutil.h — helpers shared by the test programs: running the icsrange
 * binary as a user would, reading its CSV and JSON outputs, temp files.
 *
 * Tests that exercise the CLI run the binary named by $ICSRANGE_BIN (set by
 * scripts/run-tests.sh to the build under test, sanitizer build included),
 * with plant files from $ICSRANGE_ROOT. Every helper aborts the test (via
 * cmocka's fail_msg) on an internal error, so tests read straight.
 */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <string.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Path of a file in the source tree ("plants/waterworks.yaml"); static
 * buffer rotated over 8 calls. */
const char *tu_path(const char *rel);
/* Path of the shared data folder (../shared), or NULL if absent. */
const char *tu_shared(void);
/* A fresh path in the test's temp folder, ending in `name`. */
const char *tu_tmp(const char *name);
/* Writes text to a new temp file and returns its path. */
const char *tu_write_tmp(const char *name, const char *text);

/* Result of running a program: exit status (or 128 + signal), and its
 * captured stdout and stderr (NUL-terminated; freed by tu_run_free). */
struct tu_run {
    int status;
    char *out;
    char *err;
};
/* Runs icsrange with the NULL-terminated arguments (without argv[0]). */
struct tu_run tu_icsrange(const char *arg, ...);
/* Same, arguments as an array. */
struct tu_run tu_icsrange_v(const char *const *argv);
/* Runs any program (argv[0] is looked up in PATH). */
struct tu_run tu_exec(const char *const *argv);
void tu_run_free(struct tu_run *r);

/* A CSV file in memory: header names, timestamp strings, numeric cells
 * (NaN for empty). */
struct tu_csv {
    size_t ncols;   /* columns after the timestamp */
    char **names;
    size_t nrows;
    char **ts;
    double *cells;  /* nrows * ncols */
    char **lines;   /* raw row text (without the timestamp) per row */
};
struct tu_csv *tu_csv_read(const char *path);
void tu_csv_free(struct tu_csv *c);
/* Column index of a name; fails the test if absent. */
size_t tu_csv_col(const struct tu_csv *c, const char *name);
/* -1 if absent */
int tu_csv_find(const struct tu_csv *c, const char *name);
double tu_csv_at(const struct tu_csv *c, size_t row, size_t col);
/* A whole column's text (cells joined by '\n'), for byte comparison;
 * caller frees. */
char *tu_csv_column_text(const char *path, const char *name);

/* Reads a whole file; caller frees. NULL if it cannot be read. */
char *tu_read_file(const char *path, size_t *len);
/* SHA-256-free identity check: 1 if two files have identical bytes. */
int tu_same_file(const char *a, const char *b);

/* A number from the JSON object printed on stdout: key path "a.b" with
 * one level of nesting. Fails the test if absent. */
double tu_json_num(const char *json, const char *path);

/* Skips the current test, printing the missing precondition. */
#define TU_SKIP(...)                                                   \
    do {                                                               \
        print_message("precondition missing: " __VA_ARGS__);           \
        print_message("\n");                                           \
        skip();                                                        \
    } while (0)

/* Asserts |a - b| <= tol, printing both. */
#define TU_NEAR(a, b, tol)                                                             \
    do {                                                                               \
        double tu_a_ = (a), tu_b_ = (b), tu_t_ = (tol);                                \
        if (!(fabs(tu_a_ - tu_b_) <= tu_t_))                                           \
            fail_msg("%s = %.9g, expected %s = %.9g within %.3g", #a, tu_a_, #b, tu_b_, \
                     tu_t_);                                                           \
    } while (0)

/* Asserts that haystack contains needle. */
#define TU_CONTAINS(haystack, needle)                                                   \
    do {                                                                                \
        const char *tu_h_ = (haystack), *tu_n_ = (needle);                              \
        if (!tu_h_ || !strstr(tu_h_, tu_n_))                                             \
            fail_msg("expected to find \"%s\" in:\n%s", tu_n_, tu_h_ ? tu_h_ : "(null)"); \
    } while (0)

#endif
