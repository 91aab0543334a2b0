/* test_bad_plants.c — broken plant files and bad command-line values: the
 * run stops with a non-zero exit (never a crash) and a message that names
 * the file, line and column and what is wrong. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A small valid plant; cases replace one line of it. */
static const char base[] =
    "plant: bad\n"                              /* 1 */
    "start: 2026-03-02T00:00:00Z\n"             /* 2 */
    "components:\n"                             /* 3 */
    "  - id: T-1\n"                             /* 4 */
    "    type: tank\n"                          /* 5 */
    "    area: 0.07 m2\n"                       /* 6 */
    "    height: 1 m\n"                         /* 7 */
    "    initial_level: 0.5 m\n"                /* 8 */
    "  - id: V-1\n"                             /* 9 */
    "    type: valve\n"                         /* 10 */
    "    from: T-1\n"                           /* 11 */
    "    to: drain\n"                           /* 12 */
    "    diameter: 10 mm\n"                     /* 13 */
    "  - id: drain\n"                           /* 14 */
    "    type: sink\n"                          /* 15 */
    "  - id: LT-1\n"                            /* 16 */
    "    type: transmitter\n"                   /* 17 */
    "    measures: T-1.level\n"                 /* 18 */
    "    range: [0 m, 1 m]\n"                   /* 19 */
    "wiring:\n"                                 /* 20 */
    "  plc:\n"                                  /* 21 */
    "    \"%IW0\": LT-1\n";                     /* 22 */

/* base with line `line` (1-based) replaced by `repl` (may hold several
 * lines, or be "" to delete). */
static const char *variant(int line, const char *repl)
{
    static char buf[4096];
    size_t n = 0;
    const char *p = base;
    for (int l = 1; *p; l++) {
        const char *e = strchr(p, '\n');
        size_t len = (size_t)(e - p) + 1;
        if (l == line) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s", repl);
        } else {
            memcpy(buf + n, p, len);
            n += len;
        }
        p += len;
    }
    buf[n] = '\0';
    return buf;
}

/* Runs the plant text; expects failure with each of the NULL-ended
 * substrings in stderr ("@" stands for the file's path). */
static void expect_error(const char *text, const char *const *want)
{
    const char *path = tu_write_tmp("bad.yaml", text);
    struct tu_run r = tu_icsrange("sim", path, "--fast", "--duration", "1s", NULL);
    if (r.status == 0)
        fail_msg("a bad plant was accepted:\n%s", text);
    if (r.status >= 128)
        fail_msg("icsrange crashed (status %d): %s", r.status, r.err);
    assert_int_equal(r.status, 1);
    for (size_t i = 0; want[i]; i++) {
        char w[1200];
        if (want[i][0] == '@')
            snprintf(w, sizeof w, "%s%s", path, want[i] + 1);
        else
            snprintf(w, sizeof w, "%s", want[i]);
        TU_CONTAINS(r.err, w);
    }
    tu_run_free(&r);
}

#define EXPECT(text, ...) expect_error((text), (const char *const[]){__VA_ARGS__, NULL})

static void base_is_valid(void **state)
{
    (void)state;
    const char *path = tu_write_tmp("good.yaml", base);
    struct tu_run r = tu_icsrange("sim", path, "--fast", "--duration", "1s", NULL);
    if (r.status != 0)
        fail_msg("base plant refused: %s", r.err);
    tu_run_free(&r);
}

static void unknown_component_type(void **state)
{
    (void)state;
    EXPECT(variant(5, "    type: tnak\n"), "@:5:11:", "unknown component type 'tnak'", "tank");
}

static void missing_parameter(void **state)
{
    (void)state;
    EXPECT(variant(7, ""), "@:4:5:", "T-1", "missing 'height'");
}

static void negative_area(void **state)
{
    (void)state;
    EXPECT(variant(6, "    area: -0.07 m2\n"), "@:6:11:", "area", "> 0", "-0.07 m2");
}

static void wired_to_missing_tag(void **state)
{
    (void)state;
    EXPECT(variant(22, "    \"%IW0\": LT-9\n"), "@:22:13:", "%IW0", "no component 'LT-9'");
}

static void yaml_syntax_error(void **state)
{
    (void)state;
    EXPECT(variant(19, "    range: [0 m, 1 m\n"), "@:20:", "flow sequence");
}

static void unknown_key_with_suggestion(void **state)
{
    (void)state;
    EXPECT(variant(13, "    diamter: 10 mm\n"), "@:13:5:", "unknown key 'diamter'",
           "did you mean 'diameter'");
}

static void duplicate_id(void **state)
{
    (void)state;
    EXPECT(variant(14, "  - id: T-1\n"), "@:14:9:", "duplicate id 'T-1'", "line 4");
}

static void wrong_unit(void **state)
{
    (void)state;
    EXPECT(variant(13, "    diameter: 10 L/min\n"), "@:13:15:", "diameter", "not a unit of length");
}

static void reference_to_missing_tank(void **state)
{
    (void)state;
    EXPECT(variant(11, "    from: T-2\n"), "@:11:11:", "no component 'T-2'", "did you mean 'T-1'");
}

static void reference_of_wrong_kind(void **state)
{
    (void)state;
    EXPECT(variant(11, "    from: drain\n"), "@:11:11:", "'drain' is a sink", "expected a tank");
}

static void sensor_measures_unknown_signal(void **state)
{
    (void)state;
    EXPECT(variant(18, "    measures: T-1.lvl\n"), "@:18:15:", "no signal 'lvl'", "level");
}

static void duplicate_key(void **state)
{
    (void)state;
    EXPECT(variant(8, "    initial_level: 0.5 m\n    height: 2 m\n"), "@:9:5:",
           "duplicate key 'height'", "line 7");
}

static void initial_level_above_rim(void **state)
{
    (void)state;
    EXPECT(variant(8, "    initial_level: 1.5 m\n"), "@:8:20:", "above the rim");
}

static void input_wired_to_truth(void **state)
{
    (void)state;
    EXPECT(variant(22, "    \"%IW0\": T-1.level\n"), "@:22:13:", "reads a sensor");
}

static void bad_located_address(void **state)
{
    (void)state;
    EXPECT(variant(22, "    \"%IW0.5x\": LT-1\n"), "@:22:5:", "%IW0.5x");
}

static void bit_point_to_analog(void **state)
{
    (void)state;
    EXPECT(variant(22, "    \"%IX0.0\": LT-1\n"), "@:22:", "bit point", "analog");
}

static void empty_and_non_mapping_files(void **state)
{
    (void)state;
    EXPECT("", "missing 'components'");
    EXPECT("- just\n- a list\n", "@:1:1:", "mapping");
    EXPECT("plant: x\ncomponents: []\n", "@:2:13:", "non-empty list");
    EXPECT("plant: x\n---\nplant: y\n", "second YAML document");
    EXPECT("plant: [unclosed\n", "@:2:");
    EXPECT("\tplant: x\n", "@:1:");
    EXPECT("plant: x\ncomponents:\n  - 12\n", "@:3:5:", "components[0]");
}

static void bad_start_time(void **state)
{
    (void)state;
    EXPECT(variant(2, "start: 2026-13-02T00:00:00Z\n"), "@:2:8:", "start");
    EXPECT(variant(2, "start: yesterday\n"), "@:2:8:", "ISO-8601");
}

static void missing_file(void **state)
{
    (void)state;
    struct tu_run r = tu_icsrange("sim", "/nonexistent/plant.yaml", "--fast", "--duration", "1s",
                                  NULL);
    assert_int_equal(r.status, 1);
    TU_CONTAINS(r.err, "/nonexistent/plant.yaml: No such file");
    tu_run_free(&r);
}

/* --set and --at values are checked like the file's, and name the option */
static void bad_overrides_and_commands(void **state)
{
    (void)state;
    const char *path = tu_write_tmp("good.yaml", base);
    struct {
        const char *opt, *a, *b, *want1, *want2;
    } cases[] = {
        {"--set", "T-1.area=-1", NULL, "--set T-1.area=-1", "> 0"},
        {"--set", "T-9.area=1", NULL, "no component 'T-9'", NULL},
        {"--set", "T-1.aera=1", NULL, "unknown key 'aera'", "did you mean 'area'"},
        {"--set", "T-1", NULL, "expected TAG.PARAM=VALUE", NULL},
        {"--at", "10s", "V-1=150%", "outside 0..100 %", NULL},
        {"--at", "10s", "V-9=open", "no component 'V-9'", NULL},
        {"--at", "soon", "V-1=open", "duration 'soon'", NULL},
        {"--at", "10s", "LT-1.fault=melted", "fault must be one of", NULL},
        {"--at", "10s", "LT-1=3", "is a sensor", "fault"},
        {"--at", "10s", "T-1.level=3", "has nothing to command", NULL},
        {"--at", "10s", "V-1.speed=3", "no parameter 'speed'", "position"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[16] = {"sim", path, "--fast", "--duration", "1m", cases[i].opt,
                                cases[i].a, cases[i].b, NULL};
        struct tu_run r = tu_icsrange_v(argv);
        if (r.status == 0 || r.status >= 128)
            fail_msg("%s %s %s: status %d", cases[i].opt, cases[i].a,
                     cases[i].b ? cases[i].b : "", r.status);
        TU_CONTAINS(r.err, cases[i].want1);
        if (cases[i].want2)
            TU_CONTAINS(r.err, cases[i].want2);
        tu_run_free(&r);
    }
}

static void bad_options(void **state)
{
    (void)state;
    const char *path = tu_write_tmp("good.yaml", base);
    struct {
        const char *argv[8];
        const char *want;
    } cases[] = {
        {{"sim", path, "--fast", NULL}, "--fast needs --duration"},
        {{"sim", path, "--duration", "-5s", NULL}, "--duration"},
        {{"sim", path, "--speed", "0", NULL}, "--speed"},
        {{"sim", path, "--seed", "x", NULL}, "--seed"},
        {{"sim", path, "--bogus", NULL}, "unknown option '--bogus'"},
        {{"sim", NULL}, "which plant file"},
        {{"sim", path, path, NULL}, "one plant file expected"},
        {{"frobnicate", NULL}, "unknown command 'frobnicate'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tu_run r = tu_icsrange_v(cases[i].argv);
        if (r.status != 2)
            fail_msg("case %zu: status %d, expected 2 (usage): %s", i, r.status, r.err);
        TU_CONTAINS(r.err, cases[i].want);
        tu_run_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base_is_valid),
        cmocka_unit_test(unknown_component_type),
        cmocka_unit_test(missing_parameter),
        cmocka_unit_test(negative_area),
        cmocka_unit_test(wired_to_missing_tag),
        cmocka_unit_test(yaml_syntax_error),
        cmocka_unit_test(unknown_key_with_suggestion),
        cmocka_unit_test(duplicate_id),
        cmocka_unit_test(wrong_unit),
        cmocka_unit_test(reference_to_missing_tank),
        cmocka_unit_test(reference_of_wrong_kind),
        cmocka_unit_test(sensor_measures_unknown_signal),
        cmocka_unit_test(duplicate_key),
        cmocka_unit_test(initial_level_above_rim),
        cmocka_unit_test(input_wired_to_truth),
        cmocka_unit_test(bad_located_address),
        cmocka_unit_test(bit_point_to_analog),
        cmocka_unit_test(empty_and_non_mapping_files),
        cmocka_unit_test(bad_start_time),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(bad_overrides_and_commands),
        cmocka_unit_test(bad_options),
    };
    return cmocka_run_group_tests_name("bad_plants", tests, NULL, NULL);
}
