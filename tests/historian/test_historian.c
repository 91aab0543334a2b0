/* test_historian.c — the historian (src/historian) against its contract in
 * historian.h: columns and samples round-trip (NaN as NULL), events, labels,
 * meta and counters; refusal of foreign files, newer schemas and other
 * columns; the CSV export byte for byte; read-only handles; write batches;
 * durability of commits across a SIGKILL of the writing process; and the
 * `icsrange historian` command. Each case works in files of its own under
 * $TEST_TMP.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "historian/historian.h"
#include "testutil.h"

/* 2026-01-01T00:00:00Z */
#define START_NS INT64_C(1767225600000000000)

static const struct hist_column cols3[] = {
    {"LT-101", "m", 3},
    {"LT-101.true", "m", 4},
    {"P-101", "%", 1},
};

/* Opens for writing or fails the test. */
static struct hist *open_w(const char *path, const struct hist_column *cols, size_t n,
                           const struct hist_options *opt)
{
    struct err e;
    struct hist *h = hist_open(path, cols, n, opt, &e);
    if (!h)
        fail_msg("hist_open %s: %s", path, e.msg);
    return h;
}

static struct hist *open_ro(const char *path)
{
    struct err e;
    struct hist *h = hist_open_ro(path, &e);
    if (!h)
        fail_msg("hist_open_ro %s: %s", path, e.msg);
    return h;
}

static void close_ok(struct hist *h)
{
    struct err e;
    if (hist_close(h, &e) != 0)
        fail_msg("hist_close: %s", e.msg);
}

/* Runs a historian call that must succeed (its message is in `e`). */
#define OK(call)                                   \
    do {                                           \
        if ((call) < 0)                            \
            fail_msg("%s: %s", #call, e.msg);      \
    } while (0)

/* ---- samples ---- */

struct rows {
    size_t n;
    vtime_t t[16];
    double v[16][4];
};

static int collect_row(void *ctx, vtime_t t, const double *v)
{
    struct rows *r = ctx;
    if (r->n < 16) {
        r->t[r->n] = t;
        for (int i = 0; i < 3; i++)
            r->v[r->n][i] = v[i];
    }
    r->n++;
    return 0;
}

static int stop_after_one(void *ctx, vtime_t t, const double *v)
{
    (void)t;
    (void)v;
    (*(int *)ctx)++;
    return 1;
}

/* Runs one integer query on the file itself, bypassing the historian. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("sqlite3_open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        fail_msg("sqlite3_open %s: %s", path, sqlite3_errmsg(db));
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static void columns_and_samples_round_trip(void **state)
{
    (void)state;
    struct err e;
    const char *db = tu_tmp("rt.db");
    /* a name that needs quoting in SQL and in CSV */
    const struct hist_column cols[] = {
        {"LT-101", "m", 3}, {"LT-101.true", "m", 4}, {"odd \"name\", x", NULL, 0}};
    struct hist *h = open_w(db, cols, 3, NULL);
    assert_int_equal(hist_ncolumns(h), 3);
    assert_string_equal(hist_column(h, 2)->name, "odd \"name\", x");
    assert_string_equal(hist_column(h, 2)->unit, "");
    assert_null(hist_column(h, 3));
    vtime_t first = -5, last = -5;
    assert_int_equal(hist_sample_span(h, &first, &last, &e), 0);
    assert_int_equal(first, -5);
    double r0[] = {1.5, NAN, -2.25}, r1[] = {NAN, NAN, NAN}, r2[] = {1e300, -0.0, 7};
    OK(hist_sample(h, 0, r0, &e));
    OK(hist_sample(h, 250 * VT_MS, r1, &e));
    OK(hist_sample(h, 2 * VT_SEC, r2, &e));
    /* times must grow, and lie in [0, VT_NEVER) */
    assert_int_equal(hist_sample(h, 2 * VT_SEC, r0, &e), -1);
    TU_CONTAINS(e.msg, "not after the last sample");
    assert_int_equal(hist_sample(h, VT_SEC, r0, &e), -1);
    assert_int_equal(hist_sample(h, -1, r0, &e), -1);
    assert_int_equal(hist_sample(h, VT_NEVER, r0, &e), -1);
    assert_int_equal(hist_count_samples(h, &e), 3); /* a writer sees its own batch */
    close_ok(h);

    /* stored: NaN as NULL, never as a REAL */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM samples WHERE \"LT-101.true\" IS NULL"),
                     2);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM samples WHERE \"LT-101\" IS NULL"), 1);
    assert_int_equal(raw_int(db, "PRAGMA application_id"), 0x49435348);

    h = open_ro(db);
    assert_int_equal(hist_ncolumns(h), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(hist_column(h, i)->name, cols[i].name);
        assert_int_equal(hist_column(h, i)->decimals, cols[i].decimals);
    }
    assert_string_equal(hist_column(h, 0)->unit, "m");
    struct rows rows = {0};
    assert_int_equal(hist_samples_each(h, 0, VT_NEVER, collect_row, &rows, &e), 3);
    assert_int_equal(rows.t[0], 0);
    assert_int_equal(rows.t[1], 250 * VT_MS);
    assert_int_equal(rows.t[2], 2 * VT_SEC);
    assert_true(rows.v[0][0] == 1.5 && isnan(rows.v[0][1]) && rows.v[0][2] == -2.25);
    assert_true(isnan(rows.v[1][0]) && isnan(rows.v[1][1]) && isnan(rows.v[1][2]));
    assert_true(rows.v[2][0] == 1e300 && rows.v[2][1] == 0 && rows.v[2][2] == 7);
    /* [from, to) */
    memset(&rows, 0, sizeof rows);
    assert_int_equal(hist_samples_each(h, 250 * VT_MS, 2 * VT_SEC, collect_row, &rows, &e), 1);
    assert_int_equal(rows.t[0], 250 * VT_MS);
    int calls = 0;
    assert_int_equal(hist_samples_each(h, 0, VT_NEVER, stop_after_one, &calls, &e), 1);
    assert_int_equal(calls, 1);
    assert_int_equal(hist_sample_span(h, &first, &last, &e), 1);
    assert_int_equal(first, 0);
    assert_int_equal(last, 2 * VT_SEC);
    assert_int_equal(hist_count_samples(h, &e), 3);
    close_ok(h);

    /* append: the last time is remembered across opens */
    h = open_w(db, cols, 3, NULL);
    assert_int_equal(hist_sample(h, 2 * VT_SEC, r0, &e), -1);
    OK(hist_sample(h, 3 * VT_SEC, r0, &e));
    close_ok(h);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM samples"), 4);

    /* columns refused for a new database: duplicates (ignoring case), "t",
     * empty, decimals */
    const struct hist_column dup[] = {{"LT-101", "m", 3}, {"lt-101", "m", 3}};
    const char *dupdb = tu_tmp("dup.db");
    assert_null(hist_open(dupdb, dup, 2, NULL, &e));
    TU_CONTAINS(e.msg, "same name");
    struct stat sb;
    assert_int_equal(stat(dupdb, &sb), -1); /* a refused creation leaves no file */
    const struct hist_column tcol[] = {{"T", "", 0}};
    assert_null(hist_open(tu_tmp("t.db"), tcol, 1, NULL, &e));
    TU_CONTAINS(e.msg, "time column");
    const struct hist_column empty[] = {{"", "", 0}};
    assert_null(hist_open(tu_tmp("e.db"), empty, 1, NULL, &e));
    const struct hist_column dec[] = {{"A", "", 10}};
    assert_null(hist_open(tu_tmp("d.db"), dec, 1, NULL, &e));
    TU_CONTAINS(e.msg, "decimals");
}

/* ---- events ---- */

struct evs {
    size_t n;
    int64_t id[8];
    char kind[8][40], source[8][40], details[8][80];
    int no_device[8];
};

static int collect_event(void *ctx, int64_t id, const struct hist_event *ev)
{
    struct evs *x = ctx;
    if (x->n < 8) {
        x->id[x->n] = id;
        snprintf(x->kind[x->n], 40, "%s", ev->kind);
        snprintf(x->source[x->n], 40, "%s", ev->source ? ev->source : "(null)");
        snprintf(x->details[x->n], 80, "%s", ev->details ? ev->details : "(null)");
        x->no_device[x->n] = ev->device == NULL;
    }
    x->n++;
    return 0;
}

struct counts {
    size_t n;
    char key[8][40];
    int64_t v[8];
};

static int collect_count(void *ctx, const char *key, int64_t v)
{
    struct counts *c = ctx;
    if (c->n < 8) {
        snprintf(c->key[c->n], 40, "%s", key);
        c->v[c->n] = v;
    }
    c->n++;
    return 0;
}

static void events_with_source_and_details(void **state)
{
    (void)state;
    struct err e;
    const char *db = tu_tmp("ev.db");
    struct hist *h = open_w(db, cols3, 3, NULL);
    struct hist_event w = {.t = 5 * VT_SEC,
                           .kind = HIST_EV_NET_WRITE,
                           .device = "plc1",
                           .source = "10.0.1.20:50123",
                           .text = "FC 6 HR 40001 = 1",
                           .details = "{\"fc\":6,\"addr\":0,\"value\":1}"};
    int64_t id1 = hist_event(h, &w, &e);
    assert_true(id1 > 0);
    struct hist_event n = {.t = VT_SEC, .kind = HIST_EV_NOTE, .text = "start of exercise"};
    int64_t id2 = hist_event(h, &n, &e);
    assert_true(id2 > id1);
    size_t pending = hist_pending(h);

    /* refused, and the batch is as it was */
    struct hist_event bad = w;
    bad.details = "{\"fc\":6,";
    assert_int_equal(hist_event(h, &bad, &e), -1);
    TU_CONTAINS(e.msg, "JSON");
    bad = w;
    bad.kind = "Net-Write";
    assert_int_equal(hist_event(h, &bad, &e), -1);
    TU_CONTAINS(e.msg, "kind");
    bad.kind = "a_kind_of_thirty_three_characters";
    assert_int_equal(hist_event(h, &bad, &e), -1);
    bad.kind = NULL;
    assert_int_equal(hist_event(h, &bad, &e), -1);
    bad = w;
    bad.t = -1;
    assert_int_equal(hist_event(h, &bad, &e), -1);
    assert_int_equal(hist_pending(h), pending);

    struct hist_event w2 = w;
    w2.t = 5 * VT_SEC; /* same time: ordered by id */
    w2.details = NULL;
    w2.source = NULL;
    int64_t id3 = hist_event(h, &w2, &e);
    assert_true(id3 > id2);
    close_ok(h);

    h = open_ro(db);
    assert_int_equal(hist_count_events(h, NULL, &e), 3);
    assert_int_equal(hist_count_events(h, HIST_EV_NET_WRITE, &e), 2);
    assert_int_equal(hist_count_events(h, HIST_EV_ALARM, &e), 0);
    struct evs x = {0};
    assert_int_equal(hist_events_each(h, NULL, 0, VT_NEVER, collect_event, &x, &e), 3);
    assert_int_equal(x.id[0], id2);
    assert_int_equal(x.id[1], id1);
    assert_int_equal(x.id[2], id3);
    assert_string_equal(x.kind[0], "note");
    assert_true(x.no_device[0]);
    assert_string_equal(x.source[1], "10.0.1.20:50123");
    assert_string_equal(x.details[1], "{\"fc\":6,\"addr\":0,\"value\":1}");
    assert_string_equal(x.source[2], "(null)");
    assert_string_equal(x.details[2], "(null)");
    memset(&x, 0, sizeof x);
    assert_int_equal(hist_events_each(h, HIST_EV_NET_WRITE, 0, 5 * VT_SEC, collect_event, &x,
                                      &e),
                     0);
    assert_int_equal(hist_events_each(h, HIST_EV_NET_WRITE, 0, VT_NEVER, collect_event, &x, &e),
                     2);
    struct counts k = {0};
    assert_int_equal(hist_event_kinds_each(h, collect_count, &k, &e), 2);
    assert_string_equal(k.key[0], "net_write");
    assert_int_equal(k.v[0], 2);
    assert_string_equal(k.key[1], "note");
    assert_int_equal(k.v[1], 1);
    close_ok(h);
}

/* ---- labels ---- */

struct labs {
    size_t n;
    struct hist_label l[8];
    char tech[8][40];
};

static int collect_label(void *ctx, const struct hist_label *l)
{
    struct labs *x = ctx;
    if (x->n < 8) {
        x->l[x->n] = *l;
        snprintf(x->tech[x->n], 40, "%s", l->techniques ? l->techniques : "(null)");
        x->l[x->n].scenario = x->l[x->n].inject = x->l[x->n].techniques =
            x->l[x->n].description = NULL;
    }
    x->n++;
    return 0;
}

static void labels_and_their_end(void **state)
{
    (void)state;
    struct err e;
    const char *db = tu_tmp("lab.db");
    struct hist *h = open_w(db, cols3, 3, NULL);
    struct hist_label a = {.start = 10 * VT_SEC,
                           .end = 20 * VT_SEC,
                           .scenario = "s1",
                           .inject = "spoof",
                           .techniques = "T0836, T0855.001",
                           .description = "setpoint spoofing"};
    int64_t ida = hist_label(h, &a, &e);
    assert_true(ida > 0);
    struct hist_label b = {.start = 30 * VT_SEC, .end = VT_NEVER, .techniques = "T0831"};
    int64_t idb = hist_label(h, &b, &e);
    assert_true(idb > ida);

    struct hist_label bad = a;
    bad.techniques = "T836";
    assert_int_equal(hist_label(h, &bad, &e), -1);
    TU_CONTAINS(e.msg, "ATT&CK");
    bad.techniques = "T0836;T0855";
    assert_int_equal(hist_label(h, &bad, &e), -1);
    bad = a;
    bad.end = bad.start;
    assert_int_equal(hist_label(h, &bad, &e), -1);
    bad = a;
    bad.start = -1;
    assert_int_equal(hist_label(h, &bad, &e), -1);

    /* the open one overlaps any later window */
    struct labs x = {0};
    assert_int_equal(hist_labels_each(h, 1000 * VT_SEC, VT_NEVER, collect_label, &x, &e), 1);
    assert_int_equal(x.l[0].id, idb);
    assert_int_equal(x.l[0].end, VT_NEVER);

    assert_int_equal(hist_label_end(h, idb, 30 * VT_SEC, &e), -1); /* not after its start */
    assert_int_equal(hist_label_end(h, idb + 100, 40 * VT_SEC, &e), -1);
    TU_CONTAINS(e.msg, "no label");
    OK(hist_label_end(h, idb, 40 * VT_SEC, &e));
    close_ok(h);

    h = open_ro(db);
    assert_int_equal(hist_count_labels(h, &e), 2);
    memset(&x, 0, sizeof x);
    assert_int_equal(hist_labels_each(h, 0, VT_NEVER, collect_label, &x, &e), 2);
    assert_int_equal(x.l[0].start, 10 * VT_SEC);
    assert_int_equal(x.l[0].end, 20 * VT_SEC);
    assert_string_equal(x.tech[0], "T0836, T0855.001");
    assert_int_equal(x.l[1].end, 40 * VT_SEC);
    /* overlap is strict at both ends: [20 s, 30 s) touches neither */
    memset(&x, 0, sizeof x);
    assert_int_equal(hist_labels_each(h, 20 * VT_SEC, 30 * VT_SEC, collect_label, &x, &e), 0);
    assert_int_equal(hist_labels_each(h, 19 * VT_SEC, 31 * VT_SEC, collect_label, &x, &e), 2);
    assert_int_equal(hist_label_end(h, ida, 50 * VT_SEC, &e), -1); /* read-only */
    close_ok(h);
}

/* ---- meta and counters ---- */

static void meta_and_counters(void **state)
{
    (void)state;
    struct err e;
    const char *db = tu_tmp("meta.db");
    struct hist *h = open_w(db, cols3, 3, NULL);
    char *v = NULL;
    assert_int_equal(hist_meta_get(h, HIST_META_VERSION, &v, &e), 1);
    assert_non_null(v);
    free(v);
    assert_int_equal(hist_meta_get(h, HIST_META_PLANT, &v, &e), 0);
    assert_null(v);
    OK(hist_meta_set(h, HIST_META_PLANT, "waterworks", &e));
    OK(hist_meta_set(h, HIST_META_PLANT, "waterworks2", &e));
    OK(hist_meta_set_int(h, HIST_META_START, START_NS, &e));
    int64_t n;
    assert_int_equal(hist_meta_get_int(h, HIST_META_START, &n, &e), 1);
    assert_int_equal(n, START_NS);
    assert_int_equal(hist_meta_get_int(h, HIST_META_PLANT, &n, &e), -1);
    TU_CONTAINS(e.msg, "not an integer");
    assert_int_equal(hist_meta_set(h, "", "x", &e), -1);

    double r[] = {1, 2, 3};
    OK(hist_sample(h, 0, r, &e));
    /* samples exist: the start cannot move, but may be set again as it is */
    assert_int_equal(hist_meta_set_int(h, HIST_META_START, START_NS + VT_SEC, &e), -1);
    TU_CONTAINS(e.msg, "timestamp");
    OK(hist_meta_set_int(h, HIST_META_START, START_NS, &e));

    OK(hist_counter_add(h, "mb.fc3", 5, &e));
    OK(hist_counter_add(h, "mb.fc3", 2, &e));
    OK(hist_counter_set(h, "mb.fc6", 40, &e));
    OK(hist_counter_set(h, "mb.fc6", 41, &e));
    assert_int_equal(hist_counter_add(h, "", 1, &e), -1);
    close_ok(h);

    h = open_ro(db);
    assert_int_equal(hist_counter_get(h, "mb.fc3", &n, &e), 1);
    assert_int_equal(n, 7);
    assert_int_equal(hist_counter_get(h, "mb.fc6", &n, &e), 1);
    assert_int_equal(n, 41);
    assert_int_equal(hist_counter_get(h, "mb.fc16", &n, &e), 0);
    assert_int_equal(n, 0);
    struct counts c = {0};
    assert_int_equal(hist_counters_each(h, collect_count, &c, &e), 2);
    assert_string_equal(c.key[0], "mb.fc3");
    assert_int_equal(hist_meta_get(h, HIST_META_PLANT, &v, &e), 1);
    assert_string_equal(v, "waterworks2");
    free(v);
    close_ok(h);
}

/* ---- refusals ---- */

static void refuses_foreign_files_and_other_columns(void **state)
{
    (void)state;
    struct err e;
    /* a text file */
    const char *txt = tu_write_tmp("notes.txt", "this is not a database, just some text\n");
    assert_null(hist_open(txt, cols3, 3, NULL, &e));
    assert_true(strlen(e.msg) > 0);
    assert_null(hist_open_ro(txt, &e));
    /* an SQLite database of someone else: left untouched */
    const char *other = tu_tmp("other.db");
    raw_exec(other, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
    assert_null(hist_open(other, cols3, 3, NULL, &e));
    TU_CONTAINS(e.msg, "not an icsrange historian");
    assert_null(hist_open(other, NULL, 0, NULL, &e));
    assert_null(hist_open_ro(other, &e));
    TU_CONTAINS(e.msg, "not an icsrange historian");
    assert_int_equal(raw_int(other, "SELECT count(*) FROM sqlite_schema"), 1);
    /* ... not even switched to WAL (header bytes 18-19: 1 = rollback journal) */
    size_t len;
    unsigned char *hdr = (unsigned char *)tu_read_file(other, &len);
    assert_non_null(hdr);
    assert_true(len >= 100 && hdr[18] == 1 && hdr[19] == 1);
    free(hdr);
    /* an absent file is not created by a reader */
    const char *absent = tu_tmp("absent.db");
    assert_null(hist_open_ro(absent, &e));
    struct stat sb;
    assert_int_equal(stat(absent, &sb), -1);
    assert_null(hist_open(NULL, cols3, 3, NULL, &e));

    const char *db = tu_tmp("cols.db");
    close_ok(open_w(db, cols3, 3, NULL));
    /* other name, unit, decimals, order or number of columns */
    struct hist_column c[3];
    memcpy(c, cols3, sizeof c);
    c[1].name = "LT-102";
    assert_null(hist_open(db, c, 3, NULL, &e));
    TU_CONTAINS(e.msg, "column 2 is 'LT-101.true'");
    memcpy(c, cols3, sizeof c);
    c[0].unit = "cm";
    assert_null(hist_open(db, c, 3, NULL, &e));
    memcpy(c, cols3, sizeof c);
    c[2].decimals = 2;
    assert_null(hist_open(db, c, 3, NULL, &e));
    memcpy(c, cols3, sizeof c);
    c[0] = cols3[1];
    c[1] = cols3[0];
    assert_null(hist_open(db, c, 3, NULL, &e));
    assert_null(hist_open(db, cols3, 2, NULL, &e));
    TU_CONTAINS(e.msg, "3 columns, 2 here");
    assert_null(hist_open(db, cols3, 0, NULL, &e));
    /* NULL accepts the file's columns */
    struct hist *h = open_w(db, NULL, 0, NULL);
    assert_int_equal(hist_ncolumns(h), 3);
    assert_string_equal(hist_column(h, 2)->name, "P-101");
    close_ok(h);

    /* a newer schema, and a damaged samples table */
    raw_exec(db, "PRAGMA user_version=2");
    assert_null(hist_open(db, NULL, 0, NULL, &e));
    TU_CONTAINS(e.msg, "newer");
    assert_null(hist_open_ro(db, &e));
    raw_exec(db, "PRAGMA user_version=1; ALTER TABLE samples ADD COLUMN extra REAL");
    assert_null(hist_open(db, NULL, 0, NULL, &e));
    TU_CONTAINS(e.msg, "does not match");
    /* a generated column */
    const char *g = tu_tmp("gen.db");
    close_ok(open_w(g, cols3, 3, NULL));
    raw_exec(g, "ALTER TABLE samples ADD COLUMN g REAL GENERATED ALWAYS AS (1.5) VIRTUAL");
    assert_null(hist_open_ro(g, &e));
    TU_CONTAINS(e.msg, "does not match");
    /* a view in place of a table */
    const char *v = tu_tmp("view.db");
    close_ok(open_w(v, cols3, 3, NULL));
    raw_exec(v, "DROP TABLE events; CREATE VIEW events AS SELECT 1 AS id, 0 AS t,"
                " 'note' AS kind, NULL AS device, NULL AS source, NULL AS text,"
                " NULL AS details");
    assert_null(hist_open_ro(v, &e));
    TU_CONTAINS(e.msg, "events");
}

/* ---- export ---- */

/* The export database: 3 columns at 500 ms, a closed and an open label. */
static const char *make_export_db(void)
{
    struct err e;
    const char *db = tu_tmp("export.db");
    struct hist *h = open_w(db, cols3, 3, NULL);
    OK(hist_meta_set_int(h, HIST_META_START, START_NS, &e));
    OK(hist_meta_set_int(h, HIST_META_PERIOD, 500 * VT_MS, &e));
    OK(hist_meta_set(h, HIST_META_PLANT, "waterworks", &e));
    static const double rows[5][3] = {
        {0.5, 1.125, 50}, {NAN, 2.0625, 61.2}, {1.75, -0.125, 0}, {2, 3.5, 100}, {2.25, 4, NAN}};
    for (int i = 0; i < 5; i++)
        OK(hist_sample(h, i * 500 * VT_MS, rows[i], &e));
    struct hist_label a = {.start = 500 * VT_MS, .end = 1500 * VT_MS, .techniques = "T0836"};
    struct hist_label b = {.start = 2 * VT_SEC, .end = VT_NEVER};
    struct hist_label c = {.start = 600 * VT_MS, .end = 700 * VT_MS}; /* inside a */
    OK(hist_label(h, &a, &e));
    OK(hist_label(h, &b, &e));
    OK(hist_label(h, &c, &e));
    struct hist_event ev = {.t = VT_SEC, .kind = HIST_EV_ALARM, .text = "LT-101 high"};
    OK(hist_event(h, &ev, &e));
    OK(hist_counter_set(h, "mb.requests", 12, &e));
    close_ok(h);
    return db;
}

static const char export_all[] =
    "timestamp,LT-101,LT-101.true,P-101,attack\n"
    "2026-01-01T00:00:00.000Z,0.5,1.125,50,0\n"
    "2026-01-01T00:00:00.500Z,,2.0625,61.2,1\n"
    "2026-01-01T00:00:01.000Z,1.75,-0.125,0,1\n"
    "2026-01-01T00:00:01.500Z,2,3.5,100,0\n"
    "2026-01-01T00:00:02.000Z,2.25,4,,1\n";

static const char export_window_no_attack[] =
    "timestamp,LT-101,LT-101.true,P-101\n"
    "2026-01-01T00:00:00.500Z,,2.0625,61.2\n"
    "2026-01-01T00:00:01.000Z,1.75,-0.125,0\n";

static void expect_file(const char *path, const char *want)
{
    size_t len;
    char *got = tu_read_file(path, &len);
    if (!got)
        fail_msg("cannot read %s", path);
    if (len != strlen(want) || memcmp(got, want, len) != 0)
        fail_msg("%s:\n%s\nexpected:\n%s", path, got, want);
    free(got);
}

static void export_csv_layout(void **state)
{
    (void)state;
    struct err e;
    const char *db = make_export_db();
    struct hist *h = open_ro(db);
    const char *out = tu_tmp("all.csv");
    OK(hist_export_csv(h, out, NULL, &e));
    expect_file(out, export_all);
    struct hist_export x;
    hist_export_default(&x);
    assert_int_equal(x.attack, 1);
    x.from = 500 * VT_MS;
    x.to = 1500 * VT_MS;
    x.attack = 0;
    out = tu_tmp("win.csv");
    OK(hist_export_csv(h, out, &x, &e));
    expect_file(out, export_window_no_attack);
    /* an empty range: the header alone */
    x.from = 10 * VT_SEC;
    x.to = VT_NEVER;
    x.attack = 1;
    out = tu_tmp("empty.csv");
    OK(hist_export_csv(h, out, &x, &e));
    expect_file(out, "timestamp,LT-101,LT-101.true,P-101,attack\n");
    /* cannot write there */
    assert_int_equal(hist_export_csv(h, tu_tmp("nodir/x.csv"), NULL, &e), -1);
    close_ok(h);
    /* a reader leaves the folder as it found it */
    char side[1100];
    struct stat sb;
    snprintf(side, sizeof side, "%s-wal", db);
    assert_int_equal(stat(side, &sb), -1);
    snprintf(side, sizeof side, "%s-shm", db);
    assert_int_equal(stat(side, &sb), -1);

    /* no period: the decimals the rows need (whole seconds: none) */
    const char *db2 = tu_tmp("noperiod.db");
    h = open_w(db2, cols3, 3, NULL);
    OK(hist_meta_set_int(h, HIST_META_START, START_NS, &e));
    double r[] = {1, 2, 3};
    OK(hist_sample(h, 0, r, &e));
    OK(hist_sample(h, VT_SEC, r, &e));
    out = tu_tmp("np1.csv");
    OK(hist_export_csv(h, out, NULL, &e)); /* a writer exports its own batch */
    expect_file(out, "timestamp,LT-101,LT-101.true,P-101,attack\n"
                     "2026-01-01T00:00:00Z,1,2,3,0\n"
                     "2026-01-01T00:00:01Z,1,2,3,0\n");
    OK(hist_sample(h, VT_SEC + 250 * VT_US, r, &e));
    out = tu_tmp("np2.csv");
    OK(hist_export_csv(h, out, NULL, &e));
    expect_file(out, "timestamp,LT-101,LT-101.true,P-101,attack\n"
                     "2026-01-01T00:00:00.000000Z,1,2,3,0\n"
                     "2026-01-01T00:00:01.000000Z,1,2,3,0\n"
                     "2026-01-01T00:00:01.000250Z,1,2,3,0\n");
    close_ok(h);

    /* no start instant: refused */
    const char *db3 = tu_tmp("nostart.db");
    h = open_w(db3, cols3, 3, NULL);
    assert_int_equal(hist_export_csv(h, tu_tmp("ns.csv"), NULL, &e), -1);
    TU_CONTAINS(e.msg, HIST_META_START);
    close_ok(h);
}

/* ---- read-only handles ---- */

static void read_only_refuses_writes(void **state)
{
    (void)state;
    struct err e;
    const char *db = make_export_db();
    struct hist *h = open_ro(db);
    double r[] = {1, 2, 3};
    assert_int_equal(hist_sample(h, 100 * VT_SEC, r, &e), -1);
    TU_CONTAINS(e.msg, "read-only");
    struct hist_event ev = {.t = 0, .kind = "note"};
    assert_int_equal(hist_event(h, &ev, &e), -1);
    struct hist_label l = {.start = 0, .end = VT_SEC};
    assert_int_equal(hist_label(h, &l, &e), -1);
    assert_int_equal(hist_label_end(h, 1, 100 * VT_SEC, &e), -1);
    assert_int_equal(hist_meta_set(h, "k", "v", &e), -1);
    assert_int_equal(hist_meta_set_int(h, "k", 1, &e), -1);
    assert_int_equal(hist_counter_add(h, "k", 1, &e), -1);
    assert_int_equal(hist_counter_set(h, "k", 1, &e), -1);
    assert_int_equal(hist_commit(h, &e), 0);
    assert_int_equal(hist_poll(h, &e), 0);
    assert_int_equal(hist_pending(h), 0);
    assert_int_equal(hist_integrity_check(h, &e), 0);
    close_ok(h);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM samples"), 5);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM meta WHERE key = 'k'"), 0);
}

/* ---- batches ---- */

static void batches_commit_by_rows_and_on_demand(void **state)
{
    (void)state;
    struct err e;
    const char *db = tu_tmp("batch.db");
    struct hist_options opt = {.commit_rows = 3, .commit_interval = 3600};
    struct hist *h = open_w(db, cols3, 3, &opt);
    assert_int_equal(hist_pending(h), 0);
    struct hist *rd = open_ro(db);
    double r[] = {1, 2, 3};
    OK(hist_sample(h, 0, r, &e));
    assert_int_equal(hist_pending(h), 1);
    OK(hist_sample(h, 1, r, &e));
    assert_int_equal(hist_pending(h), 2);
    /* another reader sees the last commit only */
    assert_int_equal(hist_count_samples(rd, &e), 0);
    struct hist_event ev = {.t = 0, .kind = "note"};
    OK(hist_event(h, &ev, &e)); /* events count towards the batch */
    assert_int_equal(hist_pending(h), 0);
    assert_int_equal(hist_count_samples(rd, &e), 2);
    assert_int_equal(hist_count_events(rd, NULL, &e), 1);
    OK(hist_sample(h, 2, r, &e));
    OK(hist_poll(h, &e)); /* not old yet */
    assert_int_equal(hist_pending(h), 1);
    OK(hist_commit(h, &e));
    assert_int_equal(hist_pending(h), 0);
    OK(hist_commit(h, &e)); /* nothing pending */
    assert_int_equal(hist_count_samples(rd, &e), 3);
    close_ok(h);

    /* by age: an interval of 50 ms */
    opt = (struct hist_options){.commit_rows = 1000, .commit_interval = 0.05};
    h = open_w(db, cols3, 3, &opt);
    OK(hist_sample(h, 10, r, &e));
    assert_int_equal(hist_pending(h), 1);
    usleep(80 * 1000);
    OK(hist_poll(h, &e));
    assert_int_equal(hist_pending(h), 0);
    assert_int_equal(hist_count_samples(rd, &e), 4);
    OK(hist_sample(h, 11, r, &e));
    usleep(80 * 1000);
    OK(hist_sample(h, 12, r, &e)); /* a write past the interval commits */
    assert_int_equal(hist_pending(h), 0);
    assert_int_equal(hist_count_samples(rd, &e), 6);
    /* a pending batch is committed by the close */
    OK(hist_sample(h, 13, r, &e));
    assert_int_equal(hist_pending(h), 1);
    close_ok(h);
    assert_int_equal(hist_count_samples(rd, &e), 7);
    assert_int_equal(hist_integrity_check(rd, &e), 0);
    close_ok(rd);
    assert_int_equal(hist_close(NULL, &e), 0);
}

/* ---- durability ---- */

#define DUR_COLS 8
#define DUR_BATCH 500
#define DUR_REPORTS 150

static double dur_value(int64_t i, size_t c)
{
    return (double)i * 0.5 + (double)c;
}

/* The child: writes samples forever, committing every DUR_BATCH and then
 * reporting the rows committed on `fd`. Never returns. */
static void dur_child(const char *db, int fd, int durable)
{
    struct hist_column cols[DUR_COLS];
    char names[DUR_COLS][16];
    for (size_t c = 0; c < DUR_COLS; c++) {
        snprintf(names[c], sizeof names[c], "TAG-%zu", c);
        cols[c] = (struct hist_column){names[c], "u", 3};
    }
    struct hist_options opt = {.commit_rows = 1000000, .commit_interval = 3600,
                               .durable = durable};
    struct err e;
    struct hist *h = hist_open(db, cols, DUR_COLS, &opt, &e);
    if (!h)
        _exit(3);
    double v[DUR_COLS];
    for (int64_t i = 0;; i++) {
        for (size_t c = 0; c < DUR_COLS; c++)
            v[c] = dur_value(i, c);
        if (hist_sample(h, i * VT_MS, v, &e) != 0)
            _exit(4);
        if ((i + 1) % DUR_BATCH == 0) {
            if (hist_commit(h, &e) != 0)
                _exit(5);
            int64_t n = i + 1;
            if (write(fd, &n, sizeof n) != (ssize_t)sizeof n)
                _exit(6);
        }
    }
}

struct dur_check {
    int64_t next;
    int bad;
};

static int dur_row(void *ctx, vtime_t t, const double *v)
{
    struct dur_check *d = ctx;
    if (t != d->next * VT_MS)
        d->bad = 1;
    for (size_t c = 0; c < DUR_COLS; c++)
        if (v[c] != dur_value(d->next, c))
            d->bad = 1;
    d->next++;
    return d->bad;
}

static void durability_run(int durable)
{
    struct err e;
    const char *db = tu_tmp(durable ? "dur-full.db" : "dur.db");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dur_child(db, fds[1], durable);
    }
    close(fds[1]);
    int64_t committed = 0, n;
    int reports = 0;
    int want = durable ? DUR_REPORTS / 10 : DUR_REPORTS;
    while (reports < want && read(fds[0], &n, sizeof n) == (ssize_t)sizeof n) {
        committed = n;
        reports++;
    }
    /* mid-write: the child is inside its next batch */
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        fail_msg("the writer exited with %d before it was killed",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    /* commits it reported after the kill was decided */
    while (read(fds[0], &n, sizeof n) == (ssize_t)sizeof n)
        committed = n;
    close(fds[0]);
    assert_int_equal(reports, want);
    assert_true(committed >= (int64_t)want * DUR_BATCH);

    struct hist *h = open_ro(db);
    OK(hist_integrity_check(h, &e));
    int64_t rows = hist_count_samples(h, &e);
    /* every committed row, and only whole batches */
    if (rows < committed || rows % DUR_BATCH != 0)
        fail_msg("%" PRId64 " rows after the kill; %" PRId64 " were committed in batches of %d",
                 rows, committed, DUR_BATCH);
    struct dur_check d = {0};
    assert_int_equal(hist_samples_each(h, 0, VT_NEVER, dur_row, &d, &e), rows);
    assert_false(d.bad);
    close_ok(h);
    /* a new writer goes on where the killed one stopped */
    h = open_w(db, NULL, 0, NULL);
    double v[DUR_COLS];
    for (size_t c = 0; c < DUR_COLS; c++)
        v[c] = dur_value(rows, c);
    OK(hist_sample(h, rows * VT_MS, v, &e));
    OK(hist_integrity_check(h, &e));
    close_ok(h);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM samples"), rows + 1);
}

static void durability_survives_sigkill(void **state)
{
    (void)state;
    durability_run(0);
}

static void durability_survives_sigkill_durable(void **state)
{
    (void)state;
    durability_run(1);
}

/* ---- the command ---- */

static void cli_export_and_info(void **state)
{
    (void)state;
    const char *db = make_export_db();
    const char *out = tu_tmp("cli.csv");
    struct tu_run r = tu_icsrange("historian", "export", db, "--csv", out, NULL);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    expect_file(out, export_all);

    out = tu_tmp("cli-win.csv");
    r = tu_icsrange("historian", "export", db, "--csv", out, "--from", "500ms", "--to",
                    "2026-01-01T00:00:01.5Z", "--no-attack", NULL);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    tu_run_free(&r);
    expect_file(out, export_window_no_attack);

    r = tu_icsrange("historian", "export", db, "--csv", "-", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, export_all);
    tu_run_free(&r);

    r = tu_icsrange("historian", "info", db, NULL);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    TU_CONTAINS(r.out, "waterworks");
    TU_CONTAINS(r.out, "LT-101.true");
    TU_CONTAINS(r.out, "samples: 5");
    TU_CONTAINS(r.out, "alarm");
    TU_CONTAINS(r.out, "labels: 3");
    TU_CONTAINS(r.out, "mb.requests");
    TU_CONTAINS(r.out, "2026-01-01T00:00:02.000Z");
    tu_run_free(&r);

    /* usage errors: 2; failures: 1 */
    r = tu_icsrange("historian", NULL);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
    r = tu_icsrange("historian", "export", db, NULL);
    assert_int_equal(r.status, 2);
    TU_CONTAINS(r.err, "--csv");
    tu_run_free(&r);
    r = tu_icsrange("historian", "export", db, "--csv", out, "--from", "soon", NULL);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
    r = tu_icsrange("historian", "frobnicate", db, NULL);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
    r = tu_icsrange("historian", "--help", NULL);
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.out, "export");
    tu_run_free(&r);
    const char *txt = tu_write_tmp("cli.txt", "not a database\n");
    r = tu_icsrange("historian", "info", txt, NULL);
    assert_int_equal(r.status, 1);
    TU_CONTAINS(r.err, "icsrange:");
    tu_run_free(&r);
    r = tu_icsrange("historian", "export", tu_tmp("missing.db"), "--csv", out, NULL);
    assert_int_equal(r.status, 1);
    tu_run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(columns_and_samples_round_trip),
        cmocka_unit_test(events_with_source_and_details),
        cmocka_unit_test(labels_and_their_end),
        cmocka_unit_test(meta_and_counters),
        cmocka_unit_test(refuses_foreign_files_and_other_columns),
        cmocka_unit_test(export_csv_layout),
        cmocka_unit_test(read_only_refuses_writes),
        cmocka_unit_test(batches_commit_by_rows_and_on_demand),
        cmocka_unit_test(durability_survives_sigkill),
        cmocka_unit_test(durability_survives_sigkill_durable),
        cmocka_unit_test(cli_export_and_info),
    };
    return cmocka_run_group_tests_name("historian", tests, NULL, NULL);
}
