/* test_faults.c — sensor faults, pump damage and interlocks: what an
 * instructor injects with --at, seen in the CSV (TAG vs TAG.true) and in
 * the consequence metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Runs the waterworks for `dur` with extra NULL-ended args; returns CSV. */
static struct tu_csv *run_csv(const char *dur, const char *const *extra, char **json)
{
    const char *csv = tu_tmp("f.csv");
    const char *argv[64] = {"sim", tu_path("plants/waterworks.yaml"), "--fast", "--duration",
                            dur, "--csv", csv, "--json"};
    size_t n = 8;
    for (size_t i = 0; extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    struct tu_run r = tu_icsrange_v(argv);
    if (r.status != 0)
        fail_msg("sim failed: %s", r.err);
    if (json)
        *json = strdup(r.out);
    tu_run_free(&r);
    return tu_csv_read(csv);
}

#define ARGS(...) ((const char *[]){__VA_ARGS__, NULL})

static void stuck_transmitter_holds_its_report(void **state)
{
    (void)state;
    /* pump off: T-101 drains to the consumers */
    struct tu_csv *c = run_csv("10m", ARGS("--at", "0", "P-101=off", "--at", "2m",
                                           "LT-101.fault=stuck"), NULL);
    size_t rep = tu_csv_col(c, "LT-101"), tru = tu_csv_col(c, "LT-101.true");
    double held = tu_csv_at(c, 121, rep);
    for (size_t i = 121; i < c->nrows; i++)
        TU_NEAR(tu_csv_at(c, i, rep), held, 0);
    /* while the level really falls */
    assert_true(tu_csv_at(c, c->nrows - 1, tru) < held - 0.05);
    /* before the fault the report followed the truth (noise 1.5 mm, lag) */
    TU_NEAR(tu_csv_at(c, 100, rep), tu_csv_at(c, 100, tru), 0.01);
    tu_csv_free(c);
}

static void drift_offset_and_dead(void **state)
{
    (void)state;
    /* (the level stays below the top of the range: the pump is off) */
    struct tu_csv *c = run_csv("30m", ARGS("--at", "0", "P-101=off", "--at", "1m",
                                           "LT-101.drift=-1 cm/min", "--at", "11m",
                                           "LT-201.offset=5 cm", "--at", "21m",
                                           "LT-101.fault=dead"), NULL);
    size_t r1 = tu_csv_col(c, "LT-101"), t1 = tu_csv_col(c, "LT-101.true");
    size_t r2 = tu_csv_col(c, "LT-201"), t2 = tu_csv_col(c, "LT-201.true");
    /* 5 min of -1 cm/min drift: -5 cm of error, within noise and lag */
    TU_NEAR(tu_csv_at(c, 360, r1) - tu_csv_at(c, 360, t1), -0.05, 0.01);
    /* a constant offset */
    TU_NEAR(tu_csv_at(c, 700, r2) - tu_csv_at(c, 700, t2), 0.05, 0.01);
    /* a dead transmitter reports the bottom of its range */
    TU_NEAR(tu_csv_at(c, 1500, r1), 0.0, 0);
    tu_csv_free(c);
}

static void switch_faults(void **state)
{
    (void)state;
    struct tu_csv *c = run_csv("12m", ARGS("--at", "0", "P-101=100%", "--at", "0",
                                           "FV-102=closed", "--at", "10s", "LSH-101.fault=stuck"),
                               NULL);
    size_t rep = tu_csv_col(c, "LSH-101"), tru = tu_csv_col(c, "LSH-101.true");
    /* the tank fills past 0.85 m: a healthy switch trips, the stuck one not */
    TU_NEAR(tu_csv_at(c, c->nrows - 1, tru), 1, 0);
    TU_NEAR(tu_csv_at(c, c->nrows - 1, rep), 0, 0);
    /* the high-high switch of the SIS, healthy, trips too */
    TU_NEAR(tu_csv_at(c, c->nrows - 1, tu_csv_col(c, "LSHH-201")), 1, 0);
    tu_csv_free(c);
}

/* No intake: the sump runs dry under the pump, which is damaged and
 * finally fails (its flow stops). */
static void dry_run_destroys_the_pump(void **state)
{
    (void)state;
    char *json;
    struct tu_csv *c = run_csv("2h", ARGS("--at", "0", "intake=0", "--at", "0", "P-101=100%"),
                               &json);
    double dry = tu_json_num(json, "dry_run_s");
    assert_true(dry >= 200); /* 0.5 %/s: 200 s destroy it */
    TU_NEAR(tu_json_num(json, "pump_damage_pct"), 100, 1e-9);
    TU_NEAR(tu_json_num(json, "components.P-101.damage_pct"), 100, 1e-9);
    /* the sump held 200 L: that and nothing more went through the pump */
    assert_true(tu_json_num(json, "components.P-101.delivered_L") <= 200.0 + 1e-6);
    size_t ft = tu_csv_col(c, "FT-101.true");
    TU_NEAR(tu_csv_at(c, c->nrows - 1, ft), 0, 0);
    free(json);
    tu_csv_free(c);
}

/* Running against a shut XV-101: dead-head time and damage. */
static void dead_head_is_counted(void **state)
{
    (void)state;
    char *json;
    struct tu_csv *c = run_csv("10m", ARGS("--at", "1m", "XV-101=closed", "--at", "6m",
                                           "XV-101=open"), &json);
    double dead = tu_json_num(json, "dead_head_s");
    /* closed for 5 min, less the 2 s travel at each end */
    TU_NEAR(dead, 300 - 1.9, 2.5);
    TU_NEAR(tu_json_num(json, "components.P-101.damage_pct"), 0.25 * dead, 1e-6);
    size_t ft = tu_csv_col(c, "FT-101.true");
    TU_NEAR(tu_csv_at(c, 200, ft), 0, 0);
    assert_true(tu_csv_at(c, 500, ft) > 5);
    free(json);
    tu_csv_free(c);
}

/* The SIS's permissive (de-energise to trip) stops the pump and shuts the
 * inlet valve whatever the BPCS commands. */
static void interlock_trips_pump_and_valve(void **state)
{
    (void)state;
    struct tu_csv *c = run_csv("3m", ARGS("--at", "0", "P-101=100%", "--at", "1m",
                                          "P-101.permit=off", "--at", "1m", "XV-101.permit=off"),
                               NULL);
    size_t cmd = tu_csv_col(c, "P-101"), act = tu_csv_col(c, "P-101.true");
    size_t vcmd = tu_csv_col(c, "XV-101"), vact = tu_csv_col(c, "XV-101.true");
    TU_NEAR(tu_csv_at(c, 170, cmd), 100, 0);  /* the BPCS still asks */
    TU_NEAR(tu_csv_at(c, 170, act), 0, 1e-3); /* the pump is stopped */
    TU_NEAR(tu_csv_at(c, 170, vcmd), 100, 0);
    TU_NEAR(tu_csv_at(c, 170, vact), 0, 0);
    tu_csv_free(c);
}

/* The pump's drive spins up with its time constant; valves travel at their
 * stroke time. */
static void actuator_dynamics(void **state)
{
    (void)state;
    const char *csv = tu_tmp("dyn.csv");
    struct tu_run r = tu_icsrange("sim", tu_path("plants/waterworks.yaml"), "--fast",
                                  "--duration", "10s", "--sample", "100ms", "--csv", csv, "--set",
                                  "P-101.initial=0", "--at", "2s", "P-101=100%", "--at", "2s",
                                  "FV-102=0%", NULL);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    struct tu_csv *c = tu_csv_read(csv);
    size_t sp = tu_csv_col(c, "P-101.true"), fv = tu_csv_col(c, "FV-102.true");
    /* one time constant (1.5 s) after the start: 63.2 % */
    TU_NEAR(tu_csv_at(c, 35, sp), 100 * (1 - exp(-1.0)), 1.0);
    /* FV-102 strokes 100 % -> 0 % in 4 s: half way after 2 s */
    TU_NEAR(tu_csv_at(c, 40, fv), 50, 0.5);
    TU_NEAR(tu_csv_at(c, 65, fv), 0, 0);
    tu_csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stuck_transmitter_holds_its_report),
        cmocka_unit_test(drift_offset_and_dead),
        cmocka_unit_test(switch_faults),
        cmocka_unit_test(dry_run_destroys_the_pump),
        cmocka_unit_test(dead_head_is_counted),
        cmocka_unit_test(interlock_trips_pump_and_valve),
        cmocka_unit_test(actuator_dynamics),
    };
    return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
