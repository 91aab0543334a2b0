/* test_runtime.c — the soft PLC: the OpenPLC Modbus map of its image, the
 * scan cycle on the virtual clock, network writes between scans, modes and
 * outputs at a stop, retained variables across restarts, runtime faults
 * and the deterministic watchdog, the keyswitch input, remote I/O polled
 * as Modbus master with its loss-of-communication policy, and events. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/plc_device.h"
#include "plc/image.h"
#include "plc/runtime.h"
#include "proto/mb_mem.h"
#include "testutil.h"

/* ---- the image and its map ---- */

static void openplc_map(void **state)
{
    (void)state;
    struct plc_image *im = calloc(1, sizeof *im);
    const struct mb_map_ops *ops = &plc_image_modbus_ops;
    /* %MD0 = holding 2048 (high word) and 2049 */
    uint16_t w[4] = {0x1234, 0x5678};
    assert_int_equal(ops->write_regs(im, 2048, 2, w), 0);
    assert_int_equal(im->md[0], 0x12345678);
    /* %MD1 = 2050-2051 */
    assert_int_equal(ops->write_regs(im, 2050, 2, w), 0);
    assert_int_equal(im->md[1], 0x12345678);
    /* %ML0 = 4096-4099, most significant word first */
    uint16_t l[4] = {0x0102, 0x0304, 0x0506, 0x0708};
    assert_int_equal(ops->write_regs(im, 4096, 4, l), 0);
    assert_true(im->ml[0] == 0x0102030405060708ULL);
    uint16_t back[4];
    assert_int_equal(ops->read_regs(im, MB_HOLDING_REGISTERS, 4097, 2, back), 0);
    assert_int_equal(back[0], 0x0304);
    /* %MW0 = 1024, %QW5 = 5 */
    uint16_t v = 77;
    ops->write_regs(im, 1024, 1, &v);
    assert_int_equal(im->mw[0], 77);
    ops->write_regs(im, 5, 1, &v);
    assert_int_equal(im->qw[5], 77);
    /* %QX1.3 = coil 11; %IX0.7 = discrete input 7 */
    uint8_t bit = 1;
    ops->write_bits(im, 11, 1, &bit);
    assert_int_equal(im->qx[1], 1 << 3);
    im->ix[0] = 0x80;
    uint8_t bits[1] = {0};
    ops->read_bits(im, MB_DISCRETE_INPUTS, 7, 1, bits);
    assert_int_equal(bits[0], 1);
    /* %IW n = input register n; past the map: 02 */
    im->iw[1023] = 9;
    assert_int_equal(ops->read_regs(im, MB_INPUT_REGISTERS, 1023, 1, back), 0);
    assert_int_equal(back[0], 9);
    assert_int_equal(ops->read_regs(im, MB_INPUT_REGISTERS, 1023, 2, back),
                     MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(ops->read_regs(im, MB_HOLDING_REGISTERS, 8191, 2, back),
                     MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(ops->write_bits(im, 8191, 2, bits), MB_EX_ILLEGAL_DATA_ADDRESS);
    free(im);
}

/* ---- a PLC with hooks ---- */

struct field {
    int reads, writes;
    uint16_t last_q0;
    uint16_t input;
};

static void f_read(void *ctx, struct plc_image *im, vtime_t now)
{
    struct field *f = ctx;
    (void)now;
    f->reads++;
    im->iw[0] = f->input;
}

static void f_write(void *ctx, const struct plc_image *im, vtime_t now)
{
    struct field *f = ctx;
    (void)now;
    f->writes++;
    f->last_q0 = im->qw[0];
}

static const struct plc_io_hooks hooks = {f_read, f_write};

struct events {
    int n, downloads, faults, modes;
    char last[512];
};

static void on_event(void *ctx, const struct plc_event *ev)
{
    struct events *e = ctx;
    e->n++;
    e->downloads += ev->kind == PLC_EV_DOWNLOAD;
    e->faults += ev->kind == PLC_EV_FAULT;
    e->modes += ev->kind == PLC_EV_MODE;
    snprintf(e->last, sizeof e->last, "%s", ev->text);
}

static struct plc *make(struct sched *s, const char *src, struct field *f, struct events *ev)
{
    struct err e;
    struct plc_config c;
    plc_config_default(&c);
    c.has_key_input = 1;
    locaddr_parse("%IW10", &c.key_input, &e);
    struct plc *p = plc_new(s, &c, &e);
    assert_non_null(p);
    plc_set_io(p, &hooks, f);
    plc_set_observer(p, on_event, ev);
    struct st_diags d;
    st_diags_init(&d);
    if (plc_install(p, "test.st", src, strlen(src), "test", &d, &e) != 0) {
        st_diags_print(&d, stderr);
        st_diags_clear(&d);
        fail_msg("%s", e.msg);
    }
    st_diags_clear(&d);
    assert_int_equal(plc_set_mode(p, PLC_RUN, "test", &e), 0);
    return p;
}

static const char scan_src[] =
    "PROGRAM p\n"
    "  VAR\n"
    "    a AT %IW0 : INT;\n"
    "    b AT %QW0 : INT;\n"
    "    fixed AT %QW1 : INT;\n"
    "    setp AT %MW7 : INT;\n"
    "    echo AT %QW2 : INT;\n"
    "    count AT %MD0 : DINT;\n"
    "    key AT %IW10 : INT;\n"
    "    keycopy AT %QW3 : INT;\n"
    "  END_VAR\n"
    "  b := a * 2;\n"
    "  fixed := 7;\n"
    "  echo := setp;\n"
    "  count := count + 1;\n"
    "  keycopy := key;\n"
    "END_PROGRAM\n"
    "CONFIGURATION c\n"
    "  RESOURCE r ON PLC\n"
    "    TASK t(INTERVAL := T#50ms, PRIORITY := 0);\n"
    "    PROGRAM inst WITH t : p;\n"
    "  END_RESOURCE\n"
    "END_CONFIGURATION\n";

static void scan_cycle(void **state)
{
    (void)state;
    struct sched *s = sched_new();
    struct field f = {.input = 21};
    struct events ev = {0};
    struct plc *p = make(s, scan_src, &f, &ev);
    assert_int_equal(ev.downloads, 1);
    sched_run_until(s, VT_SEC - 1);
    /* first scan at 0, then every 50 ms: 20 scans in [0, 1 s) */
    assert_int_equal(plc_stats(p)->scans, 20);
    assert_int_equal(f.reads, 20);
    assert_int_equal(f.writes, 20);
    assert_int_equal(f.last_q0, 42);
    struct plc_image *im = plc_image(p);
    assert_int_equal(im->md[0], 20);
    /* network writes land between scans: a register the program assigns
     * every scan overwrites them, one it reads keeps them */
    uint16_t v = 100;
    plc_image_modbus_ops.write_regs(im, 1, 1, &v);    /* %QW1 */
    plc_image_modbus_ops.write_regs(im, 1031, 1, &v); /* %MW7 */
    assert_int_equal(im->qw[1], 100);
    sched_run_until(s, sched_now(s) + 50 * VT_MS);
    assert_int_equal(im->qw[1], 7);
    assert_int_equal(im->mw[7], 100);
    assert_int_equal(im->qw[2], 100);
    /* the keyswitch reaches the program as a word */
    plc_set_key(p, PLC_KEY_REMOTE);
    sched_run_until(s, sched_now(s) + 50 * VT_MS);
    assert_int_equal(im->qw[3], 2);
    /* a scan's virtual duration: instructions times their cost (10 ns) */
    assert_true(plc_stats(p)->instructions > 0);
    assert_int_equal(plc_stats(p)->last_scan, (vtime_t)plc_stats(p)->instructions * 10);
    plc_free(p);
    sched_free(s);
}

static void stop_outputs_and_modes(void **state)
{
    (void)state;
    struct sched *s = sched_new();
    struct field f = {.input = 5};
    struct events ev = {0};
    struct plc *p = make(s, scan_src, &f, &ev);
    struct err e;
    sched_run_until(s, 200 * VT_MS);
    assert_int_equal(plc_image(p)->qw[0], 10);
    uint64_t scans = plc_stats(p)->scans;
    assert_int_equal(plc_set_mode(p, PLC_STOP, "test", &e), 0);
    /* outputs off, and the field is told at once */
    assert_int_equal(plc_image(p)->qw[0], 0);
    assert_int_equal(f.last_q0, 0);
    sched_run_until(s, sched_now(s) + VT_SEC);
    assert_int_equal(plc_stats(p)->scans, scans);
    assert_int_equal(plc_set_mode(p, PLC_RUN, "test", &e), 0);
    sched_run_until(s, sched_now(s) + 100 * VT_MS);
    assert_int_equal(f.last_q0, 10);
    assert_true(ev.modes >= 3);
    TU_CONTAINS(ev.last, "STOP -> RUN");
    assert_int_equal(plc_set_mode(p, PLC_FAULT, "test", &e), -1);
    plc_free(p);
    /* no program: RUN refused */
    struct plc *q = plc_new(s, NULL, &e);
    assert_int_equal(plc_set_mode(q, PLC_RUN, "test", &e), -1);
    TU_CONTAINS(e.msg, "no program");
    plc_free(q);
    sched_free(s);
}

static const char retain_src[] =
    "PROGRAM p\n"
    "  VAR RETAIN kept : INT; END_VAR\n"
    "  VAR plain : INT; out AT %QW0 : INT; END_VAR\n"
    "  kept := kept + 1;\n"
    "  plain := plain + 1;\n"
    "  out := kept * 100 + plain;\n"
    "END_PROGRAM\n";

static void retain_across_restarts(void **state)
{
    (void)state;
    struct sched *s = sched_new();
    struct field f = {0};
    struct events ev = {0};
    struct plc *p = make(s, retain_src, &f, &ev);
    struct err e;
    sched_run_until(s, 190 * VT_MS); /* 20 ms default interval: 10 scans */
    assert_int_equal(plc_image(p)->qw[0], 10 * 100 + 10);
    assert_int_equal(plc_restart(p, 0, &e), 0); /* warm */
    sched_run_until(s, sched_now(s) + 20 * VT_MS);
    assert_int_equal(plc_image(p)->qw[0], 11 * 100 + 1);
    assert_int_equal(plc_restart(p, 1, &e), 0); /* cold */
    sched_run_until(s, sched_now(s) + 20 * VT_MS);
    assert_int_equal(plc_image(p)->qw[0], 1 * 100 + 1);
    plc_free(p);
    sched_free(s);
}

static const char fault_src[] =
    "PROGRAM p\n"
    "  VAR d AT %IW0 : INT; q AT %QW0 : INT; END_VAR\n"
    "  q := 100 / d;\n"
    "END_PROGRAM\n";

static void runtime_fault(void **state)
{
    (void)state;
    struct sched *s = sched_new();
    struct field f = {.input = 4};
    struct events ev = {0};
    struct plc *p = make(s, fault_src, &f, &ev);
    struct err e;
    sched_run_until(s, 100 * VT_MS);
    assert_int_equal(f.last_q0, 25);
    f.input = 0;
    sched_run_until(s, sched_now(s) + 100 * VT_MS);
    assert_int_equal(plc_mode(p), PLC_FAULT);
    assert_int_equal(plc_last_fault(p)->kind, ST_FAULT_DIV_ZERO);
    assert_int_equal(plc_last_fault(p)->line, 3);
    assert_int_equal(ev.faults, 1);
    TU_CONTAINS(ev.last, "division by zero");
    assert_int_equal(f.last_q0, 0); /* outputs off at the fault */
    /* the operator fixes the cause and restarts: the PLC runs again */
    f.input = 5;
    assert_int_equal(plc_set_mode(p, PLC_RUN, "operator", &e), 0);
    assert_int_equal(plc_last_fault(p)->kind, ST_FAULT_NONE);
    sched_run_until(s, sched_now(s) + 100 * VT_MS);
    assert_int_equal(f.last_q0, 20);
    plc_free(p);
    sched_free(s);
}

static const char loop_src[] =
    "PROGRAM p\n"
    "  VAR i : DINT; END_VAR\n"
    "  WHILE TRUE DO\n"
    "    i := i + 1;\n"
    "  END_WHILE;\n"
    "END_PROGRAM\n";

static void watchdog_faults_never_hangs(void **state)
{
    (void)state;
    struct sched *s = sched_new();
    struct field f = {0};
    struct events ev = {0};
    struct plc *p = make(s, loop_src, &f, &ev);
    sched_run_until(s, 100 * VT_MS);
    assert_int_equal(plc_mode(p), PLC_FAULT);
    assert_int_equal(plc_last_fault(p)->kind, ST_FAULT_WATCHDOG);
    assert_int_equal(plc_stats(p)->scans, 1);
    /* the scan ran out its budget: 100 ms at 10 ns an instruction */
    assert_true(plc_stats(p)->last_scan >= 100 * VT_MS - 1000);
    assert_true(plc_stats(p)->last_scan <= 100 * VT_MS);
    plc_free(p);
    sched_free(s);
}

/* ---- remote I/O ---- */

static const char rio_src[] =
    "PROGRAM p\n"
    "  VAR x AT %IW100 : INT; y AT %QW100 : INT; sw AT %IX100.0 : BOOL; lamp AT %QX100.0 : BOOL;\n"
    "      seen AT %QW0 : INT; END_VAR\n"
    "  y := x + 1;\n"
    "  lamp := sw;\n"
    "  seen := x;\n"
    "END_PROGRAM\n";

static void remote_io_and_loss(void **state)
{
    (void)state;
    for (int policy = 0; policy < 2; policy++) {
        struct err e;
        struct sched *s = sched_new();
        struct net_mem_opts o;
        net_mem_opts_default(&o);
        struct net *n = net_mem_new(s, &o, &e);
        /* the remote rack: a Modbus device with input register 0 = 41 */
        struct mb_mem *rack = mb_mem_new(16, 16, 16, 16);
        rack->regs[1][0] = 41;
        rack->bits[1][0] = 1;
        struct mb_server *rs = mb_server_new(n, NULL, &mb_mem_ops, rack, &e);
        struct net_addr ra;
        net_addr_parse("127.0.1.50:502", 0, &ra, &e);
        assert_int_equal(mb_server_listen(rs, &ra, &e), 0);
        struct rio_device_cfg rd = {0};
        rd.name = "rack";
        rd.addr = ra;
        rd.unit = 1;
        rd.on_loss = policy ? RIO_FAILSAFE : RIO_HOLD;
        rd.failsafe_word = 0;
        rd.discrete_inputs = (struct rio_area){0, 1};
        rd.coils = (struct rio_area){0, 1};
        rd.input_registers = (struct rio_area){0, 1};
        rd.holding_write = (struct rio_area){0, 1};
        struct plc_device_config c;
        plc_device_config_default(&c, "plc");
        c.remote = &rd;
        c.nremote = 1;
        struct plc_device *d = plc_device_new(NULL, n, &c, &e);
        if (!d)
            fail_msg("%s", e.msg);
        struct st_diags dg;
        st_diags_init(&dg);
        assert_int_equal(plc_install(plc_device_plc(d), "rio.st", rio_src, strlen(rio_src), "t",
                                     &dg, &e), 0);
        st_diags_clear(&dg);
        assert_int_equal(plc_set_mode(plc_device_plc(d), PLC_RUN, "t", &e), 0);
        sched_run_until(s, VT_SEC);
        /* the program saw the rack's input and wrote its output back */
        assert_int_equal(rack->regs[0][0], 42);
        assert_int_equal(rack->bits[0][0], 1);
        assert_false(rio_lost(plc_device_rio(d), 0));
        assert_true(rio_polls(plc_device_rio(d), 0) >= 5);
        /* the rack goes silent */
        mb_server_free(rs);
        sched_run_until(s, sched_now(s) + 5 * VT_SEC);
        assert_true(rio_lost(plc_device_rio(d), 0));
        uint16_t seen = plc_image(plc_device_plc(d))->qw[0];
        assert_int_equal(seen, policy ? 0 : 41);
        plc_device_free(d);
        net_free(n);
        sched_free(s);
        mb_mem_free(rack);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openplc_map),
        cmocka_unit_test(scan_cycle),
        cmocka_unit_test(stop_outputs_and_modes),
        cmocka_unit_test(retain_across_restarts),
        cmocka_unit_test(runtime_fault),
        cmocka_unit_test(watchdog_faults_never_hangs),
        cmocka_unit_test(remote_io_and_loss),
    };
    return cmocka_run_group_tests_name("plc_runtime", tests, NULL, NULL);
}
