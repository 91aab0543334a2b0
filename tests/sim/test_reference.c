/* test_reference.c — the waterworks against the reference behaviours of
 * SCENARIOS.md, run through the CLI on plants/waterworks.yaml unchanged,
 * the stated conditions set only with --set and --at.
 *
 * Conditions: free outflow (demand unlimited), FV-102 fully open, a full
 * sump, ideal actuators (no spin-up, no valve travel), T-101 at 0.5 m.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define ARGS_IDEAL                                                                 \
    "--set", "P-101.spin_up=0", "--set", "XV-101.travel_time=0", "--set",          \
        "FV-102.travel_time=0", "--set", "consumers.demand=unlimited", "--set",     \
        "T-101.initial_level=0.5", "--set", "T-100.initial_level=0.8", "--at", "0", \
        "XV-101=open", "--at", "0", "FV-102=100%"

/* Runs the waterworks with the ideal conditions plus `extra` (NULL-ended)
 * and returns its CSV (100 ms samples). */
static struct tu_csv *run(const char *duration, const char *const *extra)
{
    const char *csv = tu_tmp("ref.csv");
    const char *argv[64] = {"sim", tu_path("plants/waterworks.yaml"), "--fast", "--duration",
                            duration, "--sample", "100ms", "--csv", csv, ARGS_IDEAL};
    size_t n = 0;
    while (argv[n])
        n++;
    for (size_t i = 0; extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    struct tu_run r = tu_icsrange_v(argv);
    if (r.status != 0)
        fail_msg("icsrange sim failed (%d): %s", r.status, r.err);
    tu_run_free(&r);
    return tu_csv_read(csv);
}

/* First time (s, linearly interpolated between samples) at which column
 * crosses `level` going up (dir > 0) or down (dir < 0); -1 if never. */
static double crossing(const struct tu_csv *c, const char *col, double level, int dir)
{
    size_t k = tu_csv_col(c, col);
    for (size_t i = 1; i < c->nrows; i++) {
        double a = tu_csv_at(c, i - 1, k), b = tu_csv_at(c, i, k);
        if ((dir > 0 && a < level && b >= level) || (dir < 0 && a > level && b <= level))
            return 0.1 * (double)(i - 1) + 0.1 * (level - a) / (b - a);
    }
    return -1;
}

static void hold_at_61_percent(void **state)
{
    (void)state;
    struct tu_csv *c = run("1800s", (const char *[]){"--at", "0", "P-101=61%", NULL});
    size_t k = tu_csv_col(c, "T-101");
    /* over the whole half hour the level stays at 0.5 m within 3 % */
    for (size_t i = 0; i < c->nrows; i++)
        TU_NEAR(tu_csv_at(c, i, k), 0.5, 0.5 * 0.03);
    TU_NEAR(tu_csv_at(c, c->nrows - 1, k), 0.5, 0.5 * 0.03);
    tu_csv_free(c);
}

static void full_pump_reaches_hh_in_423s(void **state)
{
    (void)state;
    struct tu_csv *c = run("700s", (const char *[]){"--at", "0", "P-101=100%", NULL});
    double t = crossing(c, "T-101", 0.90, 1);
    TU_NEAR(t, 423.0, 423.0 * 0.03);
    tu_csv_free(c);
}

static void full_pump_overflows_in_601s(void **state)
{
    (void)state;
    struct tu_csv *c = run("700s", (const char *[]){"--at", "0", "P-101=100%", NULL});
    double t = crossing(c, "T-101", 1.0 - 1e-6, 1);
    TU_NEAR(t, 601.0, 601.0 * 0.03);
    /* equilibrium would be 1.34 m, above the rim: the level stays at the rim */
    size_t k = tu_csv_col(c, "T-101");
    TU_NEAR(tu_csv_at(c, c->nrows - 1, k), 1.0, 1e-6);
    tu_csv_free(c);
}

static void outlet_closed_overflows_in_141s(void **state)
{
    (void)state;
    struct tu_csv *c = run("300s", (const char *[]){"--at", "0", "P-101=100%", "--at", "0", "FV-102=closed", NULL});
    double t = crossing(c, "T-101", 1.0 - 1e-6, 1);
    TU_NEAR(t, 141.0, 141.0 * 0.03);
    tu_csv_free(c);
}

static void pump_off_drains_to_0_10_in_256s(void **state)
{
    (void)state;
    struct tu_csv *c = run("400s", (const char *[]){"--at", "0", "P-101=off", NULL});
    double t = crossing(c, "T-101", 0.10, -1);
    TU_NEAR(t, 256.2, 256.2 * 0.03);
    /* closed form t = 2A / (Cd a sqrt(2 g)) (sqrt(h0) - sqrt(h1)) from the
     * plant's own parameters: D 0.30 m, 10 mm orifice, Cd 0.62 */
    double A = M_PI * 0.15 * 0.15, a = M_PI * 0.005 * 0.005, g = 9.80665;
    double closed = 2 * A / (0.62 * a * sqrt(2 * g)) * (sqrt(0.5) - sqrt(0.1));
    TU_NEAR(t, closed, closed * 0.01);
    tu_csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hold_at_61_percent),
        cmocka_unit_test(full_pump_reaches_hh_in_423s),
        cmocka_unit_test(full_pump_overflows_in_601s),
        cmocka_unit_test(outlet_closed_overflows_in_141s),
        cmocka_unit_test(pump_off_drains_to_0_10_in_256s),
    };
    return cmocka_run_group_tests_name("reference", tests, NULL, NULL);
}
