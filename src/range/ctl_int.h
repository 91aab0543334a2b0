/* ctl_int.h — the control socket's socket-free core: a byte stream cut into
 * lines, each line answered with one JSON line.
 *
 * The server (ctl.c) feeds it what a connection reads and writes what it
 * emits; the fuzz harness (fuzz/fuzz_ctl.c) and the tests feed it bytes
 * directly. Nothing here touches a socket or a loop.
 *
 * A line ends at '\n'; a '\r' before it is dropped; a line of nothing but
 * blanks (space, tab) is skipped without an answer. Every other line gets
 * exactly one answer, in order: the handler's object with "ok":true first
 * (unless the handler set "ok"), or {"ok":false,"error":"..."} for a line
 * that is not valid JSON (jansson's message and column), not an object, or
 * has no string "cmd", or when the handler fails. A line longer than
 * CTL_MAX_LINE bytes (its '\n' and '\r' not counted) is answered with an
 * error and ends the stream: the connection must close.
 */
#ifndef RANGE_CTL_INT_H
#define RANGE_CTL_INT_H

#include <stddef.h>

#include "range/ctl.h"

/* The unfinished line of one stream. Zero-initialised is ready; release
 * with ctl_lines_clear(). */
struct ctl_lines {
    char *buf;
    size_t len, cap;
    int ended; /* an overlong line or a stopped emit ended the stream */
};

/* Receives one answer: JSON text ending in '\n' (len counts it), valid
 * only during the call. Returns 0 to go on, -1 to end the stream (the
 * connection is gone). */
typedef int (*ctl_emit_fn)(void *ectx, const char *line, size_t len);

/* Feeds n bytes of the stream: every line they complete is answered
 * through emit, in order; the rest is kept for the next call. Returns 0,
 * or -1 when the stream has ended (a line over CTL_MAX_LINE, its error
 * answer emitted; emit returned -1; out of memory): the caller closes the
 * connection, and later calls do nothing and return -1. */
int ctl_lines_feed(struct ctl_lines *lb, const char *data, size_t n, ctl_handler_fn fn,
                   void *ctx, ctl_emit_fn emit, void *ectx);

/* Frees the unfinished line; the struct is ready for a new stream. */
void ctl_lines_clear(struct ctl_lines *lb);

/* Answers one request line (without its '\n'; a trailing '\r' is
 * ignored). Returns the answer, malloc'd JSON text ending in '\n', its
 * length in *len; NULL only when out of memory. The caller frees it. */
char *ctl_answer_line(const char *line, size_t n, ctl_handler_fn fn, void *ctx, size_t *len);

/* The answer to a line over CTL_MAX_LINE (static text ending in '\n'). */
extern const char ctl_overlong_answer[];

#endif
