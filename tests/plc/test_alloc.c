/* test_alloc.c — the PLC allocates nothing while it scans: 10,000 scans of
 * programs/waterworks.st (the plant's real BPCS program) leave the ST
 * module's allocation counter unchanged, and, outside the sanitizer build
 * (whose allocator keeps its own books), glibc's count of allocated bytes
 * too. Checked for the bare runtime and for the PLC device wired to the
 * plant. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/plc_device.h"
#include "plc/runtime.h"
#include "sim/plant.h"
#include "st/st.h"
#include "testutil.h"

static void bare_runtime(void **state)
{
    (void)state;
    struct err e;
    struct sched *s = sched_new();
    struct plc *p = plc_new(s, NULL, &e);
    assert_int_equal(plc_install_file(p, tu_path("programs/waterworks.st"), NULL, &e), 0);
    assert_int_equal(plc_set_mode(p, PLC_RUN, "test", &e), 0);
    /* warm up: first scans, timers started */
    sched_run_until(s, VT_SEC);
    uint64_t before = st_alloc_count();
#ifndef __SANITIZE_ADDRESS__
    struct mallinfo2 m0 = mallinfo2();
#endif
    uint64_t scans0 = plc_stats(p)->scans;
    sched_run_until(s, sched_now(s) + 10000 * 20 * VT_MS);
    assert_int_equal(plc_stats(p)->scans - scans0, 10000);
    assert_int_equal(plc_mode(p), PLC_RUN);
    assert_int_equal(st_alloc_count(), before);
#ifndef __SANITIZE_ADDRESS__
    struct mallinfo2 m1 = mallinfo2();
    assert_int_equal(m1.uordblks, m0.uordblks);
#endif
    plc_free(p);
    sched_free(s);
}

static void wired_to_the_plant(void **state)
{
    (void)state;
    struct err e;
    struct cfg *c = cfg_load_file(tu_path("plants/waterworks.yaml"), &e);
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    struct plant *pl = plant_load(c, 1, foreign, &e);
    struct sched *s = sched_new();
    assert_int_equal(plant_attach(pl, s, &e), 0);
    struct net *n = net_mem_new(s, NULL, &e);
    struct plc_device_config dc;
    plc_device_config_default(&dc, "plc");
    struct plc_device *d = plc_device_new(pl, n, &dc, &e);
    assert_non_null(d);
    struct plc *p = plc_device_plc(d);
    assert_int_equal(plc_install_file(p, tu_path("programs/waterworks.st"), NULL, &e), 0);
    assert_int_equal(plc_set_mode(p, PLC_RUN, "test", &e), 0);
    sched_run_until(s, VT_SEC);
    uint64_t before = st_alloc_count(), scans0 = plc_stats(p)->scans;
    sched_run_until(s, sched_now(s) + 10000 * 20 * VT_MS);
    assert_int_equal(plc_stats(p)->scans - scans0, 10000);
    assert_int_equal(st_alloc_count(), before);
    plc_device_free(d);
    net_free(n);
    sched_free(s);
    plant_free(pl);
    cfg_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bare_runtime),
        cmocka_unit_test(wired_to_the_plant),
    };
    return cmocka_run_group_tests_name("plc_alloc", tests, NULL, NULL);
}
