/* loop.h — real-time mode: a libuv event loop that paces a scheduler to the
 * wall clock.
 *
 * Virtual time advances as wall time times `speed`, measured from an anchor
 * (wall instant, virtual instant) that moves only when the speed changes, so
 * lateness never accumulates (drift-corrected). Socket work added to the same
 * libuv loop (rtloop_uv) happens at the virtual instant of its arrival
 * (rtloop_vnow). SIGINT and SIGTERM stop the run cleanly.
 *
 * Fast mode does not need this module: it calls sched_run_until() directly.
 */
#ifndef CORE_LOOP_H
#define CORE_LOOP_H

#include <uv.h>

#include "core/err.h"
#include "core/sched.h"

struct rtloop;

/* Creates a paced loop for `s` with its own uv_loop_t. speed > 0 (1 = real
 * time). Returns NULL with a message in e. Free with rtloop_free(). */
struct rtloop *rtloop_new(struct sched *s, double speed, struct err *e);
void rtloop_free(struct rtloop *l);

uv_loop_t *rtloop_uv(struct rtloop *l);
struct sched *rtloop_sched(const struct rtloop *l);

/* Runs until the virtual clock reaches `until` (VT_NEVER: forever), until
 * rtloop_stop(), or until SIGINT/SIGTERM. Returns 0, or 1 when a signal
 * stopped it. */
int rtloop_run(struct rtloop *l, vtime_t until);

/* Stops a running loop after the current callback. Safe from any callback. */
void rtloop_stop(struct rtloop *l);

/* Changes the speed (> 0) from now on, or pauses (0). */
void rtloop_set_speed(struct rtloop *l, double speed);
double rtloop_speed(const struct rtloop *l);

/* Pauses (speed 0) when the virtual clock reaches t: every event at t has
 * run, none after it. fn (may be NULL) is called then, from the loop.
 * VT_NEVER cancels. */
void rtloop_pause_at(struct rtloop *l, vtime_t t, void (*fn)(void *ctx), void *ctx);

/* The virtual instant that corresponds to the wall clock now (never earlier
 * than the scheduler's clock). Events from sockets are stamped with it. */
vtime_t rtloop_vnow(struct rtloop *l);

/* Brings the scheduler up to rtloop_vnow() (runs due events), so that work
 * triggered from a socket callback sees the present state. */
void rtloop_catch_up(struct rtloop *l);

/* Re-arms the pacing timer after tasks were added from outside a scheduler
 * callback (e.g. in a socket callback). */
void rtloop_kick(struct rtloop *l);

#endif
