/* historian_events.c — events and attack labels (see historian.h). */
#include "historian/historian_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

/* Event kinds: 1-32 of [a-z0-9_], so that they read well in SQL and JSON. */
static int check_kind(const char *kind, struct err *e)
{
    if (!kind || !*kind)
        return err_set(e, "event: no kind");
    size_t n = 0;
    for (const char *p = kind; *p; p++, n++)
        if (n >= 32 || !((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return err_set(e, "event kind '%.40s': 1-32 characters a-z, 0-9, _", kind);
    return 0;
}

int64_t hist_event(struct hist *h, const struct hist_event *ev, struct err *e)
{
    if (check_kind(ev->kind, e) != 0)
        return -1;
    if (ev->t < 0 || ev->t == VT_NEVER)
        return err_set(e, "%s: event at t = %" PRId64 " ns: %s", h->path, ev->t,
                       ev->t < 0 ? "before the start" : "never");
    if (hist_write_begin(h, e) != 0)
        return -1;
    sqlite3_stmt *st = h->st_event;
    sqlite3_bind_int64(st, 1, ev->t);
    sqlite3_bind_text(st, 2, ev->kind, -1, SQLITE_STATIC);
    hist_bind_text(st, 3, ev->device);
    hist_bind_text(st, 4, ev->source);
    hist_bind_text(st, 5, ev->text);
    hist_bind_text(st, 6, ev->details);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        if ((rc & 0xff) == SQLITE_CONSTRAINT)
            err_set(e, "%s: event %s: details are not valid JSON", h->path, ev->kind);
        else
            hist_fail(h, e, "recording an event");
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    int64_t id = sqlite3_last_insert_rowid(h->db);
    return hist_write_end(h, e) != 0 ? -1 : id;
}

int64_t hist_count_events(struct hist *h, const char *kind, struct err *e)
{
    sqlite3_stmt *st = hist_prepare(h, kind ? "SELECT count(*) FROM events WHERE kind = ?"
                                            : "SELECT count(*) FROM events",
                                    "counting events", e);
    if (!st)
        return -1;
    if (kind)
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        hist_fail(h, e, "counting events");
    sqlite3_finalize(st);
    return n;
}

int64_t hist_events_each(struct hist *h, const char *kind, vtime_t from, vtime_t to,
                         hist_event_fn fn, void *ctx, struct err *e)
{
    sqlite3_stmt *st = hist_prepare(
        h,
        kind ? "SELECT id, t, kind, device, source, text, details FROM events"
               " WHERE kind = ?3 AND t >= ?1 AND t < ?2 ORDER BY t, id"
             : "SELECT id, t, kind, device, source, text, details FROM events"
               " WHERE t >= ?1 AND t < ?2 ORDER BY t, id",
        "reading events", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    if (kind)
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct hist_event ev = {
            .t = sqlite3_column_int64(st, 1),
            .kind = (const char *)sqlite3_column_text(st, 2),
            .device = (const char *)sqlite3_column_text(st, 3),
            .source = (const char *)sqlite3_column_text(st, 4),
            .text = (const char *)sqlite3_column_text(st, 5),
            .details = (const char *)sqlite3_column_text(st, 6),
        };
        if (!ev.kind)
            ev.kind = "";
        n++;
        if (fn(ctx, sqlite3_column_int64(st, 0), &ev) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        n = hist_fail(h, e, "reading events");
    sqlite3_finalize(st);
    return n;
}

/* ---- labels ---- */

/* "T0836" or "T0836.001", separated by commas (spaces allowed around). */
static int check_techniques(const char *s, struct err *e)
{
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        int ok = *p == 'T';
        if (ok) {
            p++;
            for (int i = 0; i < 4; i++, p++)
                ok = ok && isdigit((unsigned char)*p);
            if (ok && *p == '.') {
                p++;
                for (int i = 0; i < 3; i++, p++)
                    ok = ok && isdigit((unsigned char)*p);
            }
        }
        while (ok && *p == ' ')
            p++;
        if (!ok || (*p != ',' && *p != '\0'))
            return err_set(e, "label: technique '%.*s' is not an ATT&CK id (T0836, T0855.001)",
                           (int)strcspn(tok, ","), tok);
        if (*p == '\0')
            return 0;
        p++;
    }
}

int64_t hist_label(struct hist *h, const struct hist_label *l, struct err *e)
{
    if (l->start < 0)
        return err_set(e, "%s: label starts before the start (t = %" PRId64 " ns)", h->path,
                       l->start);
    if (l->end <= l->start)
        return err_set(e, "%s: label [%" PRId64 ", %" PRId64 ") ns is empty", h->path, l->start,
                       l->end);
    if (l->techniques && *l->techniques && check_techniques(l->techniques, e) != 0)
        return -1;
    if (hist_write_begin(h, e) != 0)
        return -1;
    sqlite3_stmt *st = h->st_label;
    sqlite3_bind_int64(st, 1, l->start);
    if (l->end == VT_NEVER)
        sqlite3_bind_null(st, 2);
    else
        sqlite3_bind_int64(st, 2, l->end);
    hist_bind_text(st, 3, l->scenario);
    hist_bind_text(st, 4, l->inject);
    hist_bind_text(st, 5, l->techniques);
    hist_bind_text(st, 6, l->description);
    if (hist_step_done(h, st, "recording a label", e) != 0)
        return -1;
    int64_t id = sqlite3_last_insert_rowid(h->db);
    return hist_write_end(h, e) != 0 ? -1 : id;
}

int hist_label_end(struct hist *h, int64_t id, vtime_t end, struct err *e)
{
    int64_t start;
    sqlite3_stmt *q = hist_prepare(h, "SELECT t_start FROM labels WHERE id = ?",
                                   "reading a label", e);
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    start = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        hist_fail(h, e, "reading label %" PRId64, id);
    sqlite3_finalize(q);
    if (rc == SQLITE_DONE)
        return err_set(e, "%s: no label %" PRId64, h->path, id);
    if (rc != SQLITE_ROW)
        return -1;
    if (end <= start)
        return err_set(e, "%s: label %" PRId64 ": end before its start", h->path, id);
    if (hist_write_begin(h, e) != 0)
        return -1;
    sqlite3_bind_int64(h->st_label_end, 1, id);
    if (end == VT_NEVER)
        sqlite3_bind_null(h->st_label_end, 2);
    else
        sqlite3_bind_int64(h->st_label_end, 2, end);
    if (hist_step_done(h, h->st_label_end, "ending a label", e) != 0)
        return -1;
    return hist_write_end(h, e);
}

int64_t hist_count_labels(struct hist *h, struct err *e)
{
    int64_t n;
    return hist_query_int(h, "SELECT count(*) FROM labels", "counting labels", &n, e) < 0 ? -1
                                                                                         : n;
}

int64_t hist_labels_each(struct hist *h, vtime_t from, vtime_t to, hist_label_fn fn, void *ctx,
                         struct err *e)
{
    sqlite3_stmt *st = hist_prepare(
        h,
        "SELECT id, t_start, t_end, scenario, inject, techniques, description FROM labels"
        " WHERE t_start < ?2 AND (t_end IS NULL OR t_end > ?1) ORDER BY t_start, id",
        "reading labels", e);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct hist_label l = {
            .id = sqlite3_column_int64(st, 0),
            .start = sqlite3_column_int64(st, 1),
            .end = sqlite3_column_type(st, 2) == SQLITE_NULL ? VT_NEVER
                                                              : sqlite3_column_int64(st, 2),
            .scenario = (const char *)sqlite3_column_text(st, 3),
            .inject = (const char *)sqlite3_column_text(st, 4),
            .techniques = (const char *)sqlite3_column_text(st, 5),
            .description = (const char *)sqlite3_column_text(st, 6),
        };
        n++;
        if (fn(ctx, &l) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        n = hist_fail(h, e, "reading labels");
    sqlite3_finalize(st);
    return n;
}
