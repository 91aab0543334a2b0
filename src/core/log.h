/* log.h — the process log: levels, plain text or JSON lines.
 *
 * One log per process, written by applications (the CLI, the range), never by
 * library code, which returns errors instead. Each record carries the level,
 * the emitting module and, when a clock is set, the virtual time as an
 * ISO-8601 UTC stamp. In JSON mode each record is one JSON object per line:
 *   {"time":"2026-03-02T06:00:01.250Z","level":"warn","src":"plc","msg":"..."}
 * plus any extra fields given to log_fields().
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_level { LOGL_ERROR = 0, LOGL_WARN, LOGL_INFO, LOGL_DEBUG };

/* Sets the threshold, the format (json != 0: JSON lines) and the stream
 * (NULL: stderr). Defaults: LOGL_INFO, text, stderr. */
void log_setup(enum log_level level, int json, FILE *out);

/* Gives the log a clock: `now` returns Unix nanoseconds of virtual time.
 * NULL removes it (records then carry no time). */
void log_set_clock(int64_t (*now)(void *ctx), void *ctx);

/* Parses "error", "warn", "info", "debug". Returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *src, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As log_msg, with extra fields: `fields` is a jansson object (json_t *)
 * whose members are added to the JSON record (in text mode printed as
 * key=value). The reference is stolen. */
void log_fields(enum log_level level, const char *src, void *fields,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
