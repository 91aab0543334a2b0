/* test_mbpoll.c — interoperability with mbpoll (Debian's mbpoll, a
 * libmodbus-based master): `icsrange modbus serve` with a map of known
 * values is read in every table (plain, hex, 32-bit int and float
 * displays), written with single and multiple writes of coils and holding
 * registers (mbpoll's verbose frames show which function code it used),
 * and each write is read back through our own CLI (`icsrange modbus read
 * --json`). Exceptions and unit ids as mbpoll reports them. Each case has
 * its own server, stopped with SIGTERM: it must exit 0 (the sanitizer
 * build fails on a leak). */
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

/* ---- mbpoll ---- */

static const char map_text[] =
    "tables:\n"
    "  coils: {size: 64, values: {0: [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1]}}\n"
    "  discrete_inputs: {size: 64, values: {0: [0, 1, 1, 0, 1, 0, 0, 1]}}\n"
    "  holding_registers:\n"
    "    size: 128\n"
    /* 10-11: 1.5 as a float, 12-13: 65538 as a 32-bit int (high word first) */
    "    values: {0: [100, 200, 300, 0xBEEF], 10: [0x3FC0, 0], 12: [1, 2]}\n"
    "  input_registers: {size: 64, values: {0: [11, 22, 33, 65535, 0x8000]}}\n";

static struct server srv;

static void start(void)
{
    if (access("/usr/bin/mbpoll", X_OK) != 0) {
        const char *argv[] = {"sh", "-c", "command -v mbpoll", NULL};
        struct tu_run r = tu_exec(argv);
        int ok = r.status == 0;
        drop_run(&r);
        if (!ok)
            TU_SKIP("mbpoll (Debian package mbpoll)");
    }
    server_start(&srv, "127.0.0.1:0", tu_write_tmp("mbpoll.yaml", map_text));
}

static void stop(void)
{
    release(server_stop(&srv));
}

/* Runs mbpoll once on our server: `mbpoll -m tcp -p PORT -0 -1 ARGS...
 * 127.0.0.1 [VALUES...]`; args and values are NULL-terminated lists. */
static struct tu_run mbpoll(const char *const *args, const char *const *values)
{
    const char *argv[64];
    size_t n = 0;
    char port[16];
    snprintf(port, sizeof port, "%d", srv.port);
    const char *fixed[] = {"mbpoll", "-m", "tcp", "-p", port, "-0", "-1"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[n++] = fixed[i];
    for (size_t i = 0; args && args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "127.0.0.1";
    for (size_t i = 0; values && values[i]; i++)
        argv[n++] = values[i];
    argv[n] = NULL;
    return held_run(tu_exec(argv));
}
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* mbpoll's "[ADDR]: \tVALUE" lines, values as printed (first word),
 * joined with ',' ("1,0,1"). */
static char *polled(const char *out)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (const char *p = out; (p = strstr(p, "\n[")); p++) {
        int addr;
        char v[64];
        if (sscanf(p + 1, "[%d]: %63s", &addr, v) == 2)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "", v);
    }
    return buf;
}

static void expect_poll(const char *const *args, const char *want)
{
    struct tu_run r = mbpoll(args, NULL);
    if (r.status != 0)
        fail_msg("mbpoll exited %d:\n%s\n%s", r.status, clip(r.out), clip(r.err));
    const char *got = polled(r.out);
    if (strcmp(got, want) != 0)
        fail_msg("mbpoll read %s, expected %s:\n%s", clip(got), clip(want), clip(r.out));
    drop_run(&r);
}

/* Writes with mbpoll -v; checks the request frame it logged holds `frame`
 * ("[01][05][00][14][FF][00]": unit, function code, data). */
static void expect_write(const char *const *args, const char *const *values, const char *frame)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = "-v";
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct tu_run r = mbpoll(argv, values);
    if (r.status != 0)
        fail_msg("mbpoll (write) exited %d:\n%s\n%s", r.status, clip(r.out), clip(r.err));
    if (!strstr(r.out, "Written") || !strstr(r.out, frame))
        fail_msg("mbpoll did not write, or not with the frame %s:\n%s", frame, clip(r.out));
    drop_run(&r);
}

/* Reads back through our CLI: `icsrange modbus read ADDR TABLE A N --json`;
 * compares the values array with `want` ("[1,0,1]"). */
static void expect_cli(const char *table, const char *addr, const char *count, const char *want)
{
    struct tu_run r =
        held_run(tu_icsrange("modbus", "read", srv.addr, table, addr, count, "--json", NULL));
    if (r.status != 0)
        fail_msg("icsrange modbus read exited %d:\n%s\n%s", r.status, clip(r.out), clip(r.err));
    json_error_t je;
    json_t *o = hold_json(json_loads(r.out, 0, &je));
    if (!o)
        fail_msg("not JSON: %s", clip(r.out));
    char *got = hold(json_dumps(json_object_get(o, "values"), JSON_COMPACT | JSON_ENCODE_ANY));
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s %s x%s read back %s, expected %s", table, addr, count, clip(got), want);
    release(got);
    release_json(o);
    drop_run(&r);
}

/* ---- cases ---- */

static void read_coils(void **state)
{
    (void)state;
    start();
    expect_poll(ARGS("-t", "0", "-r", "0", "-c", "12"), "1,0,1,1,0,0,0,1,1,1,0,1");
    expect_poll(ARGS("-t", "0", "-r", "2", "-c", "3"), "1,1,0");
    stop();
}

static void read_discrete_inputs(void **state)
{
    (void)state;
    start();
    expect_poll(ARGS("-t", "1", "-r", "0", "-c", "8"), "0,1,1,0,1,0,0,1");
    stop();
}

static void read_input_registers(void **state)
{
    (void)state;
    start();
    /* mbpoll prints 65535 as "65535 (-1)": the first word is compared */
    expect_poll(ARGS("-t", "3", "-r", "0", "-c", "5"), "11,22,33,65535,32768");
    expect_poll(ARGS("-t", "3:hex", "-r", "3", "-c", "2"), "0xFFFF,0x8000");
    stop();
}

static void read_holding_registers(void **state)
{
    (void)state;
    start();
    expect_poll(ARGS("-t", "4", "-r", "0", "-c", "4"), "100,200,300,48879");
    expect_poll(ARGS("-t", "4:hex", "-r", "3", "-c", "1"), "0xBEEF");
    expect_poll(ARGS("-t", "4:float", "-B", "-r", "10", "-c", "1"), "1.5");
    expect_poll(ARGS("-t", "4:int", "-B", "-r", "12", "-c", "1"), "65538");
    /* the most a read may ask, and the table's last register */
    char want[1024];
    size_t n = 0;
    for (int a = 3; a < 128; a++) {
        int v = a == 3 ? 0xBEEF : a == 10 ? 0x3FC0 : a == 12 ? 1 : a == 13 ? 2 : 0;
        n += (size_t)snprintf(want + n, sizeof want - n, "%s%d", a > 3 ? "," : "", v);
    }
    expect_poll(ARGS("-t", "4", "-r", "3", "-c", "125"), want);
    expect_poll(ARGS("-t", "4", "-r", "127", "-c", "1"), "0");
    stop();
}

static void write_coils(void **state)
{
    (void)state;
    start();
    /* one value: FC 5 (0xFF00 for on); several: FC 15 */
    expect_write(ARGS("-t", "0", "-r", "20"), ARGS("1"), "[01][05][00][14][FF][00]");
    expect_write(ARGS("-t", "0", "-r", "21"), ARGS("0"), "[01][05][00][15][00][00]");
    expect_write(ARGS("-t", "0", "-r", "30"), ARGS("1", "0", "1", "1", "0", "1", "1", "0", "1"),
                 "[01][0F][00][1E][00][09][02][6D][01]");
    expect_cli("coils", "20", "2", "[1,0]");
    expect_cli("coils", "30", "9", "[1,0,1,1,0,1,1,0,1]");
    /* and mbpoll reads back what it wrote */
    expect_poll(ARGS("-t", "0", "-r", "29", "-c", "11"), "0,1,0,1,1,0,1,1,0,1,0");
    /* a coil already on, written off with FC 5 */
    expect_write(ARGS("-t", "0", "-r", "0"), ARGS("0"), "[01][05][00][00][00][00]");
    expect_cli("coils", "0", "3", "[0,0,1]");
    stop();
}

static void write_holding_registers(void **state)
{
    (void)state;
    start();
    /* one value: FC 6; several: FC 16 */
    expect_write(ARGS("-t", "4", "-r", "40"), ARGS("12345"), "[01][06][00][28][30][39]");
    expect_write(ARGS("-t", "4", "-r", "50"), ARGS("1", "2", "3", "65535"),
                 "[01][10][00][32][00][04][08][00][01][00][02][00][03][FF][FF]");
    /* 32-bit values, high word first */
    expect_write(ARGS("-t", "4:int", "-B", "-r", "60"), ARGS("305419896"),
                 "[01][10][00][3C][00][02][04][12][34][56][78]");
    expect_write(ARGS("-t", "4:float", "-B", "-r", "70"), ARGS("--", "-2.5"),
                 "[01][10][00][46][00][02][04][C0][20][00][00]");
    expect_cli("holding", "40", "1", "[12345]");
    expect_cli("holding", "50", "4", "[1,2,3,65535]");
    expect_cli("holding", "60", "2", "[4660,22136]");
    expect_cli("holding", "70", "2", "[49184,0]");
    expect_poll(ARGS("-t", "4:float", "-B", "-r", "70", "-c", "1"), "-2.5");
    /* overwrite an initial value */
    expect_write(ARGS("-t", "4", "-r", "0"), ARGS("7"), "[01][06][00][00][00][07]");
    expect_cli("holding", "0", "2", "[7,200]");
    stop();
}

static void exceptions(void **state)
{
    (void)state;
    start();
    /* reads and writes past a table's end: exception 02, which mbpoll names */
    const char *const *reads[] = {
        ARGS("-t", "4", "-r", "127", "-c", "2"), ARGS("-t", "3", "-r", "64", "-c", "1"),
        ARGS("-t", "0", "-r", "60", "-c", "5"), ARGS("-t", "1", "-r", "63", "-c", "2"),
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        struct tu_run r = mbpoll(reads[i], NULL);
        if (r.status == 0)
            fail_msg("mbpoll read %zu outside the table succeeded:\n%s", i, clip(r.out));
        TU_CONTAINS(r.err, "Illegal data address");
        drop_run(&r);
    }
    struct tu_run r = mbpoll(ARGS("-t", "4", "-r", "128"), ARGS("1"));
    assert_int_not_equal(r.status, 0);
    TU_CONTAINS(r.err, "Illegal data address");
    drop_run(&r);
    r = mbpoll(ARGS("-t", "0", "-r", "63"), ARGS("1", "1"));
    assert_int_not_equal(r.status, 0);
    TU_CONTAINS(r.err, "Illegal data address");
    drop_run(&r);
    /* nothing was written */
    expect_cli("coils", "63", "1", "[0]");
    stop();
}

static void unit_ids(void **state)
{
    (void)state;
    start();
    /* a direct device answers 0, 1 and 255 */
    expect_poll(ARGS("-a", "255", "-t", "4", "-r", "0", "-c", "1"), "100");
    expect_poll(ARGS("-a", "0", "-t", "4", "-r", "1", "-c", "1"), "200");
    /* and is silent for another */
    struct tu_run r = mbpoll(ARGS("-a", "7", "-o", "0.3", "-t", "4", "-r", "0", "-c", "1"), NULL);
    assert_int_not_equal(r.status, 0);
    TU_CONTAINS(r.err, "timed out");
    drop_run(&r);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(read_coils, kill_servers),
        cmocka_unit_test_teardown(read_discrete_inputs, kill_servers),
        cmocka_unit_test_teardown(read_input_registers, kill_servers),
        cmocka_unit_test_teardown(read_holding_registers, kill_servers),
        cmocka_unit_test_teardown(write_coils, kill_servers),
        cmocka_unit_test_teardown(write_holding_registers, kill_servers),
        cmocka_unit_test_teardown(exceptions, kill_servers),
        cmocka_unit_test_teardown(unit_ids, kill_servers),
    };
    return cmocka_run_group_tests_name("interop_mbpoll", tests, NULL, NULL);
}
