/* cmd_plc.c — `icsrange plc`: Structured Text tools (check, disasm), a
 * standalone soft PLC (run), and an engineering workstation speaking FC 90
 * to any PLC of the range (info, upload, download, mode), with Ed25519
 * signing keys (keygen). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "core/loop.h"
#include "devices/plc_device.h"
#include "plc/runtime.h"
#include "proto/eng90.h"
#include "proto/mb_client.h"
#include "st/st.h"

static const char plc_usage[] =
    "usage: icsrange plc COMMAND ...\n"
    "\n"
    "  check FILE.st...           compile and report every diagnostic (exit 1 on error)\n"
    "  disasm FILE.st...          print the bytecode\n"
    "  run FILE.st --modbus ADDR  a standalone soft PLC whose only I/O is its Modbus\n"
    "                             map (the OpenPLC map; FC 90 engineering access)\n"
    "        [--key run|program|remote]\n"
    "        [--password P | --default-password | --no-password]  (without one of\n"
    "        them a random password is made and logged; the other two are the weak\n"
    "        settings of a badly kept PLC)\n"
    "        [--require-signature PUBKEY] [--stopped] [--duration D] [--log-json]\n"
    "  info --target HOST:PORT    identification, program hash, diagnostics (FC 90)\n"
    "  upload --target HOST:PORT [--out FILE]     read the program back\n"
    "  download FILE.st --target HOST:PORT [--sign SECRETKEY] [--no-start]\n"
    "                             reserve, stop, transfer, verify, start again\n"
    "  mode run|stop --target HOST:PORT          start or stop the PLC\n"
    "  keygen --secret FILE --public FILE        an Ed25519 key pair (hex)\n"
    "\n"
    "engineering options: --password P (the PLC's password), --unit N,\n"
    "--timeout D, --json. The keyswitch decides: downloads need PROGRAM,\n"
    "mode changes PROGRAM or REMOTE (docs/engineering.md).\n";

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *b = malloc(cap + 1);
    while (b && (k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(b, (cap *= 2) + 1);
            if (!nb) {
                free(b);
                b = NULL;
            } else {
                b = nb;
            }
        }
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        *len = n;
    }
    return b;
}

/* ---- check, disasm ---- */

static int plc_check(int argc, char **argv, int disasm)
{
    if (argc < 2) {
        cli_error("plc %s FILE.st...", disasm ? "disasm" : "check");
        return 2;
    }
    struct st_diags d;
    st_diags_init(&d);
    struct st_image *img = st_compile_files((const char *const *)argv + 1, (size_t)argc - 1, &d);
    st_diags_print(&d, stderr);
    int rc = img ? 0 : 1;
    if (img && disasm) {
        char *text = st_disasm(img);
        if (text) {
            fputs(text, stdout);
            free(text);
        }
    }
    if (img && !disasm)
        fprintf(stderr, "%s: ok (%zu warning%s)\n", argv[1], d.warnings, d.warnings == 1 ? "" : "s");
    st_image_free(img);
    st_diags_clear(&d);
    return rc;
}

/* ---- run ---- */

static void on_plc_event(void *ctx, const struct plc_event *ev)
{
    (void)ctx;
    enum log_level lv = ev->kind == PLC_EV_FAULT ? LOGL_ERROR
                        : ev->kind == PLC_EV_REFUSED ? LOGL_WARN : LOGL_INFO;
    log_msg(lv, "plc", "%s", ev->text);
}

static void on_server_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    log_msg((enum log_level)level, "modbus", "%s", msg);
}

static int hex_decode(const char *hex, uint8_t *out, size_t n)
{
    size_t bin_len;
    return sodium_hex2bin(out, n, hex, strlen(hex), " \n\r\t", &bin_len, NULL) == 0 &&
                   bin_len == n
               ? 0
               : -1;
}

static int read_key(const char *path, uint8_t *out, size_t n)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    int r = hex_decode(text, out, n);
    sodium_memzero(text, len);
    free(text);
    if (r != 0)
        cli_error("%s: not a key of %zu bytes in hex", path, n);
    return r;
}

static int plc_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"modbus", required_argument, 0, 'm'}, {"key", required_argument, 0, 'k'},
        {"password", required_argument, 0, 'p'}, {"no-password", no_argument, 0, 'P'},
        {"default-password", no_argument, 0, 'D'},
        {"require-signature", required_argument, 0, 's'}, {"stopped", no_argument, 0, 'S'},
        {"duration", required_argument, 0, 'd'}, {"log-json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    struct plc_device_config cfg;
    plc_device_config_default(&cfg, "plc");
    int password_set = 0;
    char random_pw[17];
    vtime_t duration = VT_NEVER;
    int stopped = 0, json = 0, o;
    struct err e;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm':
            if (cfg.nlisten == 4 || net_addr_parse(optarg, 502, &cfg.listen[cfg.nlisten], &e)) {
                cli_error("--modbus: %s", cfg.nlisten == 4 ? "at most 4 addresses" : e.msg);
                return 2;
            }
            cfg.nlisten++;
            break;
        case 'k':
            if (plc_key_parse(optarg, &cfg.plc.key) != 0) {
                cli_error("--key: run, program or remote");
                return 2;
            }
            break;
        case 'p': cfg.eng.password = optarg; password_set = 1; break;
        case 'P': cfg.eng.password = NULL; password_set = 1; break;
        case 'D': cfg.eng.password = PLC_ENG_DEFAULT_PASSWORD; password_set = 1; break;
        case 's':
            if (read_key(optarg, cfg.eng.public_key, 32) != 0)
                return 2;
            cfg.eng.require_signature = 1;
            break;
        case 'S': stopped = 1; break;
        case 'd':
            if (vt_parse_duration(optarg, &duration, &e) != 0) {
                cli_error("--duration: %s", e.msg);
                return 2;
            }
            break;
        case 'J': json = 1; break;
        case 'h': fputs(plc_usage, stdout); return 0;
        default: cli_error("plc run: unknown option or missing value '%s'", argv[optind - 1]); return 2;
        }
    }
    if (optind != argc - 1) {
        cli_error("plc run FILE.st --modbus ADDR");
        return 2;
    }
    if (!cfg.nlisten) {
        cli_error("plc run: which address? (--modbus 127.0.0.1:5021)");
        return 2;
    }
    log_setup(LOGL_INFO, json, stderr);
    if (!password_set) {
        uint8_t r[8];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(random_pw, sizeof random_pw, r, sizeof r);
        cfg.eng.password = random_pw;
        log_msg(LOGL_INFO, "plc", "engineering password (FC 90): %s", random_pw);
    }
    const char *path = argv[optind];
    cfg.plc.has_key_input = 1;
    locaddr_parse("%IW1023", &cfg.plc.key_input, &e);
    int rc = 1;
    struct sched *s = sched_new();
    struct rtloop *loop = s ? rtloop_new(s, 1.0, &e) : NULL;
    struct net *net = loop ? net_socket_new(loop, &e) : NULL;
    struct plc_device *dev = net ? plc_device_new(NULL, net, &cfg, &e) : NULL;
    if (!dev) {
        cli_error("%s", s ? e.msg : "out of memory");
        goto out;
    }
    struct plc *p = plc_device_plc(dev);
    plc_set_observer(p, on_plc_event, NULL);
    mb_server_set_log(plc_device_server(dev), on_server_log, NULL);
    struct st_diags d;
    st_diags_init(&d);
    if (plc_install_file(p, path, &d, &e) != 0) {
        st_diags_print(&d, stderr);
        st_diags_clear(&d);
        cli_error("%s", e.msg);
        goto out;
    }
    st_diags_clear(&d);
    if (!stopped && plc_set_mode(p, PLC_RUN, "local start", &e) != 0) {
        cli_error("%s", e.msg);
        goto out;
    }
    for (size_t i = 0; i < cfg.nlisten; i++) {
        char a[32];
        log_msg(LOGL_INFO, "plc", "listening on %s (Modbus/TCP, OpenPLC map, FC 90)",
                net_addr_format(mb_server_addr(plc_device_server(dev), i), a, sizeof a));
    }
    rtloop_run(loop, duration);
    const struct plc_stats *st = plc_stats(p);
    log_msg(LOGL_INFO, "plc", "stopped: %llu scans, mode %s, %llu faults",
            (unsigned long long)st->scans, plc_mode_name(plc_mode(p)),
            (unsigned long long)st->faults);
    rc = 0;
out:
    plc_device_free(dev);
    net_free(net);
    rtloop_free(loop);
    sched_free(s);
    return rc;
}

/* ---- the engineering workstation ---- */

struct ews {
    struct sched *s;
    struct rtloop *loop;
    struct net *net;
    struct mb_client *c;
    uint8_t unit;
    uint8_t session;
    const char *password;
    char target[32];
    int json;
    uint8_t store[MB_MAX_PDU];
};

/* Sends one FC 90 request; *rsp is the decoded answer. Returns 0 when the
 * PLC accepted (FE), 1 when it refused (FD, printed), -1 on no answer. */
static int ews_call(struct ews *w, struct eng90_req *q, struct eng90_rsp *rsp)
{
    uint8_t pdu[MB_MAX_PDU];
    q->session = w->session;
    int n = eng90_req_encode(q, pdu, sizeof pdu);
    struct mb_result r;
    struct err e;
    if (n < 0) {
        cli_error("request too long");
        return -1;
    }
    if (mb_client_call_pdu(w->c, w->loop, w->unit, pdu, (size_t)n, &r, w->store, &e) != 0) {
        cli_error("%s", e.msg);
        return -1;
    }
    if (r.status != MB_CLIENT_OK) {
        cli_error("%s: %s", w->target, mb_client_status_name(r.status));
        return -1;
    }
    if (r.rsp.exception) {
        cli_error("%s: FC 90 %s: Modbus exception %02X (%s)", w->target,
                  eng90_code_name(q->code) ? eng90_code_name(q->code) : "?", r.rsp.exception,
                  mb_exception_name(r.rsp.exception) ? mb_exception_name(r.rsp.exception) : "?");
        return -1;
    }
    if (eng90_rsp_decode(r.pdu, r.pdu_len, rsp) != 0) {
        cli_error("%s: not an FC 90 answer", w->target);
        return -1;
    }
    if (rsp->status == ENG90_ERROR) {
        const char *name = eng90_error_name(rsp->error);
        int same = rsp->len == strlen(name) && !memcmp(rsp->data, name, rsp->len);
        cli_error("%s: %s refused: %s%s%.*s", w->target, eng90_code_name(q->code), name,
                  same ? "" : ": ", same ? 0 : (int)rsp->len, (const char *)rsp->data);
        return 1;
    }
    return 0;
}

static int ews_reserve(struct ews *w)
{
    struct eng90_req q = {.code = ENG90_TAKE_RESERVATION};
    const char *owner = "icsrange-ews";
    q.u.reserve.owner = (const uint8_t *)owner;
    q.u.reserve.owner_len = (uint8_t)strlen(owner);
    const char *pw = w->password ? w->password : "";
    q.u.reserve.password = (const uint8_t *)pw;
    q.u.reserve.password_len = (uint8_t)strlen(pw);
    struct eng90_rsp r;
    int rc = ews_call(w, &q, &r);
    if (rc == 0 && r.len >= 1)
        w->session = r.data[0];
    return rc;
}

static void ews_release(struct ews *w)
{
    if (!w->session)
        return;
    struct eng90_req q = {.code = ENG90_RELEASE_RESERVATION};
    struct eng90_rsp r;
    ews_call(w, &q, &r);
    w->session = 0;
}

/* ews_call() answers point into one buffer: keep a copy. */
struct saved {
    uint8_t data[MB_MAX_PDU];
    size_t len;
};

static int ews_get(struct ews *w, uint8_t code, struct saved *out)
{
    struct eng90_req q = {.code = code};
    struct eng90_rsp r;
    if (ews_call(w, &q, &r) != 0)
        return 1;
    memcpy(out->data, r.data, r.len);
    out->len = r.len;
    return 0;
}

static int ews_info(struct ews *w)
{
    struct saved id, prj, dg;
    if (ews_get(w, ENG90_READ_ID, &id) || ews_get(w, ENG90_READ_PROJECT, &prj) ||
        ews_get(w, ENG90_READ_DIAG, &dg))
        return 1;
    if (id.len < 4 || prj.len < 41 || dg.len < 35) {
        cli_error("%s: short FC 90 answer", w->target);
        return 1;
    }
    char name[256], pname[256], msg[256], hex[65];
    snprintf(name, sizeof name, "%.*s", (int)id.data[3], (const char *)id.data + 4);
    snprintf(pname, sizeof pname, "%.*s", (int)prj.data[40], (const char *)prj.data + 41);
    snprintf(msg, sizeof msg, "%.*s", (int)dg.data[34], (const char *)dg.data + 35);
    plc_sha256_hex(prj.data, hex);
    static const char *modes[] = {"STOP", "RUN", "PROGRAM", "FAULT"};
    static const char *keys[] = {"RUN", "PROGRAM", "REMOTE"};
    const char *mode = id.data[0] < 4 ? modes[id.data[0]] : "?";
    const char *key = id.data[1] < 3 ? keys[id.data[1]] : "?";
    uint32_t size = eng90_get32(prj.data + 32), downloads = eng90_get32(prj.data + 36);
    if (w->json) {
        json_t *o = json_object();
        json_object_set_new(o, "target", json_string(w->target));
        json_object_set_new(o, "name", json_string(name));
        json_object_set_new(o, "mode", json_string(mode));
        json_object_set_new(o, "keyswitch", json_string(key));
        json_object_set_new(o, "password", json_boolean(id.data[2] & 1));
        json_object_set_new(o, "signature_required", json_boolean(id.data[2] & 2));
        json_object_set_new(o, "reserved", json_boolean(id.data[2] & 4));
        json_object_set_new(o, "program", json_string(pname));
        json_object_set_new(o, "size", json_integer(size));
        json_object_set_new(o, "sha256", json_string(size ? hex : ""));
        json_object_set_new(o, "downloads", json_integer(downloads));
        json_object_set_new(o, "scans", json_integer((json_int_t)eng90_get64(dg.data + 2)));
        json_object_set_new(o, "last_scan_ns", json_integer((json_int_t)eng90_get64(dg.data + 10)));
        json_object_set_new(o, "max_scan_ns", json_integer((json_int_t)eng90_get64(dg.data + 18)));
        json_object_set_new(o, "fault", json_string(msg));
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("%s: PLC %s, mode %s, keyswitch %s%s%s\n", w->target, name, mode, key,
               id.data[2] & 1 ? ", password" : ", no password",
               id.data[2] & 2 ? ", signed programs only" : "");
        printf("  program %s: %u bytes, sha256 %s, %u download(s)\n", size ? pname : "(none)",
               size, size ? hex : "-", downloads);
        printf("  %llu scans, last %.1f us, max %.1f us%s%s\n",
               (unsigned long long)eng90_get64(dg.data + 2),
               (double)eng90_get64(dg.data + 10) / 1e3, (double)eng90_get64(dg.data + 18) / 1e3,
               msg[0] ? ", fault: " : "", msg);
    }
    return 0;
}

static int ews_upload(struct ews *w, const char *out_path)
{
    struct eng90_req q = {.code = ENG90_INIT_UPLOAD};
    struct eng90_rsp r;
    if (ews_call(w, &q, &r) != 0 || r.len < 4)
        return 1;
    uint32_t size = eng90_get32(r.data);
    char *text = malloc(size + 1);
    if (!text)
        return 1;
    uint32_t got = 0;
    while (got < size) {
        q.code = ENG90_UPLOAD_BLOCK;
        q.u.upload.offset = got;
        q.u.upload.len = (uint8_t)(size - got > ENG90_MAX_BLOCK ? ENG90_MAX_BLOCK : size - got);
        if (ews_call(w, &q, &r) != 0 || r.len < 5 || eng90_get32(r.data) != got) {
            free(text);
            return 1;
        }
        memcpy(text + got, r.data + 4, r.len - 4);
        got += (uint32_t)(r.len - 4);
    }
    q.code = ENG90_END_UPLOAD;
    ews_call(w, &q, &r);
    FILE *f = out_path ? fopen(out_path, "wb") : stdout;
    if (!f) {
        cli_error("%s: %s", out_path, strerror(errno));
        free(text);
        return 1;
    }
    fwrite(text, 1, size, f);
    if (out_path)
        fclose(f);
    uint8_t sha[32];
    char hex[65];
    crypto_hash_sha256(sha, (const unsigned char *)text, size);
    fprintf(stderr, "uploaded %u bytes, sha256 %s\n", size, plc_sha256_hex(sha, hex));
    free(text);
    return 0;
}

static int ews_download(struct ews *w, const char *path, const char *secret, int start)
{
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        cli_error("%s: %s", path, strerror(errno));
        return 2;
    }
    uint8_t sk[64], sig[64];
    int sign = secret != NULL;
    if (sign) {
        if (read_key(secret, sk, 64) != 0) {
            free(text);
            return 2;
        }
        crypto_sign_detached(sig, NULL, (const unsigned char *)text, len, sk);
        sodium_memzero(sk, sizeof sk);
    }
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)text, len);
    int rc = 1;
    struct eng90_rsp r;
    struct eng90_req q = {.code = ENG90_READ_ID};
    if (ews_call(w, &q, &r) != 0 || r.len < 1)
        goto out;
    int was_running = r.data[0] == PLC_RUN;
    if (ews_reserve(w) != 0)
        goto out;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    q = (struct eng90_req){.code = ENG90_INIT_DOWNLOAD};
    q.u.init_dl.size = (uint32_t)len;
    q.u.init_dl.sha256 = sha;
    q.u.init_dl.name = (const uint8_t *)base;
    q.u.init_dl.name_len = (uint8_t)(strlen(base) > ENG90_MAX_TEXT ? ENG90_MAX_TEXT : strlen(base));
    if (ews_call(w, &q, &r) != 0)
        goto release;
    for (size_t off = 0; off < len;) {
        size_t k = len - off > ENG90_MAX_BLOCK ? ENG90_MAX_BLOCK : len - off;
        q = (struct eng90_req){.code = ENG90_DOWNLOAD_BLOCK};
        q.u.block.offset = (uint32_t)off;
        q.u.block.data = (const uint8_t *)text + off;
        q.u.block.len = (uint8_t)k;
        if (ews_call(w, &q, &r) != 0)
            goto release;
        off += k;
    }
    q = (struct eng90_req){.code = ENG90_END_DOWNLOAD};
    q.u.end_dl.sig = sign ? sig : NULL;
    q.u.end_dl.sig_len = sign ? ENG90_SIG_LEN : 0;
    if (ews_call(w, &q, &r) != 0)
        goto release;
    char hex[65];
    fprintf(stderr, "downloaded %s: %zu bytes, sha256 %s%s\n", base, len, plc_sha256_hex(sha, hex),
            sign ? ", signed" : "");
    rc = 0;
    if (start > 0 || (start < 0 && was_running)) {
        q = (struct eng90_req){.code = ENG90_START};
        if (ews_call(w, &q, &r) != 0)
            rc = 1;
        else
            fprintf(stderr, "started\n");
    }
release:
    ews_release(w);
out:
    free(text);
    return rc;
}

static int ews_mode(struct ews *w, const char *what)
{
    int run = !strcmp(what, "run") || !strcmp(what, "start");
    if (!run && strcmp(what, "stop") != 0) {
        cli_error("plc mode run|stop");
        return 2;
    }
    if (ews_reserve(w) != 0)
        return 1;
    struct eng90_req q = {.code = run ? ENG90_START : ENG90_STOP};
    struct eng90_rsp r;
    int rc = ews_call(w, &q, &r) == 0 ? 0 : 1;
    ews_release(w);
    if (rc == 0)
        fprintf(stderr, "%s: %s\n", w->target, run ? "RUN" : "STOP");
    return rc;
}

static int keygen(int argc, char **argv)
{
    const char *secret = NULL, *pub = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--secret"))
            secret = argv[i + 1];
        else if (!strcmp(argv[i], "--public"))
            pub = argv[i + 1];
    }
    if (!secret || !pub) {
        cli_error("plc keygen --secret FILE --public FILE");
        return 2;
    }
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    char hs[129], hp[65];
    sodium_bin2hex(hs, sizeof hs, sk, 64);
    sodium_bin2hex(hp, sizeof hp, pk, 32);
    sodium_memzero(sk, sizeof sk);
    FILE *f = fopen(secret, "w");
    if (!f) {
        cli_error("%s: %s", secret, strerror(errno));
        return 1;
    }
    fprintf(f, "%s\n", hs);
    fclose(f);
    sodium_memzero(hs, sizeof hs);
    f = fopen(pub, "w");
    if (!f) {
        cli_error("%s: %s", pub, strerror(errno));
        return 1;
    }
    fprintf(f, "%s\n", hp);
    fclose(f);
    fprintf(stderr, "Ed25519 key pair: secret %s, public %s\n", secret, pub);
    return 0;
}

static int engineering(const char *sub, int argc, char **argv)
{
    static const struct option opts[] = {
        {"target", required_argument, 0, 't'}, {"password", required_argument, 0, 'p'},
        {"unit", required_argument, 0, 'u'}, {"timeout", required_argument, 0, 'T'},
        {"json", no_argument, 0, 'j'}, {"out", required_argument, 0, 'o'},
        {"sign", required_argument, 0, 's'}, {"no-start", no_argument, 0, 'n'},
        {"start", no_argument, 0, 'S'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    struct ews w = {0};
    w.unit = 1;
    w.password = "";
    const char *target = NULL, *out = NULL, *sign = NULL;
    int start = -1, o;
    struct mb_client_opts co;
    mb_client_opts_default(&co);
    co.timeout = 2 * VT_SEC;
    struct err e;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 't': target = optarg; break;
        case 'p': w.password = optarg; break;
        case 'u': w.unit = (uint8_t)atoi(optarg); break;
        case 'T':
            if (vt_parse_duration(optarg, &co.timeout, &e) != 0) {
                cli_error("--timeout: %s", e.msg);
                return 2;
            }
            break;
        case 'j': w.json = 1; break;
        case 'o': out = optarg; break;
        case 's': sign = optarg; break;
        case 'n': start = 0; break;
        case 'S': start = 1; break;
        case 'h': fputs(plc_usage, stdout); return 0;
        default: cli_error("plc %s: unknown option or missing value '%s'", sub, argv[optind - 1]); return 2;
        }
    }
    if (!target) {
        cli_error("plc %s: which PLC? (--target HOST:PORT)", sub);
        return 2;
    }
    struct net_addr to;
    if (net_addr_parse(target, 502, &to, &e) != 0) {
        cli_error("--target: %s", e.msg);
        return 2;
    }
    net_addr_format(&to, w.target, sizeof w.target);
    int rest = argc - optind;
    if ((!strcmp(sub, "download") || !strcmp(sub, "mode")) ? rest != 1 : rest != 0) {
        cli_error("plc %s: unexpected arguments (see icsrange plc --help)", sub);
        return 2;
    }
    int rc = 1;
    w.s = sched_new();
    w.loop = w.s ? rtloop_new(w.s, 1.0, &e) : NULL;
    w.net = w.loop ? net_socket_new(w.loop, &e) : NULL;
    w.c = w.net ? mb_client_new(w.net, &to, &co, &e) : NULL;
    if (!w.c) {
        cli_error("%s", w.s ? e.msg : "out of memory");
        goto done;
    }
    if (!strcmp(sub, "info"))
        rc = ews_info(&w);
    else if (!strcmp(sub, "upload"))
        rc = ews_upload(&w, out);
    else if (!strcmp(sub, "download"))
        rc = ews_download(&w, argv[optind], sign, start);
    else
        rc = ews_mode(&w, argv[optind]);
done:
    mb_client_free(w.c);
    net_free(w.net);
    rtloop_free(w.loop);
    sched_free(w.s);
    return rc;
}

int cmd_plc(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(plc_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (sodium_init() < 0) {
        cli_error("libsodium cannot initialise");
        return 1;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "check"))
        return plc_check(argc - 1, argv + 1, 0);
    if (!strcmp(sub, "disasm"))
        return plc_check(argc - 1, argv + 1, 1);
    if (!strcmp(sub, "run"))
        return plc_run(argc - 1, argv + 1);
    if (!strcmp(sub, "keygen"))
        return keygen(argc - 1, argv + 1);
    if (!strcmp(sub, "info") || !strcmp(sub, "upload") || !strcmp(sub, "download") ||
        !strcmp(sub, "mode"))
        return engineering(sub, argc - 1, argv + 1);
    cli_error("plc: unknown command '%s' (see icsrange plc --help)", sub);
    return 2;
}
