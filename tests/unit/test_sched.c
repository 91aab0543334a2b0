/* test_sched.c — the virtual clock's scheduler: order by time, priority and
 * creation; periodic and one-shot tasks; cancel; halt; horizon. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order),
        cmocka_unit_test(ties_break_by_creation),
        cmocka_unit_test(cancel_and_past),
        cmocka_unit_test(halt_and_horizon),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
