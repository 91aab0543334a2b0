/* test_two_tanks.c — plants/two_tanks.yaml (a plant written in YAML alone)
 * against an independent integration of the same equations, written here:
 *   A1 dh1/dt = q_p - Cd1 a1 sqrt(2 g h1)                 (free discharge)
 *   A2 dh2/dt = Cd1 a1 sqrt(2 g h1) - Cd2 a2 sqrt(2 g h2)
 * with RK4 at 1 ms. Levels agree within 1 %. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define G 9.80665
static const double A1 = M_PI * 0.20 * 0.20, A2 = M_PI * 0.15 * 0.15;
static const double K1 = 0.61 * M_PI * 0.005 * 0.005 * 4.428690551, /* Cd a sqrt(2g) */
    K2 = 0.62 * M_PI * 0.005 * 0.005 * 4.428690551;
static const double QP = 0.5 * 20e-3 / 60; /* pump at 50 % of 20 L/min */

static void deriv(const double h[2], double d[2])
{
    double q1 = K1 * sqrt(h[0] > 0 ? h[0] : 0), q2 = K2 * sqrt(h[1] > 0 ? h[1] : 0);
    d[0] = (QP - q1) / A1;
    d[1] = (q1 - q2) / A2;
}

static void rk4(double h[2], double dt)
{
    double k1[2], k2[2], k3[2], k4[2], t[2];
    deriv(h, k1);
    for (int i = 0; i < 2; i++)
        t[i] = h[i] + dt / 2 * k1[i];
    deriv(t, k2);
    for (int i = 0; i < 2; i++)
        t[i] = h[i] + dt / 2 * k2[i];
    deriv(t, k3);
    for (int i = 0; i < 2; i++)
        t[i] = h[i] + dt * k3[i];
    deriv(t, k4);
    for (int i = 0; i < 2; i++)
        h[i] += dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
}

static void matches_independent_integration(void **state)
{
    (void)state;
    assert_true(fabs(4.428690551 - sqrt(2 * G)) < 1e-9);
    const char *csv = tu_tmp("two.csv");
    struct tu_run r = tu_icsrange("sim", tu_path("plants/two_tanks.yaml"), "--fast",
                                  "--duration", "3h", "--csv", csv, NULL);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    struct tu_csv *c = tu_csv_read(csv);
    size_t c1 = tu_csv_col(c, "TK-1"), c2 = tu_csv_col(c, "TK-2");
    double h[2] = {0.10, 0.30};
    size_t checked = 0;
    static const size_t at[] = {60, 300, 600, 1200, 2400, 3600, 7200, 10799};
    size_t next = 0;
    for (size_t s = 0; s < c->nrows && next < 8; s++) {
        if (s == at[next]) {
            double e1 = tu_csv_at(c, s, c1), e2 = tu_csv_at(c, s, c2);
            if (fabs(e1 - h[0]) > 0.01 * h[0] || fabs(e2 - h[1]) > 0.01 * h[1])
                fail_msg("t=%zu s: sim (%.6f, %.6f) vs reference (%.6f, %.6f)", s, e1, e2, h[0],
                         h[1]);
            checked++;
            next++;
        }
        for (int i = 0; i < 1000; i++)
            rk4(h, 1e-3);
    }
    assert_int_equal(checked, 8);
    /* the run approaches the analytic equilibrium h = (q/K)^2 */
    TU_NEAR(tu_csv_at(c, c->nrows - 1, c1), pow(QP / K1, 2), 0.01 * pow(QP / K1, 2));
    tu_csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_independent_integration),
    };
    return cmocka_run_group_tests_name("two_tanks", tests, NULL, NULL);
}
