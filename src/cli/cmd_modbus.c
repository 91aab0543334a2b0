/* cmd_modbus.c — `icsrange modbus`: a standalone Modbus/TCP server and
 * client tools (read, write, mask, rw, id, diag, scan), with human-readable
 * or JSON output. The tools run on real sockets; the server too. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "core/log.h"
#include "core/loop.h"
#include "proto/mb_client.h"
#include "proto/mb_mem.h"
#include "proto/mb_server.h"

static const char modbus_usage[] =
    "usage: icsrange modbus COMMAND ...\n"
    "\n"
    "  serve --listen ADDR [--map FILE.yaml] [--duration D]\n"
    "        a standalone server with a memory map and identification strings\n"
    "        (docs/modbus-serve.md); --listen may be repeated\n"
    "  read  HOST:PORT TABLE ADDR [COUNT]       FC 1/2/3/4 (TABLE: coils, discrete,\n"
    "                                           holding, input)\n"
    "  write HOST:PORT coils|holding ADDR VALUE...   FC 5/6, or 15/16 for several\n"
    "                                           values (or with --multiple)\n"
    "  mask  HOST:PORT ADDR AND OR              FC 22 mask write register\n"
    "  rw    HOST:PORT RADDR RCOUNT WADDR VALUE...   FC 23 read/write registers\n"
    "  id    HOST:PORT [--object N|--level basic|regular|extended]\n"
    "                                           FC 17 server id, FC 43/14 identification\n"
    "  diag  HOST:PORT SUB [DATA]               FC 8: echo, restart, listen-only, clear,\n"
    "                                           register, or a counter (bus-messages,\n"
    "                                           bus-errors, exceptions, server-messages,\n"
    "                                           no-response, nak, busy, overrun), or a\n"
    "                                           number\n"
    "  scan  HOST:PORT --units A-B              which unit ids answer (FC 3 read of 1)\n"
    "  scan  HOST:PORT --functions A-B          which function codes are supported\n"
    "                                           (e.g. --units 0-255, --functions 1-127)\n"
    "\n"
    "client options:\n"
    "  --unit N         unit id (default 1)\n"
    "  --timeout D      per attempt (default 1s)\n"
    "  --retries N      attempts after a timeout (default 0)\n"
    "  --from IP        source address\n"
    "  --json           one JSON object per request on stdout\n"
    "Addresses are 0-based protocol addresses. Values: decimal or 0x hex.\n"
    "Exit status: 0 answered, 1 an exception or no answer, 2 usage.\n";

/* ---- the server ---- */

static void server_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    log_msg((enum log_level)level, "modbus", "%s", msg);
}

static int modbus_serve(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'}, {"map", required_argument, 0, 'm'},
        {"duration", required_argument, 0, 'd'}, {"log-level", required_argument, 0, 'L'},
        {"log-json", no_argument, 0, 'J'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    struct net_addr addrs[16];
    size_t naddrs = 0;
    const char *map = NULL;
    vtime_t duration = VT_NEVER;
    enum log_level level = LOGL_INFO;
    int json = 0, o;
    struct err e;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            if (naddrs == 16 || net_addr_parse(optarg, MB_TCP_PORT, &addrs[naddrs], &e) != 0) {
                cli_error("--listen: %s", naddrs == 16 ? "at most 16 addresses" : e.msg);
                return 2;
            }
            naddrs++;
            break;
        case 'm': map = optarg; break;
        case 'd':
            if (vt_parse_duration(optarg, &duration, &e) != 0) {
                cli_error("--duration: %s", e.msg);
                return 2;
            }
            break;
        case 'L':
            if (log_level_parse(optarg, &level) != 0) {
                cli_error("--log-level: '%s' (error, warn, info, debug)", optarg);
                return 2;
            }
            break;
        case 'J': json = 1; break;
        case 'h': fputs(modbus_usage, stdout); return 0;
        default:
            cli_error("modbus serve: unknown option or missing value '%s'", argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc) {
        cli_error("modbus serve: unexpected '%s'", argv[optind]);
        return 2;
    }
    if (!naddrs) {
        cli_error("modbus serve: which address? (--listen 127.0.0.1:5020)");
        return 2;
    }
    log_setup(level, json, stderr);
    struct mb_mapfile mf;
    if (mb_mapfile_load(map, &mf, &e) != 0) {
        cli_error("%s", e.msg);
        return 1;
    }
    int rc = 1;
    struct sched *s = sched_new();
    struct rtloop *loop = s ? rtloop_new(s, 1.0, &e) : NULL;
    struct net *n = loop ? net_socket_new(loop, &e) : NULL;
    struct mb_server *srv = n ? mb_server_new(n, &mf.cfg, &mb_mem_ops, mf.mem, &e) : NULL;
    if (!srv) {
        cli_error("%s", s ? e.msg : "out of memory");
        goto out;
    }
    mb_server_set_log(srv, server_log, NULL);
    for (size_t i = 0; i < naddrs; i++) {
        if (mb_server_listen(srv, &addrs[i], &e) != 0) {
            cli_error("%s", e.msg);
            goto out;
        }
        char a[32];
        log_msg(LOGL_INFO, "modbus", "listening on %s",
                net_addr_format(mb_server_addr(srv, i), a, sizeof a));
    }
    rtloop_run(loop, duration);
    const struct mb_server_stats *st = mb_server_stats(srv);
    log_msg(LOGL_INFO, "modbus",
            "stopped: %llu connections, %llu responses (%llu exceptions), %llu refused, "
            "%llu dropped",
            (unsigned long long)st->connections, (unsigned long long)st->responses,
            (unsigned long long)st->exceptions, (unsigned long long)st->refused,
            (unsigned long long)st->dropped);
    rc = 0;
out:
    mb_server_free(srv);
    net_free(n);
    rtloop_free(loop);
    sched_free(s);
    mb_mapfile_free(&mf);
    return rc;
}

/* ---- client tools ---- */

struct tool {
    struct sched *s;
    struct rtloop *loop;
    struct net *net;
    struct mb_client *c;
    struct net_addr target;
    char target_text[32];
    uint8_t unit;
    int json;
    uint8_t store[MB_MAX_PDU];
};

static int parse_u16(const char *s, const char *what, uint16_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (end == s || *end || errno || v < 0 || v > 65535) {
        cli_error("%s: '%s' is not a number 0-65535", what, s);
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

/* A register value: 0..65535, or -32768..-1 as two's complement. */
static int parse_reg(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (end == s || *end || errno || v < -32768 || v > 65535) {
        cli_error("value '%s' is not a 16-bit number", s);
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

static int parse_bit(const char *s, int *out)
{
    if (!strcmp(s, "1") || !strcasecmp(s, "on") || !strcasecmp(s, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(s, "0") || !strcasecmp(s, "off") || !strcasecmp(s, "false")) {
        *out = 0;
        return 0;
    }
    cli_error("coil value '%s' is not 0/1/on/off", s);
    return -1;
}

static void json_common(json_t *o, const struct tool *t, uint8_t fc)
{
    json_object_set_new(o, "target", json_string(t->target_text));
    json_object_set_new(o, "unit", json_integer(t->unit));
    json_object_set_new(o, "function", json_integer(fc));
}

static void json_print(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(o);
}

/* Reports a result that is not a normal response; returns 1 if it was
 * such (exit status 1), 0 for a normal response. */
static int report_failure(const struct tool *t, uint8_t fc, const struct mb_result *r)
{
    if (r->status == MB_CLIENT_OK && !r->rsp.exception)
        return 0;
    if (t->json) {
        json_t *o = json_object();
        json_common(o, t, fc);
        if (r->status == MB_CLIENT_OK) {
            json_object_set_new(o, "exception", json_integer(r->rsp.exception));
            const char *nm = mb_exception_name(r->rsp.exception);
            json_object_set_new(o, "exception_name", json_string(nm ? nm : "unknown"));
        } else {
            json_object_set_new(o, "error", json_string(mb_client_status_name(r->status)));
            if (r->status == MB_CLIENT_MALFORMED)
                json_object_set_new(o, "detail", json_string(mb_status_name(r->decode)));
        }
        json_print(o);
    } else if (r->status == MB_CLIENT_OK) {
        const char *nm = mb_exception_name(r->rsp.exception);
        printf("%s unit %u FC %u: exception %02X (%s)\n", t->target_text, t->unit, fc,
               r->rsp.exception, nm ? nm : "unknown");
    } else {
        fprintf(stderr, "icsrange: %s unit %u FC %u: %s%s%s\n", t->target_text, t->unit, fc,
                mb_client_status_name(r->status),
                r->status == MB_CLIENT_MALFORMED ? ": " : "",
                r->status == MB_CLIENT_MALFORMED ? mb_status_name(r->decode) : "");
    }
    return 1;
}

static int call(struct tool *t, const struct mb_req *q, struct mb_result *r)
{
    struct err e;
    if (mb_client_call(t->c, t->loop, t->unit, q, r, t->store, &e) != 0) {
        cli_error("%s", e.msg);
        return -1;
    }
    return 0;
}

static int tool_read(struct tool *t, int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        cli_error("modbus read HOST:PORT TABLE ADDR [COUNT]");
        return 2;
    }
    static const struct { const char *name; uint8_t fc; const char *full; } tabs[] = {
        {"coils", 1, "coils"}, {"c", 1, "coils"}, {"discrete", 2, "discrete_inputs"},
        {"d", 2, "discrete_inputs"}, {"holding", 3, "holding_registers"},
        {"h", 3, "holding_registers"}, {"input", 4, "input_registers"}, {"i", 4, "input_registers"},
    };
    int k = -1;
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++)
        if (!strcmp(argv[0], tabs[i].name))
            k = (int)i;
    if (k < 0) {
        cli_error("table '%s': coils, discrete, holding or input", argv[0]);
        return 2;
    }
    struct mb_req q = {.fc = tabs[k].fc};
    uint16_t count = 1;
    if (parse_u16(argv[1], "address", &q.u.read.addr) || (argc == 3 && parse_u16(argv[2], "count", &count)))
        return 2;
    q.u.read.qty = count;
    struct mb_result r;
    if (call(t, &q, &r) != 0)
        return 2;
    if (report_failure(t, q.fc, &r))
        return 1;
    int bits = q.fc <= 2;
    if (t->json) {
        json_t *o = json_object();
        json_common(o, t, q.fc);
        json_object_set_new(o, "table", json_string(tabs[k].full));
        json_object_set_new(o, "address", json_integer(q.u.read.addr));
        json_object_set_new(o, "count", json_integer(count));
        json_t *vals = json_array();
        for (unsigned i = 0; i < count; i++)
            json_array_append_new(vals, json_integer(bits ? mb_get_bit(r.rsp.u.read.data, i)
                                                          : mb_get16(r.rsp.u.read.data + 2 * i)));
        json_object_set_new(o, "values", vals);
        json_object_set_new(o, "rtt_ms", json_real((double)(r.rtt / 1000) / 1e3));
        json_print(o);
    } else {
        for (unsigned i = 0; i < count; i++) {
            if (bits) {
                printf("%s[%u] = %d\n", tabs[k].full, q.u.read.addr + i,
                       mb_get_bit(r.rsp.u.read.data, i));
            } else {
                uint16_t v = mb_get16(r.rsp.u.read.data + 2 * i);
                printf("%s[%u] = %u (0x%04x, %d)\n", tabs[k].full, q.u.read.addr + i, v, v,
                       (int16_t)v);
            }
        }
    }
    return 0;
}

static int tool_write(struct tool *t, int argc, char **argv, int multiple)
{
    if (argc < 3) {
        cli_error("modbus write HOST:PORT coils|holding ADDR VALUE...");
        return 2;
    }
    int coils;
    if (!strcmp(argv[0], "coils") || !strcmp(argv[0], "c"))
        coils = 1;
    else if (!strcmp(argv[0], "holding") || !strcmp(argv[0], "h"))
        coils = 0;
    else {
        cli_error("write: table '%s' is not writable (coils or holding)", argv[0]);
        return 2;
    }
    uint16_t addr;
    if (parse_u16(argv[1], "address", &addr))
        return 2;
    int nval = argc - 2;
    if (nval > (coils ? MB_MAX_WRITE_BITS : MB_MAX_WRITE_REGISTERS)) {
        cli_error("write: at most %d values", coils ? MB_MAX_WRITE_BITS : MB_MAX_WRITE_REGISTERS);
        return 2;
    }
    uint8_t data[256] = {0};
    struct mb_req q;
    memset(&q, 0, sizeof q);
    for (int i = 0; i < nval; i++) {
        if (coils) {
            int b;
            if (parse_bit(argv[2 + i], &b))
                return 2;
            mb_set_bit(data, (unsigned)i, b);
        } else {
            uint16_t v;
            if (parse_reg(argv[2 + i], &v))
                return 2;
            mb_put16(data + 2 * i, v);
        }
    }
    if (nval == 1 && !multiple) {
        q.fc = coils ? MB_FC_WRITE_SINGLE_COIL : MB_FC_WRITE_SINGLE_REGISTER;
        q.u.write1.addr = addr;
        q.u.write1.value = coils ? (data[0] ? MB_COIL_ON : MB_COIL_OFF) : mb_get16(data);
    } else {
        q.fc = coils ? MB_FC_WRITE_MULTIPLE_COILS : MB_FC_WRITE_MULTIPLE_REGISTERS;
        q.u.writen.addr = addr;
        q.u.writen.qty = (uint16_t)nval;
        q.u.writen.nbytes = (uint8_t)(coils ? (nval + 7) / 8 : 2 * nval);
        q.u.writen.data = data;
    }
    struct mb_result r;
    if (call(t, &q, &r) != 0)
        return 2;
    if (report_failure(t, q.fc, &r))
        return 1;
    if (t->json) {
        json_t *o = json_object();
        json_common(o, t, q.fc);
        json_object_set_new(o, "table", json_string(coils ? "coils" : "holding_registers"));
        json_object_set_new(o, "address", json_integer(addr));
        json_object_set_new(o, "count", json_integer(nval));
        json_object_set_new(o, "written", json_true());
        json_print(o);
    } else {
        printf("wrote %d %s at %u (FC %u)\n", nval, coils ? "coil(s)" : "register(s)", addr, q.fc);
    }
    return 0;
}

static int tool_mask(struct tool *t, int argc, char **argv)
{
    struct mb_req q = {.fc = MB_FC_MASK_WRITE_REGISTER};
    if (argc != 3 || parse_u16(argv[0], "address", &q.u.mask.addr) ||
        parse_u16(argv[1], "AND mask", &q.u.mask.and_mask) ||
        parse_u16(argv[2], "OR mask", &q.u.mask.or_mask)) {
        if (argc != 3)
            cli_error("modbus mask HOST:PORT ADDR AND OR");
        return 2;
    }
    struct mb_result r;
    if (call(t, &q, &r) != 0)
        return 2;
    if (report_failure(t, q.fc, &r))
        return 1;
    if (t->json) {
        json_t *o = json_object();
        json_common(o, t, q.fc);
        json_object_set_new(o, "address", json_integer(q.u.mask.addr));
        json_object_set_new(o, "and_mask", json_integer(q.u.mask.and_mask));
        json_object_set_new(o, "or_mask", json_integer(q.u.mask.or_mask));
        json_print(o);
    } else {
        printf("holding_registers[%u] masked: AND 0x%04x OR 0x%04x\n", q.u.mask.addr,
               q.u.mask.and_mask, q.u.mask.or_mask);
    }
    return 0;
}

static int tool_rw(struct tool *t, int argc, char **argv)
{
    if (argc < 4) {
        cli_error("modbus rw HOST:PORT RADDR RCOUNT WADDR VALUE...");
        return 2;
    }
    struct mb_req q = {.fc = MB_FC_READ_WRITE_REGISTERS};
    uint8_t data[2 * MB_MAX_RW_WRITE_REGISTERS];
    if (parse_u16(argv[0], "read address", &q.u.rw.raddr) ||
        parse_u16(argv[1], "read count", &q.u.rw.rqty) ||
        parse_u16(argv[2], "write address", &q.u.rw.waddr))
        return 2;
    int nval = argc - 3;
    if (nval > MB_MAX_RW_WRITE_REGISTERS) {
        cli_error("rw: at most %d values to write", MB_MAX_RW_WRITE_REGISTERS);
        return 2;
    }
    for (int i = 0; i < nval; i++) {
        uint16_t v;
        if (parse_reg(argv[3 + i], &v))
            return 2;
        mb_put16(data + 2 * i, v);
    }
    q.u.rw.wqty = (uint16_t)nval;
    q.u.rw.nbytes = (uint8_t)(2 * nval);
    q.u.rw.data = data;
    struct mb_result r;
    if (call(t, &q, &r) != 0)
        return 2;
    if (report_failure(t, q.fc, &r))
        return 1;
    if (t->json) {
        json_t *o = json_object();
        json_common(o, t, q.fc);
        json_object_set_new(o, "address", json_integer(q.u.rw.raddr));
        json_t *vals = json_array();
        for (unsigned i = 0; i < q.u.rw.rqty; i++)
            json_array_append_new(vals, json_integer(mb_get16(r.rsp.u.read.data + 2 * i)));
        json_object_set_new(o, "values", vals);
        json_print(o);
    } else {
        for (unsigned i = 0; i < q.u.rw.rqty; i++)
            printf("holding_registers[%u] = %u\n", q.u.rw.raddr + i,
                   mb_get16(r.rsp.u.read.data + 2 * i));
    }
    return 0;
}

static const char *object_name(uint8_t id)
{
    static const char *names[] = {"vendor name", "product code", "revision", "vendor url",
                                  "product name", "model name", "user application name"};
    return id < 7 ? names[id] : id < 0x80 ? "reserved" : "extended";
}

static int tool_id(struct tool *t, int argc, char **argv, int object, int level)
{
    (void)argv;
    if (argc != 0) {
        cli_error("modbus id HOST:PORT [--object N | --level basic|regular|extended]");
        return 2;
    }
    json_t *o = t->json ? json_object() : NULL;
    if (o) {
        json_object_set_new(o, "target", json_string(t->target_text));
        json_object_set_new(o, "unit", json_integer(t->unit));
    }
    int answered = 0;
    /* FC 17 */
    struct mb_req q = {.fc = MB_FC_REPORT_SERVER_ID};
    struct mb_result r;
    if (call(t, &q, &r) != 0)
        return 2;
    if (r.status == MB_CLIENT_OK && !r.rsp.exception) {
        answered = 1;
        size_t n = r.rsp.u.server_id.nbytes;
        const uint8_t *d = r.rsp.u.server_id.data;
        char text[260];
        size_t k = 0;
        for (size_t i = 0; i < n && k < sizeof text - 1; i++)
            text[k++] = d[i] >= 32 && d[i] < 127 ? (char)d[i] : '.';
        text[k] = '\0';
        if (o) {
            json_object_set_new(o, "server_id", json_string(text));
        } else {
            printf("server id (FC 17, %zu bytes): %s\n  hex:", n, text);
            for (size_t i = 0; i < n; i++)
                printf(" %02x", d[i]);
            printf("\n");
        }
    } else if (!o) {
        report_failure(t, q.fc, &r);
    }
    /* FC 43/14, following more-follows */
    json_t *objs = o ? json_object() : NULL;
    uint8_t pdu[4] = {MB_FC_ENCAPSULATED, MB_MEI_DEVICE_ID,
                      (uint8_t)(object >= 0 ? MB_DEVID_INDIVIDUAL : level),
                      (uint8_t)(object >= 0 ? object : 0)};
    for (int rounds = 0; rounds < 256; rounds++) {
        struct err e;
        if (mb_client_call_pdu(t->c, t->loop, t->unit, pdu, 4, &r, t->store, &e) != 0) {
            cli_error("%s", e.msg);
            json_decref(o);
            json_decref(objs);
            return 2;
        }
        if (r.status != MB_CLIENT_OK || r.rsp.exception) {
            if (!o)
                report_failure(t, MB_FC_ENCAPSULATED, &r);
            break;
        }
        answered |= 2;
        if (!o && rounds == 0)
            printf("device identification (FC 43/14, conformity 0x%02x):\n",
                   r.rsp.u.devid.conformity);
        for (unsigned i = 0; i < r.rsp.u.devid.nobjects; i++) {
            const struct mb_devid_object *ob = &r.rsp.u.devid.objects[i];
            char v[256];
            memcpy(v, ob->value, ob->len);
            v[ob->len] = '\0';
            if (objs) {
                char key[8];
                snprintf(key, sizeof key, "0x%02x", ob->id);
                json_object_set_new(objs, key, json_string(v));
            } else {
                printf("  0x%02x %s: %s\n", ob->id, object_name(ob->id), v);
            }
        }
        if (r.rsp.u.devid.more != 0xFF || object >= 0)
            break;
        pdu[3] = r.rsp.u.devid.next;
    }
    if (o) {
        json_object_set_new(o, "objects", objs);
        json_print(o);
    }
    return answered ? 0 : 1;
}

static int tool_diag(struct tool *t, int argc, char **argv)
{
    if (argc < 1) {
        cli_error("modbus diag HOST:PORT SUB [DATA]");
        return 2;
    }
    static const struct { const char *name; uint16_t sub; } subs[] = {
        {"echo", 0x00}, {"restart", 0x01}, {"register", 0x02}, {"listen-only", 0x04},
        {"clear", 0x0A}, {"bus-messages", 0x0B}, {"bus-errors", 0x0C}, {"exceptions", 0x0D},
        {"server-messages", 0x0E}, {"no-response", 0x0F}, {"nak", 0x10}, {"busy", 0x11},
        {"overrun", 0x12},
    };
    int sub = -1;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (!strcmp(argv[0], subs[i].name))
            sub = subs[i].sub;
    if (sub < 0) {
        uint16_t v;
        if (parse_u16(argv[0], "sub-function", &v))
            return 2;
        sub = v;
    }
    uint16_t data = sub == MB_DIAG_RESTART_COMMS && argc > 1 && !strcmp(argv[1], "clear-log")
                        ? 0xFF00
                        : 0;
    uint8_t buf[2];
    if (argc > 1 && !(sub == MB_DIAG_RESTART_COMMS && !strcmp(argv[1], "clear-log")) &&
        parse_u16(argv[1], "data", &data))
        return 2;
    mb_put16(buf, data);
    struct mb_req q = {.fc = MB_FC_DIAGNOSTICS};
    q.u.diag.sub = (uint16_t)sub;
    q.u.diag.ndata = 2;
    q.u.diag.data = buf;
    if (sub == MB_DIAG_FORCE_LISTEN_ONLY) {
        /* answered by silence: send and wait only a little */
        struct mb_result r;
        if (call(t, &q, &r) != 0)
            return 2;
        if (r.status == MB_CLIENT_TIMEOUT) {
            if (t->json) {
                json_t *o = json_object();
                json_common(o, t, q.fc);
                json_object_set_new(o, "sub_function", json_integer(sub));
                json_object_set_new(o, "listen_only", json_true());
                json_print(o);
            } else {
                printf("no response: the device is in listen-only mode (as expected)\n");
            }
            return 0;
        }
        return report_failure(t, q.fc, &r) ? 1 : 0;
    }
    struct mb_result r;
    if (call(t, &q, &r) != 0)
        return 2;
    if (report_failure(t, q.fc, &r))
        return 1;
    uint16_t value = r.rsp.u.diag.ndata >= 2 ? mb_get16(r.rsp.u.diag.data) : 0;
    if (t->json) {
        json_t *o = json_object();
        json_common(o, t, q.fc);
        json_object_set_new(o, "sub_function", json_integer(sub));
        json_object_set_new(o, "data", json_integer(value));
        json_print(o);
    } else {
        printf("FC 8 sub-function 0x%04x: data 0x%04x (%u)\n", sub, value, value);
    }
    return 0;
}

static int parse_range(const char *s, int lo_max, int *lo, int *hi)
{
    char *end;
    long a = strtol(s, &end, 0), b = a;
    if (*end == '-')
        b = strtol(end + 1, &end, 0);
    if (*end || a < 0 || b < a || b > lo_max) {
        cli_error("range '%s': A-B within 0-%d", s, lo_max);
        return -1;
    }
    *lo = (int)a;
    *hi = (int)b;
    return 0;
}

/* A probe for a function code: a well-formed request that changes nothing
 * on the device. Reads read one item; writes are sent in a form the device
 * must refuse with exception 03 when it supports the code (a quantity of
 * 0, a coil value other than FF00/0000, a byte count below the minimum),
 * so that 03 means "supported" and 01 "not supported"; FC 6 and FC 22 are
 * idempotent (FC 22 with AND FFFF, OR 0000; FC 6 is sent by the caller as
 * a write back of the value just read). */
static size_t probe_pdu(uint8_t fc, uint8_t *pdu)
{
    memset(pdu, 0, 16);
    pdu[0] = fc;
    switch (fc) {
    case 1: case 2: case 3: case 4: /* read 1 at address 0 */
        mb_put16(pdu + 3, 1);
        return 5;
    case 5: /* coil value 0x1234: exception 03 if supported */
        mb_put16(pdu + 3, 0x1234);
        return 5;
    case 6: /* address 0, value filled in by the caller */
        return 5;
    case 8: /* echo */
        mb_put16(pdu + 3, 0x1234);
        return 5;
    case 15: case 16: /* quantity 0, byte count 0 */
        return 6;
    case 20: /* read file record: file 1, record 0, length 1 */
        pdu[1] = 7;
        pdu[2] = 6;
        mb_put16(pdu + 3, 1);
        mb_put16(pdu + 7, 1);
        return 9;
    case 21: /* write file record with byte count 0: exception 03 */
        return 2;
    case 22: /* AND 0xFFFF, OR 0x0000: the register keeps its value */
        mb_put16(pdu + 3, 0xFFFF);
        return 7;
    case 23: /* read 1, write quantity 0 (byte count 0): exception 03 */
        mb_put16(pdu + 3, 1);
        return 10;
    case 24: /* read FIFO queue at pointer 0 */
        return 3;
    case 43: /* read device identification, basic */
        pdu[1] = MB_MEI_DEVICE_ID;
        pdu[2] = 1;
        return 4;
    default: /* serial-line and unknown codes: the function code alone */
        return 1;
    }
}

static int tool_scan(struct tool *t, int argc, char **argv, const char *units, const char *fcs)
{
    (void)argv;
    if (argc != 0 || (!units && !fcs)) {
        cli_error("modbus scan HOST:PORT --units A-B | --functions A-B");
        return 2;
    }
    int lo, hi;
    if (units ? parse_range(units, 255, &lo, &hi) : parse_range(fcs, 127, &lo, &hi))
        return 2;
    json_t *arr = t->json ? json_array() : NULL;
    int found = 0;
    for (int k = lo; k <= hi; k++) {
        uint8_t pdu[16];
        size_t len;
        uint8_t unit = t->unit;
        if (units) {
            unit = (uint8_t)k;
            len = probe_pdu(3, pdu);
        } else {
            if (k == 0)
                continue;
            len = probe_pdu((uint8_t)k, pdu);
            if (k == MB_FC_WRITE_SINGLE_REGISTER) {
                /* write back what register 0 holds, if it can be read */
                uint8_t rd[5] = {MB_FC_READ_HOLDING_REGISTERS, 0, 0, 0, 1};
                struct mb_result rr;
                struct err re;
                if (mb_client_call_pdu(t->c, t->loop, unit, rd, 5, &rr, t->store, &re) == 0 &&
                    rr.status == MB_CLIENT_OK && !rr.rsp.exception && rr.rsp.u.read.nbytes == 2)
                    memcpy(pdu + 3, rr.rsp.u.read.data, 2);
            }
        }
        struct mb_result r;
        struct err e;
        if (mb_client_call_pdu(t->c, t->loop, unit, pdu, len, &r, t->store, &e) != 0) {
            cli_error("%s", e.msg);
            json_decref(arr);
            return 2;
        }
        const char *what;
        char buf[64];
        if (r.status == MB_CLIENT_TIMEOUT) {
            what = "no response";
        } else if (r.status != MB_CLIENT_OK) {
            what = mb_client_status_name(r.status);
        } else if (r.rsp.exception) {
            const char *nm = mb_exception_name(r.rsp.exception);
            snprintf(buf, sizeof buf, "exception %02X (%s)%s", r.rsp.exception, nm ? nm : "?",
                     !units && r.rsp.exception != MB_EX_ILLEGAL_FUNCTION ? ": supported" : "");
            what = buf;
            found += units || r.rsp.exception != MB_EX_ILLEGAL_FUNCTION;
        } else {
            what = units ? "answers" : "supported";
            found++;
        }
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, units ? "unit" : "function", json_integer(k));
            json_object_set_new(o, "result", json_string(what));
            if (r.status == MB_CLIENT_OK)
                json_object_set_new(o, "exception", json_integer(r.rsp.exception));
            json_array_append_new(arr, o);
        } else if (r.status != MB_CLIENT_TIMEOUT || lo == hi) {
            printf("%s %3d: %s%s%s\n", units ? "unit" : "FC", k, what,
                   !units && mb_fc_name((uint8_t)k) ? " — " : "",
                   !units && mb_fc_name((uint8_t)k) ? mb_fc_name((uint8_t)k) : "");
        }
        if (r.status == MB_CLIENT_CLOSED || r.status == MB_CLIENT_MALFORMED)
            mb_client_disconnect(t->c);
    }
    if (arr) {
        json_t *o = json_object();
        json_object_set_new(o, "target", json_string(t->target_text));
        json_object_set_new(o, units ? "units" : "functions", arr);
        json_print(o);
    } else {
        printf("%d %s\n", found, units ? "unit id(s) answered" : "function code(s) recognised");
    }
    return 0;
}

int cmd_modbus(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(modbus_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "serve"))
        return modbus_serve(argc - 1, argv + 1);
    static const char *tools[] = {"read", "write", "mask", "rw", "id", "diag", "scan"};
    int known = 0;
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        known |= !strcmp(sub, tools[i]);
    if (!known) {
        cli_error("modbus: unknown command '%s' (see icsrange modbus --help)", sub);
        return 2;
    }
    static const struct option opts[] = {
        {"unit", required_argument, 0, 'u'}, {"timeout", required_argument, 0, 't'},
        {"retries", required_argument, 0, 'r'}, {"from", required_argument, 0, 'f'},
        {"json", no_argument, 0, 'j'}, {"multiple", no_argument, 0, 'M'},
        {"object", required_argument, 0, 'o'}, {"level", required_argument, 0, 'L'},
        {"units", required_argument, 0, 'U'}, {"functions", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    struct tool t = {0};
    t.unit = 1;
    struct mb_client_opts co;
    mb_client_opts_default(&co);
    int multiple = 0, object = -1, level = MB_DEVID_BASIC, o;
    const char *units = NULL, *fcs = NULL;
    struct err e;
    char **args = argv + 1;
    int nargs = argc - 1;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(nargs, args, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'u': {
            uint16_t v = 0;
            if (parse_u16(optarg, "--unit", &v) || v > 255) {
                if (v > 255)
                    cli_error("--unit: 0-255");
                return 2;
            }
            t.unit = (uint8_t)v;
            break;
        }
        case 't':
            if (vt_parse_duration(optarg, &co.timeout, &e) != 0 || co.timeout <= 0) {
                cli_error("--timeout: %s", co.timeout <= 0 ? "must be > 0" : e.msg);
                return 2;
            }
            break;
        case 'r': co.retries = atoi(optarg); break;
        case 'f':
            if (net_addr_parse(optarg, 1, &co.from, &e) != 0) {
                cli_error("--from: %s", e.msg);
                return 2;
            }
            co.from.port = 0;
            co.has_from = 1;
            break;
        case 'j': t.json = 1; break;
        case 'M': multiple = 1; break;
        case 'o': {
            uint16_t v = 0;
            if (parse_u16(optarg, "--object", &v) || v > 255)
                return 2;
            object = v;
            break;
        }
        case 'L':
            if (!strcmp(optarg, "basic"))
                level = MB_DEVID_BASIC;
            else if (!strcmp(optarg, "regular"))
                level = MB_DEVID_REGULAR;
            else if (!strcmp(optarg, "extended"))
                level = MB_DEVID_EXTENDED;
            else {
                cli_error("--level: basic, regular or extended");
                return 2;
            }
            break;
        case 'U': units = optarg; break;
        case 'F': fcs = optarg; break;
        case 'h': fputs(modbus_usage, stdout); return 0;
        default:
            cli_error("modbus %s: unknown option or missing value '%s'", sub, args[optind - 1]);
            return 2;
        }
    }
    if (optind >= nargs) {
        cli_error("modbus %s: which device? (HOST:PORT)", sub);
        return 2;
    }
    if (net_addr_parse(args[optind], MB_TCP_PORT, &t.target, &e) != 0) {
        cli_error("%s", e.msg);
        return 2;
    }
    net_addr_format(&t.target, t.target_text, sizeof t.target_text);
    int rest = nargs - optind - 1;
    char **rargs = args + optind + 1;
    int rc = 2;
    t.s = sched_new();
    t.loop = t.s ? rtloop_new(t.s, 1.0, &e) : NULL;
    t.net = t.loop ? net_socket_new(t.loop, &e) : NULL;
    t.c = t.net ? mb_client_new(t.net, &t.target, &co, &e) : NULL;
    if (!t.c) {
        cli_error("%s", t.s ? e.msg : "out of memory");
        goto out;
    }
    if (!strcmp(sub, "read"))
        rc = tool_read(&t, rest, rargs);
    else if (!strcmp(sub, "write"))
        rc = tool_write(&t, rest, rargs, multiple);
    else if (!strcmp(sub, "mask"))
        rc = tool_mask(&t, rest, rargs);
    else if (!strcmp(sub, "rw"))
        rc = tool_rw(&t, rest, rargs);
    else if (!strcmp(sub, "id"))
        rc = tool_id(&t, rest, rargs, object, level);
    else if (!strcmp(sub, "diag"))
        rc = tool_diag(&t, rest, rargs);
    else
        rc = tool_scan(&t, rest, rargs, units, fcs);
out:
    mb_client_free(t.c);
    net_free(t.net);
    rtloop_free(t.loop);
    sched_free(t.s);
    return rc;
}
