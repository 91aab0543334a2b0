/* test_nmap.c — nmap's modbus-discover script (nmap 7.93) against
 * `icsrange modbus serve`: it asks unit 1 for its server id (FC 17, "Slave
 * ID data") and its identification (FC 43/14, "Device identification"),
 * and must print ours. The script runs only against port 502 (its port
 * rule), so the server listens on 127.0.0.2:502, which needs root; the
 * loopback network answers any 127.x address without configuration. If
 * 127.0.0.2:502 is taken (another run), 127.0.0.3 ... are tried. */
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

static void preconditions(void)
{
    if (geteuid() != 0)
        TU_SKIP("root (to bind 127.0.0.2:502)");
    const char *argv[] = {"sh", "-c", "command -v nmap", NULL};
    struct tu_run r = tu_exec(argv);
    int ok = r.status == 0;
    tu_run_free(&r);
    if (!ok)
        TU_SKIP("nmap (Debian package nmap)");
}

/* Starts the server on 127.0.0.N:502, N from 2, skipping addresses in use;
 * writes the address into ip. */
static void start_on_502(struct server *s, const char *map, char *ip, size_t iplen)
{
    for (int n = 2; n < 10; n++) {
        char listen[32];
        snprintf(ip, iplen, "127.0.0.%d", n);
        snprintf(listen, sizeof listen, "%s:502", ip);
        char *why = NULL;
        if (server_try_start(s, listen, map, &why) == 0)
            return;
        int busy = strstr(why, "in use") != NULL;
        if (!busy)
            fail_msg("the server did not start on %s:\n%s", listen, clip(why));
        release(why);
    }
    fail_msg("127.0.0.2-9:502 are all in use");
}

static struct tu_run nmap(const char *ip)
{
    const char *argv[] = {"nmap", "-Pn", "-n", "--script", "modbus-discover", "-p", "502",
                          ip, NULL};
    return held_run(tu_exec(argv));
}

static void discover(void **state)
{
    (void)state;
    preconditions();
    const char *map = tu_write_tmp("nmap.yaml",
                                   "tables: {holding_registers: {size: 10}}\n"
                                   "identity:\n"
                                   "  vendor_name: ACME Water\n"
                                   "  product_code: PLC-9000\n"
                                   "  revision: \"2.1\"\n"
                                   "  product_name: Pump Controller\n"
                                   "server_id: ACME-PLC\n"
                                   "server_id_additional: station-4\n"
                                   "running: true\n");
    struct server s;
    char ip[32];
    start_on_502(&s, map, ip, sizeof ip);
    struct tu_run r = nmap(ip);
    char *log = server_stop(&s);
    if (r.status != 0)
        fail_msg("nmap exited %d:\n%s\n%s", r.status, clip(r.out), clip(r.err));
    TU_CONTAINS(r.out, "502/tcp open");
    TU_CONTAINS(r.out, "modbus-discover:");
    TU_CONTAINS(r.out, "sid 0x1");
    /* FC 17: server id, run indicator (0xFF: running), additional data */
    TU_CONTAINS(r.out, "Slave ID data: ACME-PLC\\xFFstation-4");
    /* FC 43/14 basic objects: vendor, product code, revision */
    TU_CONTAINS(r.out, "Device identification: ACME Water PLC-9000 2.1");
    /* nmap's two requests were answered without exception */
    TU_CONTAINS(log, "2 responses (0 exceptions)");
    drop_run(&r);
    release(log);
}

static void discover_defaults(void **state)
{
    (void)state;
    preconditions();
    /* no identity and no server id: the defaults, and a stopped device */
    const char *map = tu_write_tmp("nmap-default.yaml",
                                   "tables: {coils: {size: 8}}\nrunning: false\n");
    struct server s;
    char ip[32];
    start_on_502(&s, map, ip, sizeof ip);
    struct tu_run r = nmap(ip);
    release(server_stop(&s));
    if (r.status != 0)
        fail_msg("nmap exited %d:\n%s\n%s", r.status, clip(r.out), clip(r.err));
    /* the server id defaults to the product code; run indicator 0x00 */
    TU_CONTAINS(r.out, "Slave ID data: icsrange\\x00");
    TU_CONTAINS(r.out, "Device identification: icsrange icsrange ");
    drop_run(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(discover, kill_servers),
        cmocka_unit_test_teardown(discover_defaults, kill_servers),
    };
    return cmocka_run_group_tests_name("interop_nmap", tests, NULL, NULL);
}
