/* historian_checkpoint.c — WAL checkpoints on a thread of their own.
 *
 * A checkpoint copies committed pages from the -wal file into the database
 * and fsyncs both: tens to hundreds of milliseconds on a real disk. Left to
 * SQLite's automatic checkpoint it would run inside a commit, on the
 * range's event loop, stalling the plant's scan cycles and network. So the
 * writer's connection has no automatic checkpoint; its WAL hook (called
 * after each commit with the WAL's size) wakes this thread, which runs
 * PASSIVE checkpoints on its own connection: they never block the writer,
 * and a checkpoint never touches the commits' durability (see historian.h).
 *
 * Keeping the file small: the -wal starts over from its beginning only
 * when the writer begins a transaction at a moment when every frame has
 * been copied. With commits seconds apart (real time) that is the normal
 * case. A writer that commits back to back (fast mode) would never leave
 * such a moment, so once the WAL reaches WAL_WAIT_PAGES its commit waits
 * for the thread to finish copying (one batch's worth: milliseconds), and
 * the next transaction restarts the WAL. The last checkpoint happens when
 * the writer closes.
 */
#include "historian/historian_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* WAL sizes in pages of 4 KiB: wake the thread at 4 MiB; make a commit
 * wait for it at 64 MiB. */
#define WAL_KICK_PAGES 1024
#define WAL_WAIT_PAGES 16384
#define WAL_WAIT_MAX_S 10

struct hist_ckpt {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    int kick, busy, stop;
};

static void *ckpt_main(void *arg)
{
    struct hist_ckpt *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->kick && !c->stop)
            pthread_cond_wait(&c->wake, &c->mu);
        if (c->stop)
            break;
        c->kick = 0;
        c->busy = 1;
        pthread_mutex_unlock(&c->mu);
        /* Pass after pass until every frame is in the database: each pass
         * copies what the writer committed during the previous one, so the
         * passes shrink (the disk outruns the writer). A pass that copies
         * nothing (a reader in another process still uses old frames) or
         * fails (I/O) ends the work until the next kick; the close retries
         * in any case. */
        int log = 0, done = 0, before = -1;
        while (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
                   SQLITE_OK &&
               done < log && done != before)
            before = done;
        pthread_mutex_lock(&c->mu);
        c->busy = 0;
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int pages)
{
    struct hist_ckpt *c = ctx;
    (void)db;
    (void)name;
    if (pages < WAL_KICK_PAGES)
        return SQLITE_OK;
    pthread_mutex_lock(&c->mu);
    c->kick = 1;
    pthread_cond_signal(&c->wake);
    if (pages >= WAL_WAIT_PAGES) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += WAL_WAIT_MAX_S;
        while ((c->kick || c->busy) &&
               pthread_cond_timedwait(&c->idle, &c->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&c->mu);
    return SQLITE_OK;
}

int hist_ckpt_start(struct hist *h, struct err *e)
{
    struct hist_ckpt *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(e, "%s: out of memory", h->path);
    if (sqlite3_open_v2(h->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        err_set(e, "%s: opening the checkpoint connection: %s", h->path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    /* a connection opens the WAL at its first read; until then a
     * checkpoint on it does nothing */
    if (sqlite3_exec(c->db, "PRAGMA busy_timeout=5000; SELECT count(*) FROM sqlite_schema",
                     NULL, NULL, NULL) != SQLITE_OK) {
        err_set(e, "%s: opening the checkpoint connection: %s", h->path,
                sqlite3_errmsg(c->db));
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->idle, NULL);
    if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->idle);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close(c->db);
        free(c);
        return err_set(e, "%s: cannot start the checkpoint thread", h->path);
    }
    h->ckpt = c;
    sqlite3_wal_hook(h->db, on_wal_commit, c);
    return 0;
}

void hist_ckpt_stop(struct hist *h)
{
    struct hist_ckpt *c = h->ckpt;
    if (!c)
        return;
    sqlite3_wal_hook(h->db, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    sqlite3_close(c->db);
    free(c);
    h->ckpt = NULL;
}
