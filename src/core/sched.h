/* sched.h — the virtual clock and its scheduler of one-shot and periodic tasks.
 *
 * One scheduler per range. Time only moves when the scheduler runs events:
 * sched_run_until() executes every due event in order of (time, priority,
 * creation order) and then sets the clock to the target time. Nothing here
 * waits for the wall clock; loop.h paces a scheduler to real time.
 *
 * Events at one instant run in priority order; the SCHED_PRIO_* values give
 * the order the whole range follows at each instant: the physics first
 * (bringing the state to `now`), then commands scheduled for `now`, then
 * sensor samples, then controllers and network work, then recorders.
 */
#ifndef CORE_SCHED_H
#define CORE_SCHED_H

#include <stddef.h>

#include "core/vtime.h"

enum {
    SCHED_PRIO_PHYSICS = 0,
    SCHED_PRIO_COMMAND = 10,
    SCHED_PRIO_SENSOR = 20,
    SCHED_PRIO_CONTROL = 30,
    SCHED_PRIO_NET = 40,
    SCHED_PRIO_RECORD = 90,
};

struct sched;

/* A task body. `now` equals sched_now() during the call. A task may add or
 * cancel tasks (itself included) and may call sched_halt(). */
typedef void (*sched_fn)(void *ctx, vtime_t now);

/* Creates a scheduler with its clock at 0. Returns NULL when out of memory.
 * The caller frees it with sched_free(). */
struct sched *sched_new(void);
void sched_free(struct sched *s);

/* Runs `fn(ctx, t)` at t = first, first + period, ... until cancelled.
 * `first` earlier than now is moved to now; period must be > 0; prio
 * within -32768 .. 32767 (lower runs first).
 * Returns a task id >= 0, or -1 (bad period or prio, or out of memory). */
int sched_every(struct sched *s, vtime_t first, vtime_t period, int prio,
                sched_fn fn, void *ctx);

/* Runs `fn(ctx, when)` once. Returns a task id >= 0, or -1. */
int sched_at(struct sched *s, vtime_t when, int prio, sched_fn fn, void *ctx);

/* Cancels a task; cancelling a finished or unknown id does nothing. */
void sched_cancel(struct sched *s, int id);

/* Changes the period of a periodic task from its next occurrence on. */
int sched_set_period(struct sched *s, int id, vtime_t period);

vtime_t sched_now(const struct sched *s);

/* Time of the next pending event, or VT_NEVER when there is none. */
vtime_t sched_next(const struct sched *s);

/* Executes every event with time <= until, in order, then sets the clock to
 * `until` (unless halted earlier, in which case the clock stays at the time
 * of the last event run). Returns the number of events run. */
size_t sched_run_until(struct sched *s, vtime_t until);

/* How far a task may run ahead on its own: the earlier of the next pending
 * event and the bound of the running sched_run_until(). A task that
 * advances a model in fixed steps (the physics) may take every step whose
 * time is <= the horizon in one call, since no other event comes before. */
vtime_t sched_horizon(const struct sched *s);

/* Asks a running sched_run_until() to return after the current event. */
void sched_halt(struct sched *s);

/* When a live task runs next (for snapshots), or VT_NEVER. */
vtime_t sched_task_next(const struct sched *s, int id);

/* Sets the clock of a scheduler with no past (used when a run resumes from a
 * saved state). Only allowed to move forward. */
void sched_set_now(struct sched *s, vtime_t now);

#endif
