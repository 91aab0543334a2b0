/* log.c — text and JSON-lines logging (see log.h). */
#include "core/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include "core/vtime.h"

static struct {
    enum log_level level;
    int json;
    FILE *out;
    int64_t (*now)(void *);
    void *now_ctx;
} L = {LOGL_INFO, 0, NULL, NULL, NULL};

static const char *level_names[] = {"error", "warn", "info", "debug"};

void log_setup(enum log_level level, int json, FILE *out)
{
    L.level = level;
    L.json = json;
    L.out = out;
}

void log_set_clock(int64_t (*now)(void *ctx), void *ctx)
{
    L.now = now;
    L.now_ctx = ctx;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    if (strcmp(s, "warning") == 0) {
        *out = LOGL_WARN;
        return 0;
    }
    return -1;
}

int log_enabled(enum log_level level)
{
    return level <= L.level;
}

static void emit(enum log_level level, const char *src, json_t *fields,
                 const char *fmt, va_list ap)
{
    FILE *out = L.out ? L.out : stderr;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char stamp[40] = "";
    if (L.now)
        vt_format_iso(L.now(L.now_ctx), 3, stamp, sizeof stamp);
    if (L.json) {
        json_t *o = json_object();
        if (stamp[0])
            json_object_set_new(o, "time", json_string(stamp));
        json_object_set_new(o, "level", json_string(level_names[level]));
        json_object_set_new(o, "src", json_string(src ? src : ""));
        json_object_set_new(o, "msg", json_string(msg));
        if (fields)
            json_object_update_missing(o, fields);
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) {
            fprintf(out, "%s\n", line);
            free(line);
        }
        json_decref(o);
    } else {
        if (stamp[0])
            fprintf(out, "%s ", stamp);
        fprintf(out, "%s %s: %s", level_names[level], src ? src : "", msg);
        if (fields) {
            const char *key;
            json_t *v;
            json_object_foreach(fields, key, v) {
                char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                fprintf(out, " %s=%s", key, txt ? txt : "?");
                free(txt);
            }
        }
        fputc('\n', out);
    }
    fflush(out);
}

void log_msg(enum log_level level, const char *src, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, src, NULL, fmt, ap);
    va_end(ap);
}

void log_fields(enum log_level level, const char *src, void *fields,
                const char *fmt, ...)
{
    if (log_enabled(level)) {
        va_list ap;
        va_start(ap, fmt);
        emit(level, src, fields, fmt, ap);
        va_end(ap);
    }
    json_decref(fields);
}
