/* historian.c — the historian's database: opening and creating it, the
 * schema and its checks, write batches, samples, meta and counters (see
 * historian.h; events and labels are in historian_events.c, the CSV export
 * in historian_export.c).
 */
#include "historian/historian_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/version.h"

#define DEFAULT_COMMIT_INTERVAL 1.0
#define DEFAULT_COMMIT_ROWS 10000

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- helpers shared with the other files ---- */

int hist_fail(struct hist *h, struct err *e, const char *fmt, ...)
{
    char doing[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(doing, sizeof doing, fmt, ap);
    va_end(ap);
    const char *msg = h->db ? sqlite3_errmsg(h->db) : "out of memory";
    if (h->pending && h->db && sqlite3_get_autocommit(h->db)) {
        err_set(e, "%s: %s: %s (the batch was rolled back: %zu uncommitted writes lost)",
                h->path, doing, msg, h->pending);
        h->pending = 0;
        h->last_t_stale = 1;
    } else {
        err_set(e, "%s: %s: %s", h->path, doing, msg);
    }
    return -1;
}

sqlite3_stmt *hist_prepare(struct hist *h, const char *sql, const char *doing, struct err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
        hist_fail(h, e, "%s", doing);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

int hist_step_done(struct hist *h, sqlite3_stmt *st, const char *doing, struct err *e)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (rc != SQLITE_DONE) {
        hist_fail(h, e, "%s", doing);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* SQLITE_STATIC: every write rebinds all its parameters before each step,
 * so SQLite never reads a pointer after the call that bound it returns. */
int hist_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int hist_check_name(const char *what, const char *s, struct err *e)
{
    if (!s || !*s)
        return err_set(e, "%s: empty", what);
    if (strlen(s) > HIST_NAME_MAX)
        return err_set(e, "%s: longer than %d bytes", what, HIST_NAME_MAX);
    return 0;
}

int hist_query_int(struct hist *h, const char *sql, const char *doing, int64_t *out,
                   struct err *e)
{
    sqlite3_stmt *st = hist_prepare(h, sql, doing, e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st), r = 0;
    *out = 0;
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            *out = sqlite3_column_int64(st, 0);
            r = 1;
        }
    } else if (rc != SQLITE_DONE) {
        r = hist_fail(h, e, "%s", doing);
    }
    sqlite3_finalize(st);
    return r;
}

static int exec(struct hist *h, const char *sql, const char *doing, struct err *e)
{
    if (sqlite3_exec(h->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return hist_fail(h, e, "%s", doing);
    return 0;
}

/* ---- batches ---- */

static int commit(struct hist *h, struct err *e)
{
    if (sqlite3_get_autocommit(h->db)) {
        h->pending = 0;
        return 0;
    }
    /* BUSY leaves the transaction open (the next commit retries); anything
     * else rolls it back, which hist_fail() reports with the writes lost */
    if (hist_step_done(h, h->st_commit, "commit", e) != 0)
        return -1;
    h->pending = 0;
    return 0;
}

int hist_write_begin(struct hist *h, struct err *e)
{
    if (h->readonly)
        return err_set(e, "%s: opened read-only", h->path);
    if (!sqlite3_get_autocommit(h->db))
        return 0;
    if (hist_step_done(h, h->st_begin, "begin a batch", e) != 0)
        return -1;
    h->pending = 0;
    h->batch_started = mono_now();
    return 0;
}

int hist_write_end(struct hist *h, struct err *e)
{
    h->pending++;
    if (h->pending >= h->opt.commit_rows ||
        mono_now() - h->batch_started >= h->opt.commit_interval)
        return commit(h, e);
    return 0;
}

int hist_commit(struct hist *h, struct err *e)
{
    if (h->readonly)
        return 0;
    return commit(h, e);
}

int hist_poll(struct hist *h, struct err *e)
{
    if (h->readonly || sqlite3_get_autocommit(h->db))
        return 0;
    if (mono_now() - h->batch_started >= h->opt.commit_interval)
        return commit(h, e);
    return 0;
}

size_t hist_pending(const struct hist *h)
{
    return h->pending;
}

/* ---- opening ---- */

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE columns(idx INTEGER PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL,"
    " decimals INTEGER NOT NULL CHECK(decimals BETWEEN 0 AND 9));"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, t INTEGER NOT NULL, kind TEXT NOT NULL,"
    " device TEXT, source TEXT, text TEXT,"
    " details TEXT CHECK(details IS NULL OR json_valid(details)));"
    "CREATE INDEX events_by_kind ON events(kind, t);"
    "CREATE TABLE labels(id INTEGER PRIMARY KEY, t_start INTEGER NOT NULL,"
    " t_end INTEGER CHECK(t_end IS NULL OR t_end > t_start), scenario TEXT, inject TEXT,"
    " techniques TEXT, description TEXT);"
    "CREATE TABLE counters(key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL)"
    " WITHOUT ROWID;";

static void free_columns(struct hist *h)
{
    for (size_t i = 0; i < h->ncols; i++) {
        free((char *)h->cols[i].name);
        free((char *)h->cols[i].unit);
    }
    free(h->cols);
    h->cols = NULL;
    h->ncols = 0;
}

static int set_column(struct hist_column *c, const char *name, const char *unit, int decimals)
{
    c->name = strdup(name);
    c->unit = strdup(unit ? unit : "");
    c->decimals = decimals;
    return c->name && c->unit ? 0 : -1;
}

/* Checks the columns given for a new database. */
static int check_new_columns(const struct hist_column *cols, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, "column %zu's name", i + 1);
        if (hist_check_name(what, cols[i].name, e) != 0)
            return -1;
        if (cols[i].unit && strlen(cols[i].unit) > HIST_NAME_MAX)
            return err_set(e, "column '%s': unit longer than %d bytes", cols[i].name,
                           HIST_NAME_MAX);
        if (cols[i].decimals < 0 || cols[i].decimals > 9)
            return err_set(e, "column '%s': decimals %d not in 0-9", cols[i].name,
                           cols[i].decimals);
        if (sqlite3_stricmp(cols[i].name, "t") == 0)
            return err_set(e, "column '%s': the name 't' is the time column", cols[i].name);
    }
    /* SQLite compares column names ignoring ASCII case */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (sqlite3_stricmp(cols[i].name, cols[j].name) == 0)
                return err_set(e, "columns %zu and %zu: '%s' and '%s' are the same name "
                               "(names are compared ignoring case)",
                               j + 1, i + 1, cols[j].name, cols[i].name);
    return 0;
}

static int create_schema(struct hist *h, const struct hist_column *cols, size_t n,
                         struct err *e)
{
    char pragmas[128];
    snprintf(pragmas, sizeof pragmas, "PRAGMA application_id=%d; PRAGMA user_version=%d;",
             HIST_APP_ID, HIST_SCHEMA);
    if (exec(h, pragmas, "stamping the file", e) != 0 ||
        exec(h, schema_sql, "creating the tables", e) != 0)
        return -1;
    sqlite3_str *s = sqlite3_str_new(h->db);
    sqlite3_str_appendall(s, "CREATE TABLE samples(t INTEGER PRIMARY KEY");
    for (size_t i = 0; i < n; i++)
        sqlite3_str_appendf(s, ", \"%w\" REAL", cols[i].name);
    sqlite3_str_appendall(s, ")");
    char *sql = sqlite3_str_finish(s);
    if (!sql)
        return err_set(e, "%s: out of memory", h->path);
    int r = exec(h, sql, "creating the samples table", e);
    sqlite3_free(sql);
    if (r != 0)
        return -1;
    sqlite3_stmt *st = hist_prepare(
        h, "INSERT INTO columns(idx, name, unit, decimals) VALUES(?, ?, ?, ?)",
        "recording the columns", e);
    if (!st)
        return -1;
    h->cols = calloc(n ? n : 1, sizeof *h->cols);
    if (!h->cols) {
        sqlite3_finalize(st);
        return err_set(e, "%s: out of memory", h->path);
    }
    for (size_t i = 0; i < n; i++) {
        if (set_column(&h->cols[i], cols[i].name, cols[i].unit, cols[i].decimals) != 0) {
            h->ncols = i + 1;
            sqlite3_finalize(st);
            return err_set(e, "%s: out of memory", h->path);
        }
        h->ncols = i + 1;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        sqlite3_bind_text(st, 2, h->cols[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, h->cols[i].unit, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, cols[i].decimals);
        if (hist_step_done(h, st, "recording the columns", e) != 0) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    st = hist_prepare(h, "INSERT INTO meta(key, value) VALUES('" HIST_META_VERSION "', ?)",
                      "recording the version", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, ICSRANGE_VERSION, -1, SQLITE_STATIC);
    r = hist_step_done(h, st, "recording the version", e);
    sqlite3_finalize(st);
    return r;
}

/* Reads the columns of an existing database and checks that the samples
 * table has them, in order, after t. */
static int load_columns(struct hist *h, struct err *e)
{
    int64_t n;
    if (hist_query_int(h, "SELECT count(*) FROM columns", "reading the columns", &n, e) < 0)
        return -1;
    h->cols = calloc(n ? (size_t)n : 1, sizeof *h->cols);
    if (!h->cols)
        return err_set(e, "%s: out of memory", h->path);
    sqlite3_stmt *st = hist_prepare(h, "SELECT idx, name, unit, decimals FROM columns ORDER BY idx",
                                    "reading the columns", e);
    if (!st)
        return -1;
    int rc;
    size_t i = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *unit = (const char *)sqlite3_column_text(st, 2);
        int dec = sqlite3_column_int(st, 3);
        if (i >= (size_t)n || sqlite3_column_int64(st, 0) != (int64_t)i || !name || !unit ||
            dec < 0 || dec > 9) {
            sqlite3_finalize(st);
            return err_set(e, "%s: the columns table is damaged (row %zu)", h->path, i + 1);
        }
        if (set_column(&h->cols[i], name, unit, dec) != 0) {
            h->ncols = i + 1;
            sqlite3_finalize(st);
            return err_set(e, "%s: out of memory", h->path);
        }
        h->ncols = ++i;
    }
    if (rc != SQLITE_DONE) {
        hist_fail(h, e, "reading the columns");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    /* table_xinfo: hidden and generated columns count too (a generated
     * column would run the file's own expression at every read) */
    st = hist_prepare(h, "SELECT name FROM pragma_table_xinfo('samples') ORDER BY cid",
                      "reading the samples table", e);
    if (!st)
        return -1;
    i = 0;
    int bad = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *want = i == 0 ? "t" : i <= h->ncols ? h->cols[i - 1].name : NULL;
        if (!name || !want || strcmp(name, want) != 0)
            bad = 1;
        i++;
    }
    if (rc != SQLITE_DONE) {
        hist_fail(h, e, "reading the samples table");
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_finalize(st);
    if (bad || i != h->ncols + 1)
        return err_set(e, "%s: the samples table does not match the columns table "
                       "(%zu columns for %zu tags)", h->path, i, h->ncols);
    return 0;
}

static int same_unit(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Checks the columns the caller records against those of the file. */
static int match_columns(struct hist *h, const struct hist_column *cols, size_t n,
                         struct err *e)
{
    for (size_t i = 0; i < n && i < h->ncols; i++) {
        const struct hist_column *a = &h->cols[i], *b = &cols[i];
        if (!b->name || strcmp(a->name, b->name) != 0 || !same_unit(a->unit, b->unit) ||
            a->decimals != b->decimals)
            return err_set(e, "%s: column %zu is '%s' [%s, %d decimals] in the database but "
                           "'%s' [%s, %d decimals] here: it records something else (export "
                           "it, or record into another file)",
                           h->path, i + 1, a->name, a->unit, a->decimals,
                           b->name ? b->name : "(null)", b->unit ? b->unit : "",
                           b->decimals);
    }
    if (n != h->ncols)
        return err_set(e, "%s: the database records %zu columns, %zu here: it records "
                       "something else (export it, or record into another file)",
                       h->path, h->ncols, n);
    return 0;
}

/* Checks the stamp of an existing file; `tables` is its number of schema
 * objects. */
static int check_stamp(struct hist *h, int64_t tables, struct err *e)
{
    int64_t app, ver;
    if (hist_query_int(h, "PRAGMA application_id", "reading the file's stamp", &app, e) < 0 ||
        hist_query_int(h, "PRAGMA user_version", "reading the file's stamp", &ver, e) < 0)
        return -1;
    if (app != HIST_APP_ID)
        return err_set(e, "%s: not an icsrange historian (an SQLite database with %" PRId64
                       " objects and application id %" PRId64 ")",
                       h->path, tables, app);
    if (ver > HIST_SCHEMA)
        return err_set(e, "%s: made by a newer icsrange (schema %" PRId64 "; this one reads "
                       "up to %d)", h->path, ver, HIST_SCHEMA);
    if (ver < 1)
        return err_set(e, "%s: damaged stamp (schema %" PRId64 ")", h->path, ver);
    return 0;
}

/* Checks that the six tables are tables, and that the file holds no view
 * or trigger: a hostile file could otherwise make a read run its own SQL
 * (a view in place of a table, a trigger on our inserts). */
static int check_objects(struct hist *h, struct err *e)
{
    static const char *const tables[] = {"meta", "columns", "samples", "events", "labels",
                                         "counters"};
    sqlite3_stmt *st = hist_prepare(
        h, "SELECT type FROM sqlite_schema WHERE name = ? COLLATE NOCASE ORDER BY type",
        "reading the schema", e);
    if (!st)
        return -1;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        const char *type = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            hist_fail(h, e, "reading the schema");
            sqlite3_finalize(st);
            return -1;
        }
        if (!type || strcmp(type, "table") != 0) {
            err_set(e, "%s: not an icsrange historian: '%s' is %s%s", h->path, tables[i],
                    type ? "a " : "missing", type ? type : "");
            sqlite3_finalize(st);
            return -1;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = hist_prepare(h, "SELECT type, name FROM sqlite_schema WHERE type IN ('view', 'trigger')"
                         " LIMIT 1", "reading the schema", e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        r = err_set(e, "%s: not an icsrange historian: it holds %s '%.64s'", h->path,
                    type ? type : "?", name ? name : "?");
    } else if (rc != SQLITE_DONE) {
        r = hist_fail(h, e, "reading the schema");
    }
    sqlite3_finalize(st);
    return r;
}

static int load_last_t(struct hist *h, struct err *e)
{
    int64_t t;
    int r = hist_query_int(h, "SELECT max(t) FROM samples", "reading the last sample", &t, e);
    if (r < 0)
        return -1;
    h->last_t = r ? t : -1;
    h->last_t_stale = 0;
    return 0;
}

static int prepare_writes(struct hist *h, struct err *e)
{
    sqlite3_str *s = sqlite3_str_new(h->db);
    sqlite3_str_appendall(s, "INSERT INTO samples VALUES(?");
    for (size_t i = 0; i < h->ncols; i++)
        sqlite3_str_appendall(s, ",?");
    sqlite3_str_appendall(s, ")");
    char *sql = sqlite3_str_finish(s);
    if (!sql)
        return err_set(e, "%s: out of memory", h->path);
    h->st_sample = hist_prepare(h, sql, "preparing the sample insert", e);
    sqlite3_free(sql);
    if (!h->st_sample)
        return -1;
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } list[] = {
        {&h->st_begin, "BEGIN IMMEDIATE"},
        {&h->st_commit, "COMMIT"},
        {&h->st_event, "INSERT INTO events(t, kind, device, source, text, details)"
                       " VALUES(?, ?, ?, ?, ?, ?)"},
        {&h->st_label, "INSERT INTO labels(t_start, t_end, scenario, inject, techniques,"
                       " description) VALUES(?, ?, ?, ?, ?, ?)"},
        {&h->st_label_end, "UPDATE labels SET t_end = ?2 WHERE id = ?1"},
        {&h->st_meta, "INSERT INTO meta(key, value) VALUES(?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
        {&h->st_counter_add, "INSERT INTO counters(key, value) VALUES(?, ?)"
                             " ON CONFLICT(key) DO UPDATE SET value = value + excluded.value"},
        {&h->st_counter_set, "INSERT INTO counters(key, value) VALUES(?, ?)"
                             " ON CONFLICT(key) DO UPDATE SET value = excluded.value"},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        *list[i].st = hist_prepare(h, list[i].sql, "preparing the writes", e);
        if (!*list[i].st)
            return -1;
    }
    return 0;
}

static void hist_free(struct hist *h)
{
    if (!h)
        return;
    sqlite3_stmt *sts[] = {h->st_begin, h->st_commit, h->st_sample, h->st_event,
                           h->st_label, h->st_label_end, h->st_meta, h->st_counter_add,
                           h->st_counter_set};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++)
        sqlite3_finalize(sts[i]);
    hist_ckpt_stop(h);
    /* the last connection to close checkpoints and removes the -wal */
    sqlite3_close_v2(h->db);
    free_columns(h);
    free(h->path);
    free(h);
}

static struct hist *hist_alloc(const char *path, const struct hist_options *opt, struct err *e)
{
    struct hist *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        err_set(e, "%s: out of memory", path);
        return NULL;
    }
    if (opt)
        h->opt = *opt;
    if (!(h->opt.commit_interval > 0) || !isfinite(h->opt.commit_interval))
        h->opt.commit_interval = DEFAULT_COMMIT_INTERVAL;
    if (h->opt.commit_rows == 0)
        h->opt.commit_rows = DEFAULT_COMMIT_ROWS;
    h->last_t = -1;
    return h;
}

static int open_db(struct hist *h, int flags, struct err *e)
{
    int rc = sqlite3_open_v2(h->path, &h->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (!h->db)
            return err_set(e, "%s: out of memory", h->path);
        return hist_fail(h, e, "opening");
    }
    sqlite3_extended_result_codes(h->db, 1);
    sqlite3_busy_timeout(h->db, 5000);
    /* the file may come from anywhere: SQL cannot corrupt it on purpose
     * (views and triggers are refused by check_objects(); trusted_schema
     * stays on, since SQLite before 3.45 counts the events table's
     * json_valid() check as unsafe) */
    sqlite3_db_config(h->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    return 0;
}

struct hist *hist_open(const char *path, const struct hist_column *cols, size_t ncols,
                       const struct hist_options *opt, struct err *e)
{
    if (!path || !*path) {
        err_set(e, "historian: no file name");
        return NULL;
    }
    struct hist *h = hist_alloc(path, opt, e);
    if (!h)
        return NULL;
    /* a file this call creates is removed again if the open fails */
    struct stat sb;
    int created = strcmp(path, ":memory:") != 0 && stat(path, &sb) != 0 && errno == ENOENT;
    if (open_db(h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, e) != 0)
        goto fail;
    /* Someone else's database is refused before anything is written to it
     * (setting WAL mode would change its header). */
    int64_t tables;
    if (hist_query_int(h, "SELECT count(*) FROM sqlite_schema", "reading the schema", &tables,
                       e) < 0 ||
        (tables > 0 && check_stamp(h, tables, e) != 0))
        goto fail;
    /* WAL: commits append to the -wal file and survive the process; see
     * historian.h. An in-memory database reports "memory". */
    sqlite3_stmt *st = hist_prepare(h, "PRAGMA journal_mode=WAL", "setting WAL mode", e);
    if (!st)
        goto fail;
    int rc = sqlite3_step(st);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int mode_ok = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
    if (!mode) {
        hist_fail(h, e, "setting WAL mode");
        sqlite3_finalize(st);
        goto fail;
    }
    if (!mode_ok) {
        err_set(e, "%s: cannot use WAL mode (journal mode stays '%s'; is it on a network "
                "file system?)", h->path, mode);
        sqlite3_finalize(st);
        goto fail;
    }
    int wal = strcmp(mode, "wal") == 0;
    sqlite3_finalize(st);
    /* journal_size_limit: the -wal file shrinks back to 64 MiB after a
     * checkpoint that let it restart */
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous=%s; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;"
             "PRAGMA journal_size_limit=67108864;",
             h->opt.durable ? "FULL" : "NORMAL");
    if (exec(h, pragmas, "setting up", e) != 0)
        goto fail;
    /* one transaction decides between creating and checking, so that two
     * openers cannot both create, and a crash leaves no half schema */
    if (exec(h, "BEGIN IMMEDIATE", "opening", e) != 0)
        goto fail;
    if (hist_query_int(h, "SELECT count(*) FROM sqlite_schema", "reading the schema", &tables,
                       e) < 0)
        goto fail_txn;
    if (tables == 0) {
        if (check_new_columns(cols, cols ? ncols : 0, e) != 0) {
            err_prefix(e, "%s", h->path);
            goto fail_txn;
        }
        if (create_schema(h, cols, cols ? ncols : 0, e) != 0)
            goto fail_txn;
    } else {
        if (check_stamp(h, tables, e) != 0 || check_objects(h, e) != 0 ||
            load_columns(h, e) != 0)
            goto fail_txn;
        if (cols && match_columns(h, cols, ncols, e) != 0)
            goto fail_txn;
    }
    if (load_last_t(h, e) != 0)
        goto fail_txn;
    if (exec(h, "COMMIT", "creating the schema", e) != 0)
        goto fail_txn;
    if (prepare_writes(h, e) != 0 || (wal && hist_ckpt_start(h, e) != 0))
        goto fail;
    return h;
fail_txn:
    sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
fail:
    hist_free(h);
    if (created) {
        char side[PATH_MAX + 16];
        static const char *const ext[] = {"-wal", "-shm", "-journal"};
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            snprintf(side, sizeof side, "%s%s", path, ext[i]);
            unlink(side);
        }
        unlink(path);
    }
    return NULL;
}

struct hist *hist_open_ro(const char *path, struct err *e)
{
    if (!path || !*path) {
        err_set(e, "historian: no file name");
        return NULL;
    }
    struct hist *h = hist_alloc(path, NULL, e);
    if (!h)
        return NULL;
    h->readonly = 1;
    /* Read-write without create, and query_only: SQL cannot change the
     * file, but the last connection to close may still remove the -wal and
     * -shm files (a SQLITE_OPEN_READONLY connection would create them and
     * leave them behind). A write-protected file is opened read-only by
     * SQLite itself. */
    if (open_db(h, SQLITE_OPEN_READWRITE, e) != 0 ||
        exec(h, "PRAGMA query_only=1", "opening read-only", e) != 0)
        goto fail;
    int64_t tables;
    if (hist_query_int(h, "SELECT count(*) FROM sqlite_schema", "reading the schema", &tables,
                       e) < 0)
        goto fail;
    if (tables == 0) {
        err_set(e, "%s: not an icsrange historian (empty)", h->path);
        goto fail;
    }
    /* one read transaction: the stamp and the columns from one snapshot */
    if (exec(h, "BEGIN", "opening", e) != 0)
        goto fail;
    if (check_stamp(h, tables, e) != 0 || check_objects(h, e) != 0 || load_columns(h, e) != 0 ||
        load_last_t(h, e) != 0) {
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    return h;
fail:
    hist_free(h);
    return NULL;
}

int hist_close(struct hist *h, struct err *e)
{
    if (!h)
        return 0;
    int r = 0;
    if (!h->readonly && h->db)
        r = commit(h, e);
    hist_free(h);
    return r;
}

size_t hist_ncolumns(const struct hist *h)
{
    return h->ncols;
}

const struct hist_column *hist_column(const struct hist *h, size_t i)
{
    return i < h->ncols ? &h->cols[i] : NULL;
}

/* ---- samples ---- */

int hist_sample(struct hist *h, vtime_t t, const double *values, struct err *e)
{
    if (h->last_t_stale && !h->readonly && load_last_t(h, e) != 0)
        return -1;
    if (t < 0 || t == VT_NEVER)
        return err_set(e, "%s: sample at t = %" PRId64 " ns: %s", h->path, t,
                       t < 0 ? "before the start" : "never");
    if (t <= h->last_t) {
        char a[48], b[48];
        return err_set(e, "%s: sample at t = %s: not after the last sample (t = %s)", h->path,
                       vt_format_duration(t, a, sizeof a),
                       vt_format_duration(h->last_t, b, sizeof b));
    }
    if (hist_write_begin(h, e) != 0)
        return -1;
    sqlite3_stmt *st = h->st_sample;
    sqlite3_bind_int64(st, 1, t);
    for (size_t i = 0; i < h->ncols; i++) {
        if (isnan(values[i]))
            sqlite3_bind_null(st, (int)i + 2);
        else
            sqlite3_bind_double(st, (int)i + 2, values[i]);
    }
    if (hist_step_done(h, st, "recording a sample", e) != 0)
        return -1;
    h->last_t = t;
    return hist_write_end(h, e);
}

int64_t hist_count_samples(struct hist *h, struct err *e)
{
    int64_t n;
    return hist_query_int(h, "SELECT count(*) FROM samples", "counting samples", &n, e) < 0
               ? -1
               : n;
}

int hist_sample_span(struct hist *h, vtime_t *first, vtime_t *last, struct err *e)
{
    sqlite3_stmt *st = hist_prepare(h, "SELECT min(t), max(t) FROM samples",
                                    "reading the time span", e);
    if (!st)
        return -1;
    int r = 0;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *first = sqlite3_column_int64(st, 0);
        *last = sqlite3_column_int64(st, 1);
        r = 1;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = hist_fail(h, e, "reading the time span");
    }
    sqlite3_finalize(st);
    return r;
}

int64_t hist_samples_each(struct hist *h, vtime_t from, vtime_t to, hist_sample_fn fn, void *ctx,
                          struct err *e)
{
    sqlite3_stmt *st = hist_prepare(h, "SELECT * FROM samples WHERE t >= ? AND t < ? ORDER BY t",
                                    "reading samples", e);
    if (!st)
        return -1;
    double *v = malloc((h->ncols ? h->ncols : 1) * sizeof *v);
    if (!v) {
        sqlite3_finalize(st);
        return err_set(e, "%s: out of memory", h->path);
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (size_t i = 0; i < h->ncols; i++)
            v[i] = sqlite3_column_type(st, (int)i + 1) == SQLITE_NULL
                       ? NAN
                       : sqlite3_column_double(st, (int)i + 1);
        n++;
        if (fn(ctx, sqlite3_column_int64(st, 0), v) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        n = hist_fail(h, e, "reading samples");
    free(v);
    sqlite3_finalize(st);
    return n;
}

/* ---- meta and counters ---- */

int hist_meta_set(struct hist *h, const char *key, const char *value, struct err *e)
{
    if (hist_check_name("meta key", key, e) != 0)
        return -1;
    if (!value)
        return err_set(e, "meta %s: no value", key);
    if (strcmp(key, HIST_META_START) == 0 && h->last_t >= 0) {
        char *old = NULL;
        int r = hist_meta_get(h, key, &old, e);
        if (r < 0)
            return -1;
        int same = r == 1 && strcmp(old, value) == 0;
        free(old);
        if (!same && r == 1)
            return err_set(e, "%s: meta %s: the database holds samples from another start; "
                           "a new start would move every timestamp", h->path, key);
    }
    if (hist_write_begin(h, e) != 0)
        return -1;
    sqlite3_bind_text(h->st_meta, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(h->st_meta, 2, value, -1, SQLITE_TRANSIENT);
    if (hist_step_done(h, h->st_meta, "setting meta", e) != 0)
        return -1;
    return hist_write_end(h, e);
}

int hist_meta_set_int(struct hist *h, const char *key, int64_t value, struct err *e)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, value);
    return hist_meta_set(h, key, b, e);
}

int hist_meta_get(struct hist *h, const char *key, char **value, struct err *e)
{
    *value = NULL;
    sqlite3_stmt *st = hist_prepare(h, "SELECT value FROM meta WHERE key = ?", "reading meta", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        *value = strdup(v ? v : "");
        r = *value ? 1 : err_set(e, "%s: out of memory", h->path);
    } else if (rc != SQLITE_DONE) {
        r = hist_fail(h, e, "reading meta %s", key);
    }
    sqlite3_finalize(st);
    return r;
}

int hist_meta_get_int(struct hist *h, const char *key, int64_t *value, struct err *e)
{
    char *s;
    *value = 0;
    int r = hist_meta_get(h, key, &s, e);
    if (r != 1)
        return r;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    int bad = end == s || *end || errno;
    if (bad) {
        err_set(e, "%s: meta %s: '%s' is not an integer", h->path, key, s);
        free(s);
        return -1;
    }
    free(s);
    *value = v;
    return 1;
}

static int counter_write(struct hist *h, sqlite3_stmt *st, const char *key, int64_t v,
                         struct err *e)
{
    if (hist_check_name("counter key", key, e) != 0 || hist_write_begin(h, e) != 0)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, v);
    if (hist_step_done(h, st, "updating a counter", e) != 0)
        return -1;
    return hist_write_end(h, e);
}

int hist_counter_add(struct hist *h, const char *key, int64_t delta, struct err *e)
{
    return counter_write(h, h->st_counter_add, key, delta, e);
}

int hist_counter_set(struct hist *h, const char *key, int64_t value, struct err *e)
{
    return counter_write(h, h->st_counter_set, key, value, e);
}

int hist_counter_get(struct hist *h, const char *key, int64_t *value, struct err *e)
{
    *value = 0;
    sqlite3_stmt *st = hist_prepare(h, "SELECT value FROM counters WHERE key = ?",
                                    "reading a counter", e);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        *value = sqlite3_column_int64(st, 0);
        r = 1;
    } else if (rc != SQLITE_DONE) {
        r = hist_fail(h, e, "reading counter %s", key);
    }
    sqlite3_finalize(st);
    return r;
}

/* Runs a two-column query (text key, then text or integer) through fn. */
static int64_t each_pair(struct hist *h, const char *sql, const char *doing, hist_text_fn tfn,
                         hist_count_fn cfn, void *ctx, struct err *e)
{
    sqlite3_stmt *st = hist_prepare(h, sql, doing, e);
    if (!st)
        return -1;
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        n++;
        int stop;
        if (tfn) {
            const char *v = (const char *)sqlite3_column_text(st, 1);
            stop = tfn(ctx, k ? k : "", v ? v : "");
        } else {
            stop = cfn(ctx, k ? k : "", sqlite3_column_int64(st, 1));
        }
        if (stop) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        n = hist_fail(h, e, "%s", doing);
    sqlite3_finalize(st);
    return n;
}

int64_t hist_meta_each(struct hist *h, hist_text_fn fn, void *ctx, struct err *e)
{
    return each_pair(h, "SELECT key, value FROM meta ORDER BY key", "reading meta", fn, NULL,
                     ctx, e);
}

int64_t hist_counters_each(struct hist *h, hist_count_fn fn, void *ctx, struct err *e)
{
    return each_pair(h, "SELECT key, value FROM counters ORDER BY key", "reading counters",
                     NULL, fn, ctx, e);
}

int64_t hist_event_kinds_each(struct hist *h, hist_count_fn fn, void *ctx, struct err *e)
{
    return each_pair(h, "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind",
                     "counting events", NULL, fn, ctx, e);
}

int hist_integrity_check(struct hist *h, struct err *e)
{
    sqlite3_stmt *st = hist_prepare(h, "PRAGMA integrity_check", "checking integrity", e);
    if (!st)
        return -1;
    int rc = sqlite3_step(st), r = 0;
    if (rc == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (!v || strcmp(v, "ok") != 0)
            r = err_set(e, "%s: integrity check: %s", h->path, v ? v : "(no answer)");
    } else {
        r = hist_fail(h, e, "checking integrity");
    }
    sqlite3_finalize(st);
    return r;
}

const char *hist_sqlite_version(void)
{
    return sqlite3_libversion();
}
