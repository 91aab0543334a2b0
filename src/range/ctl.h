/* ctl.h — the control socket of a running range, and its client.
 *
 * A range listens on a Unix-domain stream socket, one per instance, for
 * control requests: the instructor's `icsrange ctl` today, the web HMI's
 * and the instructor console's backends later. The protocol is JSON lines:
 * each request is one JSON object on one line ({"cmd":"status"},
 * {"cmd":"speed","speed":10}, {"cmd":"snapshot","file":"/tmp/s.snap"}),
 * each answer one JSON object on one line, {"ok":true, ...} or
 * {"ok":false,"error":"..."}, in the order of the requests. Several clients
 * may be connected at once.
 *
 * Hostile input is answered, never fatal: a line that is not a JSON object
 * or has no string "cmd" gets {"ok":false,"error":...} naming what is
 * wrong; a line longer than CTL_MAX_LINE closes that connection after an
 * error answer; at most CTL_MAX_CLIENTS connections are served (more are
 * closed at once). The socket's directory is created mode 0700 and the
 * socket 0600: only the range's user may control it. A stale socket file
 * left by a killed range is replaced; a live one (another range answers
 * on it) is an error.
 *
 * The server runs on the range's libuv loop; the handler runs in the
 * loop's thread between scheduler events, so it sees a consistent range.
 *
 * Ownership: ctl_server_new() returns a server freed with ctl_server_free()
 * (which answers what is pending, closes connections and removes the
 * socket file). A handler's answer is a new reference the server releases.
 */
#ifndef RANGE_CTL_H
#define RANGE_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <uv.h>

#include "core/err.h"

#define CTL_MAX_LINE 65536
#define CTL_MAX_CLIENTS 16

/* The default socket of instance n: $XDG_RUNTIME_DIR/icsrange/N.sock when
 * XDG_RUNTIME_DIR is set, else /tmp/icsrange-UID/N.sock. Writes it into
 * buf (size len). Returns 0, or -1 if it does not fit. */
int ctl_default_path(int instance, char *buf, size_t len);

/* Answers one request: `req` is an object with a string "cmd" (borrowed).
 * Returns a new JSON object; the server adds "ok":true unless the handler
 * set "ok" itself. Return NULL to answer {"ok":false,"error":"internal
 * error"}. */
typedef json_t *(*ctl_handler_fn)(void *ctx, json_t *req);

struct ctl_server;

/* Listens on `path` (its directory is created if missing). Returns NULL
 * with a message (path too long for a socket, another range on it, no
 * permission). */
struct ctl_server *ctl_server_new(uv_loop_t *loop, const char *path, ctl_handler_fn fn,
                                  void *ctx, struct err *e);
/* Stops the server: nothing more is read or answered (answers already
 * written stay written; ones still queued for a peer that is not reading
 * are dropped), every connection is closed, and the socket file is removed
 * if it is still the one this server bound. Its handles are closed, and
 * ctl_server_free() runs the loop (uv_run UV_RUN_NOWAIT, so other due
 * callbacks of the loop may run too) until their close callbacks have run:
 * the caller needs nothing more, and may uv_loop_close() right after.
 * Because uv_run is not reentrant, ctl_server_free() must not be called
 * from a callback of the same loop; there, call ctl_server_close(), which
 * does the same without running the loop: the server's memory is released
 * by its last close callback, the next time the caller runs the loop. A
 * handler must not free or close its own server. NULL is ignored. */
void ctl_server_free(struct ctl_server *s);
void ctl_server_close(struct ctl_server *s);
const char *ctl_server_path(const struct ctl_server *s);

/* The client: connects to `path`, sends `req`, waits at most timeout_ms for
 * the answer (its own short-lived loop; no range loop needed). Returns the
 * answer (a new reference), or NULL with a message ("no range is running
 * on PATH (instance N?)", a timeout, a malformed answer). timeout_ms <= 0
 * waits without limit. Blocking; safe from any thread. */
json_t *ctl_call(const char *path, json_t *req, int timeout_ms, struct err *e);

#endif
