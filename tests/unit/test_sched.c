/* test_sched.c — the virtual clock's scheduler: order by time, priority and
 * creation; periodic and one-shot tasks; cancel; halt; horizon; one-shot
 * tasks that add tasks while they run (the hole their entry leaves). */
#include <stdio.h>
#include <string.h>

#include "core/sched.h"
#include "testutil.h"

struct rec {
    char log[512];
    size_t n;
    struct sched *s;
    int self_id;
};

struct tag {
    struct rec *r;
    char c;
};

static void note(void *ctx, vtime_t now)
{
    struct tag *t = ctx;
    t->r->n += (size_t)snprintf(t->r->log + t->r->n, sizeof t->r->log - t->r->n, "%c%lld ",
                                t->c, (long long)(now / VT_MS));
}

static void order(void **state)
{
    (void)state;
    struct rec r = {0};
    struct sched *s = sched_new();
    struct tag a = {&r, 'a'}, b = {&r, 'b'}, c = {&r, 'c'}, d = {&r, 'd'};
    sched_every(s, 0, 100 * VT_MS, SCHED_PRIO_SENSOR, note, &a);
    sched_every(s, 50 * VT_MS, 100 * VT_MS, SCHED_PRIO_PHYSICS, note, &b);
    sched_at(s, 100 * VT_MS, SCHED_PRIO_PHYSICS, note, &c);  /* before a at 100 */
    sched_at(s, 100 * VT_MS, SCHED_PRIO_RECORD, note, &d);   /* after a at 100 */
    size_t ran = sched_run_until(s, 200 * VT_MS);
    assert_string_equal(r.log, "a0 b50 c100 a100 d100 b150 a200 ");
    assert_int_equal(ran, 7);
    assert_int_equal(sched_now(s), 200 * VT_MS);
    /* running again to an instant with nothing due just moves the clock */
    sched_run_until(s, 220 * VT_MS);
    assert_int_equal(sched_now(s), 220 * VT_MS);
    assert_int_equal(sched_next(s), 250 * VT_MS);
    sched_free(s);
}

static void ties_break_by_creation(void **state)
{
    (void)state;
    struct rec r = {0};
    struct sched *s = sched_new();
    struct tag t[5];
    for (int i = 0; i < 5; i++) {
        t[i] = (struct tag){&r, (char)('0' + i)};
        sched_every(s, 0, VT_SEC, 20, note, &t[i]);
    }
    sched_run_until(s, 2 * VT_SEC);
    assert_string_equal(r.log, "00 10 20 30 40 01000 11000 21000 31000 41000 02000 12000 22000 "
                               "32000 42000 ");
    sched_free(s);
}

static void cancel_self(void *ctx, vtime_t now)
{
    struct rec *r = ctx;
    (void)now;
    r->n++;
    if (r->n == 3)
        sched_cancel(r->s, r->self_id);
}

static void cancel_and_past(void **state)
{
    (void)state;
    struct rec r = {0};
    struct sched *s = sched_new();
    r.s = s;
    r.self_id = sched_every(s, 0, VT_SEC, 0, cancel_self, &r);
    sched_run_until(s, 10 * VT_SEC);
    assert_int_equal(r.n, 3);
    /* an event in the past runs now */
    struct rec r2 = {0};
    struct tag t = {&r2, 'p'};
    sched_at(s, 0, 0, note, &t);
    sched_run_until(s, 10 * VT_SEC);
    assert_string_equal(r2.log, "p10000 ");
    /* a cancelled one-shot never runs */
    struct rec r3 = {0};
    struct tag t3 = {&r3, 'x'};
    int id = sched_at(s, 11 * VT_SEC, 0, note, &t3);
    sched_cancel(s, id);
    sched_run_until(s, 12 * VT_SEC);
    assert_string_equal(r3.log, "");
    assert_int_equal(sched_every(s, 0, 0, 0, note, &t3), -1);
    sched_free(s);
}

static void halter(void *ctx, vtime_t now)
{
    struct rec *r = ctx;
    (void)now;
    r->n++;
    sched_halt(r->s);
}

static void halt_and_horizon(void **state)
{
    (void)state;
    struct rec r = {0};
    struct sched *s = sched_new();
    r.s = s;
    sched_at(s, 5 * VT_SEC, 0, halter, &r);
    struct rec r2 = {0};
    struct tag t = {&r2, 'z'};
    sched_at(s, 6 * VT_SEC, 0, note, &t);
    sched_run_until(s, 10 * VT_SEC);
    assert_int_equal(r.n, 1);
    assert_int_equal(sched_now(s), 5 * VT_SEC);
    assert_string_equal(r2.log, "");
    sched_run_until(s, 10 * VT_SEC);
    assert_string_equal(r2.log, "z6000 ");
    /* the horizon is the next event or the run's bound */
    sched_at(s, 15 * VT_SEC, 0, note, &t);
    sched_run_until(s, 12 * VT_SEC);
    assert_int_equal(sched_horizon(s), 12 * VT_SEC);
    sched_free(s);
}

/* A model stepping in 10 ms steps up to the horizon, as the physics does,
 * rescheduling itself as a one-shot; it logs the horizon it saw and what
 * sched_next() and sched_task_next() said while it ran. */
struct stepper {
    struct rec *r;
    struct sched *s;
    int id, other;
    vtime_t t;
};

static void stepper_run(void *ctx, vtime_t now)
{
    struct stepper *m = ctx;
    vtime_t h = sched_horizon(m->s);
    m->r->n += (size_t)snprintf(m->r->log + m->r->n, sizeof m->r->log - m->r->n,
                                "s%lld<%lld,%lld,%lld ", (long long)(now / VT_MS),
                                (long long)(h / VT_MS), (long long)(sched_next(m->s) / VT_MS),
                                (long long)(sched_task_next(m->s, m->other) / VT_MS));
    m->t = now;
    while (m->t + 10 * VT_MS <= h)
        m->t += 10 * VT_MS;
    m->id = sched_at(m->s, m->t + 10 * VT_MS, SCHED_PRIO_PHYSICS, stepper_run, m);
}

static void one_shot_reschedules(void **state)
{
    (void)state;
    struct rec r = {0};
    struct sched *s = sched_new();
    struct tag a = {&r, 'a'}, c = {&r, 'c'};
    struct stepper m = {&r, s, -1, -1, 0};
    m.other = sched_every(s, 25 * VT_MS, 40 * VT_MS, SCHED_PRIO_SENSOR, note, &a);
    sched_at(s, 60 * VT_MS, SCHED_PRIO_COMMAND, note, &c);
    m.id = sched_at(s, 10 * VT_MS, SCHED_PRIO_PHYSICS, stepper_run, &m);
    sched_run_until(s, 100 * VT_MS);
    /* the stepper steps up to each next event (a at 25, then c at 60: its
     * step ending at 60 comes before c, by priority) and then to the run's
     * bound (100, while a's next sample is at 105) */
    assert_string_equal(r.log, "s10<25,25,25 a25 s30<60,60,65 c60 a65 s70<100,105,105 ");
    sched_free(s);
}

struct adder {
    struct rec *r;
    struct sched *s;
    struct tag *x, *y;
};

static void add_two(void *ctx, vtime_t now)
{
    struct adder *d = ctx;
    /* the first takes the running task's place, the second is pushed; one
     * at this very instant with a later priority runs in this same run */
    sched_at(d->s, now + 30 * VT_MS, 0, note, d->x);
    sched_at(d->s, now, SCHED_PRIO_RECORD, note, d->y);
}

static void one_shot_adds_tasks(void **state)
{
    (void)state;
    struct rec r = {0};
    struct sched *s = sched_new();
    struct tag x = {&r, 'x'}, y = {&r, 'y'}, q = {&r, 'q'}, z = {&r, 'z'};
    struct adder d = {&r, s, &x, &y};
    sched_at(s, 20 * VT_MS, 0, note, &q);      /* a one-shot adding nothing */
    sched_at(s, 10 * VT_MS, 0, add_two, &d);
    sched_every(s, 15 * VT_MS, 100 * VT_MS, 5, note, &z);
    size_t ran = sched_run_until(s, 50 * VT_MS);
    assert_string_equal(r.log, "y10 z15 q20 x40 ");
    assert_int_equal(ran, 5);
    assert_int_equal(sched_next(s), 115 * VT_MS);
    /* priorities beyond the documented range are refused */
    assert_int_equal(sched_at(s, 0, 32768, note, &q), -1);
    assert_int_equal(sched_at(s, 0, -32769, note, &q), -1);
    assert_true(sched_at(s, 0, -32768, note, &q) >= 0);
    sched_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order),
        cmocka_unit_test(ties_break_by_creation),
        cmocka_unit_test(cancel_and_past),
        cmocka_unit_test(halt_and_horizon),
        cmocka_unit_test(one_shot_reschedules),
        cmocka_unit_test(one_shot_adds_tasks),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
