/* test_engineering.c — engineering access over Modbus FC 90 to a PLC
 * device on an in-memory link, as a workstation (or an attacker) would use
 * it: identification and the running program's SHA-256, upload, download
 * with its checks (keyswitch, password, reservation, hash, signature,
 * compilation, block order), start and stop, and the Modbus exceptions
 * that answer malformed FC 90 requests. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/plc_device.h"
#include "proto/eng90.h"
#include "proto/mb_client.h"
#include "mbcall.h"
#include "testutil.h"

static const char prog_a[] = "PROGRAM a\n  VAR q AT %QW0 : INT; END_VAR\n  q := 1;\nEND_PROGRAM\n";
static const char prog_b[] = "PROGRAM b\n  VAR q AT %QW0 : INT; END_VAR\n  q := 2;\nEND_PROGRAM\n";

struct rig {
    struct sched *s;
    struct net *net;
    struct plc_device *dev;
    struct mb_client *c, *other;
    struct net_addr addr;
    uint8_t pk[32], sk[64];
    int refused_events, download_events;
};

static void on_event(void *ctx, const struct plc_event *ev)
{
    struct rig *r = ctx;
    r->refused_events += ev->kind == PLC_EV_REFUSED;
    r->download_events += ev->kind == PLC_EV_DOWNLOAD;
}

static void rig_open(struct rig *r, enum plc_key key, const char *password, int signing)
{
    struct err e;
    memset(r, 0, sizeof *r);
    crypto_sign_keypair(r->pk, r->sk);
    r->s = sched_new();
    struct net_mem_opts o;
    net_mem_opts_default(&o);
    r->net = net_mem_new(r->s, &o, &e);
    net_addr_parse("127.0.1.30:502", 0, &r->addr, &e);
    struct plc_device_config c;
    plc_device_config_default(&c, "plc");
    c.listen[0] = r->addr;
    c.nlisten = 1;
    c.plc.key = key;
    c.eng.password = password;
    c.eng.require_signature = signing;
    memcpy(c.eng.public_key, r->pk, 32);
    c.eng.reservation_timeout = 10 * VT_SEC;
    r->dev = plc_device_new(NULL, r->net, &c, &e);
    assert_non_null(r->dev);
    plc_set_observer(plc_device_plc(r->dev), on_event, r);
    assert_int_equal(plc_install(plc_device_plc(r->dev), "a.st", prog_a, strlen(prog_a), "t", NULL,
                                 &e), 0);
    assert_int_equal(plc_set_mode(plc_device_plc(r->dev), PLC_RUN, "t", &e), 0);
    r->c = mb_client_new(r->net, &r->addr, NULL, &e);
    r->other = mb_client_new(r->net, &r->addr, NULL, &e);
}

static void rig_close(struct rig *r)
{
    mb_client_free(r->c);
    mb_client_free(r->other);
    plc_device_free(r->dev);
    net_free(r->net);
    sched_free(r->s);
}

/* Sends raw PDU bytes; returns the result (k owned by the caller). */
static void send_pdu(struct rig *r, struct mb_client *c, const uint8_t *pdu, size_t n,
                     struct tu_call *k)
{
    struct err e;
    memset(k, 0, sizeof *k);
    assert_int_equal(mb_client_send_pdu(c, 1, pdu, n, tu_call_done, k, &e), 0);
    while (!k->done)
        sched_run_until(r->s, sched_now(r->s) + VT_MS);
    assert_int_equal(k->r.status, MB_CLIENT_OK);
}

/* One FC 90 request: returns FE or FD; *rsp decoded (pointing into k). */
static int eng(struct rig *r, struct mb_client *c, struct eng90_req *q, struct tu_call *k,
               struct eng90_rsp *rsp)
{
    uint8_t pdu[MB_MAX_PDU];
    int n = eng90_req_encode(q, pdu, sizeof pdu);
    assert_true(n > 0);
    send_pdu(r, c, pdu, (size_t)n, k);
    assert_int_equal(k->r.rsp.exception, 0);
    assert_int_equal(eng90_rsp_decode(k->pdu, k->r.pdu_len, rsp), 0);
    return rsp->status;
}

static uint8_t reserve(struct rig *r, struct mb_client *c, const char *pw, uint8_t *err)
{
    struct eng90_req q = {.code = ENG90_TAKE_RESERVATION};
    q.u.reserve.owner = (const uint8_t *)"test";
    q.u.reserve.owner_len = 4;
    q.u.reserve.password = (const uint8_t *)pw;
    q.u.reserve.password_len = (uint8_t)strlen(pw);
    struct tu_call k;
    struct eng90_rsp rsp;
    if (eng(r, c, &q, &k, &rsp) != ENG90_OK) {
        *err = rsp.error;
        return 0;
    }
    return rsp.data[0];
}

/* The whole download; `sha_override` declares another hash; `sig` NULL for
 * none. Returns 0 or the refusal code of the step that failed. */
static int download(struct rig *r, uint8_t session, const char *text, const uint8_t *sha_override,
                    const uint8_t *sig)
{
    size_t len = strlen(text);
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)text, len);
    struct tu_call k;
    struct eng90_rsp rsp;
    struct eng90_req q = {.session = session, .code = ENG90_INIT_DOWNLOAD};
    q.u.init_dl.size = (uint32_t)len;
    q.u.init_dl.sha256 = sha_override ? sha_override : sha;
    q.u.init_dl.name = (const uint8_t *)"b.st";
    q.u.init_dl.name_len = 4;
    if (eng(r, r->c, &q, &k, &rsp) != ENG90_OK)
        return rsp.error;
    for (size_t off = 0; off < len; off += 16) {
        q = (struct eng90_req){.session = session, .code = ENG90_DOWNLOAD_BLOCK};
        q.u.block.offset = (uint32_t)off;
        q.u.block.data = (const uint8_t *)text + off;
        q.u.block.len = (uint8_t)(len - off > 16 ? 16 : len - off);
        if (eng(r, r->c, &q, &k, &rsp) != ENG90_OK)
            return rsp.error;
    }
    q = (struct eng90_req){.session = session, .code = ENG90_END_DOWNLOAD};
    q.u.end_dl.sig = sig;
    q.u.end_dl.sig_len = sig ? 64 : 0;
    if (eng(r, r->c, &q, &k, &rsp) != ENG90_OK)
        return rsp.error;
    assert_memory_equal(rsp.data, sha, 32);
    return 0;
}

static void identification_and_hash(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, PLC_KEY_RUN, "pw", 0);
    struct tu_call k;
    struct eng90_rsp rsp;
    struct eng90_req q = {.code = ENG90_READ_PROJECT};
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)prog_a, strlen(prog_a));
    assert_memory_equal(rsp.data, sha, 32);
    assert_int_equal(eng90_get32(rsp.data + 32), strlen(prog_a));
    q.code = ENG90_READ_ID;
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    assert_int_equal(rsp.data[0], PLC_RUN);
    assert_int_equal(rsp.data[1], PLC_KEY_RUN);
    assert_int_equal(rsp.data[2] & 1, 1); /* a password is set */
    /* anyone may read the logic back */
    q.code = ENG90_INIT_UPLOAD;
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    assert_int_equal(eng90_get32(rsp.data), strlen(prog_a));
    q = (struct eng90_req){.code = ENG90_UPLOAD_BLOCK};
    q.u.upload.offset = 8;
    q.u.upload.len = 200;
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    assert_int_equal(rsp.len, 4 + strlen(prog_a) - 8);
    assert_memory_equal(rsp.data + 4, prog_a + 8, strlen(prog_a) - 8);
    q.u.upload.offset = 999;
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_ERROR);
    assert_int_equal(rsp.error, ENG90_E_RANGE);
    rig_close(&r);
}

static void keyswitch_decides(void **state)
{
    (void)state;
    struct rig r;
    uint8_t err = 0;
    /* RUN: no download, no mode change */
    rig_open(&r, PLC_KEY_RUN, "pw", 0);
    uint8_t s = reserve(&r, r.c, "pw", &err);
    assert_true(s != 0);
    assert_int_equal(download(&r, s, prog_b, NULL, NULL), ENG90_E_KEYSWITCH);
    struct tu_call k;
    struct eng90_rsp rsp;
    struct eng90_req q = {.session = s, .code = ENG90_STOP};
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_ERROR);
    assert_int_equal(rsp.error, ENG90_E_KEYSWITCH);
    assert_int_equal(plc_mode(plc_device_plc(r.dev)), PLC_RUN);
    assert_true(r.refused_events >= 2);
    rig_close(&r);
    /* REMOTE: mode changes, no download */
    rig_open(&r, PLC_KEY_REMOTE, "pw", 0);
    s = reserve(&r, r.c, "pw", &err);
    assert_int_equal(download(&r, s, prog_b, NULL, NULL), ENG90_E_KEYSWITCH);
    q = (struct eng90_req){.session = s, .code = ENG90_STOP};
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    assert_int_equal(plc_mode(plc_device_plc(r.dev)), PLC_STOP);
    rig_close(&r);
    /* PROGRAM: both; the new program runs after START */
    rig_open(&r, PLC_KEY_PROGRAM, "pw", 0);
    s = reserve(&r, r.c, "pw", &err);
    assert_int_equal(download(&r, s, prog_b, NULL, NULL), 0);
    assert_int_equal(plc_mode(plc_device_plc(r.dev)), PLC_STOP);
    q = (struct eng90_req){.session = s, .code = ENG90_START};
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    sched_run_until(r.s, sched_now(r.s) + 100 * VT_MS);
    assert_int_equal(plc_image(plc_device_plc(r.dev))->qw[0], 2);
    assert_int_equal(r.download_events, 2);
    rig_close(&r);
}

static void password_and_reservation(void **state)
{
    (void)state;
    struct rig r;
    uint8_t err = 0;
    rig_open(&r, PLC_KEY_PROGRAM, "right", 0);
    assert_int_equal(reserve(&r, r.c, "wrong", &err), 0);
    assert_int_equal(err, ENG90_E_PASSWORD);
    uint8_t s = reserve(&r, r.c, "right", &err);
    assert_true(s != 0);
    /* someone else cannot take it, nor use a made-up session */
    assert_int_equal(reserve(&r, r.other, "right", &err), 0);
    assert_int_equal(err, ENG90_E_RESERVED);
    assert_int_equal(download(&r, (uint8_t)(s + 1), prog_b, NULL, NULL), ENG90_E_SESSION);
    /* the reservation expires after 10 s without use */
    sched_run_until(r.s, sched_now(r.s) + 11 * VT_SEC);
    uint8_t s2 = reserve(&r, r.other, "right", &err);
    assert_true(s2 != 0 && s2 != s);
    rig_close(&r);
    /* a PLC without a password (a weak setting) lets anyone in */
    rig_open(&r, PLC_KEY_PROGRAM, NULL, 0);
    assert_true(reserve(&r, r.c, "", &err) != 0);
    rig_close(&r);
}

static void verification(void **state)
{
    (void)state;
    struct rig r;
    uint8_t err = 0;
    /* the declared hash must match what arrives */
    rig_open(&r, PLC_KEY_PROGRAM, "pw", 0);
    uint8_t s = reserve(&r, r.c, "pw", &err);
    uint8_t wrong[32] = {1, 2, 3};
    assert_int_equal(download(&r, s, prog_b, wrong, NULL), ENG90_E_HASH);
    /* a program that does not compile is refused with its first error */
    const char *broken = "PROGRAM x\n  VAR q : INT; END_VAR\n  q := ;\nEND_PROGRAM\n";
    assert_int_equal(download(&r, s, broken, NULL, NULL), ENG90_E_COMPILE);
    /* the old program is still there */
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)prog_a, strlen(prog_a));
    assert_memory_equal(plc_program_sha256(plc_device_plc(r.dev)), sha, 32);
    /* blocks out of order */
    struct tu_call k;
    struct eng90_rsp rsp;
    struct eng90_req q = {.session = s, .code = ENG90_INIT_DOWNLOAD};
    crypto_hash_sha256(sha, (const unsigned char *)prog_b, strlen(prog_b));
    q.u.init_dl.size = (uint32_t)strlen(prog_b);
    q.u.init_dl.sha256 = sha;
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_OK);
    q = (struct eng90_req){.session = s, .code = ENG90_DOWNLOAD_BLOCK};
    q.u.block.offset = 5;
    q.u.block.data = (const uint8_t *)prog_b;
    q.u.block.len = 5;
    assert_int_equal(eng(&r, r.c, &q, &k, &rsp), ENG90_ERROR);
    assert_int_equal(rsp.error, ENG90_E_RANGE);
    rig_close(&r);
}

static void signed_programs_only(void **state)
{
    (void)state;
    struct rig r;
    uint8_t err = 0;
    rig_open(&r, PLC_KEY_PROGRAM, "pw", 1);
    uint8_t s = reserve(&r, r.c, "pw", &err);
    /* unsigned: refused */
    assert_int_equal(download(&r, s, prog_b, NULL, NULL), ENG90_E_SIGNATURE);
    /* signed by another key: refused */
    uint8_t pk2[32], sk2[64], sig[64];
    crypto_sign_keypair(pk2, sk2);
    crypto_sign_detached(sig, NULL, (const unsigned char *)prog_b, strlen(prog_b), sk2);
    assert_int_equal(download(&r, s, prog_b, NULL, sig), ENG90_E_SIGNATURE);
    /* a signature over another program: refused */
    crypto_sign_detached(sig, NULL, (const unsigned char *)prog_a, strlen(prog_a), r.sk);
    assert_int_equal(download(&r, s, prog_b, NULL, sig), ENG90_E_SIGNATURE);
    /* signed by the holder of the key: installed */
    crypto_sign_detached(sig, NULL, (const unsigned char *)prog_b, strlen(prog_b), r.sk);
    assert_int_equal(download(&r, s, prog_b, NULL, sig), 0);
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)prog_b, strlen(prog_b));
    assert_memory_equal(plc_program_sha256(plc_device_plc(r.dev)), sha, 32);
    rig_close(&r);
}

/* Malformed FC 90 requests get Modbus exceptions, never an answer that
 * pretends, never a crash. */
static void malformed_requests(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, PLC_KEY_PROGRAM, "pw", 0);
    struct {
        uint8_t pdu[16];
        size_t len;
        uint8_t ex;
        const char *what;
    } cases[] = {
        {{0x5A}, 1, 3, "no session, no code"},
        {{0x5A, 0}, 2, 3, "no code"},
        {{0x5A, 0, 0x77}, 3, 1, "unknown code"},
        {{0x5A, 0, 0x01, 9}, 4, 3, "READ_ID with data"},
        {{0x5A, 0, 0x10, 5, 'a'}, 5, 3, "owner length beyond the PDU"},
        {{0x5A, 0, 0x10, 1, 'a', 3, 'x'}, 7, 3, "password length beyond the PDU"},
        {{0x5A, 0, 0x31, 0, 0, 0, 0, 0}, 8, 3, "upload block of length 0"},
        {{0x5A, 0, 0x31, 0, 0, 0, 0}, 7, 3, "upload block truncated"},
        {{0x5A, 0, 0x33, 0, 0, 0, 5}, 7, 3, "init download without its hash"},
        {{0x5A, 0, 0x35, 5, 1, 2, 3, 4, 5}, 9, 3, "signature of 5 bytes"},
        {{0x5A, 0, 0x42, 2}, 4, 3, "restart neither warm nor cold"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tu_call k;
        send_pdu(&r, r.c, cases[i].pdu, cases[i].len, &k);
        if (k.r.rsp.exception != cases[i].ex)
            fail_msg("%s: exception %02X, expected %02X", cases[i].what, k.r.rsp.exception,
                     cases[i].ex);
        assert_int_equal(k.r.rsp.fc, 0x5A);
    }
    /* the PLC is unharmed */
    assert_int_equal(plc_mode(plc_device_plc(r.dev)), PLC_RUN);
    rig_close(&r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identification_and_hash),
        cmocka_unit_test(keyswitch_decides),
        cmocka_unit_test(password_and_reservation),
        cmocka_unit_test(verification),
        cmocka_unit_test(signed_programs_only),
        cmocka_unit_test(malformed_requests),
    };
    return cmocka_run_group_tests_name("plc_engineering", tests, NULL, NULL);
}
