/* test_core.c — unit tests of src/core: durations and instants, units,
 * located addresses, CSV numbers, random streams. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/csv.h"
#include "core/locaddr.h"
#include "core/rng.h"
#include "core/units.h"
#include "core/vtime.h"
#include "testutil.h"

static void durations(void **state)
{
    (void)state;
    struct { const char *s; vtime_t v; } ok[] = {
        {"24h", 24 * VT_HOUR}, {"1h30m", 90 * VT_MIN}, {"90s", 90 * VT_SEC},
        {"100ms", 100 * VT_MS}, {"1.5s", 1500 * VT_MS}, {"2d", 2 * VT_DAY},
        {"600", 600 * VT_SEC}, {"0.25", 250 * VT_MS}, {"10 ms", 10 * VT_MS},
        {"5 min", 5 * VT_MIN}, {"1h2m3.5s", VT_HOUR + 2 * VT_MIN + 3500 * VT_MS},
        {"250us", 250 * VT_US}, {"7ns", 7}, {"0", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        vtime_t v;
        struct err e;
        if (vt_parse_duration(ok[i].s, &v, &e) != 0)
            fail_msg("'%s': %s", ok[i].s, e.msg);
        assert_int_equal(v, ok[i].v);
    }
    const char *bad[] = {"", "-5s", "5x", "h", "1m2h", "1.5.5s", "3 apples", "nan", "1e400s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vtime_t v;
        struct err e;
        if (vt_parse_duration(bad[i], &v, &e) == 0)
            fail_msg("'%s' accepted as %lld", bad[i], (long long)v);
    }
    char b[64];
    assert_string_equal(vt_format_duration(90 * VT_MIN, b, sizeof b), "1h30m");
    assert_string_equal(vt_format_duration(100 * VT_MS, b, sizeof b), "100ms");
    assert_string_equal(vt_format_duration(0, b, sizeof b), "0s");
}

static void instants(void **state)
{
    (void)state;
    int64_t ns;
    struct err e;
    assert_int_equal(vt_parse_iso("2026-03-02T00:00:00Z", &ns, &e), 0);
    assert_int_equal(ns, 1772409600LL * 1000000000LL);
    assert_int_equal(vt_parse_iso("2026-03-02 00:00:00.250+00:00", &ns, &e), 0);
    assert_int_equal(ns % 1000000000LL, 250000000LL);
    char b[48];
    vt_format_iso(1772409600LL * 1000000000LL + 1500000000LL, 3, b, sizeof b);
    assert_string_equal(b, "2026-03-02T00:00:01.500Z");
    vt_format_iso(1772409600LL * 1000000000LL, 0, b, sizeof b);
    assert_string_equal(b, "2026-03-02T00:00:00Z");
    /* the civil date by hand agrees with the C library's, leap days and
     * century years, before 1970 too; and a formatted instant parses back */
    struct rng r;
    rng_init(&r, 7, "instants");
    for (int i = 0; i < 200000; i++) {
        int64_t secs = (int64_t)(rng_next(&r) % 9000000000ULL) - 4500000000LL;
        if (i < 6) /* 1900-03-01, 2000-02-29, 2100-03-01, 1969-12-31T23:59:59, ... */
            secs = (int64_t[]){-2203891200LL, 951782400LL, 4107542400LL, -1, 0, 4102444799LL}[i];
        int64_t frac = (int64_t)(rng_next(&r) % 1000000000ULL);
        time_t tt = (time_t)secs;
        struct tm tm;
        gmtime_r(&tt, &tm);
        char want[64];
        strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + strlen(want), sizeof want - strlen(want), ".%09lldZ", (long long)frac);
        vt_format_iso(secs * 1000000000LL + frac, 9, b, sizeof b);
        if (strcmp(b, want) != 0)
            fail_msg("%lld s: '%s', expected '%s'", (long long)secs, b, want);
        if (vt_parse_iso(b, &ns, &e) != 0 || ns != secs * 1000000000LL + frac)
            fail_msg("'%s' does not parse back", b);
    }
    /* a buffer too small for the fast path truncates as snprintf does */
    char small[12];
    int n = vt_format_iso(1772409600LL * 1000000000LL, 0, small, sizeof small);
    assert_int_equal(n, 19);
    assert_string_equal(small, "2026-03-02T");
    const char *bad[] = {"2026-02-30T00:00:00Z", "2026-03-02T00:00:00", "2026-03-02T25:00:00Z",
                         "2026-3-2T00:00:00Z", "yesterday", "2026-03-02T00:00:00+01:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (vt_parse_iso(bad[i], &ns, &e) == 0)
            fail_msg("'%s' accepted", bad[i]);
}

static void units(void **state)
{
    (void)state;
    double v;
    struct err e;
    assert_int_equal(unit_parse("12 L/min", DIM_FLOW, "L/min", &v, &e), 0);
    TU_NEAR(v, 2e-4, 1e-18);
    assert_int_equal(unit_parse("12", DIM_FLOW, "L/min", &v, &e), 0);
    TU_NEAR(v, 2e-4, 1e-18);
    assert_int_equal(unit_parse("10 mm", DIM_LENGTH, "m", &v, &e), 0);
    TU_NEAR(v, 0.01, 1e-18);
    assert_int_equal(unit_parse("61 %", DIM_RATIO, "1", &v, &e), 0);
    TU_NEAR(v, 0.61, 1e-15);
    assert_int_equal(unit_parse("11100 mg/L", DIM_CONC, "mg/L", &v, &e), 0);
    TU_NEAR(v, 11.1, 1e-12);
    assert_int_equal(unit_parse("0.5 %/s", DIM_RATE, "%/s", &v, &e), 0);
    TU_NEAR(v, 0.005, 1e-18);
    assert_int_equal(unit_parse("-3e-2 m", DIM_LENGTH, "m", &v, &e), 0);
    TU_NEAR(v, -0.03, 1e-18);
    assert_int_equal(unit_parse("12 mm", DIM_FLOW, "L/min", &v, &e), -1);
    TU_CONTAINS(e.msg, "not a unit of flow");
    TU_CONTAINS(e.msg, "L/min");
    assert_int_equal(unit_parse("inf", DIM_LENGTH, "m", &v, &e), -1);
    assert_int_equal(unit_parse("nan m", DIM_LENGTH, "m", &v, &e), -1);
    assert_int_equal(unit_parse("", DIM_LENGTH, "m", &v, &e), -1);
    assert_int_equal(unit_parse("0x10", DIM_LENGTH, "m", &v, &e), -1);
    assert_int_equal(unit_parse_per_time("1 cm/min", DIM_LENGTH, "m", &v, &e), 0);
    TU_NEAR(v, 0.01 / 60, 1e-18);
    assert_int_equal(unit_parse_per_time("0.6 L/min/h", DIM_FLOW, "L/min", &v, &e), 0);
    TU_NEAR(v, 1e-5 / 3600, 1e-20);
}

static void located_addresses(void **state)
{
    (void)state;
    struct locaddr a;
    struct err e;
    char b[32];
    assert_int_equal(locaddr_parse("%IX0.3", &a, &e), 0);
    assert_true(a.area == 'I' && a.size == 'X' && a.index == 0 && a.bit == 3);
    assert_int_equal(locaddr_parse("%QW12", &a, &e), 0);
    assert_string_equal(locaddr_format(&a, b, sizeof b), "%QW12");
    assert_int_equal(locaddr_bits(&a), 16);
    assert_int_equal(locaddr_parse("%MD1", &a, &e), 0);
    assert_int_equal(locaddr_bits(&a), 32);
    assert_int_equal(locaddr_parse("%ML0", &a, &e), 0);
    assert_int_equal(locaddr_parse("%qx1.7", &a, &e), 0);
    assert_string_equal(locaddr_format(&a, b, sizeof b), "%QX1.7");
    const char *bad[] = {"IW0", "%ZW0", "%IX0", "%IX0.8", "%IW", "%IW70000", "%IW1x", "%IW-1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (locaddr_parse(bad[i], &a, &e) == 0)
            fail_msg("'%s' accepted", bad[i]);
}

static void csv_numbers(void **state)
{
    (void)state;
    struct { double v; int d; const char *s; } c[] = {
        {0.5, 6, "0.5"}, {12, 6, "12"}, {-0.0312, 4, "-0.0312"}, {-0.0, 3, "0"},
        {1e-9, 6, "0"}, {123.456789, 3, "123.457"}, {-5, 0, "-5"}, {0.04999, 3, "0.05"},
        {1000, 2, "1000"}, {-0.00004, 6, "-0.00004"}, {-0.00004, 3, "0"}, {2.5, 0, "3"},
        {-2.5, 0, "-3"}, {1e20, 3, "1e+20"}, {65535, 0, "65535"},
    };
    char b[48];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        csv_format_num(c[i].v, c[i].d, b);
        if (strcmp(b, c[i].s) != 0)
            fail_msg("%g with %d decimals gave '%s', expected '%s'", c[i].v, c[i].d, b, c[i].s);
    }
    csv_format_num(NAN, 3, b);
    assert_string_equal(b, "");
    /* RFC 4180 quoting */
    const char *path = tu_tmp("q.csv");
    struct err e;
    struct csvw *w = csvw_open(path, &e);
    assert_non_null(w);
    csvw_str(w, "a,b");
    csvw_str(w, "say \"hi\"");
    csvw_num(w, 1.25, 2);
    csvw_end_row(w);
    assert_int_equal(csvw_close(w, &e), 0);
    char *t = tu_read_file(path, NULL);
    assert_string_equal(t, "\"a,b\",\"say \"\"hi\"\"\",1.25\n");
    free(t);
    /* rows whose numbers repeat (copied from the last text at the same
     * position) read as rows formatted afresh: a value that changes, the
     * same bits with other decimals, NaN between, -0 after 0, a text field,
     * a row wider than the writer's first table */
    path = tu_tmp("rep.csv");
    w = csvw_open(path, &e);
    assert_non_null(w);
    char want[8192] = "";
    size_t wn = 0;
    for (int row = 0; row < 4; row++) {
        for (int col = 0; col < 70; col++) {
            double v = col % 3 == 0 ? 0.125 : col % 3 == 1 ? row * 0.5 : (row == 2 ? NAN : -0.04);
            int d = col == 3 && row == 3 ? 1 : 3;
            if (col == 7)
                v = row == 1 ? -0.0 : 0.0;
            if (col == 10) {
                csvw_str(w, row ? "x" : "y");
                wn += (size_t)snprintf(want + wn, sizeof want - wn, ",%s", row ? "x" : "y");
                continue;
            }
            csvw_num(w, v, d);
            csv_format_num(v, d, b);
            wn += (size_t)snprintf(want + wn, sizeof want - wn, "%s%s", col ? "," : "", b);
        }
        csvw_end_row(w);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "\n");
    }
    assert_int_equal(csvw_close(w, &e), 0);
    t = tu_read_file(path, NULL);
    assert_string_equal(t, want);
    TU_CONTAINS(t, "\n0.125,1.5,-0.04,0.1,1.5,"); /* row 3, col 3: 0.125 to 1 decimal */
    free(t);
    assert_null(csvw_open("/nonexistent-dir/x.csv", &e));
    TU_CONTAINS(e.msg, "/nonexistent-dir/x.csv");
}

static void random_streams(void **state)
{
    (void)state;
    struct rng a, b, c;
    rng_init(&a, 1, "LT-101");
    rng_init(&b, 1, "LT-101");
    rng_init(&c, 1, "LT-201");
    int same = 1, diff = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_next(&a), y = rng_next(&b), z = rng_next(&c);
        same &= x == y;
        diff += x != z;
    }
    assert_true(same);
    assert_true(diff > 990);
    /* normal deviates: mean 0, variance 1, tails present */
    struct rng r;
    rng_init(&r, 99, "normal");
    double s = 0, s2 = 0, s4 = 0;
    int tail = 0;
    const int n = 1000000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&r);
        s += x;
        s2 += x * x;
        s4 += x * x * x * x;
        tail += fabs(x) > 3.442619855899;
    }
    TU_NEAR(s / n, 0, 0.005);
    TU_NEAR(s2 / n, 1, 0.01);
    TU_NEAR(s4 / n, 3, 0.05); /* kurtosis of a normal */
    /* P(|x| > 3.4426) = 5.76e-4 */
    TU_NEAR((double)tail / n, 5.76e-4, 1.5e-4);
    for (int i = 0; i < 1000; i++) {
        double u = rng_uniform(&r);
        assert_true(u >= 0 && u < 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations),         cmocka_unit_test(instants),
        cmocka_unit_test(units),             cmocka_unit_test(located_addresses),
        cmocka_unit_test(csv_numbers),       cmocka_unit_test(random_streams),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
