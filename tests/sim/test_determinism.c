/* test_determinism.c — one seed gives the same CSV byte for byte; another
 * seed gives another; adding a sensor to the plant leaves every other
 * column byte-identical (each component draws from its own stream). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const char *run(const char *plant, const char *seed)
{
    const char *csv = tu_tmp("det.csv");
    struct tu_run r = tu_icsrange("sim", plant, "--fast", "--duration", "2h", "--seed", seed,
                                  "--csv", csv, "--sample", "500ms", NULL);
    if (r.status != 0)
        fail_msg("sim failed: %s", r.err);
    tu_run_free(&r);
    return csv;
}

static void same_seed_same_bytes(void **state)
{
    (void)state;
    const char *plant = tu_path("plants/waterworks.yaml");
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", run(plant, "42"));
    snprintf(b, sizeof b, "%s", run(plant, "42"));
    assert_true(tu_same_file(a, b));
}

static void other_seed_other_bytes(void **state)
{
    (void)state;
    const char *plant = tu_path("plants/waterworks.yaml");
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", run(plant, "42"));
    snprintf(b, sizeof b, "%s", run(plant, "43"));
    assert_false(tu_same_file(a, b));
    /* the noise differs, the physics without noise does not */
    char *ta = tu_csv_column_text(a, "XV-101"), *tb = tu_csv_column_text(b, "XV-101");
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    ta = tu_csv_column_text(a, "LT-101");
    tb = tu_csv_column_text(b, "LT-101");
    assert_string_not_equal(ta, tb);
    free(ta);
    free(tb);
}

/* A copy of the waterworks with one more transmitter, inserted in the
 * middle of the component list. */
static void added_sensor_leaves_other_columns(void **state)
{
    (void)state;
    char *yaml = tu_read_file(tu_path("plants/waterworks.yaml"), NULL);
    assert_non_null(yaml);
    const char *mark = "  - id: LSH-101\n";
    char *at = strstr(yaml, mark);
    assert_non_null(at);
    const char *extra = "  - id: LT-100\n"
                        "    type: transmitter\n"
                        "    measures: T-100.level\n"
                        "    range: [0 m, 1 m]\n"
                        "    noise: 2 mm\n"
                        "    lag: 1 s\n"
                        "    period: 250 ms\n\n";
    size_t n = strlen(yaml) + strlen(extra) + 1;
    char *mod = malloc(n);
    size_t head = (size_t)(at - yaml);
    memcpy(mod, yaml, head);
    strcpy(mod + head, extra);
    strcat(mod, at);
    const char *plant2 = tu_write_tmp("waterworks-plus.yaml", mod);
    char a[1024], b[1024];
    snprintf(a, sizeof a, "%s", run(tu_path("plants/waterworks.yaml"), "7"));
    snprintf(b, sizeof b, "%s", run(plant2, "7"));
    struct tu_csv *ca = tu_csv_read(a), *cb = tu_csv_read(b);
    assert_int_equal(cb->ncols, ca->ncols + 2);
    assert_true(tu_csv_find(cb, "LT-100") >= 0);
    assert_int_equal(ca->nrows, cb->nrows);
    for (size_t i = 0; i < ca->ncols; i++) {
        char *ta = tu_csv_column_text(a, ca->names[i]), *tb = tu_csv_column_text(b, ca->names[i]);
        if (strcmp(ta, tb) != 0)
            fail_msg("column %s changed when a sensor was added", ca->names[i]);
        free(ta);
        free(tb);
    }
    /* timestamps too */
    for (size_t r = 0; r < ca->nrows; r++)
        assert_string_equal(ca->ts[r], cb->ts[r]);
    tu_csv_free(ca);
    tu_csv_free(cb);
    free(mod);
    free(yaml);
}

/* The CSV starts at the plant file's start time and has one row per
 * sample period over the half-open run [0, duration). */
static void rows_and_timestamps(void **state)
{
    (void)state;
    const char *csv = tu_tmp("ts.csv");
    struct tu_run r = tu_icsrange("sim", tu_path("plants/waterworks.yaml"), "--fast",
                                  "--duration", "10m", "--csv", csv, NULL);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    struct tu_csv *c = tu_csv_read(csv);
    assert_int_equal(c->nrows, 600);
    assert_string_equal(c->ts[0], "2026-03-02T00:00:00Z");
    assert_string_equal(c->ts[599], "2026-03-02T00:09:59Z");
    tu_csv_free(c);
    csv = tu_tmp("ts2.csv");
    r = tu_icsrange("sim", tu_path("plants/waterworks.yaml"), "--fast", "--duration", "1s",
                    "--sample", "250ms", "--csv", csv, NULL);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    c = tu_csv_read(csv);
    assert_int_equal(c->nrows, 4);
    assert_string_equal(c->ts[1], "2026-03-02T00:00:00.250Z");
    tu_csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_seed_same_bytes),
        cmocka_unit_test(other_seed_other_bytes),
        cmocka_unit_test(added_sensor_leaves_other_columns),
        cmocka_unit_test(rows_and_timestamps),
    };
    return cmocka_run_group_tests_name("determinism", tests, NULL, NULL);
}
