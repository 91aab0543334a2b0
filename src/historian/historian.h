/* historian.h — the range's historian: process values, events, attack labels
 * and counters in one SQLite database.
 *
 * One file holds six tables:
 *
 *   meta      key/value text: plant name, start instant (Unix ns), seed,
 *             sample period, the version that created it, anything the
 *             range adds (HIST_META_*).
 *   columns   the tags recorded, in order: name, unit, decimals.
 *   samples   one row per recorded instant: t (virtual ns since the start,
 *             the primary key, strictly increasing) and one REAL column per
 *             tag, named as the tag ("LT-101", "LT-101.true"; quoted, so any
 *             text is a safe name). NaN is stored as NULL.
 *   events    what happened, for operators and the blue team: t, kind
 *             (HIST_EV_*), device, source (client "address:port"), text and
 *             optional JSON details. Network writes go here at full rate.
 *   labels    ground truth of injected attacks: [start, end) on the virtual
 *             clock, scenario, inject id, MITRE ATT&CK for ICS technique ids
 *             ("T0836,T0855"), description. Kept apart from events: nothing
 *             a trainee sees reads this table, and exports show it only as
 *             the `attack` column, which can be left out.
 *   counters  key/integer totals the range updates (requests per function
 *             code ...).
 *
 * Writes are batched: the first write opens a transaction, which is
 * committed when it holds `commit_rows` writes or has been open for
 * `commit_interval` seconds of wall time (checked at every write and by
 * hist_poll()), by hist_commit(), and by hist_close().
 *
 * Durability. The database runs in WAL mode. A commit appends the
 * transaction's pages and a commit frame to the -wal file with write(2)
 * before it returns; the data is then in the kernel's page cache, which
 * outlives the process. With synchronous=NORMAL (the default) the -wal is
 * not fsynced at each commit, only at checkpoints, so:
 *   - a crash or SIGKILL of the process loses nothing committed, only the
 *     open batch (at most commit_rows writes or commit_interval seconds);
 *     the next open replays the -wal (its frames carry checksums, and a
 *     transaction without its commit frame is ignored), and the file
 *     passes PRAGMA integrity_check (tests/historian: durability);
 *   - a power loss or kernel crash may also lose the commits since the
 *     last checkpoint, but never corrupts the file.
 * `durable = 1` selects synchronous=FULL: each commit is fsynced and
 * survives power loss too, at the cost of one fsync per batch.
 * Checkpoints (copying the -wal into the database, with the fsyncs) run on
 * a thread the handle starts for itself, never inside a write
 * (historian_checkpoint.c): a write costs a few microseconds (a sample of
 * 30 tags or an event, about 5 us on the reference machine) and never
 * waits for the disk, except in a writer that commits back to back (fast
 * mode) when the -wal reaches 64 MiB.
 *
 * Threads: a handle is used by one thread at a time. Other processes may
 * read the same file while the range writes it (hist_open_ro(); they see the
 * last commit); only one process writes.
 *
 * Ownership: hist_open() and hist_open_ro() return a handle released with
 * hist_close(). Strings passed in are copied (or written to the database)
 * before the call returns; strings handed to callbacks live until the
 * callback returns. Every function that can fail returns -1 (or NULL) with
 * one line in `e` naming the file, what was being done and SQLite's
 * message.
 */
#ifndef HISTORIAN_HISTORIAN_H
#define HISTORIAN_HISTORIAN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/vtime.h"

/* Longest tag name, unit, meta or counter key (bytes). */
#define HIST_NAME_MAX 256

/* Meta keys the range sets (values are text; the _ns ones integers). */
#define HIST_META_PLANT   "plant"            /* plant name */
#define HIST_META_START   "start_unix_ns"    /* instant of t = 0, Unix ns */
#define HIST_META_PERIOD  "sample_period_ns" /* decides the export's timestamp decimals */
#define HIST_META_SEED    "seed"
#define HIST_META_VERSION "version"          /* set at creation: the icsrange version */

/* Event kinds the range writes. A kind is any name of 1-32 characters
 * [a-z0-9_]: modules may add their own. */
#define HIST_EV_NOTE      "note"      /* free text (instructor, range) */
#define HIST_EV_NET_WRITE "net_write" /* a protocol write (Modbus FC 5/6/15/16/22/23) */
#define HIST_EV_REFUSED   "refused"   /* a request refused (exception, auth, keyswitch) */
#define HIST_EV_MODE      "mode"      /* a controller's mode changed (RUN/STOP/PROGRAM) */
#define HIST_EV_KEYSWITCH "keyswitch" /* a keyswitch moved */
#define HIST_EV_DOWNLOAD  "download"  /* a program download (or upload) */
#define HIST_EV_ALARM     "alarm"     /* an alarm raised, acknowledged or cleared */
#define HIST_EV_SIS_TRIP  "sis_trip"  /* the safety system tripped */
#define HIST_EV_FAULT     "fault"     /* a device or physical fault */
#define HIST_EV_COMMAND   "command"   /* an operator command from the HMI */
#define HIST_EV_ALERT     "alert"     /* an IDS alert */

/* A tag recorded in `samples`. Names are non-empty, at most HIST_NAME_MAX
 * bytes, unique ignoring ASCII case (as SQLite compares column names), and
 * not "t" (the time column). */
struct hist_column {
    const char *name;
    const char *unit; /* display unit, or NULL / "" */
    int decimals;     /* 0-9: decimals of this column in exports */
};

/* Storage knobs; zeroes mean the defaults in brackets. */
struct hist_options {
    double commit_interval; /* wall seconds a write may stay uncommitted [1] */
    size_t commit_rows;     /* writes (samples, events, ...) per transaction [10000] */
    int durable;            /* 1: synchronous=FULL, each commit fsynced [0: NORMAL] */
};

struct hist_event {
    vtime_t t;           /* virtual ns since the start, >= 0, < VT_NEVER */
    const char *kind;    /* HIST_EV_* or a module's own kind */
    const char *device;  /* NULL: none */
    const char *source;  /* e.g. "10.0.1.20:50123"; NULL: none */
    const char *text;    /* NULL: none */
    const char *details; /* JSON text (checked with json_valid); NULL: none */
};

struct hist_label {
    int64_t id;              /* set by hist_label() and by the iterators */
    vtime_t start, end;      /* the attack window [start, end); end VT_NEVER: still open */
    const char *scenario;    /* NULL: none, likewise below */
    const char *inject;      /* the scenario's inject id */
    const char *techniques;  /* MITRE ATT&CK for ICS ids: "T0836" or "T0836,T0855" */
    const char *description;
};

struct hist;

/* Opens `path` for writing, creating the database if the file is absent
 * or empty (":memory:" gives a private in-memory database). A new database
 * gets the `ncols` columns `cols` and meta "version". An existing one is
 * opened for append: its columns must equal `cols` (names, order, units,
 * decimals), else it is refused with the first difference; cols == NULL
 * accepts whatever columns it has (a tool adding labels or notes). A file
 * that is not an icsrange historian, or made by a newer schema, is refused.
 * `opt` may be NULL (defaults). Returns NULL with a message in e. */
struct hist *hist_open(const char *path, const struct hist_column *cols, size_t ncols,
                       const struct hist_options *opt, struct err *e);

/* Opens an existing historian read-only (exports, reports, a live file that
 * another process is writing: reads see its last commit). Every write
 * function fails on such a handle, and SQL cannot change the file; when it
 * is the last connection to close, it checkpoints what a writer killed
 * before its close left in the -wal (as the next writer would) and removes
 * the -wal and -shm files. Returns NULL with a message in e. */
struct hist *hist_open_ro(const char *path, struct err *e);

/* Commits what is pending and releases the handle (NULL is ignored).
 * Returns 0, or -1 if the last commit failed (its writes are lost); the
 * handle is freed in every case. */
int hist_close(struct hist *h, struct err *e);

/* The columns (owned by h, valid until hist_close). */
size_t hist_ncolumns(const struct hist *h);
const struct hist_column *hist_column(const struct hist *h, size_t i);

/* ---- writing (each joins the open batch; see the top of this file) ----
 * A failed write leaves the batch as it was, unless SQLite had to roll the
 * transaction back (disk full, I/O error): the message then says how many
 * uncommitted writes were lost. */

/* One row: hist_ncolumns() values (NaN: NULL) at virtual time t, which
 * must be >= 0, before VT_NEVER and after the last sample. Returns 0 or
 * -1. */
int hist_sample(struct hist *h, vtime_t t, const double *values, struct err *e);

/* One event. Returns its id (> 0) or -1 (bad kind, t < 0, invalid JSON). */
int64_t hist_event(struct hist *h, const struct hist_event *ev, struct err *e);

/* One attack label; l->id is ignored. Needs 0 <= start < end (end may be
 * VT_NEVER and set later with hist_label_end) and well-formed technique
 * ids. Returns its id (> 0) or -1. */
int64_t hist_label(struct hist *h, const struct hist_label *l, struct err *e);

/* Sets the end of label `id` (> its start). Returns 0 or -1 (unknown id). */
int hist_label_end(struct hist *h, int64_t id, vtime_t end, struct err *e);

/* Sets meta `key` to `value` (text; the _int form writes a decimal
 * integer). HIST_META_START cannot change once samples exist (it would move
 * every timestamp): that is refused. Returns 0 or -1. */
int hist_meta_set(struct hist *h, const char *key, const char *value, struct err *e);
int hist_meta_set_int(struct hist *h, const char *key, int64_t value, struct err *e);

/* Adds `delta` to counter `key` (created at 0), or sets it. Returns 0 or -1.
 * Each call is a write like an event: a range counting every request may
 * rather keep its counts in memory and set them once a second. */
int hist_counter_add(struct hist *h, const char *key, int64_t delta, struct err *e);
int hist_counter_set(struct hist *h, const char *key, int64_t value, struct err *e);

/* Commits the open batch now (nothing pending: does nothing). Returns 0
 * or -1. */
int hist_commit(struct hist *h, struct err *e);

/* Commits the open batch if it has been open for commit_interval: for a
 * range with long quiet spells, call it from a timer so that no write waits
 * longer than the interval. Returns 0 or -1. */
int hist_poll(struct hist *h, struct err *e);

/* Writes in the open batch (0 right after a commit). */
size_t hist_pending(const struct hist *h);

/* ---- reading (a writer sees its own uncommitted writes) ----
 * Iterators call fn for each item in order, stopping early when fn returns
 * non-zero; they return the number of items passed to fn, or -1. A
 * callback must not write to the same handle. */

/* Rows in `samples`, events (of `kind`, or all with NULL), labels. */
int64_t hist_count_samples(struct hist *h, struct err *e);
int64_t hist_count_events(struct hist *h, const char *kind, struct err *e);
int64_t hist_count_labels(struct hist *h, struct err *e);

/* Times of the first and last sample. Returns 1, 0 when there is none
 * (first and last untouched), or -1. */
int hist_sample_span(struct hist *h, vtime_t *first, vtime_t *last, struct err *e);

/* Meta value of `key`: returns 1 and *value (malloc'd, the caller frees),
 * 0 when absent (*value = NULL), -1 on error. The _int form also fails on
 * a value that is not a decimal integer. */
int hist_meta_get(struct hist *h, const char *key, char **value, struct err *e);
int hist_meta_get_int(struct hist *h, const char *key, int64_t *value, struct err *e);

/* Counter `key`: returns 1 and *value, 0 when absent (*value = 0), or -1. */
int hist_counter_get(struct hist *h, const char *key, int64_t *value, struct err *e);

/* Samples with from <= t < to, in time order; `values` has
 * hist_ncolumns() entries (NaN for NULL) and lives until fn returns. */
typedef int (*hist_sample_fn)(void *ctx, vtime_t t, const double *values);
int64_t hist_samples_each(struct hist *h, vtime_t from, vtime_t to, hist_sample_fn fn, void *ctx,
                          struct err *e);

/* Events of `kind` (NULL: all) with from <= t < to, by time then id. */
typedef int (*hist_event_fn)(void *ctx, int64_t id, const struct hist_event *ev);
int64_t hist_events_each(struct hist *h, const char *kind, vtime_t from, vtime_t to,
                         hist_event_fn fn, void *ctx, struct err *e);

/* Labels whose window overlaps [from, to) (start < to and end > from), by
 * start then id. */
typedef int (*hist_label_fn)(void *ctx, const struct hist_label *l);
int64_t hist_labels_each(struct hist *h, vtime_t from, vtime_t to, hist_label_fn fn, void *ctx,
                         struct err *e);

/* Meta entries by key; counters by key; events counted per kind. */
typedef int (*hist_text_fn)(void *ctx, const char *key, const char *value);
typedef int (*hist_count_fn)(void *ctx, const char *key, int64_t n);
int64_t hist_meta_each(struct hist *h, hist_text_fn fn, void *ctx, struct err *e);
int64_t hist_counters_each(struct hist *h, hist_count_fn fn, void *ctx, struct err *e);
int64_t hist_event_kinds_each(struct hist *h, hist_count_fn fn, void *ctx, struct err *e);

/* Runs PRAGMA integrity_check. Returns 0 when the file is sound, -1 with
 * the first problem reported. */
int hist_integrity_check(struct hist *h, struct err *e);

/* The SQLite library's version ("3.40.1"), for reports. */
const char *hist_sqlite_version(void);

/* ---- export ---- */

struct hist_export {
    vtime_t from, to; /* rows with from <= t < to [all: 0, VT_NEVER] */
    int attack;       /* 1: the last column is `attack` [1]; 0: left out */
};
void hist_export_default(struct hist_export *x);

/* Writes the samples as the range's CSV ("-": standard output):
 *
 *   timestamp,TAG1,TAG2,...,attack
 *
 * timestamp is start + t in ISO-8601 UTC (meta HIST_META_START, required),
 * with the decimals the sample period needs (0 for whole seconds, 3 for
 * milliseconds, 6, 9: meta HIST_META_PERIOD, or when absent the finest the
 * exported rows need), exactly as `icsrange sim --csv` writes it; each tag
 * with its column's decimals, NULL as an empty field; attack is 1 when t
 * lies inside any label's [start, end), else 0. `x` may be NULL (defaults).
 * Reads one consistent snapshot. Returns 0 or -1 (the file may then be
 * incomplete). */
int hist_export_csv(struct hist *h, const char *path, const struct hist_export *x,
                    struct err *e);

#endif
