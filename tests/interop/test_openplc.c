/* test_openplc.c — a program in the exact form the OpenPLC editor
 * generates (CONFIGURATION / RESOURCE / TASK, located variables, operators
 * turned into function calls with EN/ENO and _TMP_ variables, function
 * blocks called with formal arguments) runs unchanged under
 * `icsrange plc run`, and mbpoll (a libmodbus master) reads its outputs at
 * the OpenPLC addresses: %QX0.0 = coil 0, %QX1.3 = coil 11, %QW0 =
 * holding register 0, %MW2 = 1026, %MD0 = 2048-2049 (a REAL, high word
 * first). A write with mbpoll to %MW0 reaches the program between scans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop.h"
#include "testutil.h"

/* What the OpenPLC editor writes for a small ladder/FBD program. */
static const char openplc_program[] =
    "PROGRAM prog0\n"
    "  VAR\n"
    "    start_button AT %IX0.0 : BOOL;\n"
    "    stop_button AT %IX0.1 : BOOL;\n"
    "    motor AT %QX0.0 : BOOL;\n"
    "    lamp AT %QX1.3 : BOOL;\n"
    "    answer AT %QW0 : INT;\n"
    "    setpoint AT %MW0 : INT := 5;\n"
    "    doubled AT %MW2 : INT;\n"
    "    rate AT %MD0 : REAL;\n"
    "  END_VAR\n"
    "  VAR\n"
    "    TON0 : TON;\n"
    "    R_TRIG1 : R_TRIG;\n"
    "    _TMP_NOT3_OUT : BOOL;\n"
    "    _TMP_OR4_OUT : BOOL;\n"
    "    _TMP_AND5_OUT : BOOL;\n"
    "    _TMP_ADD7_ENO : BOOL;\n"
    "    _TMP_ADD7_OUT : INT;\n"
    "    _TMP_MUL8_ENO : BOOL;\n"
    "    _TMP_MUL8_OUT : INT;\n"
    "    _TMP_MOD63_ENO : BOOL;\n"
    "    _TMP_MOD63_OUT : DINT;\n"
    "    _TMP_DIV9_OUT : REAL;\n"
    "    _TMP_INT_TO_REAL10_OUT : REAL;\n"
    "    Input : DINT := 90000;\n"
    "  END_VAR\n"
    "\n"
    "  _TMP_NOT3_OUT := NOT(stop_button);\n"
    "  _TMP_OR4_OUT := OR(start_button, _TMP_NOT3_OUT);\n"
    "  _TMP_AND5_OUT := AND(_TMP_OR4_OUT, _TMP_NOT3_OUT);\n"
    "  motor := _TMP_AND5_OUT;\n"
    "  TON0(IN := motor, PT := T#100ms);\n"
    "  R_TRIG1(CLK := TON0.Q);\n"
    "  IF TON0.Q THEN\n"
    "    lamp := TRUE;\n"
    "  END_IF;\n"
    "  _TMP_ADD7_OUT := ADD(EN := TRUE, IN1 := 40, IN2 := 2, ENO => _TMP_ADD7_ENO);\n"
    "  IF _TMP_ADD7_ENO THEN\n"
    "    answer := _TMP_ADD7_OUT;\n"
    "  END_IF;\n"
    "  _TMP_MUL8_OUT := MUL(EN := TRUE, IN1 := setpoint, IN2 := 2, ENO => _TMP_MUL8_ENO);\n"
    "  doubled := _TMP_MUL8_OUT;\n"
    "  _TMP_MOD63_OUT := MOD(EN := TRUE, IN1 := Input, IN2 := 86400, ENO => _TMP_MOD63_ENO);\n"
    "  _TMP_INT_TO_REAL10_OUT := INT_TO_REAL(DINT_TO_INT(_TMP_MOD63_OUT));\n"
    "  _TMP_DIV9_OUT := DIV(_TMP_INT_TO_REAL10_OUT, 1200.0);\n"
    "  rate := _TMP_DIV9_OUT;\n"
    "END_PROGRAM\n"
    "\n"
    "\n"
    "CONFIGURATION Config0\n"
    "\n"
    "  RESOURCE Res0 ON PLC\n"
    "    TASK task0(INTERVAL := T#20ms,PRIORITY := 0);\n"
    "    PROGRAM instance0 WITH task0 : prog0;\n"
    "  END_RESOURCE\n"
    "END_CONFIGURATION\n";

static struct server plc;

static void start_plc(void)
{
    const char *path = tu_write_tmp("prog0.st", openplc_program);
    const char *args[] = {"plc", "run", path, "--modbus", "127.0.0.1:0", "--no-password", NULL};
    char *why;
    if (proc_try_start(&plc, args, &why) != 0)
        fail_msg("plc run exited before listening:\n%s", clip(why));
}

/* Runs mbpoll with options `args` against the PLC, then `values` to write
 * (NULL: a read); returns its output (held). */
static char *mbpoll_run(const char *const *args, const char *const *values)
{
    char port[16];
    snprintf(port, sizeof port, "%d", plc.port);
    const char *argv[32] = {"mbpoll", "-m", "tcp", "-p", port, "-a", "1", "-0", "-1"};
    size_t n = 9;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = "127.0.0.1";
    for (size_t i = 0; values && values[i]; i++)
        argv[n++] = values[i];
    argv[n] = NULL;
    struct tu_run r = held_run(tu_exec(argv));
    if (r.status != 0) {
        char cmd[512] = "";
        for (size_t i = 0; argv[i]; i++)
            snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s ", argv[i]);
        fail_msg("%s exited %d:\n%s%s", cmd, r.status, clip(r.out), clip(r.err));
    }
    return r.out;
}

static char *poll(const char *const *args)
{
    return mbpoll_run(args, NULL);
}

static void outputs_at_openplc_addresses(void **state)
{
    (void)state;
    start_plc();
    sleep_ms(300); /* more than the TON's 100 ms */
    char *out = poll((const char *[]){"-t", "0", "-r", "0", "-c", "1", NULL});
    TU_CONTAINS(out, "[0]: \t1");                      /* motor = %QX0.0 */
    out = poll((const char *[]){"-t", "0", "-r", "11", "-c", "1", NULL});
    TU_CONTAINS(out, "[11]: \t1");                     /* lamp = %QX1.3 */
    out = poll((const char *[]){"-t", "4", "-r", "0", "-c", "1", NULL});
    TU_CONTAINS(out, "[0]: \t42");                     /* answer = %QW0 */
    out = poll((const char *[]){"-t", "4", "-r", "1026", "-c", "1", NULL});
    TU_CONTAINS(out, "[1026]: \t10");                  /* doubled = %MW2 */
    /* %MD0: 90000 MOD 86400 = 3600, / 1200 = 3.0, high word first */
    out = poll((const char *[]){"-t", "4:float", "-B", "-r", "2048", "-c", "1", NULL});
    TU_CONTAINS(out, "[2048]: \t3");
    /* a write to %MW0 lands between scans and the program uses it */
    mbpoll_run((const char *[]){"-t", "4", "-r", "1024", NULL}, (const char *[]){"7", NULL});
    sleep_ms(100);
    out = poll((const char *[]){"-t", "4", "-r", "1026", "-c", "1", NULL});
    TU_CONTAINS(out, "[1026]: \t14");
    char *log = server_stop(&plc);
    TU_CONTAINS(log, "installed");
    TU_CONTAINS(log, "stopped:");
    release(log);
}

/* `plc check` accepts the generated form; `plc disasm` shows it. */
static void check_and_disasm(void **state)
{
    (void)state;
    const char *path = tu_write_tmp("prog0.st", openplc_program);
    struct tu_run r = held_run(tu_icsrange("plc", "check", path, NULL));
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.err, "ok");
    r = held_run(tu_icsrange("plc", "disasm", path, NULL));
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.out, "PROGRAM prog0");
    TU_CONTAINS(r.out, "task0");
    /* a broken program: exit 1 and a message with line and column */
    const char *bad = tu_write_tmp("bad.st", "PROGRAM x\n  VAR a : INT; END_VAR\n"
                                             "  IF a > 1 THEN\n    a := 2;\nEND_PROGRAM\n");
    r = held_run(tu_icsrange("plc", "check", bad, NULL));
    assert_int_equal(r.status, 1);
    TU_CONTAINS(r.err, "bad.st:5:1:");
    TU_CONTAINS(r.err, "END_IF expected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(outputs_at_openplc_addresses, kill_servers),
        cmocka_unit_test_teardown(check_and_disasm, kill_servers),
    };
    return cmocka_run_group_tests_name("openplc", tests, NULL, NULL);
}
