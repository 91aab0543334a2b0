/* loop.c — libuv pacing of the virtual clock (see loop.h). */
#include "core/loop.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>

struct rtloop {
    uv_loop_t uv;
    uv_timer_t timer;
    uv_signal_t sigint, sigterm;
    struct sched *s;
    double speed;
    uint64_t wall_anchor; /* uv_hrtime() ns */
    vtime_t v_anchor;
    vtime_t until;
    vtime_t hold;         /* pause when the clock reaches it (VT_NEVER: none) */
    void (*on_hold)(void *ctx);
    void *hold_ctx;
    int stopped, by_signal, running;
    vtime_t armed_for;    /* virtual instant the armed timer fires for */
};

static void anchor(struct rtloop *l)
{
    l->wall_anchor = uv_hrtime();
    l->v_anchor = sched_now(l->s);
    l->armed_for = VT_NEVER; /* the wall time of an armed timer is stale */
}

vtime_t rtloop_vnow(struct rtloop *l)
{
    vtime_t now = sched_now(l->s);
    if (l->speed <= 0)
        return now;
    double dv = (double)(uv_hrtime() - l->wall_anchor) * l->speed;
    vtime_t v = l->v_anchor + (vtime_t)dv;
    return v > now ? v : now;
}

static void arm(struct rtloop *l);

static void on_timer(uv_timer_t *t)
{
    struct rtloop *l = t->data;
    rtloop_catch_up(l);
    if (sched_now(l->s) >= l->until || l->stopped) {
        uv_stop(&l->uv);
        return;
    }
    arm(l);
}

/* Arms the timer for the next due instant. Called after every event a
 * socket delivers (rtloop_kick): when that instant is the one the timer is
 * already armed for, as it mostly is, nothing is done. */
static void arm(struct rtloop *l)
{
    if (l->speed <= 0 || l->stopped) {
        uv_timer_stop(&l->timer);
        l->armed_for = VT_NEVER;
        return;
    }
    vtime_t next = sched_next(l->s);
    if (next > l->until)
        next = l->until;
    if (next > l->hold)
        next = l->hold;
    if (next == VT_NEVER) {
        uv_timer_stop(&l->timer);
        l->armed_for = VT_NEVER;
        return;
    }
    if (next == l->armed_for && uv_is_active((uv_handle_t *)&l->timer))
        return;
    l->armed_for = next;
    double wall = (double)l->wall_anchor + (double)(next - l->v_anchor) / l->speed;
    double delay_ns = wall - (double)uv_hrtime();
    uint64_t ms = delay_ns <= 0 ? 0 : (uint64_t)ceil(delay_ns / 1e6);
    uv_timer_start(&l->timer, on_timer, ms, 0);
}

void rtloop_catch_up(struct rtloop *l)
{
    vtime_t target = rtloop_vnow(l);
    if (target > l->until)
        target = l->until;
    if (target > l->hold)
        target = l->hold;
    if (target >= sched_now(l->s))
        sched_run_until(l->s, target);
    if (l->hold != VT_NEVER && sched_now(l->s) >= l->hold) {
        /* the pause point: the clock stops exactly there */
        l->hold = VT_NEVER;
        l->speed = 0;
        anchor(l);
        uv_timer_stop(&l->timer);
        if (l->on_hold)
            l->on_hold(l->hold_ctx);
    }
}

void rtloop_pause_at(struct rtloop *l, vtime_t t, void (*fn)(void *ctx), void *ctx)
{
    l->hold = t;
    l->on_hold = fn;
    l->hold_ctx = ctx;
    if (l->running)
        arm(l);
}

void rtloop_kick(struct rtloop *l)
{
    if (l->running)
        arm(l);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct rtloop *l = h->data;
    (void)signum;
    l->by_signal = 1;
    rtloop_stop(l);
}

struct rtloop *rtloop_new(struct sched *s, double speed, struct err *e)
{
    if (!(speed >= 0) || !isfinite(speed)) {
        err_set(e, "speed must be a positive number");
        return NULL;
    }
    struct rtloop *l = calloc(1, sizeof *l);
    if (!l) {
        err_set(e, "out of memory");
        return NULL;
    }
    int r = uv_loop_init(&l->uv);
    if (r) {
        err_set(e, "event loop: %s", uv_strerror(r));
        free(l);
        return NULL;
    }
    l->s = s;
    l->speed = speed;
    l->hold = VT_NEVER;
    uv_timer_init(&l->uv, &l->timer);
    l->timer.data = l;
    uv_signal_init(&l->uv, &l->sigint);
    uv_signal_init(&l->uv, &l->sigterm);
    l->sigint.data = l->sigterm.data = l;
    anchor(l);
    return l;
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

void rtloop_free(struct rtloop *l)
{
    if (!l)
        return;
    uv_close((uv_handle_t *)&l->timer, close_cb);
    uv_close((uv_handle_t *)&l->sigint, close_cb);
    uv_close((uv_handle_t *)&l->sigterm, close_cb);
    uv_run(&l->uv, UV_RUN_DEFAULT);
    uv_loop_close(&l->uv);
    free(l);
}

uv_loop_t *rtloop_uv(struct rtloop *l)
{
    return &l->uv;
}

struct sched *rtloop_sched(const struct rtloop *l)
{
    return l->s;
}

int rtloop_run(struct rtloop *l, vtime_t until)
{
    l->until = until;
    l->stopped = 0;
    l->by_signal = 0;
    l->running = 1;
    anchor(l);
    uv_signal_start(&l->sigint, on_signal, SIGINT);
    uv_signal_start(&l->sigterm, on_signal, SIGTERM);
    arm(l);
    while (!l->stopped && sched_now(l->s) < until) {
        uv_run(&l->uv, UV_RUN_DEFAULT);
        if (l->stopped || sched_now(l->s) >= until)
            break;
        /* uv_run returned without a stop: nothing armed (paused with no
         * other handles); wait for a signal. */
        if (l->speed <= 0)
            uv_run(&l->uv, UV_RUN_ONCE);
        else
            arm(l);
    }
    uv_timer_stop(&l->timer);
    uv_signal_stop(&l->sigint);
    uv_signal_stop(&l->sigterm);
    l->running = 0;
    return l->by_signal;
}

void rtloop_stop(struct rtloop *l)
{
    l->stopped = 1;
    uv_stop(&l->uv);
}

void rtloop_set_speed(struct rtloop *l, double speed)
{
    if (!(speed >= 0) || !isfinite(speed))
        return;
    /* Re-anchor at the present virtual instant so no jump occurs. */
    vtime_t v = rtloop_vnow(l);
    if (l->running)
        rtloop_catch_up(l);
    l->speed = speed;
    l->wall_anchor = uv_hrtime();
    l->v_anchor = v > sched_now(l->s) ? v : sched_now(l->s);
    l->armed_for = VT_NEVER;
    if (l->running)
        arm(l);
}

double rtloop_speed(const struct rtloop *l)
{
    return l->speed;
}
