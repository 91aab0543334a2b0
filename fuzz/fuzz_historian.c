/* fuzz_historian.c — libFuzzer harness for the historian's reading of a
 * file it did not write: the input bytes are a database file (a damaged
 * historian, someone else's SQLite file, or no database at all). It is
 * opened read-only, checked (PRAGMA integrity_check), walked by every
 * reader and exported as CSV to /dev/null; then opened for append with
 * the file's own columns (cols NULL) and written to once of each kind.
 * A hostile file must give an error, never a crash, a hang or a leak.
 *
 * The seeds in fuzz/corpus/fuzz_historian/ are small historians made by
 * the library itself (page size 512 so that the mutator reaches every
 * page; see docs/historian.md, "Fuzzing").
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "historian/historian.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char db_path[64], side_path[2][80];

static void remove_files(void)
{
    unlink(db_path);
    unlink(side_path[0]);
    unlink(side_path[1]);
}

static int on_sample(void *ctx, vtime_t t, const double *v)
{
    (void)t;
    size_t n = *(size_t *)ctx;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return sum == 12345.678; /* reads every value; stops only by chance */
}

static int on_event(void *ctx, int64_t id, const struct hist_event *ev)
{
    (void)ctx;
    (void)id;
    size_t n = strlen(ev->kind);
    n += ev->device ? strlen(ev->device) : 0;
    n += ev->source ? strlen(ev->source) : 0;
    n += ev->text ? strlen(ev->text) : 0;
    n += ev->details ? strlen(ev->details) : 0;
    return n == (size_t)-1;
}

static int on_label(void *ctx, const struct hist_label *l)
{
    (void)ctx;
    size_t n = l->scenario ? strlen(l->scenario) : 0;
    n += l->inject ? strlen(l->inject) : 0;
    n += l->techniques ? strlen(l->techniques) : 0;
    n += l->description ? strlen(l->description) : 0;
    return n == (size_t)-1;
}

static int on_text(void *ctx, const char *k, const char *v)
{
    (void)ctx;
    return strlen(k) + strlen(v) == (size_t)-1;
}

static int on_count(void *ctx, const char *k, int64_t n)
{
    (void)ctx;
    (void)n;
    return strlen(k) == (size_t)-1;
}

/* Everything a reader can do with an open handle. */
static void read_all(struct hist *h)
{
    struct err e;
    (void)hist_integrity_check(h, &e);
    (void)hist_count_samples(h, &e);
    (void)hist_count_events(h, NULL, &e);
    (void)hist_count_events(h, "note", &e);
    (void)hist_count_labels(h, &e);
    vtime_t first, last;
    (void)hist_sample_span(h, &first, &last, &e);
    size_t n = hist_ncolumns(h);
    for (size_t i = 0; i < n; i++)
        (void)strlen(hist_column(h, i)->name);
    (void)hist_samples_each(h, 0, VT_NEVER, on_sample, &n, &e);
    (void)hist_events_each(h, NULL, 0, VT_NEVER, on_event, NULL, &e);
    (void)hist_labels_each(h, 0, VT_NEVER, on_label, NULL, &e);
    (void)hist_meta_each(h, on_text, NULL, &e);
    (void)hist_counters_each(h, on_count, NULL, &e);
    (void)hist_event_kinds_each(h, on_count, NULL, &e);
    char *s;
    if (hist_meta_get(h, HIST_META_PLANT, &s, &e) == 1)
        free(s);
    int64_t v;
    (void)hist_meta_get_int(h, HIST_META_START, &v, &e);
    (void)hist_counter_get(h, "mb.requests", &v, &e);
    (void)hist_export_csv(h, "/dev/null", NULL, &e);
    struct hist_export x;
    hist_export_default(&x);
    x.from = VT_SEC;
    x.to = 60 * VT_SEC;
    x.attack = 0;
    (void)hist_export_csv(h, "/dev/null", &x, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db_path[0]) {
        /* tmpfs when there is one: the checkpoint at each close fsyncs */
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(db_path, sizeof db_path, "%s/fuzz_historian.%ld.db", dir, (long)getpid());
        snprintf(side_path[0], sizeof side_path[0], "%s-wal", db_path);
        snprintf(side_path[1], sizeof side_path[1], "%s-shm", db_path);
    }
    remove_files();
    FILE *f = fopen(db_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    if (fclose(f) != 0)
        abort();

    struct err e;
    struct hist *h = hist_open_ro(db_path, &e);
    if (h) {
        read_all(h);
        hist_close(h, &e);
    }

    /* append with the file's columns: one write of each kind */
    h = hist_open(db_path, NULL, 0, NULL, &e);
    if (h) {
        vtime_t first = 0, last = -1;
        if (hist_sample_span(h, &first, &last, &e) >= 0 && last < VT_NEVER - 1) {
            size_t n = hist_ncolumns(h);
            double *v = calloc(n ? n : 1, sizeof *v);
            if (v) {
                (void)hist_sample(h, last + 1, v, &e);
                free(v);
            }
        }
        struct hist_event ev = {.t = 1, .kind = "note", .text = "fuzz", .details = "{}"};
        (void)hist_event(h, &ev, &e);
        struct hist_label l = {.start = 0, .end = VT_NEVER, .techniques = "T0836"};
        int64_t id = hist_label(h, &l, &e);
        if (id > 0)
            (void)hist_label_end(h, id, VT_SEC, &e);
        (void)hist_meta_set(h, HIST_META_PLANT, "fuzz", &e);
        (void)hist_counter_add(h, "mb.requests", 1, &e);
        (void)hist_commit(h, &e);
        read_all(h);
        hist_close(h, &e);
    }
    remove_files();
    return 0;
}
