/* test_pymodbus.c — interoperability with pymodbus (Debian's
 * python3-pymodbus 3.0): tests/interop/pymodbus_client.py drives
 * `icsrange modbus serve` through every function code the server has
 * (1-6, 8 and its sub-functions, 15, 16, 17, 22, 23, 43/14 in every read
 * code with more-follows), every exception it produces (01, 02, 03, 06),
 * the silence of unknown units and of listen-only mode, and framing (split
 * and merged frames, bad MBAP headers). The script prints what it saw, one
 * JSON line per check; the expected values are here.
 *
 * Exception 0B (gateway target failed) is not tested: a map-file device is
 * a direct device, which stays silent for unknown units instead. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interop.h"
#include "testutil.h"

extern char **environ;

/* The server process, clip(), hold()... : tests/common/interop.h. */

/* ---- the script ---- */

static const char *python = "/usr/bin/python3";

static void need_pymodbus(void)
{
    if (access(python, X_OK) != 0)
        TU_SKIP("python3-pymodbus (no %s)", python);
    const char *argv[] = {python, "-c", "import pymodbus.client, pymodbus.mei_message", NULL};
    struct tu_run r = tu_exec(argv);
    int ok = r.status == 0;
    tu_run_free(&r);
    if (!ok)
        TU_SKIP("python3-pymodbus (%s cannot import pymodbus)", python);
}

/* Runs the script against a port; returns {check name: fields}. */
static json_t *run_script(int port, const char *mode)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *argv[] = {python, tu_path("tests/interop/pymodbus_client.py"), p, mode, NULL};
    struct tu_run r = held_run(tu_exec(argv));
    if (r.status != 0)
        fail_msg("pymodbus_client.py %s exited %d:\n%s\n%s", mode, r.status, clip(r.out),
                 clip(r.err));
    json_t *all = hold_json(json_object());
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        const char *name = o ? json_string_value(json_object_get(o, "check")) : NULL;
        if (!name) {
            json_decref(o);
            fail_msg("pymodbus_client.py printed a line that is not a check: %s", clip(line));
        }
        json_object_set_new(all, name, o);
    }
    drop_run(&r);
    if (!json_object_get(all, "done"))
        fail_msg("pymodbus_client.py did not finish");
    return all; /* held */
}

/* The results of the main run, made once (first case that needs them). */
static json_t *main_results;
static char *main_log;

/* n copies of c, NUL-terminated (buf holds n + 1) */
static void rep(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
}

static json_t *results(void)
{
    need_pymodbus();
    if (main_results)
        return main_results;
    /* identification strings of 120, 150, 200 and 40 characters: regular
     * access takes 3 rounds, extended 4 */
    char url[121], product[151], model[201], app[41], ext[181], text[4096];
    rep(url, 'U', 120);
    memcpy(url, "http://example.com/", 19);
    rep(product, 'P', 150);
    rep(model, 'M', 200);
    rep(app, 'A', 40);
    rep(ext, 'X', 180);
    snprintf(text, sizeof text,
             "tables:\n"
             "  coils: {size: 100, values: {0: [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1]}}\n"
             "  discrete_inputs: {size: 100, values: {0: [0, 1, 1, 0, 1]}}\n"
             "  holding_registers:\n"
             "    size: 200\n"
             "    values: {0: [100, 200, 300], 70: 0x1234, 80: [5, 50, 51, 9], 90: 4242}\n"
             "  input_registers: {size: 100, values: {0: [11, 22, 33, 65535]}}\n"
             "identity:\n"
             "  vendor_name: ACME Water\n"
             "  product_code: PLC-9000\n"
             "  revision: \"2.1\"\n"
             "  vendor_url: %s\n"
             "  product_name: %s\n"
             "  model_name: %s\n"
             "  user_app_name: %s\n"
             "  extended:\n"
             "    0x80: ext-80\n"
             "    0x81: %s\n"
             "server_id: ACME-PLC\n"
             "running: true\n",
             url, product, model, app, ext);
    const char *map = tu_write_tmp("pymodbus.yaml", text);
    struct server s;
    server_start(&s, "127.0.0.1:0", map);
    json_t *all = run_script(s.port, "main");
    char *log = server_stop(&s);
    /* kept for the cases that follow; freed by the group's teardown */
    main_results = unhold_json(all);
    main_log = unhold(log);
    return main_results;
}

static int free_results(void **state)
{
    (void)state;
    json_decref(main_results);
    main_results = NULL;
    free(main_log);
    main_log = NULL;
    return 0;
}

/* A check's fields; fails if it is missing or raised. */
static json_t *check(json_t *all, const char *name)
{
    json_t *o = json_object_get(all, name);
    if (!o)
        fail_msg("check %s did not run", name);
    json_t *err = json_object_get(o, "error");
    if (err) {
        char *s = hold(json_dumps(o, JSON_COMPACT));
        fail_msg("check %s failed in pymodbus: %s", name, clip(s));
    }
    return o;
}

static void expect_field(json_t *all, const char *name, const char *field, const char *want)
{
    json_t *o = check(all, name);
    json_t *v = json_object_get(o, field);
    char *got = v ? hold(json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) : NULL;
    if (!got || strcmp(got, want) != 0)
        fail_msg("check %s: %s is %s, expected %s", name, field, got ? clip(got) : "(absent)",
                 clip(want));
    release(got);
}

static void expect_exception(json_t *all, const char *name, int code)
{
    json_t *o = check(all, name);
    json_t *v = json_object_get(o, "exception");
    if (!json_is_integer(v) || json_integer_value(v) != code) {
        char *s = hold(json_dumps(o, JSON_COMPACT));
        fail_msg("check %s: expected exception %02X, got %s", name, code, clip(s));
    }
}

/* ---- cases ---- */

static void data_functions(void **state)
{
    (void)state;
    json_t *a = results();
    expect_field(a, "connect", "ok", "true");
    expect_field(a, "fc1", "bits", "[1,0,1,1,0,0,0,1,1,1,0,1]");
    expect_field(a, "fc2", "bits", "[0,1,1,0,1]");
    expect_field(a, "fc3", "values", "[100,200,300]");
    expect_field(a, "fc4", "values", "[11,22,33,65535]");
    expect_field(a, "fc3_unit255", "values", "[100]");
    expect_field(a, "fc3_unit0", "values", "[100]");
    expect_field(a, "fc5", "echo", "[40,1,41,0]");
    expect_field(a, "fc5", "bits", "[1,0]");
    expect_field(a, "fc6", "echo", "[60,48879]");
    expect_field(a, "fc6", "values", "[48879]");
    expect_field(a, "fc15", "echo", "[50,9]");
    expect_field(a, "fc15", "bits", "[1,0,1,1,0,0,1,0,1]");
    expect_field(a, "fc16", "echo", "[61,4]");
    expect_field(a, "fc16", "values", "[1,2,3,65535]");
    /* (0x1234 AND 0xF0F0) OR (0x0A0A AND NOT 0xF0F0) = 0x1A3A */
    expect_field(a, "fc22", "echo", "[70,61680,2570]");
    expect_field(a, "fc22", "values", "[6714]");
    /* the write (81, 82) happens before the read (80-83) */
    expect_field(a, "fc23", "values", "[5,7,8,9]");
}

static void diagnostics(void **state)
{
    (void)state;
    json_t *a = results();
    expect_field(a, "fc8_echo", "message", "[4660]");
    expect_field(a, "fc8_restart", "message", "[0]");
    expect_field(a, "fc8_register", "message", "0");
    expect_field(a, "fc8_clear", "message", "0");
    /* after the clear: an exception (02), then each counter read in turn
     * (each read is itself a bus and a server message) */
    expect_field(a, "fc8_counters", "trigger", "2");
    expect_field(a, "fc8_counters", "exceptions", "1");
    expect_field(a, "fc8_counters", "bus_messages", "3");
    expect_field(a, "fc8_counters", "server_messages", "4");
    expect_field(a, "fc8_counters", "no_response", "0");
    expect_field(a, "fc8_counters", "comm_errors", "0");
    expect_field(a, "fc8_counters", "nak", "0");
    expect_field(a, "fc8_counters", "busy", "0");
    expect_field(a, "fc8_counters", "overrun", "0");
    /* sub-functions the server does not have: 01 */
    expect_exception(a, "fc8_sub03", 1);
    expect_exception(a, "fc8_sub13", 1);
    expect_exception(a, "fc8_sub15", 1);
    /* a counter read with a data word other than 0000: 03 */
    expect_exception(a, "fc8_counter_data1", 3);
}

static void identification(void **state)
{
    (void)state;
    json_t *a = results();
    /* FC 17: server id, run indicator 0xFF */
    expect_field(a, "fc17", "identifier", "\"41434d452d504c43ff\"");
    expect_field(a, "fc17", "byte_count", "9");
    expect_field(a, "fc17", "status", "true");
    expect_field(a, "fc17", "unit", "1");
    /* FC 43/14: basic in one round; conformity 0x83 (extended objects,
     * individual access) */
    expect_field(a, "fc43_basic", "objects",
                 "{\"0x00\":\"ACME Water\",\"0x01\":\"PLC-9000\",\"0x02\":\"2.1\"}");
    expect_field(a, "fc43_basic", "rounds", "[[0,0,3]]");
    expect_field(a, "fc43_basic", "conformity", "131");
    /* regular: 0-3 fit the first response, 4 alone, then 5 and 6 */
    expect_field(a, "fc43_regular", "rounds", "[[255,4,4],[255,5,1],[0,0,2]]");
    json_t *objs = json_object_get(check(a, "fc43_regular"), "objects");
    assert_int_equal(json_object_size(objs), 7);
    assert_int_equal(strlen(json_string_value(json_object_get(objs, "0x03"))), 120);
    assert_int_equal(strlen(json_string_value(json_object_get(objs, "0x04"))), 150);
    assert_int_equal(strlen(json_string_value(json_object_get(objs, "0x05"))), 200);
    assert_string_equal(json_string_value(json_object_get(objs, "0x06")),
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    /* extended: one more round for 0x80 and 0x81 */
    expect_field(a, "fc43_extended", "rounds",
                 "[[255,4,4],[255,5,1],[255,128,2],[0,0,2]]");
    objs = json_object_get(check(a, "fc43_extended"), "objects");
    assert_int_equal(json_object_size(objs), 9);
    assert_string_equal(json_string_value(json_object_get(objs, "0x80")), "ext-80");
    assert_int_equal(strlen(json_string_value(json_object_get(objs, "0x81"))), 180);
    /* individual access */
    expect_field(a, "fc43_individual_05", "count", "1");
    expect_field(a, "fc43_individual_81", "count", "1");
    objs = json_object_get(check(a, "fc43_individual_81"), "objects");
    assert_int_equal(strlen(json_string_value(json_object_get(objs, "0x81"))), 180);
    expect_exception(a, "fc43_individual_absent", 2);
}

static void exceptions(void **state)
{
    (void)state;
    json_t *a = results();
    /* 01: function codes the server does not have, another MEI type */
    expect_exception(a, "ex01_fc7", 1);
    expect_field(a, "ex01_raw_fc65", "pdu", "\"c101\"");
    expect_field(a, "ex01_raw_mei13", "pdu", "\"ab01\"");
    /* 02: outside a table, for every function that addresses one */
    const char *e02[] = {"ex02_fc1", "ex02_fc2", "ex02_fc3", "ex02_fc4", "ex02_fc5",
                         "ex02_fc6", "ex02_fc15", "ex02_fc16", "ex02_fc22", "ex02_fc23"};
    for (size_t i = 0; i < sizeof e02 / sizeof e02[0]; i++)
        expect_exception(a, e02[i], 2);
    /* 03: quantity, byte count, value */
    expect_exception(a, "ex03_fc3_126", 3);
    expect_exception(a, "ex03_fc1_2001", 3);
    expect_field(a, "ex03_raw_fc3_qty0", "pdu", "\"8303\"");
    expect_field(a, "ex03_raw_fc4_qty0", "pdu", "\"8403\"");
    expect_field(a, "ex03_raw_fc5_value", "pdu", "\"8503\"");
    expect_field(a, "ex03_raw_fc15_bytecount", "pdu", "\"8f03\"");
    expect_field(a, "ex03_raw_fc16_bytecount", "pdu", "\"9003\"");
    expect_field(a, "ex03_raw_fc16_qty124", "pdu", "\"9003\"");
    expect_field(a, "ex03_raw_fc23_wqty0", "pdu", "\"9703\"");
    expect_field(a, "ex03_raw_fc43_code5", "pdu", "\"ab03\"");
    expect_field(a, "ex03_raw_fc8_restart_data", "pdu", "\"8803\"");
    /* a direct device answers units 0, 1, 255 and is silent for others */
    expect_field(a, "unit7_silent", "pdu", "null");
    expect_field(a, "unit255_raw", "pdu", "\"03020064\"");
}

/* An exception means nothing was done: FC 23 answered 02 for its read
 * range must not have written (the specification's state diagram checks
 * both ranges before executing). */
static void fc23_exception_writes_nothing(void **state)
{
    (void)state;
    json_t *a = results();
    expect_exception(a, "ex02_fc23", 2);
    expect_field(a, "ex02_fc23", "after", "[4242]");
}

static void framing_and_modes(void **state)
{
    (void)state;
    json_t *a = results();
    /* one request sent a byte at a time; two in one segment */
    json_t *f = check(a, "framing");
    json_t *tids = json_object_get(f, "tids");
    char want[256];
    snprintf(want, sizeof want, "[%lld,\"030400c8012c\"]",
             (long long)json_integer_value(json_array_get(tids, 0)));
    expect_field(a, "framing", "one", want);
    snprintf(want, sizeof want, "[[%lld,\"0402000b\"],[%lld,\"0302012c\"]]",
             (long long)json_integer_value(json_array_get(tids, 1)),
             (long long)json_integer_value(json_array_get(tids, 2)));
    expect_field(a, "framing", "two", want);
    /* a bad MBAP header: the connection is closed, no answer; others go on */
    expect_field(a, "mbap_protocol1", "result", "\"closed\"");
    expect_field(a, "mbap_length300", "result", "\"closed\"");
    expect_field(a, "after_bad_mbap", "values", "[100]");
    /* listen-only: silent, also for the restart that ends it */
    expect_field(a, "listen_only", "force", "null");
    expect_field(a, "listen_only", "read_while", "null");
    expect_field(a, "listen_only", "restart", "null");
    expect_field(a, "listen_only", "read_after", "\"03020064\"");
}

static void server_log_and_exit(void **state)
{
    (void)state;
    results();
    /* two bad headers dropped; the stats line */
    TU_CONTAINS(main_log, "dropped");
    TU_CONTAINS(main_log, "in an MBAP header");
    TU_CONTAINS(main_log, "listen-only");
}

static void busy(void **state)
{
    (void)state;
    need_pymodbus();
    const char *map = tu_write_tmp("busy.yaml",
                                   "tables: {holding_registers: {size: 10, values: {0: 7}}}\n"
                                   "limits: {requests_per_second: 1, burst: 1}\n");
    struct server s;
    server_start(&s, "127.0.0.1:0", map);
    json_t *a = run_script(s.port, "busy");
    char *log = server_stop(&s);
    expect_field(a, "busy_burst", "seen", "[0,6,6,6,6]");
    expect_field(a, "busy_recovered", "values", "[7]");
    release_json(a);
    release(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(data_functions, kill_servers),
        cmocka_unit_test_teardown(diagnostics, kill_servers),
        cmocka_unit_test_teardown(identification, kill_servers),
        cmocka_unit_test_teardown(exceptions, kill_servers),
        cmocka_unit_test_teardown(fc23_exception_writes_nothing, kill_servers),
        cmocka_unit_test_teardown(framing_and_modes, kill_servers),
        cmocka_unit_test_teardown(server_log_and_exit, kill_servers),
        cmocka_unit_test_teardown(busy, kill_servers),
    };
    return cmocka_run_group_tests_name("interop_pymodbus", tests, NULL, free_results);
}
