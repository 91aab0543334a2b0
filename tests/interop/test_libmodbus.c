/* test_libmodbus.c — interoperability with libmodbus 3.1.6 (Debian's
 * libmodbus-dev), both ways:
 *
 * (a) a libmodbus client against `icsrange modbus serve`: every function
 *     code libmodbus has (1, 2, 3, 4, 5, 6, 15, 16, 17, 22, 23) at their
 *     limits, exceptions as libmodbus's errno values (EMBXILFUN, EMBXILADD,
 *     EMBXILVAL, EMBXSBUSY), raw requests it would not build, unit ids, a
 *     long run of requests on one connection;
 * (b) a libmodbus server (a forked child: modbus_tcp_listen, a select()
 *     loop over modbus_receive/modbus_reply, a mapping that starts at
 *     non-zero addresses) against our client tools (`icsrange modbus
 *     read/write/mask/rw/id/diag/scan --json`).
 *
 * libmodbus has no FC 43 and answers FC 8 with exception 01; it is a peer,
 * not an oracle of the specification. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <modbus.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interop.h"
#include "testutil.h"

extern char **environ;

/* The server process, clip(), hold()... : tests/common/interop.h. */

/* ---- (a) a libmodbus client against our server ---- */

static const char map_text[] =
    "tables:\n"
    "  coils: {size: 2000, values: {0: [1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1], 1999: 1}}\n"
    "  discrete_inputs: {size: 2000, values: {0: [0, 1, 1, 0, 1], 1999: 1}}\n"
    "  holding_registers:\n"
    "    size: 200\n"
    "    values: {0: [100, 200, 300], 70: 0x1234, 80: [5, 50, 51, 9], 124: 0xABCD}\n"
    "  input_registers: {size: 200, values: {0: [11, 22, 33, 65535], 124: 4321}}\n"
    "server_id: ACME-PLC\n"
    "server_id_additional: extra\n"
    "running: true\n";

static struct server srv;
static modbus_t *cur; /* the case's client, freed by the teardown too */

static modbus_t *client(void)
{
    server_start(&srv, "127.0.0.1:0", tu_write_tmp("libmodbus.yaml", map_text));
    modbus_t *ctx = cur = modbus_new_tcp("127.0.0.1", srv.port);
    assert_non_null(ctx);
    modbus_set_response_timeout(ctx, 2, 0);
    if (modbus_connect(ctx) != 0)
        fail_msg("modbus_connect: %s", modbus_strerror(errno));
    assert_int_equal(modbus_set_slave(ctx, 1), 0);
    return ctx;
}

static void done(modbus_t *ctx)
{
    modbus_close(ctx);
    modbus_free(ctx);
    cur = NULL;
    release(server_stop(&srv));
}

/* Asserts a libmodbus call failed with errno `want`. */
#define EXPECT_ERRNO(call, want)                                                         \
    do {                                                                                 \
        errno = 0;                                                                       \
        int rc_ = (call);                                                                \
        int e_ = errno;                                                                  \
        if (rc_ != -1 || e_ != (want))                                                   \
            fail_msg("%s: returned %d, errno %d (%s); expected errno %d (%s)", #call, rc_, \
                     e_, modbus_strerror(e_), (want), modbus_strerror(want));           \
    } while (0)

#define EXPECT_OK(call, n)                                                               \
    do {                                                                                 \
        int rc_ = (call);                                                                \
        if (rc_ != (n))                                                                  \
            fail_msg("%s: returned %d (%s), expected %d", #call, rc_,                    \
                     rc_ < 0 ? modbus_strerror(errno) : "", (n));                         \
    } while (0)

static void client_reads(void **state)
{
    (void)state;
    modbus_t *ctx = client();
    uint8_t bits[MODBUS_MAX_READ_BITS];
    uint16_t regs[MODBUS_MAX_READ_REGISTERS];
    const uint8_t want_coils[12] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1};
    EXPECT_OK(modbus_read_bits(ctx, 0, 12, bits), 12);
    assert_memory_equal(bits, want_coils, 12);
    const uint8_t want_di[5] = {0, 1, 1, 0, 1};
    EXPECT_OK(modbus_read_input_bits(ctx, 0, 5, bits), 5);
    assert_memory_equal(bits, want_di, 5);
    EXPECT_OK(modbus_read_registers(ctx, 0, 3, regs), 3);
    assert_int_equal(regs[0], 100);
    assert_int_equal(regs[1], 200);
    assert_int_equal(regs[2], 300);
    EXPECT_OK(modbus_read_input_registers(ctx, 0, 4, regs), 4);
    assert_int_equal(regs[2], 33);
    assert_int_equal(regs[3], 65535);
    /* at the limits: 2000 bits, 125 registers, up to the tables' ends */
    EXPECT_OK(modbus_read_bits(ctx, 0, 2000, bits), 2000);
    assert_memory_equal(bits, want_coils, 12);
    assert_int_equal(bits[1999], 1);
    assert_int_equal(bits[1998], 0);
    EXPECT_OK(modbus_read_input_bits(ctx, 0, 2000, bits), 2000);
    assert_int_equal(bits[1999], 1);
    EXPECT_OK(modbus_read_registers(ctx, 0, 125, regs), 125);
    assert_int_equal(regs[124], 0xABCD);
    assert_int_equal(regs[70], 0x1234);
    EXPECT_OK(modbus_read_input_registers(ctx, 75, 125, regs), 125);
    assert_int_equal(regs[124 - 75], 4321);
    /* a long run on one connection */
    for (int i = 0; i < 2000; i++) {
        regs[0] = 0;
        EXPECT_OK(modbus_read_registers(ctx, (i % 3), 1, regs), 1);
        assert_int_equal(regs[0], 100 * (i % 3 + 1));
    }
    done(ctx);
}

static void client_writes(void **state)
{
    (void)state;
    modbus_t *ctx = client();
    uint8_t bits[64];
    uint16_t regs[128];
    /* FC 5 */
    EXPECT_OK(modbus_write_bit(ctx, 40, 1), 1);
    EXPECT_OK(modbus_write_bit(ctx, 0, 0), 1);
    EXPECT_OK(modbus_read_bits(ctx, 40, 1, bits), 1);
    assert_int_equal(bits[0], 1);
    EXPECT_OK(modbus_read_bits(ctx, 0, 1, bits), 1);
    assert_int_equal(bits[0], 0);
    /* FC 6 */
    EXPECT_OK(modbus_write_register(ctx, 60, 0xBEEF), 1);
    EXPECT_OK(modbus_read_registers(ctx, 60, 1, regs), 1);
    assert_int_equal(regs[0], 0xBEEF);
    /* FC 15, 9 coils over two bytes, and the most a request may write */
    const uint8_t nine[9] = {1, 0, 1, 1, 0, 0, 1, 0, 1};
    EXPECT_OK(modbus_write_bits(ctx, 50, 9, nine), 9);
    EXPECT_OK(modbus_read_bits(ctx, 49, 11, bits), 11);
    const uint8_t want[11] = {0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
    assert_memory_equal(bits, want, 11);
    static uint8_t many[MODBUS_MAX_WRITE_BITS];
    for (int i = 0; i < MODBUS_MAX_WRITE_BITS; i++)
        many[i] = (uint8_t)(i % 3 == 0);
    EXPECT_OK(modbus_write_bits(ctx, 32, MODBUS_MAX_WRITE_BITS, many), MODBUS_MAX_WRITE_BITS);
    static uint8_t back[MODBUS_MAX_WRITE_BITS];
    EXPECT_OK(modbus_read_bits(ctx, 32, MODBUS_MAX_WRITE_BITS, back), MODBUS_MAX_WRITE_BITS);
    assert_memory_equal(back, many, MODBUS_MAX_WRITE_BITS);
    /* FC 16, and the most a request may write (123) */
    const uint16_t four[4] = {1, 2, 3, 65535};
    EXPECT_OK(modbus_write_registers(ctx, 61, 4, four), 4);
    EXPECT_OK(modbus_read_registers(ctx, 60, 6, regs), 6);
    assert_int_equal(regs[0], 0xBEEF);
    assert_int_equal(regs[1], 1);
    assert_int_equal(regs[4], 65535);
    assert_int_equal(regs[5], 0);
    uint16_t full[MODBUS_MAX_WRITE_REGISTERS];
    for (int i = 0; i < MODBUS_MAX_WRITE_REGISTERS; i++)
        full[i] = (uint16_t)(1000 + i);
    EXPECT_OK(modbus_write_registers(ctx, 77, MODBUS_MAX_WRITE_REGISTERS, full),
              MODBUS_MAX_WRITE_REGISTERS);
    EXPECT_OK(modbus_read_registers(ctx, 77, MODBUS_MAX_WRITE_REGISTERS, regs),
              MODBUS_MAX_WRITE_REGISTERS);
    assert_memory_equal(regs, full, sizeof full);
    /* FC 22 on a fresh register: (0x1234 AND 0xF0F0) OR (0x0A0A AND NOT 0xF0F0) */
    EXPECT_OK(modbus_write_register(ctx, 10, 0x1234), 1);
    EXPECT_OK(modbus_mask_write_register(ctx, 10, 0xF0F0, 0x0A0A), 1);
    EXPECT_OK(modbus_read_registers(ctx, 10, 1, regs), 1);
    assert_int_equal(regs[0], 0x1A3A);
    /* FC 23: the write (1, 2) happens before the read (0-3) */
    const uint16_t two[2] = {7, 8};
    EXPECT_OK(modbus_write_and_read_registers(ctx, 1, 2, two, 0, 4, regs), 4);
    assert_int_equal(regs[0], 100);
    assert_int_equal(regs[1], 7);
    assert_int_equal(regs[2], 8);
    /* FC 23 at its limits: write 121, read 125 */
    uint16_t w121[MODBUS_MAX_WR_WRITE_REGISTERS];
    for (int i = 0; i < MODBUS_MAX_WR_WRITE_REGISTERS; i++)
        w121[i] = (uint16_t)(5000 + i);
    EXPECT_OK(modbus_write_and_read_registers(ctx, 0, MODBUS_MAX_WR_WRITE_REGISTERS, w121, 0,
                                              MODBUS_MAX_WR_READ_REGISTERS, regs),
              MODBUS_MAX_WR_READ_REGISTERS);
    assert_memory_equal(regs, w121, sizeof w121);
    assert_int_equal(regs[124], 1000 + 124 - 77); /* from the FC 16 write of 123 */
    done(ctx);
}

static void client_report_server_id(void **state)
{
    (void)state;
    modbus_t *ctx = client();
    uint8_t id[MODBUS_MAX_PDU_LENGTH];
    /* byte count 14: "ACME-PLC", run indicator 0xFF, "extra" */
    int n = modbus_report_slave_id(ctx, sizeof id, id);
    if (n != 14)
        fail_msg("modbus_report_slave_id returned %d (%s)", n, n < 0 ? modbus_strerror(errno) : "");
    assert_memory_equal(id, "ACME-PLC", 8);
    assert_int_equal(id[8], 0xFF);
    assert_memory_equal(id + 9, "extra", 5);
    done(ctx);
}

/* Sends a raw request (unit + PDU) and returns the response PDU as hex. */
static const char *raw(modbus_t *ctx, const uint8_t *req, int len)
{
    static char hex[2 * MODBUS_TCP_MAX_ADU_LENGTH + 1];
    uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
    if (modbus_send_raw_request(ctx, req, len) < 0)
        fail_msg("modbus_send_raw_request: %s", modbus_strerror(errno));
    int n = modbus_receive_confirmation(ctx, rsp);
    if (n < 0)
        fail_msg("modbus_receive_confirmation: %s", modbus_strerror(errno));
    hex[0] = '\0';
    for (int i = 7; i < n; i++) /* after the MBAP header */
        snprintf(hex + 2 * (i - 7), 3, "%02x", rsp[i]);
    return hex;
}

static void client_exceptions(void **state)
{
    (void)state;
    modbus_t *ctx = client();
    uint8_t bits[16];
    uint16_t regs[16];
    const uint16_t one[1] = {1};
    /* 02 for every function code libmodbus has, past a table's end */
    EXPECT_ERRNO(modbus_read_bits(ctx, 1999, 2, bits), EMBXILADD);
    EXPECT_ERRNO(modbus_read_input_bits(ctx, 2000, 1, bits), EMBXILADD);
    EXPECT_ERRNO(modbus_read_registers(ctx, 199, 2, regs), EMBXILADD);
    EXPECT_ERRNO(modbus_read_input_registers(ctx, 200, 1, regs), EMBXILADD);
    EXPECT_ERRNO(modbus_write_bit(ctx, 2000, 1), EMBXILADD);
    EXPECT_ERRNO(modbus_write_register(ctx, 200, 1), EMBXILADD);
    EXPECT_ERRNO(modbus_write_bits(ctx, 1999, 2, (const uint8_t[]){1, 1}), EMBXILADD);
    EXPECT_ERRNO(modbus_write_registers(ctx, 199, 2, (const uint16_t[]){1, 1}), EMBXILADD);
    EXPECT_ERRNO(modbus_mask_write_register(ctx, 200, 0, 0), EMBXILADD);
    EXPECT_ERRNO(modbus_write_and_read_registers(ctx, 5, 1, one, 199, 2, regs), EMBXILADD);
    /* nothing was written by the failed requests */
    EXPECT_OK(modbus_read_bits(ctx, 1999, 1, bits), 1);
    assert_int_equal(bits[0], 1);
    EXPECT_OK(modbus_read_registers(ctx, 199, 1, regs), 1);
    assert_int_equal(regs[0], 0);
    /* 03: a quantity of 0 (libmodbus sends it as asked) */
    EXPECT_ERRNO(modbus_read_registers(ctx, 0, 0, regs), EMBXILVAL);
    EXPECT_ERRNO(modbus_read_bits(ctx, 0, 0, bits), EMBXILVAL);
    /* raw requests libmodbus would not build: unit 1, then the PDU */
    assert_string_equal(raw(ctx, (const uint8_t[]){1, 0x03, 0, 0, 0, 126}, 6), "8303");
    assert_string_equal(raw(ctx, (const uint8_t[]){1, 0x05, 0, 0, 0x12, 0x34}, 6), "8503");
    assert_string_equal(raw(ctx, (const uint8_t[]){1, 0x41, 0, 0}, 4), "c101");
    assert_string_equal(raw(ctx, (const uint8_t[]){1, 0x07}, 2), "8701");
    assert_string_equal(raw(ctx, (const uint8_t[]){1, 0x08, 0, 3, 0, 0}, 6), "8801");
    assert_string_equal(raw(ctx, (const uint8_t[]){1, 0x2B, 0x0E, 0x04, 0x05}, 5), "ab02");
    /* and the connection still works */
    EXPECT_OK(modbus_read_registers(ctx, 0, 1, regs), 1);
    assert_int_equal(regs[0], 100);
    /* FC 23 answered 02 (its read range) must not have written register 5:
     * the specification checks both ranges before executing */
    EXPECT_OK(modbus_read_registers(ctx, 5, 1, regs), 1);
    if (regs[0] != 0)
        fail_msg("FC 23 answered exception 02 but wrote its register (5 = %u)", regs[0]);
    done(ctx);
}

static void client_unit_ids(void **state)
{
    (void)state;
    modbus_t *ctx = client();
    uint16_t regs[4];
    const int answered[] = {0, 1, 255};
    for (size_t i = 0; i < 3; i++) {
        modbus_set_slave(ctx, answered[i]);
        EXPECT_OK(modbus_read_registers(ctx, 1, 1, regs), 1);
        assert_int_equal(regs[0], 200);
    }
    /* another unit: silence, which libmodbus reports as a timeout */
    modbus_set_response_timeout(ctx, 0, 300000);
    modbus_set_slave(ctx, 7);
    EXPECT_ERRNO(modbus_read_registers(ctx, 1, 1, regs), ETIMEDOUT);
    done(ctx);
}

static void client_busy(void **state)
{
    (void)state;
    server_start(&srv, "127.0.0.1:0",
                 tu_write_tmp("busy.yaml", "tables: {holding_registers: {size: 10}}\n"
                                           "limits: {requests_per_second: 1, burst: 2}\n"));
    modbus_t *ctx = cur = modbus_new_tcp("127.0.0.1", srv.port);
    assert_non_null(ctx);
    if (modbus_connect(ctx) != 0)
        fail_msg("modbus_connect: %s", modbus_strerror(errno));
    modbus_set_slave(ctx, 1);
    uint16_t regs[1];
    EXPECT_OK(modbus_read_registers(ctx, 0, 1, regs), 1);
    EXPECT_OK(modbus_read_registers(ctx, 0, 1, regs), 1);
    EXPECT_ERRNO(modbus_read_registers(ctx, 0, 1, regs), EMBXSBUSY);
    EXPECT_ERRNO(modbus_write_register(ctx, 0, 1), EMBXSBUSY);
    done(ctx);
}

/* ---- (b) a libmodbus server against our client tools ---- */

struct peer {
    pid_t pid;
    int port;
    int stop_fd; /* closing it ends the child */
    char addr[32];
};
static struct peer peer;

/* The child: serves a mapping that starts at non-zero addresses until
 * the parent closes the control pipe. Never returns. */
static void peer_child(int listen_fd, int ctl_fd)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    modbus_mapping_t *m = modbus_mapping_new_start_address(100, 50, 200, 50, 1000, 100, 2000, 50);
    if (!ctx || !m)
        _exit(3);
    const uint8_t coils[8] = {1, 0, 1, 1, 0, 0, 1, 0}, di[5] = {0, 1, 0, 1, 1};
    memcpy(m->tab_bits, coils, sizeof coils);
    memcpy(m->tab_input_bits, di, sizeof di);
    for (int i = 0; i < 100; i++)
        m->tab_registers[i] = (uint16_t)(0x1000 + i);
    for (int i = 0; i < 50; i++)
        m->tab_input_registers[i] = (uint16_t)(0x2000 + i);
    fd_set all;
    FD_ZERO(&all);
    FD_SET(listen_fd, &all);
    FD_SET(ctl_fd, &all);
    int maxfd = listen_fd > ctl_fd ? listen_fd : ctl_fd;
    uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set rd = all;
        if (select(maxfd + 1, &rd, NULL, NULL, NULL) < 0) {
            if (errno == EINTR)
                continue;
            _exit(4);
        }
        if (FD_ISSET(ctl_fd, &rd))
            _exit(0); /* the parent closed the pipe */
        for (int fd = 0; fd <= maxfd; fd++) {
            if (!FD_ISSET(fd, &rd) || fd == ctl_fd)
                continue;
            if (fd == listen_fd) {
                int c = accept(listen_fd, NULL, NULL);
                if (c >= 0) {
                    FD_SET(c, &all);
                    if (c > maxfd)
                        maxfd = c;
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int n = modbus_receive(ctx, q);
            if (n > 0) {
                modbus_reply(ctx, q, n, m);
            } else if (n < 0) {
                close(fd);
                FD_CLR(fd, &all);
            }
        }
    }
}

static void peer_start(void)
{
    /* listen in the parent, so the port is known before the fork */
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    assert_non_null(ctx);
    int fd = modbus_tcp_listen(ctx, 16);
    modbus_free(ctx);
    if (fd < 0)
        fail_msg("modbus_tcp_listen: %s", modbus_strerror(errno));
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
        fail_msg("getsockname: %s", strerror(errno));
    int ctl[2];
    if (pipe(ctl) != 0)
        fail_msg("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        close(ctl[1]);
        peer_child(fd, ctl[0]);
    }
    close(fd);
    close(ctl[0]);
    peer.pid = pid;
    peer.stop_fd = ctl[1];
    peer.port = ntohs(sa.sin_port);
    snprintf(peer.addr, sizeof peer.addr, "127.0.0.1:%d", peer.port);
}

static void peer_stop(void)
{
    if (peer.pid <= 0)
        return;
    close(peer.stop_fd);
    int st = 0;
    for (int waited = 0; waited < 5000; waited += 10) {
        if (waitpid(peer.pid, &st, WNOHANG) == peer.pid) {
            peer.pid = 0;
            break;
        }
        sleep_ms(10);
    }
    if (peer.pid > 0) {
        kill(peer.pid, SIGKILL);
        waitpid(peer.pid, &st, 0);
        peer.pid = 0;
        fail_msg("the libmodbus server did not stop");
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("the libmodbus server exited with status %d", WEXITSTATUS(st));
}

static int teardown_all(void **state)
{
    kill_servers(state);
    if (cur) {
        modbus_close(cur);
        modbus_free(cur);
        cur = NULL;
    }
    if (peer.pid > 0) {
        kill(peer.pid, SIGKILL);
        waitpid(peer.pid, NULL, 0);
        close(peer.stop_fd);
        peer.pid = 0;
    }
    return 0;
}

/* Runs `icsrange modbus ARGS... --json` against the peer; expects exit
 * status `status`; returns the parsed JSON (held: release_json() it). */
static json_t *tool(int status, const char *cmd, ...)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = "modbus";
    argv[n++] = cmd;
    argv[n++] = peer.addr;
    va_list ap;
    va_start(ap, cmd);
    for (const char *a = va_arg(ap, const char *); a && n < 29; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n++] = "--json";
    argv[n] = NULL;
    struct tu_run r = held_run(tu_icsrange_v(argv));
    if (r.status != status)
        fail_msg("icsrange modbus %s exited %d (expected %d):\n%s\n%s", cmd, r.status, status,
                 clip(r.out), clip(r.err));
    json_error_t je;
    json_t *o = hold_json(json_loads(r.out, 0, &je));
    if (!o)
        fail_msg("icsrange modbus %s printed no JSON:\n%s\n%s", cmd, clip(r.out), clip(r.err));
    drop_run(&r);
    return o;
}

static void expect_json(json_t *o, const char *key, const char *want)
{
    char *got = hold(json_dumps(json_object_get(o, key), JSON_COMPACT | JSON_ENCODE_ANY));
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s is %s, expected %s", key, got ? clip(got) : "(absent)", clip(want));
    release(got);
}

#define TOOL_EXPECT(status, key, want, ...)                                              \
    do {                                                                                 \
        json_t *o_ = tool((status), __VA_ARGS__, NULL);                                  \
        expect_json(o_, (key), (want));                                                  \
        release_json(o_);                                                                \
    } while (0)

static void tools_read(void **state)
{
    (void)state;
    peer_start();
    TOOL_EXPECT(0, "values", "[1,0,1,1,0,0,1,0]", "read", "coils", "100", "8");
    TOOL_EXPECT(0, "values", "[0,1,0,1,1]", "read", "discrete", "200", "5");
    TOOL_EXPECT(0, "values", "[4096,4097,4098]", "read", "holding", "1000", "3");
    TOOL_EXPECT(0, "values", "[8192,8193,8194]", "read", "input", "2000", "3");
    /* the last register of the mapping, and a read of 100 */
    TOOL_EXPECT(0, "values", "[4195]", "read", "holding", "1099", "1");
    json_t *o = tool(0, "read", "holding", "1000", "100", NULL);
    assert_int_equal(json_array_size(json_object_get(o, "values")), 100);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "values"), 99)), 0x1063);
    release_json(o);
    TOOL_EXPECT(0, "values", "[1,0,1,1,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                             "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
                "read", "coils", "100", "50");
    /* the unit id: libmodbus's TCP server answers any */
    TOOL_EXPECT(0, "values", "[4096]", "read", "holding", "1000", "--unit", "255");
    peer_stop();
}

static void tools_write(void **state)
{
    (void)state;
    peer_start();
    /* FC 6, FC 16 */
    TOOL_EXPECT(0, "function", "6", "write", "holding", "1010", "777");
    TOOL_EXPECT(0, "function", "16", "write", "holding", "1020", "1", "2", "65535");
    TOOL_EXPECT(0, "function", "16", "write", "holding", "1030", "9", "--multiple");
    TOOL_EXPECT(0, "values", "[777]", "read", "holding", "1010", "1");
    TOOL_EXPECT(0, "values", "[1,2,65535,4119]", "read", "holding", "1020", "4");
    TOOL_EXPECT(0, "values", "[9]", "read", "holding", "1030", "1");
    /* FC 5, FC 15 */
    TOOL_EXPECT(0, "function", "5", "write", "coils", "110", "1");
    TOOL_EXPECT(0, "function", "5", "write", "coils", "100", "0");
    TOOL_EXPECT(0, "function", "15", "write", "coils", "120", "1", "0", "1", "1", "0", "1", "1",
                "0", "1");
    TOOL_EXPECT(0, "values", "[1]", "read", "coils", "110", "1");
    TOOL_EXPECT(0, "values", "[0,0,1]", "read", "coils", "100", "3");
    TOOL_EXPECT(0, "values", "[0,1,0,1,1,0,1,1,0,1,0]", "read", "coils", "119", "11");
    /* FC 22: register 1040 = 0x1028; (0x1028 AND 0xF0F0) OR (0x0A0A AND 0x0F0F) = 0x1A2A */
    TOOL_EXPECT(0, "function", "22", "mask", "1040", "0xF0F0", "0x0A0A");
    TOOL_EXPECT(0, "values", "[6698]", "read", "holding", "1040", "1");
    /* FC 23: writes 1051-1052, then reads 1050-1052 */
    TOOL_EXPECT(0, "values", "[4146,55,66]", "rw", "1050", "3", "1051", "55", "66");
    peer_stop();
}

static void tools_exceptions_and_id(void **state)
{
    (void)state;
    peer_start();
    /* outside the mapping: 02, exit status 1 */
    TOOL_EXPECT(1, "exception", "2", "read", "holding", "0", "1");
    TOOL_EXPECT(1, "exception", "2", "read", "holding", "1099", "2");
    TOOL_EXPECT(1, "exception", "2", "read", "coils", "99", "1");
    TOOL_EXPECT(1, "exception", "2", "read", "input", "2050", "1");
    TOOL_EXPECT(1, "exception", "2", "write", "holding", "999", "1");
    TOOL_EXPECT(1, "exception", "2", "write", "coils", "150", "1");
    TOOL_EXPECT(1, "exception", "2", "mask", "1100", "0", "0");
    /* FC 8: libmodbus does not have it (01) */
    TOOL_EXPECT(1, "exception", "1", "diag", "echo", "0x1234");
    /* FC 17 answered ("LMB" and its version after the id and run
     * indicator); FC 43 is not (libmodbus has none), which is no error */
    json_t *o = tool(0, "id", NULL);
    const char *sid = json_string_value(json_object_get(o, "server_id"));
    if (!sid || !strstr(sid, "LMB"))
        fail_msg("server_id %s has no LMB", sid ? sid : "(absent)");
    assert_int_equal(json_object_size(json_object_get(o, "objects")), 0);
    release_json(o);
    /* the peer is still serving */
    TOOL_EXPECT(0, "values", "[4096]", "read", "holding", "1000", "1");
    peer_stop();
}

/* `icsrange modbus scan --functions A-B` against libmodbus 3.1.6, which has
 * 1-6, 15, 16, 17, 22, 23 and answers 01 for the others it frames, after
 * sleeping its response timeout (0.5 s) to flush the line: hence few
 * unknown codes here. FC 7 is left out: libmodbus waits for more bytes of
 * it and never answers. */
static void scan_range(const char *range)
{
    json_t *o = tool(0, "scan", "--functions", range, "--timeout", "1.5s", NULL);
    json_t *arr = json_object_get(o, "functions");
    assert_true(json_array_size(arr) > 0);
    const int has[] = {1, 2, 3, 4, 5, 6, 15, 16, 17, 22, 23};
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *f = json_array_get(arr, i);
        int fc = (int)json_integer_value(json_object_get(f, "function"));
        json_t *ex = json_object_get(f, "exception");
        int known = 0;
        for (size_t k = 0; k < sizeof has / sizeof has[0]; k++)
            known |= has[k] == fc;
        /* known: answered normally or with an exception other than 01;
         * unknown: 01 */
        int ok = known ? ex && json_integer_value(ex) != 1 : ex && json_integer_value(ex) == 1;
        if (!ok) {
            char *s = hold(json_dumps(f, JSON_COMPACT));
            fail_msg("scan of FC %d against libmodbus (which %s it): %s", fc,
                     known ? "has" : "does not have", s);
        }
    }
    release_json(o);
}

static void tools_scan(void **state)
{
    (void)state;
    peer_start();
    scan_range("1-6");
    scan_range("8");
    scan_range("17");
    scan_range("24");
    /* libmodbus frames a request by its function code: the multiple writes,
     * mask write and read/write need a well-formed probe */
    scan_range("15-16");
    scan_range("22-23");
    peer_stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(client_reads, teardown_all),
        cmocka_unit_test_teardown(client_writes, teardown_all),
        cmocka_unit_test_teardown(client_report_server_id, teardown_all),
        cmocka_unit_test_teardown(client_exceptions, teardown_all),
        cmocka_unit_test_teardown(client_unit_ids, teardown_all),
        cmocka_unit_test_teardown(client_busy, teardown_all),
        cmocka_unit_test_teardown(tools_read, teardown_all),
        cmocka_unit_test_teardown(tools_write, teardown_all),
        cmocka_unit_test_teardown(tools_exceptions_and_id, teardown_all),
        cmocka_unit_test_teardown(tools_scan, teardown_all),
    };
    return cmocka_run_group_tests_name("interop_libmodbus", tests, NULL, NULL);
}
