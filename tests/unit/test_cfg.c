/* test_cfg.c — YAML documents with positions: typed getters, errors at the
 * right line and column, duplicate and unknown keys, overrides. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "testutil.h"

static const char doc[] = "name: pump\n"
                          "flow: 12 L/min\n"
                          "on: yes\n"
                          "n: 0x10\n"
                          "every: 100 ms\n"
                          "list: [1, 2, 3]\n"
                          "map:\n"
                          "  diameter: 10 mm\n";

static void getters(void **state)
{
    (void)state;
    struct err e;
    struct cfg *c = cfg_load_buffer("t.yaml", doc, sizeof doc - 1, &e);
    assert_non_null(c);
    cfg_node r = cfg_root(c);
    const char *s;
    assert_int_equal(cfg_get_str(c, r, "name", 1, &s, &e), 0);
    assert_string_equal(s, "pump");
    double q;
    assert_int_equal(cfg_get_qty(c, r, "flow", 1, DIM_FLOW, "L/min", &q, &e), 0);
    TU_NEAR(q, 2e-4, 1e-18);
    int b;
    assert_int_equal(cfg_get_bool(c, r, "on", 1, &b, &e), 0);
    assert_true(b);
    long long n;
    assert_int_equal(cfg_get_int(c, r, "n", 1, 0, 100, &n, &e), 0);
    assert_int_equal(n, 16);
    vtime_t d;
    assert_int_equal(cfg_get_duration(c, r, "every", 1, &d, &e), 0);
    assert_int_equal(d, 100 * VT_MS);
    cfg_node l = cfg_get(c, r, "list");
    assert_int_equal(cfg_kind(c, l), CFG_SEQ);
    assert_int_equal(cfg_len(c, l), 3);
    assert_string_equal(cfg_scalar(c, cfg_item(c, l, 2)), "3");
    assert_int_equal(cfg_line(c, cfg_item(c, l, 2)), 6);
    assert_int_equal(cfg_col(c, cfg_item(c, l, 2)), 14);
    /* absent optional: 1 and untouched */
    q = 7;
    assert_int_equal(cfg_get_qty(c, r, "nope", 0, DIM_FLOW, "L/min", &q, &e), 1);
    TU_NEAR(q, 7, 0);
    /* absent required: error at the map */
    assert_int_equal(cfg_get_str(c, r, "nope", 1, &s, &e), -1);
    TU_CONTAINS(e.msg, "t.yaml:1:1: missing 'nope'");
    /* bad values: error at the value, naming the key */
    assert_int_equal(cfg_get_qty(c, r, "name", 1, DIM_FLOW, "L/min", &q, &e), -1);
    TU_CONTAINS(e.msg, "t.yaml:1:7: name:");
    assert_int_equal(cfg_get_int(c, r, "n", 1, 0, 10, &n, &e), -1);
    TU_CONTAINS(e.msg, "t.yaml:4:4: n: 16 is out of range");
    /* unread keys are reported, with a suggestion */
    cfg_node m = cfg_get(c, r, "map");
    assert_int_equal(cfg_get_qty(c, m, "diametre", 0, DIM_LENGTH, "m", &q, &e), 1);
    assert_int_equal(cfg_check_keys(c, m, "map", NULL, &e), -1);
    TU_CONTAINS(e.msg, "t.yaml:8:3: unknown key 'diameter' in map (did you mean 'diametre'?)");
    assert_int_equal(cfg_check_keys(c, r, "the file", NULL, &e), 0);
    cfg_free(c);
}

static void errors_and_limits(void **state)
{
    (void)state;
    struct err e;
    struct cfg *c = cfg_load_buffer("d.yaml", "a: 1\nb: 2\na: 3\n", 15, &e);
    assert_null(c);
    TU_CONTAINS(e.msg, "d.yaml:3:1: duplicate key 'a' (first at line 1)");
    c = cfg_load_buffer("s.yaml", "a: [1, 2\n", 9, &e);
    assert_null(c);
    TU_CONTAINS(e.msg, "s.yaml:2:1:");
    c = cfg_load_buffer("e.yaml", "", 0, &e);
    assert_non_null(c);
    assert_int_equal(cfg_kind(c, cfg_root(c)), CFG_MAP);
    cfg_free(c);
    c = cfg_load_buffer("two.yaml", "a: 1\n---\nb: 2\n", 14, &e);
    assert_null(c);
    TU_CONTAINS(e.msg, "second YAML document");
    /* aliases are followed, cycles are not a problem for getters */
    c = cfg_load_buffer("al.yaml", "x: &v 5 mm\ny: *v\n", 17, &e);
    assert_non_null(c);
    double q;
    assert_int_equal(cfg_get_qty(c, cfg_root(c), "y", 1, DIM_LENGTH, "m", &q, &e), 0);
    TU_NEAR(q, 0.005, 1e-18);
    cfg_free(c);
    assert_null(cfg_load_file("/nonexistent.yaml", &e));
    TU_CONTAINS(e.msg, "/nonexistent.yaml:");
}

static void overrides(void **state)
{
    (void)state;
    struct err e;
    struct cfg *c = cfg_load_buffer("o.yaml", doc, sizeof doc - 1, &e);
    cfg_node m = cfg_get(c, cfg_root(c), "map");
    assert_int_equal(cfg_override(c, m, "diameter", "-3 mm", "--set x.diameter=-3 mm", &e), 0);
    assert_int_equal(cfg_override(c, m, "height", "2 m", "--set x.height=2 m", &e), 0);
    double q;
    assert_int_equal(cfg_get_qty(c, m, "diameter", 1, DIM_LENGTH, "m", &q, &e), 0);
    TU_NEAR(q, -0.003, 1e-18);
    assert_int_equal(cfg_get_qty(c, m, "height", 1, DIM_LENGTH, "m", &q, &e), 0);
    TU_NEAR(q, 2, 0);
    /* an error on an overridden value names the override, not a line */
    cfg_error(c, cfg_get(c, m, "diameter"), &e, "must be > 0");
    assert_string_equal(e.msg, "--set x.diameter=-3 mm: must be > 0");
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(getters),
        cmocka_unit_test(errors_and_limits),
        cmocka_unit_test(overrides),
    };
    return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
