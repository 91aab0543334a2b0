/* test_vm.c — the VM as the PLC runtime uses it: the plant-control program
 * run against a simulated tank, no allocation over 10,000 scans, a program
 * in the OpenPLC editor's generated form, run-time faults (division by zero,
 * bounds, watchdog) with their POU and line and a usable VM afterwards,
 * warm and cold restarts, retained variables, lookups by name, the
 * determinism of the instruction count. */
#include <malloc.h>
#include <unistd.h>

#include "sttest.h"

#define STEP (100 * VT_MS)

/* ---- the plant-control program against a simulated tank ---- */

struct tank {
    double level; /* % */
};

/* One 100 ms step of a tank: the inlet valve fills, the pump empties. */
static void tank_step(struct tank *t, struct prog *p)
{
    double valve = (double)geti(p, "control.valve_out") / 27648.0;
    bool pump = geti(p, "control.pump_run") != 0;
    t->level += 0.5 * valve - (pump ? 0.3 : 0.0) - 0.02;
    if (t->level < 0)
        t->level = 0;
    if (t->level > 100)
        t->level = 100;
    seti(p, "control.level_raw", (int64_t)(t->level / 100.0 * 27648.0));
    seti(p, "control.flow_raw", pump ? 27648 / 2 : 0);
}

static void plant_control(void **state)
{
    (void)state;
    struct prog *p = prog_file("tests/st/programs/plant_control.st");
    struct tank t = {.level = 5.0};
    seti(p, "control.estop_ok", 1);
    /* OFF: nothing moves; the level is low, LL raises after its 2 s delay */
    for (int k = 0; k < 19; k++) {
        tank_step(&t, p);
        prog_scans(p, 1, STEP);
    }
    EXPECT_I(p, "control.mode_now", 0);
    EXPECT_I(p, "control.valve_out", 0);
    EXPECT_I(p, "control.alarm_ll", 0);
    tank_step(&t, p);
    prog_scans(p, 2, STEP);
    EXPECT_I(p, "control.alarm_ll", 1);
    EXPECT_I(p, "control.horn", 1);
    EXPECT_I(p, "control.beacon", 1);
    /* AUTO needs the start button */
    seti(p, "control.mode_cmd", 2);
    prog_scans(p, 1, STEP);
    EXPECT_I(p, "control.mode_now", 0);
    seti(p, "control.start_pb", 1);
    prog_scans(p, 1, STEP);
    seti(p, "control.start_pb", 0);
    EXPECT_I(p, "control.mode_now", 2);
    /* the PI loop fills the tank to the setpoint (50 %) */
    for (int k = 0; k < 3000; k++) {
        tank_step(&t, p);
        prog_scans(p, 1, STEP);
    }
    TU_NEAR(t.level, 50.0, 3.0);
    EXPECT_I(p, "control.mode_now", 2);
    /* the alarm went away; ACK clears the latch and the horn is over */
    seti(p, "control.ack_pb", 1);
    prog_scans(p, 1, STEP);
    seti(p, "control.ack_pb", 0);
    EXPECT_I(p, "control.alarm_ll", 0);
    EXPECT_I(p, "control.horn", 0);
    EXPECT_I(p, "control.alarms[1].count", 1);
    /* force the level high: the pump runs (hysteresis above 70 %), doses */
    t.level = 90.0;
    for (int k = 0; k < 5; k++) {
        tank_step(&t, p);
        prog_scans(p, 1, STEP);
    }
    EXPECT_I(p, "control.pump_run", 1);
    assert_true(geti(p, "control.dose_out") > 0);
    assert_true(geti(p, "control.pump_starts") >= 1);
    /* emergency stop: OFF at once */
    seti(p, "control.estop_ok", 0);
    prog_scans(p, 1, STEP);
    EXPECT_I(p, "control.mode_now", 0);
    EXPECT_I(p, "control.pump_run", 0);
    EXPECT_I(p, "control.dose_out", 0);
    prog_free(p);
}

/* ---- no allocation while scanning ---- */

static void no_allocation(const char *rel)
{
    if (access(tu_path(rel), R_OK) != 0) {
        print_message("(%s absent: skipped)\n", rel);
        return;
    }
    struct prog *p = prog_file(rel);
    size_t ntasks = st_image_ntasks(p->img);
    /* a first scan of each task, outside the count */
    for (size_t t = 0; t < ntasks; t++)
        st_vm_run_task(p->vm, t, 0, 0, NULL, &p->fault);
    uint64_t before = st_alloc_count();
#ifndef __SANITIZE_ADDRESS__
    struct mallinfo2 m0 = mallinfo2();
#endif
    struct st_fault f;
    int faults = 0;
    for (int k = 1; k <= 10000; k++)
        for (size_t t = 0; t < ntasks; t++)
            faults += st_vm_run_task(p->vm, t, k * STEP, 1000000, NULL, &f) != 0;
#ifndef __SANITIZE_ADDRESS__
    struct mallinfo2 m1 = mallinfo2();
    assert_int_equal(m1.uordblks, m0.uordblks);
    assert_int_equal(m1.hblkhd, m0.hblkhd);
#endif
    assert_int_equal(st_alloc_count(), before);
    assert_int_equal(faults, 0);
    prog_free(p);
}

static void zero_allocations(void **state)
{
    (void)state;
    no_allocation("tests/st/programs/plant_control.st");
    no_allocation("tests/st/programs/openplc_generated.st");
    no_allocation("programs/waterworks.st");
    no_allocation("programs/sis.st");
}

/* ---- OpenPLC's generated form ---- */

static void openplc_generated(void **state)
{
    (void)state;
    struct prog *p = prog_file("tests/st/programs/openplc_generated.st");
    assert_int_equal(st_image_ntasks(p->img), 1);
    const struct st_task_info *ti = st_image_task(p->img, 0);
    assert_string_equal(ti->name, "task0");
    assert_int_equal(ti->interval, 100 * VT_MS);
    assert_string_equal(ti->programs[0], "instance0");
    /* located variables as the runtime sees them */
    bool run_bit = false;
    for (size_t i = 0; i < st_image_nlocated(p->img); i++) {
        const struct st_located *l = st_image_located(p->img, i);
        if (!strcmp(l->name, "run_bit")) {
            run_bit = true;
            assert_int_equal(l->addr.area, 'Q');
            assert_int_equal(l->addr.index, 100);
            assert_int_equal(st_vm_memory(p->vm)[l->offset], 1);
        }
    }
    assert_true(run_bit);
    seti(p, "instance0.level_sensor", 27648 * 9 / 10);
    prog_scans(p, 1, STEP);
    EXPECT_I(p, "instance0.pump", 0);
    EXPECT_I(p, "instance0.level_pct", 90);
    EXPECT_I(p, "instance0.high_level", 1);
    seti(p, "instance0.start_button", 1);
    prog_scans(p, 1, STEP);
    seti(p, "instance0.start_button", 0);
    EXPECT_I(p, "instance0.pump", 1);
    EXPECT_I(p, "instance0.starts", 1);
    prog_scans(p, 19, STEP);
    EXPECT_I(p, "instance0.pump_delayed", 0);
    prog_scans(p, 1, STEP);
    EXPECT_I(p, "instance0.pump_delayed", 1); /* 2 s after the start */
    EXPECT_I(p, "instance0.valve", 0);        /* high level: SEL gives 0 */
    seti(p, "instance0.level_sensor", 27648 / 2);
    prog_scans(p, 1, STEP);
    EXPECT_I(p, "instance0.valve", 5000);
    EXPECT_I(p, "ticks", 22);
    prog_scans(p, 78, STEP);
    EXPECT_I(p, "ticks", 100);
    EXPECT_I(p, "instance0.seconds", 10);
    seti(p, "instance0.stop_button", 1);
    prog_scans(p, 1, STEP);
    EXPECT_I(p, "instance0.pump", 0);
    prog_free(p);
}

/* ---- faults ---- */

static void fault_division(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : INT := 10; b : INT; c : INT; n : INT; END_VAR\n"
        "n := n + 1;\n"
        "c := a / b;\n"
        "END_PROGRAM\n");
    assert_int_equal(prog_try(p, 0, 0), -1);
    assert_int_equal(p->fault.kind, ST_FAULT_DIV_ZERO);
    assert_string_equal(p->fault.pou, "main");
    assert_int_equal(p->fault.line, 4);
    assert_string_equal(p->fault.msg, "division by zero in main at line 4");
    /* the VM stays usable: fix the input and run again */
    seti(p, "main.b", 2);
    prog_scan(p, 0);
    EXPECT_I(p, "main.c", 5);
    EXPECT_I(p, "main.n", 2);
    /* MOD and 64-bit division fault the same way */
    struct prog *q = prog_new("PROGRAM m VAR a : LINT; z : LINT; r : ULINT; u : ULINT; END_VAR\n"
                              "r := u MOD r;\nEND_PROGRAM\n");
    assert_int_equal(prog_try(q, 0, 0), -1);
    assert_int_equal(q->fault.kind, ST_FAULT_DIV_ZERO);
    assert_int_equal(q->fault.line, 2);
    prog_free(q);
    prog_free(p);
}

static void fault_bounds(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "FUNCTION_BLOCK filler\n"
        "  VAR_INPUT n : INT; END_VAR\n"
        "  VAR buf : ARRAY[1..10] OF REAL; i : INT; END_VAR\n"
        "  FOR i := 1 TO n DO\n"
        "    buf[i] := INT_TO_REAL(i);\n"
        "  END_FOR;\n"
        "END_FUNCTION_BLOCK\n"
        "PROGRAM main\n"
        "VAR f : filler; n : INT := 10; g : ARRAY[0..2, 0..2] OF DINT; i : DINT; END_VAR\n"
        "f(n := n);\n"
        "g[i, 1] := 1;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_F(p, "main.f.buf[10]", 10.0, 0);
    seti(p, "main.n", 11);
    assert_int_equal(prog_try(p, 0, 0), -1);
    assert_int_equal(p->fault.kind, ST_FAULT_BOUNDS);
    assert_string_equal(p->fault.pou, "filler");
    assert_int_equal(p->fault.line, 5);
    assert_string_equal(p->fault.msg, "array index 11 outside 1..10 in filler at line 5");
    seti(p, "main.n", 3);
    seti(p, "main.i", -1);
    assert_int_equal(prog_try(p, 0, 0), -1);
    assert_int_equal(p->fault.kind, ST_FAULT_BOUNDS);
    assert_string_equal(p->fault.pou, "main");
    assert_int_equal(p->fault.line, 11);
    seti(p, "main.i", 2);
    prog_scan(p, 0);
    EXPECT_I(p, "main.g[2,1]", 1);
    prog_free(p);
}

static void fault_watchdog(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR n : DINT; forever : BOOL; END_VAR\n"
        "n := n + 1;\n"
        "WHILE forever DO\n"
        "END_WHILE;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    seti(p, "main.forever", 1);
    assert_int_equal(prog_try(p, 0, 100000), -1);
    assert_int_equal(p->fault.kind, ST_FAULT_WATCHDOG);
    assert_string_equal(p->fault.pou, "main");
    assert_int_equal(p->fault.line, 4);
    assert_int_equal(p->executed, 100000);
    TU_CONTAINS(p->fault.msg, "watchdog");
    /* a restart makes the VM usable again */
    st_vm_restart(p->vm, 1);
    EXPECT_I(p, "main.forever", 0);
    EXPECT_I(p, "main.n", 0);
    prog_scan(p, 0);
    EXPECT_I(p, "main.n", 1);
    /* WHILE TRUE faults too (never hangs) */
    struct prog *q = prog_new("PROGRAM m VAR x : INT; END_VAR WHILE TRUE DO x := x + 1; END_WHILE; END_PROGRAM\n");
    assert_int_equal(prog_try(q, 0, 5000), -1);
    assert_int_equal(q->fault.kind, ST_FAULT_WATCHDOG);
    prog_free(q);
    /* REPEAT UNTIL FALSE, and a FOR whose counter wraps */
    q = prog_new("PROGRAM m VAR x : SINT; END_VAR FOR x := 0 TO 127 DO END_FOR; END_PROGRAM\n");
    assert_int_equal(prog_try(q, 0, 5000), -1);
    assert_int_equal(q->fault.kind, ST_FAULT_WATCHDOG);
    prog_free(q);
    prog_free(p);
}

static void instruction_count(void **state)
{
    (void)state;
    struct prog *p = prog_file("tests/st/programs/plant_control.st");
    uint64_t first = 0;
    for (int k = 0; k < 3; k++) {
        st_vm_restart(p->vm, 1);
        assert_int_equal(prog_try(p, 0, 0), 0);
        if (k == 0)
            first = p->executed;
        assert_int_equal(p->executed, first);
    }
    assert_true(first > 50 && first < 2000);
    /* a budget of exactly what the scan needs is enough; one less is not */
    st_vm_restart(p->vm, 1);
    assert_int_equal(prog_try(p, 0, first), 0);
    st_vm_restart(p->vm, 1);
    assert_int_equal(prog_try(p, 0, first - 1), -1);
    assert_int_equal(p->fault.kind, ST_FAULT_WATCHDOG);
    /* a straight-line program counts each instruction */
    struct prog *q = prog_new("PROGRAM m VAR a : INT; b : INT; END_VAR a := a + 1; b := a * 2; END_PROGRAM\n");
    assert_int_equal(prog_try(q, 0, 0), 0);
    assert_int_equal(q->executed, 3); /* ADD, MUL, RET */
    prog_free(q);
    prog_free(p);
}

/* ---- restarts and retained variables ---- */

static const char *retain_prog =
    "VAR_GLOBAL RETAIN g_total : DINT; END_VAR\n"
    "VAR_GLOBAL g_volatile : DINT := 7; END_VAR\n"
    "FUNCTION_BLOCK meter\n"
    "  VAR RETAIN hours : DINT; END_VAR\n"
    "  VAR scratch : DINT; END_VAR\n"
    "  hours := hours + 1; scratch := scratch + 1;\n"
    "END_FUNCTION_BLOCK\n"
    "PROGRAM main\n"
    "VAR RETAIN kept : INT; END_VAR\n"
    "VAR lost : INT := 3; m : meter; END_VAR\n"
    "VAR_EXTERNAL g_total : DINT; g_volatile : DINT; END_VAR\n"
    "kept := kept + 1; lost := lost + 1; g_total := g_total + 10; g_volatile := g_volatile + 1;\n"
    "m();\n"
    "END_PROGRAM\n";

static void restarts(void **state)
{
    (void)state;
    struct prog *p = prog_new(retain_prog);
    prog_scans(p, 3, STEP);
    EXPECT_I(p, "main.kept", 3);
    EXPECT_I(p, "main.lost", 6);
    EXPECT_I(p, "g_total", 30);
    EXPECT_I(p, "main.m.hours", 3);
    EXPECT_I(p, "main.m.scratch", 3);
    st_vm_restart(p->vm, 0); /* warm */
    EXPECT_I(p, "main.kept", 3);
    EXPECT_I(p, "main.lost", 3);
    EXPECT_I(p, "g_total", 30);
    EXPECT_I(p, "g_volatile", 7);
    EXPECT_I(p, "main.m.hours", 3);
    EXPECT_I(p, "main.m.scratch", 0);
    st_vm_restart(p->vm, 1); /* cold */
    EXPECT_I(p, "main.kept", 0);
    EXPECT_I(p, "g_total", 0);
    EXPECT_I(p, "main.m.hours", 0);
    prog_free(p);
}

static void retain_save_load(void **state)
{
    (void)state;
    struct prog *p = prog_new(retain_prog);
    prog_scans(p, 5, STEP);
    size_t n = st_vm_retain_size(p->vm);
    assert_int_equal(n, 4 + 4 + 2); /* g_total, m.hours, kept */
    uint8_t buf[64];
    st_vm_retain_save(p->vm, buf);
    /* another VM of the same image (another process after a restart) */
    struct err e;
    struct st_vm *vm2 = st_vm_new(p->img, &e);
    assert_non_null(vm2);
    st_vm_retain_load(vm2, buf);
    struct st_ref r;
    assert_int_equal(st_vm_lookup(vm2, "main.kept", &r, &e), 0);
    assert_int_equal(st_vm_get_i(vm2, &r), 5);
    assert_int_equal(st_vm_lookup(vm2, "g_total", &r, &e), 0);
    assert_int_equal(st_vm_get_i(vm2, &r), 50);
    assert_int_equal(st_vm_lookup(vm2, "main.lost", &r, &e), 0);
    assert_int_equal(st_vm_get_i(vm2, &r), 3);
    st_vm_free(vm2);
    prog_free(p);
}

static void retain_program_instance(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM counter VAR n : INT; END_VAR n := n + 1; END_PROGRAM\n"
        "CONFIGURATION c RESOURCE r ON PLC TASK t(INTERVAL := T#1s);\n"
        "  PROGRAM RETAIN keep WITH t : counter;\n"
        "  PROGRAM drop WITH t : counter;\n"
        "END_RESOURCE END_CONFIGURATION\n");
    prog_scans(p, 4, STEP);
    st_vm_restart(p->vm, 0);
    EXPECT_I(p, "keep.n", 4);
    EXPECT_I(p, "drop.n", 0);
    prog_free(p);
}

/* ---- lookups by name ---- */

static void lookups(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE Pt : STRUCT x : REAL; y : REAL; END_STRUCT; END_TYPE\n"
        "VAR_GLOBAL g : ARRAY[1..2] OF Pt; END_VAR\n"
        "PROGRAM main VAR t : TON; s : STRING[12] := 'abc'; m : ARRAY[0..1, 0..1] OF INT;\n"
        "  r : LREAL; tm : TIME; END_VAR\n"
        "t(IN := TRUE, PT := T#1s);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    struct st_ref r;
    struct err e;
    assert_int_equal(st_vm_lookup(p->vm, "MAIN.T.pt", &r, &e), 0);
    assert_int_equal(r.type, ST_TIME);
    assert_int_equal(r.size, 8);
    assert_int_equal(st_vm_get_i(p->vm, &r), VT_SEC);
    assert_int_equal(st_vm_lookup(p->vm, "main.s", &r, &e), 0);
    assert_int_equal(r.type, ST_STRING);
    assert_int_equal(r.size, 13);
    st_vm_set_s(p->vm, &r, "a much longer string");
    EXPECT_S(p, "main.s", "a much longe");
    assert_int_equal(st_vm_lookup(p->vm, "g[2].y", &r, &e), 0);
    assert_int_equal(r.type, ST_REAL);
    st_vm_set_f(p->vm, &r, 2.5);
    EXPECT_F(p, "g[2].y", 2.5, 0);
    assert_int_equal(st_vm_lookup(p->vm, "main.m[1, 0]", &r, &e), 0);
    assert_int_equal(r.type, ST_INT);
    assert_int_equal(st_vm_lookup(p->vm, "main.t", &r, &e), 0);
    assert_int_equal(r.type, ST_DERIVED);
    setf(p, "main.tm", 1.5e9);
    EXPECT_I(p, "main.tm", 1500 * VT_MS);
    const char *bad[] = {"nothing", "main.nothing", "main.m[2,0]", "main.m[1]", "main.t.Q.x",
                         "g[1].z", "main.", "main.r[1]", "", "main.s)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (st_vm_lookup(p->vm, bad[i], &r, &e) == 0)
            fail_msg("'%s' found", bad[i]);
    assert_int_equal(st_vm_lookup(p->vm, "main.m[2,0]", &r, &e), -1);
    TU_CONTAINS(e.msg, "outside 0..1");
    prog_free(p);
}

static void bad_task(void **state)
{
    (void)state;
    struct prog *p = prog_new("PROGRAM m VAR x : INT; END_VAR x := 1; END_PROGRAM\n");
    struct st_fault f;
    uint64_t ex = 99;
    assert_int_equal(st_vm_run_task(p->vm, 5, 0, 0, &ex, &f), -1);
    assert_int_equal(f.kind, ST_FAULT_OTHER);
    assert_int_equal(ex, 0);
    prog_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plant_control),
        cmocka_unit_test(zero_allocations),
        cmocka_unit_test(openplc_generated),
        cmocka_unit_test(fault_division),
        cmocka_unit_test(fault_bounds),
        cmocka_unit_test(fault_watchdog),
        cmocka_unit_test(instruction_count),
        cmocka_unit_test(restarts),
        cmocka_unit_test(retain_save_load),
        cmocka_unit_test(retain_program_instance),
        cmocka_unit_test(lookups),
        cmocka_unit_test(bad_task),
    };
    return cmocka_run_group_tests_name("st_vm", tests, NULL, NULL);
}
