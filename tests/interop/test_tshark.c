/* test_tshark.c — Wireshark's Modbus/TCP dissector (tshark 4.0) as a
 * judge of our frames: a capture of a varied session (our client tools
 * and mbpoll against `icsrange modbus serve`: reads and writes of every
 * table, FC 8, 17, 22, 23, 43, exceptions) must decode with no malformed
 * frame and no expert error, and show what was exchanged (identification
 * strings, exception codes). Capturing on the loopback needs root. The
 * server's port is any free port (tshark is told it is Modbus/TCP with
 * the mbtcp.tcp.port preference, so it knows queries from responses). */
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

/* ---- the capture ---- */

struct capture {
    pid_t pid;
    char file[1024];
    char err[1024];
};
static struct capture cap;

static int have(const char *prog)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s", prog);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    struct tu_run r = tu_exec(argv);
    int ok = r.status == 0;
    tu_run_free(&r);
    return ok;
}

static void preconditions(void)
{
    if (geteuid() != 0)
        TU_SKIP("root (to capture on the loopback)");
    if (!have("tshark"))
        TU_SKIP("tshark (Debian package tshark)");
}

/* Starts `tshark -i lo -f "tcp port P" -w FILE`; returns once it says
 * "Capturing on". */
static void capture_start(int port)
{
    memset(&cap, 0, sizeof cap);
    snprintf(cap.file, sizeof cap.file, "%s", tu_tmp("modbus.pcap"));
    snprintf(cap.err, sizeof cap.err, "%s", tu_tmp("tshark.err"));
    char filter[64];
    snprintf(filter, sizeof filter, "tcp port %d", port);
    const char *argv[] = {"tshark", "-i", "lo", "-f", filter, "-w", cap.file, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, cap.err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawnp(&cap.pid, "tshark", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run tshark: %s", strerror(rc));
    for (int waited = 0; waited < 30000; waited += 20) {
        char *text = tu_read_file(cap.err, NULL);
        int ready = text && strstr(text, "Capturing on");
        int st;
        if (!ready && waitpid(cap.pid, &st, WNOHANG) == cap.pid) {
            cap.pid = 0;
            hold(text);
            fail_msg("tshark exited before capturing:\n%s", clip(text));
        }
        free(text);
        if (ready) {
            sleep_ms(300); /* the filter is set before the message; be generous */
            return;
        }
        sleep_ms(20);
    }
    fail_msg("tshark did not start capturing within 30 s");
}

/* Stops the capture (SIGINT: tshark writes out the file and exits). */
static void capture_stop(void)
{
    sleep_ms(300); /* the last segments reach the capture */
    kill(cap.pid, SIGINT);
    int st = 0, done = 0;
    for (int waited = 0; waited < 20000 && !done; waited += 20) {
        if (waitpid(cap.pid, &st, WNOHANG) == cap.pid)
            done = 1;
        else
            sleep_ms(20);
    }
    if (!done) {
        kill(cap.pid, SIGKILL);
        waitpid(cap.pid, &st, 0);
    }
    cap.pid = 0;
    char *text = hold(tu_read_file(cap.err, NULL));
    if (!done)
        fail_msg("tshark did not stop on SIGINT:\n%s", clip(text));
    if (!text || !strstr(text, "packets captured"))
        fail_msg("tshark did not report its capture:\n%s", clip(text));
    release(text);
}

static int teardown_all(void **state)
{
    if (cap.pid > 0) {
        kill(cap.pid, SIGKILL);
        waitpid(cap.pid, NULL, 0);
        cap.pid = 0;
    }
    return kill_servers(state);
}

/* Runs tshark on the capture with a display filter and optional fields;
 * returns its stdout (held: release() it). */
static char *decode(int port, const char *filter, const char *const *fields)
{
    char pref[64];
    snprintf(pref, sizeof pref, "mbtcp.tcp.port:%d", port);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = "tshark";
    argv[n++] = "-r";
    argv[n++] = cap.file;
    argv[n++] = "-o";
    argv[n++] = pref;
    argv[n++] = "-Y";
    argv[n++] = filter;
    if (fields) {
        argv[n++] = "-T";
        argv[n++] = "fields";
        for (size_t i = 0; fields[i] && n < 28; i++) {
            argv[n++] = "-e";
            argv[n++] = fields[i];
        }
    }
    argv[n] = NULL;
    struct tu_run r = held_run(tu_exec(argv));
    if (r.status != 0)
        fail_msg("tshark -r -Y '%s' exited %d:\n%s", filter, r.status, clip(r.err));
    release(r.err);
    return r.out;
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Asserts the capture holds at least `min_frames` Modbus/TCP frames, none
 * malformed and no expert error. */
static void judge(int port, size_t min_frames)
{
    char *all = decode(port, "mbtcp", NULL);
    if (lines(all) < min_frames)
        fail_msg("%zu Modbus/TCP frames decoded, expected at least %zu:\n%s", lines(all),
                 min_frames, clip(all));
    char *bad = decode(port, "_ws.malformed", NULL);
    if (lines(bad) != 0)
        fail_msg("tshark finds %zu malformed frame(s):\n%s", lines(bad), clip(bad));
    char *err = decode(port, "_ws.expert.severity == error", NULL);
    if (lines(err) != 0)
        fail_msg("tshark finds %zu frame(s) with expert errors:\n%s", lines(err), clip(err));
    release(all);
    release(bad);
    release(err);
}

/* Runs our client tool; expects exit status `status`. */
static void tool(int status, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    for (; args[n] && n < 31; n++)
        argv[n] = args[n];
    argv[n] = NULL;
    struct tu_run r = held_run(tu_icsrange_v(argv));
    if (r.status != status)
        fail_msg("icsrange %s %s exited %d (expected %d):\n%s\n%s", argv[0], argv[1], r.status,
                 status, clip(r.out), clip(r.err));
    drop_run(&r);
}
#define TOOL(status, ...) tool((status), (const char *const[]){"modbus", __VA_ARGS__, NULL})

static void mbpoll_run(int port, const char *const *args)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *argv[32] = {"mbpoll", "-m", "tcp", "-p", p, "-0", "-1", "-o", "0.5"};
    size_t n = 9;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    struct tu_run r = held_run(tu_exec(argv));
    if (r.status != 0)
        fail_msg("mbpoll exited %d:\n%s\n%s", r.status, clip(r.out), clip(r.err));
    drop_run(&r);
}
#define MBPOLL(port, ...) mbpoll_run((port), (const char *const[]){__VA_ARGS__, NULL})

static const char map_text[] =
    "tables:\n"
    "  coils: {size: 100, values: {0: [1, 0, 1]}}\n"
    "  discrete_inputs: {size: 100, values: {0: [0, 1]}}\n"
    "  holding_registers: {size: 200, values: {0: [100, 200, 300]}}\n"
    "  input_registers: {size: 100, values: {0: [11, 22]}}\n"
    "identity:\n"
    "  vendor_name: ACME Water\n"
    "  product_code: PLC-9000\n"
    "  revision: \"2.1\"\n"
    "  vendor_url: http://example.com\n"
    "  product_name: Pump Controller\n"
    "  model_name: M9000\n"
    "  user_app_name: station 4\n"
    "  extended: {0x80: ext-80}\n"
    "server_id: ACME-PLC\n"
    "server_id_additional: extra\n";

/* ---- cases ---- */

static void session(void **state)
{
    (void)state;
    preconditions();
    if (!have("mbpoll"))
        TU_SKIP("mbpoll (Debian package mbpoll)");
    struct server s;
    server_start(&s, "127.0.0.1:0", tu_write_tmp("tshark.yaml", map_text));
    capture_start(s.port);
    const char *a = s.addr;
    /* reads of every table, writes single and multiple, mask, read/write */
    TOOL(0, "read", a, "holding", "0", "3");
    TOOL(0, "read", a, "coils", "0", "8");
    TOOL(0, "read", a, "discrete", "0", "5");
    TOOL(0, "read", a, "input", "0", "4");
    TOOL(0, "write", a, "holding", "10", "7");
    TOOL(0, "write", a, "holding", "20", "1", "2", "3");
    TOOL(0, "write", a, "coils", "5", "1");
    TOOL(0, "write", a, "coils", "8", "1", "0", "1", "1", "0", "1", "1", "0", "1");
    TOOL(0, "mask", a, "30", "0xF0F0", "0x0A0A");
    TOOL(0, "rw", a, "40", "3", "41", "5", "6");
    /* FC 8 */
    TOOL(0, "diag", a, "echo", "0x1234");
    TOOL(0, "diag", a, "clear");
    TOOL(0, "diag", a, "bus-messages");
    TOOL(0, "diag", a, "exceptions");
    TOOL(0, "diag", a, "register");
    /* FC 17 and FC 43/14 in every access */
    TOOL(0, "id", a, "--level", "basic");
    TOOL(0, "id", a, "--level", "extended");
    TOOL(0, "id", a, "--object", "4");
    /* exceptions: 02 outside a table, 01 for a sub-function, 02 for an
     * absent object (FC 43) */
    TOOL(1, "read", a, "holding", "199", "2");
    TOOL(1, "write", a, "coils", "100", "1");
    TOOL(1, "diag", a, "3");
    TOOL(0, "id", a, "--object", "0x90"); /* FC 17 answered: exit 0 */
    /* another client: mbpoll */
    MBPOLL(s.port, "-t", "4", "-r", "0", "-c", "5", "127.0.0.1");
    MBPOLL(s.port, "-t", "0", "-r", "60", "127.0.0.1", "1", "0", "1");
    MBPOLL(s.port, "-t", "3", "-r", "0", "-c", "2", "127.0.0.1");
    MBPOLL(s.port, "-t", "4", "-r", "50", "127.0.0.1", "1234");
    capture_stop();
    release(server_stop(&s));

    /* 26 tool runs (id makes 2 or more requests) and 4 mbpoll runs: at
     * least 2 x 30 frames */
    judge(s.port, 60);
    /* what the dissector read: identification strings, exception codes */
    char *objs = decode(s.port, "modbus.object_str_value",
                        (const char *const[]){"modbus.object_str_value", NULL});
    TU_CONTAINS(objs, "ACME Water,PLC-9000,2.1");
    TU_CONTAINS(objs, "Pump Controller");
    /* extended objects are shown as bytes: "ext-80" */
    char *ext = decode(s.port, "modbus.object_id == 0x80",
                       (const char *const[]){"modbus.object_value", NULL});
    TU_CONTAINS(ext, "6578742d3830");
    release(ext);
    char *ex = decode(s.port, "modbus.exception_code",
                      (const char *const[]){"modbus.func_code", "modbus.exception_code", NULL});
    TU_CONTAINS(ex, "3\t2\n");
    TU_CONTAINS(ex, "5\t2\n");
    TU_CONTAINS(ex, "8\t1\n");
    TU_CONTAINS(ex, "43\t2\n");
    char *echo = decode(s.port, "modbus.diagnostic.return_query_data.echo",
                        (const char *const[]){"modbus.diagnostic.return_query_data.echo", NULL});
    TU_CONTAINS(echo, "1234");
    release(objs);
    release(ex);
    release(echo);
}

/* The function-code scan of our CLI sends one probe per code: each must be
 * a well-formed request, as its source says ("a minimal, valid request"). */
static void scan_probes(void **state)
{
    (void)state;
    preconditions();
    struct server s;
    server_start(&s, "127.0.0.1:0", tu_write_tmp("tshark-scan.yaml", map_text));
    capture_start(s.port);
    TOOL(0, "scan", s.addr, "--functions", "1-43");
    capture_stop();
    release(server_stop(&s));
    judge(s.port, 2 * 43);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(session, teardown_all),
        cmocka_unit_test_teardown(scan_probes, teardown_all),
    };
    return cmocka_run_group_tests_name("interop_tshark", tests, NULL, NULL);
}
