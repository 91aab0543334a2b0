/* historian_int.h — the historian's private state, shared by the
 * src/historian files: historian.c (opening, schema, batches, samples, meta,
 * counters), historian_events.c (events and labels), historian_export.c
 * (the CSV export), historian_checkpoint.c (WAL checkpoints off the
 * writer's thread). Nothing outside src/historian includes this file.
 */
#ifndef HISTORIAN_HISTORIAN_INT_H
#define HISTORIAN_HISTORIAN_INT_H

#include <sqlite3.h>

#include "historian/historian.h"

/* The schema this code writes (PRAGMA user_version) and the file's
 * application id (PRAGMA application_id: "ICSH"). */
#define HIST_SCHEMA 1
#define HIST_APP_ID 0x49435348

struct hist {
    sqlite3 *db;
    char *path;
    int readonly;
    struct hist_options opt;
    size_t ncols;
    struct hist_column *cols; /* names and units owned */
    vtime_t last_t;           /* time of the last sample; -1: none */
    int last_t_stale;         /* a rollback may have removed samples */
    size_t pending;           /* writes in the open batch */
    double batch_started;     /* monotonic seconds at its BEGIN */
    struct hist_ckpt *ckpt;   /* the checkpoint thread (WAL files only) */
    /* prepared once (writable handles) */
    sqlite3_stmt *st_begin, *st_commit, *st_sample, *st_event, *st_label, *st_label_end,
        *st_meta, *st_counter_add, *st_counter_set;
};

/* Writes "PATH: DOING: SQLite's message" into e (adding how many writes
 * were lost when SQLite rolled the batch back). Call it right after the
 * failing SQLite call. Returns -1. */
int hist_fail(struct hist *h, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepares a statement for one use; NULL with a message. */
sqlite3_stmt *hist_prepare(struct hist *h, const char *sql, const char *doing, struct err *e);

/* Steps a statement that returns no row (or whose rows are ignored) and
 * resets it. Returns 0 or -1 with a message naming `doing`. */
int hist_step_done(struct hist *h, sqlite3_stmt *st, const char *doing, struct err *e);

/* Binds text (not copied: s must live until the statement is stepped and
 * reset), or NULL when s is NULL. */
int hist_bind_text(sqlite3_stmt *st, int i, const char *s);

/* Around every write: hist_write_begin() refuses read-only handles and
 * opens the batch if none is open; hist_write_end() counts the write and
 * commits when the batch is full or old. Both return 0 or -1. */
int hist_write_begin(struct hist *h, struct err *e);
int hist_write_end(struct hist *h, struct err *e);

/* Checks a required name (tag, key, ...): non-empty, <= HIST_NAME_MAX
 * bytes. Returns 0 or -1 with "WHAT: ..." in e. */
int hist_check_name(const char *what, const char *s, struct err *e);

/* Runs a query returning one integer (or NULL, giving *out = 0 and 0);
 * returns 1 for a value, 0 for NULL or no row, -1 on error. */
int hist_query_int(struct hist *h, const char *sql, const char *doing, int64_t *out,
                   struct err *e);

/* Starts the checkpoint thread of a writer in WAL mode and hands it the
 * WAL hook (historian_checkpoint.c). Returns 0 or -1. hist_ckpt_stop()
 * joins it (nothing started: does nothing). */
int hist_ckpt_start(struct hist *h, struct err *e);
void hist_ckpt_stop(struct hist *h);

#endif
