/* historian_export.c — the historian as the range's CSV: timestamp, one
 * column per tag, attack (see hist_export_csv() in historian.h).
 */
#include "historian/historian_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"

void hist_export_default(struct hist_export *x)
{
    x->from = 0;
    x->to = VT_NEVER;
    x->attack = 1;
}

/* The timestamp decimals a sample period needs, as `icsrange sim` picks
 * them. */
static int period_decimals(vtime_t p)
{
    return p % VT_SEC == 0 ? 0 : p % VT_MS == 0 ? 3 : p % VT_US == 0 ? 6 : 9;
}

/* An attack window [start, end). */
struct window {
    vtime_t start, end;
};

struct windows {
    struct window *w;
    size_t n, cap;
    int oom;
};

static int add_window(void *ctx, const struct hist_label *l)
{
    struct windows *ws = ctx;
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? 2 * ws->cap : 16;
        struct window *nw = realloc(ws->w, cap * sizeof *nw);
        if (!nw) {
            ws->oom = 1;
            return 1;
        }
        ws->w = nw;
        ws->cap = cap;
    }
    ws->w[ws->n++] = (struct window){l->start, l->end};
    return 0;
}

/* Merges windows sorted by start into disjoint ones, in place. */
static void merge_windows(struct windows *ws)
{
    size_t k = 0;
    for (size_t i = 0; i < ws->n; i++) {
        if (k && ws->w[i].start <= ws->w[k - 1].end) {
            if (ws->w[i].end > ws->w[k - 1].end)
                ws->w[k - 1].end = ws->w[i].end;
        } else {
            ws->w[k++] = ws->w[i];
        }
    }
    ws->n = k;
}

struct exporter {
    struct hist *h;
    struct csvw *w;
    int64_t start;
    int ts_decimals;
    struct windows *ws; /* NULL: no attack column */
    size_t next;        /* first window that may still contain a row */
    int overflow;
};

static int export_row(void *ctx, vtime_t t, const double *v)
{
    struct exporter *x = ctx;
    int64_t unix_ns;
    if (__builtin_add_overflow(x->start, t, &unix_ns)) {
        x->overflow = 1;
        return 1;
    }
    char ts[48];
    vt_format_iso(unix_ns, x->ts_decimals, ts, sizeof ts);
    csvw_str(x->w, ts);
    for (size_t i = 0; i < x->h->ncols; i++)
        csvw_num(x->w, v[i], x->h->cols[i].decimals);
    if (x->ws) {
        /* rows come in time order: windows that ended are never needed again */
        while (x->next < x->ws->n && x->ws->w[x->next].end <= t)
            x->next++;
        csvw_int(x->w, x->next < x->ws->n && x->ws->w[x->next].start <= t);
    }
    csvw_end_row(x->w);
    return 0;
}

static int export_snapshot(struct hist *h, const char *path, const struct hist_export *x,
                           struct err *e)
{
    int64_t start, period;
    int r = hist_meta_get_int(h, HIST_META_START, &start, e);
    if (r < 0)
        return -1;
    if (r == 0)
        return err_set(e, "%s: no start instant (meta %s): not recorded by the range", h->path,
                       HIST_META_START);
    struct exporter ex = {.h = h, .start = start};
    r = hist_meta_get_int(h, HIST_META_PERIOD, &period, e);
    if (r < 0)
        return -1;
    if (r == 1 && period > 0) {
        ex.ts_decimals = period_decimals(period);
    } else {
        /* no period recorded: the finest the exported rows need */
        sqlite3_stmt *st = hist_prepare(
            h,
            "SELECT max(CASE WHEN t % 1000000000 = 0 THEN 0 WHEN t % 1000000 = 0 THEN 3"
            " WHEN t % 1000 = 0 THEN 6 ELSE 9 END) FROM samples WHERE t >= ? AND t < ?",
            "choosing timestamp decimals", e);
        if (!st)
            return -1;
        sqlite3_bind_int64(st, 1, x->from);
        sqlite3_bind_int64(st, 2, x->to);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            ex.ts_decimals = sqlite3_column_int(st, 0);
        else
            hist_fail(h, e, "choosing timestamp decimals");
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return -1;
    }
    struct windows ws = {0};
    if (x->attack) {
        if (hist_labels_each(h, x->from, x->to, add_window, &ws, e) < 0 || ws.oom) {
            free(ws.w);
            return ws.oom ? err_set(e, "%s: out of memory", h->path) : -1;
        }
        merge_windows(&ws);
        ex.ws = &ws;
    }
    ex.w = csvw_open(path, e);
    if (!ex.w) {
        free(ws.w);
        return -1;
    }
    csvw_str(ex.w, "timestamp");
    for (size_t i = 0; i < h->ncols; i++)
        csvw_str(ex.w, h->cols[i].name);
    if (x->attack)
        csvw_str(ex.w, "attack");
    csvw_end_row(ex.w);
    int64_t n = hist_samples_each(h, x->from, x->to, export_row, &ex, e);
    free(ws.w);
    if (n < 0) {
        csvw_close(ex.w, NULL);
        return -1;
    }
    if (ex.overflow) {
        csvw_close(ex.w, NULL);
        return err_set(e, "%s: a timestamp lies beyond the year 2262 (start %" PRId64
                       " ns)", h->path, start);
    }
    if (csvw_close(ex.w, e) != 0)
        return -1;
    return 0;
}

int hist_export_csv(struct hist *h, const char *path, const struct hist_export *x,
                    struct err *e)
{
    struct hist_export def;
    if (!x) {
        hist_export_default(&def);
        x = &def;
    }
    /* one read transaction: labels, decimals and rows from one snapshot
     * (a writer inside its batch already reads a single state) */
    int own_txn = sqlite3_get_autocommit(h->db);
    if (own_txn && sqlite3_exec(h->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return hist_fail(h, e, "starting the export");
    int r = export_snapshot(h, path, x, e);
    if (own_txn)
        sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    return r;
}
