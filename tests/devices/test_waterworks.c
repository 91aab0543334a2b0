/* test_waterworks.c — the plant programs against the simulator in fast mode:
 * plants/waterworks.yaml with programs/waterworks.st on the BPCS PLC and
 * programs/sis.st on the SIS, each a PLC device wired to the plant, and a
 * test that acts only as an HMI and an engineering workstation would: over
 * Modbus (FC 3/6/16 and FC 90) on in-memory links. The plant's truth is
 * only observed.
 *
 * - AUTO holds the level at its setpoint within 2 cm for 8 h of demand (the
 *   night and the morning peak; the whole day, at another setpoint, is
 *   tests/range's snapshot case, one of the suite's two 24 h runs).
 * - MANUAL with the pump forced on over Modbus: the SIS trips before the
 *   tank overflows.
 * - With the SIS's key in PROGRAM a download of a sis.st without the trip
 *   succeeds, and the same forcing then overflows the tank; with the key in
 *   RUN the same download is refused.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/plc_device.h"
#include "proto/eng90.h"
#include "proto/mb_client.h"
#include "sim/plant.h"
#include "mbcall.h"
#include "testutil.h"

struct rig {
    struct cfg *cfg;
    struct plant *plant;
    struct sched *s;
    struct net *net;
    struct plc_device *bpcs, *sis;
    struct mb_client *hmi, *ews;
    struct plant_port level;
    struct net_addr bpcs_addr, sis_addr;
};

static void rig_open(struct rig *r, enum plc_key sis_key)
{
    struct err e;
    memset(r, 0, sizeof *r);
    r->cfg = cfg_load_file(tu_path("plants/waterworks.yaml"), &e);
    assert_non_null(r->cfg);
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    r->plant = plant_load(r->cfg, 7, foreign, &e);
    if (!r->plant)
        fail_msg("%s", e.msg);
    r->s = sched_new();
    assert_int_equal(plant_attach(r->plant, r->s, &e), 0);
    struct net_mem_opts o;
    net_mem_opts_default(&o);
    r->net = net_mem_new(r->s, &o, &e);
    net_addr_parse("127.0.1.10:502", 0, &r->bpcs_addr, &e);
    net_addr_parse("127.0.1.20:502", 0, &r->sis_addr, &e);
    struct plc_device_config c;
    plc_device_config_default(&c, "plc");
    c.listen[0] = r->bpcs_addr;
    c.nlisten = 1;
    c.plc.has_key_input = 1;
    locaddr_parse("%IW10", &c.plc.key_input, &e);
    c.eng.password = "bpcs-secret";
    r->bpcs = plc_device_new(r->plant, r->net, &c, &e);
    if (!r->bpcs)
        fail_msg("bpcs: %s", e.msg);
    plc_device_config_default(&c, "sis");
    c.listen[0] = r->sis_addr;
    c.nlisten = 1;
    c.plc.has_key_input = 1;
    c.plc.key = sis_key;
    locaddr_parse("%IW10", &c.plc.key_input, &e);
    c.eng.password = "sis-secret";
    r->sis = plc_device_new(r->plant, r->net, &c, &e);
    if (!r->sis)
        fail_msg("sis: %s", e.msg);
    assert_int_equal(plc_device_nwires(r->bpcs), 11);
    assert_int_equal(plc_device_nwires(r->sis), 4);
    struct st_diags d;
    st_diags_init(&d);
    if (plc_install_file(plc_device_plc(r->bpcs), tu_path("programs/waterworks.st"), &d, &e) != 0)
        fail_msg("waterworks.st: %s", e.msg);
    if (plc_install_file(plc_device_plc(r->sis), tu_path("programs/sis.st"), &d, &e) != 0)
        fail_msg("sis.st: %s", e.msg);
    st_diags_clear(&d);
    assert_int_equal(plc_set_mode(plc_device_plc(r->bpcs), PLC_RUN, "test", &e), 0);
    assert_int_equal(plc_set_mode(plc_device_plc(r->sis), PLC_RUN, "test", &e), 0);
    struct mb_client_opts co;
    mb_client_opts_default(&co);
    co.timeout = 2 * VT_SEC;
    net_addr_parse("127.0.1.100:0", 0, &co.from, &e);
    co.has_from = 1;
    r->hmi = mb_client_new(r->net, &r->bpcs_addr, &co, &e);
    net_addr_parse("127.0.1.101:0", 0, &co.from, &e);
    r->ews = mb_client_new(r->net, &r->sis_addr, &co, &e);
    assert_int_equal(plant_port_find(r->plant, "T-101.level", 0, &r->level, &e), 0);
}

static void rig_close(struct rig *r)
{
    mb_client_free(r->hmi);
    mb_client_free(r->ews);
    plc_device_free(r->bpcs);
    plc_device_free(r->sis);
    net_free(r->net);
    plant_free(r->plant);
    sched_free(r->s);
    cfg_free(r->cfg);
}

static double level(struct rig *r)
{
    return plant_port_read(r->plant, &r->level);
}

static double metric(struct rig *r, const char *name)
{
    return plant_metric(r->plant, name);
}

/* ---- synchronous Modbus over the in-memory links ---- */

static void run_until_done(struct rig *r, struct tu_call *c)
{
    vtime_t end = sched_now(r->s) + 10 * VT_SEC;
    while (!c->done && sched_now(r->s) < end)
        sched_run_until(r->s, sched_now(r->s) + VT_MS);
    assert_true(c->done);
    assert_int_equal(c->r.status, MB_CLIENT_OK);
}

static void write_reg(struct rig *r, struct mb_client *c, uint16_t addr, uint16_t v)
{
    struct mb_req q = {.fc = MB_FC_WRITE_SINGLE_REGISTER, .u.write1 = {addr, v}};
    struct tu_call k = {0};
    struct err e;
    assert_int_equal(mb_client_send(c, 1, &q, tu_call_done, &k, &e), 0);
    run_until_done(r, &k);
    assert_int_equal(k.r.pdu[0], MB_FC_WRITE_SINGLE_REGISTER);
}

static uint16_t read_reg(struct rig *r, struct mb_client *c, uint16_t addr)
{
    struct mb_req q = {.fc = MB_FC_READ_HOLDING_REGISTERS, .u.read = {addr, 1}};
    struct tu_call k = {0};
    struct err e;
    assert_int_equal(mb_client_send(c, 1, &q, tu_call_done, &k, &e), 0);
    run_until_done(r, &k);
    assert_int_equal(k.r.pdu[0], MB_FC_READ_HOLDING_REGISTERS);
    return mb_get16(k.r.pdu + 2);
}

/* One FC 90 request; returns the response status byte (FE / FD) and the
 * first payload byte in *first. */
static int eng(struct rig *r, struct eng90_req *q, uint8_t *first, uint8_t *err_code)
{
    uint8_t pdu[MB_MAX_PDU];
    int n = eng90_req_encode(q, pdu, sizeof pdu);
    assert_true(n > 0);
    struct tu_call k = {0};
    struct err e;
    assert_int_equal(mb_client_send_pdu(r->ews, 1, pdu, (size_t)n, tu_call_done, &k, &e), 0);
    run_until_done(r, &k);
    struct eng90_rsp rsp;
    assert_int_equal(eng90_rsp_decode(k.r.pdu, k.r.pdu_len, &rsp), 0);
    if (first)
        *first = rsp.len ? rsp.data[0] : 0;
    if (err_code)
        *err_code = rsp.error;
    return rsp.status;
}

/* The engineering workstation's download: reserve, initialise, blocks,
 * end. Returns 0 when installed, else the refusal code. */
static int download(struct rig *r, const char *text, const char *password)
{
    uint8_t session = 0, first, ecode;
    struct eng90_req q = {.code = ENG90_TAKE_RESERVATION};
    q.u.reserve.owner = (const uint8_t *)"ews";
    q.u.reserve.owner_len = 3;
    q.u.reserve.password = (const uint8_t *)password;
    q.u.reserve.password_len = (uint8_t)strlen(password);
    if (eng(r, &q, &first, &ecode) != ENG90_OK)
        return ecode;
    session = first;
    size_t len = strlen(text);
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)text, len);
    q = (struct eng90_req){.session = session, .code = ENG90_INIT_DOWNLOAD};
    q.u.init_dl.size = (uint32_t)len;
    q.u.init_dl.sha256 = sha;
    q.u.init_dl.name = (const uint8_t *)"sis.st";
    q.u.init_dl.name_len = 6;
    int rc = 0;
    if (eng(r, &q, &first, &ecode) != ENG90_OK) {
        rc = ecode;
        goto release;
    }
    for (size_t off = 0; off < len; off += ENG90_MAX_BLOCK) {
        q = (struct eng90_req){.session = session, .code = ENG90_DOWNLOAD_BLOCK};
        q.u.block.offset = (uint32_t)off;
        q.u.block.data = (const uint8_t *)text + off;
        q.u.block.len = (uint8_t)(len - off > ENG90_MAX_BLOCK ? ENG90_MAX_BLOCK : len - off);
        if (eng(r, &q, &first, &ecode) != ENG90_OK) {
            rc = ecode;
            goto release;
        }
    }
    q = (struct eng90_req){.session = session, .code = ENG90_END_DOWNLOAD};
    if (eng(r, &q, &first, &ecode) != ENG90_OK) {
        rc = ecode;
        goto release;
    }
    q = (struct eng90_req){.session = session, .code = ENG90_START};
    if (eng(r, &q, &first, &ecode) != ENG90_OK)
        rc = ecode;
release:
    q = (struct eng90_req){.session = session, .code = ENG90_RELEASE_RESERVATION};
    eng(r, &q, NULL, NULL);
    return rc;
}

/* The operator's attack path of S05: MANUAL, pump on at full speed. */
static void force_pump(struct rig *r)
{
    write_reg(r, r->hmi, 1027, 10000); /* %MW3 manual speed 100 % */
    write_reg(r, r->hmi, 1028, 1);     /* %MW4 manual run */
    write_reg(r, r->hmi, 1024, 1);     /* %MW0 mode MANUAL */
}

static void auto_holds_level(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, PLC_KEY_RUN);
    assert_int_equal(read_reg(&r, r.hmi, 1024), 2); /* AUTO */
    assert_int_equal(read_reg(&r, r.hmi, 1026), 500);
    double worst = 0;
    vtime_t end = 8 * VT_HOUR;
    while (sched_now(r.s) < end) {
        sched_run_until(r.s, sched_now(r.s) + 10 * VT_SEC);
        double dev = fabs(level(&r) - 0.5);
        if (dev > worst)
            worst = dev;
    }
    print_message("worst deviation from 0.500 m over 8 h: %.4f m\n", worst);
    assert_true(worst <= 0.02);
    /* the consumers were served, nothing spilled, the pump is healthy */
    /* at least the minimum demand, 4 L/min for 8 h */
    assert_true(metric(&r, "outflow_m3") > 1.92);
    TU_NEAR(metric(&r, "spilled_L"), 0, 0);
    TU_NEAR(metric(&r, "pump_damage_pct"), 0, 0);
    /* the HMI's view: the level status register agrees within a few mm */
    int st_level = read_reg(&r, r.hmi, 1044);
    TU_NEAR(st_level, 1000 * level(&r), 6);
    rig_close(&r);
}

static void forced_pump_trips_the_sis(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, PLC_KEY_RUN);
    sched_run_until(r.s, 30 * VT_SEC);
    assert_int_equal(read_reg(&r, r.ews, 1034), 0); /* SIS not tripped */
    force_pump(&r);
    double max_level = 0;
    while (sched_now(r.s) < 15 * VT_MIN) {
        sched_run_until(r.s, sched_now(r.s) + VT_SEC);
        if (level(&r) > max_level)
            max_level = level(&r);
    }
    assert_int_equal(read_reg(&r, r.ews, 1034), 1); /* tripped, latched */
    assert_true(read_reg(&r, r.ews, 1035) >= 1);
    print_message("highest level %.3f m\n", max_level);
    /* the trip came from the high level (LT-201 reads HH = 0.90 m within
     * its noise of 2 mm), not early, and well before the rim */
    assert_true(max_level > 0.89);
    assert_true(max_level < 1.0);
    TU_NEAR(metric(&r, "spilled_L"), 0, 0);
    rig_close(&r);
}

/* sis.st with the trip taken out: what an attacker downloads (S08). */
static char *sis_without_trip(void)
{
    char *src = tu_read_file(tu_path("programs/sis.st"), NULL);
    assert_non_null(src);
    const char *from = "  IF demand THEN\n    tripped := TRUE;\n  END_IF;\n";
    char *at = strstr(src, from);
    assert_non_null(at);
    memmove(at, at + strlen(from), strlen(at + strlen(from)) + 1);
    return src;
}

static void sis_download_in_program_then_overflow(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, PLC_KEY_PROGRAM);
    sched_run_until(r.s, 10 * VT_SEC);
    char *bad = sis_without_trip();
    uint8_t before[32];
    memcpy(before, plc_program_sha256(plc_device_plc(r.sis)), 32);
    assert_int_equal(download(&r, bad, "sis-secret"), 0);
    /* the running program is the downloaded one */
    uint8_t sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)bad, strlen(bad));
    assert_memory_equal(plc_program_sha256(plc_device_plc(r.sis)), sha, 32);
    assert_memory_not_equal(before, sha, 32);
    assert_int_equal(plc_mode(plc_device_plc(r.sis)), PLC_RUN);
    force_pump(&r);
    sched_run_until(r.s, sched_now(r.s) + 15 * VT_MIN);
    assert_int_equal(read_reg(&r, r.ews, 1034), 0); /* never tripped */
    print_message("spilled %.1f L\n", metric(&r, "spilled_L"));
    assert_true(metric(&r, "spilled_L") > 10);
    free(bad);
    rig_close(&r);
}

static void sis_download_refused_in_run(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, PLC_KEY_RUN);
    sched_run_until(r.s, 10 * VT_SEC);
    char *bad = sis_without_trip();
    uint8_t before[32];
    memcpy(before, plc_program_sha256(plc_device_plc(r.sis)), 32);
    assert_int_equal(download(&r, bad, "sis-secret"), ENG90_E_KEYSWITCH);
    assert_memory_equal(plc_program_sha256(plc_device_plc(r.sis)), before, 32);
    assert_int_equal(plc_mode(plc_device_plc(r.sis)), PLC_RUN);
    /* and the SIS still protects the plant */
    force_pump(&r);
    sched_run_until(r.s, sched_now(r.s) + 15 * VT_MIN);
    assert_int_equal(read_reg(&r, r.ews, 1034), 1);
    TU_NEAR(metric(&r, "spilled_L"), 0, 0);
    free(bad);
    rig_close(&r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auto_holds_level),
        cmocka_unit_test(forced_pump_trips_the_sis),
        cmocka_unit_test(sis_download_in_program_then_overflow),
        cmocka_unit_test(sis_download_refused_in_run),
    };
    return cmocka_run_group_tests_name("waterworks", tests, NULL, NULL);
}
