/* test_stdlib.c — the standard library: type conversions, the operator
 * functions with EN/ENO and extensible inputs, numeric, bit, selection and
 * string functions, and the standard function blocks: timers checked
 * against the IEC timing diagrams on the virtual clock (sampled every 100
 * ms), counters, edges, bistables, and PID, RAMP, HYSTERESIS, INTEGRAL,
 * DERIVATIVE with the interfaces of OpenPLC's library. */
#include "sttest.h"

static void conversions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR r1 : INT; r2 : INT; r3 : INT; r4 : INT; r5 : DINT; r6 : UINT; r7 : BYTE;\n"
        "    f1 : REAL; f2 : LREAL; b1 : BOOL; b2 : BOOL; i1 : INT; t1 : TIME; t2 : TIME;\n"
        "    s1 : STRING; s2 : STRING; s3 : STRING; s4 : STRING; s5 : STRING; s6 : STRING;\n"
        "    x1 : DINT; x2 : REAL; x3 : BOOL; x4 : TIME; tr : DINT; tr2 : INT; w : WORD;\n"
        "    secs : DINT; secr : REAL; u8 : USINT; neg : SINT; l1 : LINT; sm : SINT;\n"
        "END_VAR\n"
        "r1 := REAL_TO_INT(2.5); r2 := REAL_TO_INT(3.5); r3 := REAL_TO_INT(-2.5);\n"
        "r4 := REAL_TO_INT(2.4); r5 := LREAL_TO_DINT(-7.6); r6 := REAL_TO_UINT(-3.0);\n"
        "r7 := LREAL_TO_BYTE(255.4);\n"
        "f1 := INT_TO_REAL(-3); f2 := DINT_TO_LREAL(123456789);\n"
        "b1 := INT_TO_BOOL(5); b2 := REAL_TO_BOOL(0.0); i1 := BOOL_TO_INT(TRUE);\n"
        "t1 := DINT_TO_TIME(5); t2 := REAL_TO_TIME(1.5);\n"
        "secs := TIME_TO_DINT(T#2m30s500ms); secr := TIME_TO_REAL(T#1500ms);\n"
        "s1 := INT_TO_STRING(-42); s2 := REAL_TO_STRING(1.5); s3 := BOOL_TO_STRING(TRUE);\n"
        "s4 := TIME_TO_STRING(T#1h2m3s); s5 := WORD_TO_STRING(WORD#16#BEEF);\n"
        "s6 := UDINT_TO_STRING(4000000000);\n"
        "x1 := STRING_TO_DINT('-1234'); x2 := STRING_TO_REAL('2.25');\n"
        "x3 := STRING_TO_BOOL('TRUE'); x4 := STRING_TO_TIME('T#2s');\n"
        "tr := TRUNC(-2.7); tr2 := REAL_TRUNC_INT(9.99);\n"
        "w := INT_TO_WORD(-1); u8 := INT_TO_USINT(300); neg := USINT_TO_SINT(200);\n"
        "l1 := TO_LINT(INT#7); sm := DINT_TO_SINT(DINT#-129);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.r1", 2); /* ties to even, as OpenPLC */
    EXPECT_I(p, "main.r2", 4);
    EXPECT_I(p, "main.r3", -2);
    EXPECT_I(p, "main.r4", 2);
    EXPECT_I(p, "main.r5", -8);
    EXPECT_I(p, "main.r6", 0);
    EXPECT_I(p, "main.r7", 255);
    EXPECT_F(p, "main.f1", -3.0, 0);
    EXPECT_F(p, "main.f2", 123456789.0, 0);
    EXPECT_I(p, "main.b1", 1);
    EXPECT_I(p, "main.b2", 0);
    EXPECT_I(p, "main.i1", 1);
    EXPECT_I(p, "main.t1", 5 * VT_SEC); /* TIME conversions count seconds, as OpenPLC */
    EXPECT_I(p, "main.t2", 1500 * VT_MS);
    EXPECT_I(p, "main.secs", 150);
    EXPECT_F(p, "main.secr", 1.5, 0);
    EXPECT_S(p, "main.s1", "-42");
    EXPECT_S(p, "main.s2", "1.5");
    EXPECT_S(p, "main.s3", "TRUE");
    EXPECT_S(p, "main.s4", "T#1h2m3s");
    EXPECT_S(p, "main.s5", "16#beef");
    EXPECT_S(p, "main.s6", "4000000000");
    EXPECT_I(p, "main.x1", -1234);
    EXPECT_F(p, "main.x2", 2.25, 0);
    EXPECT_I(p, "main.x3", 1);
    EXPECT_I(p, "main.x4", 2 * VT_SEC);
    EXPECT_I(p, "main.tr", -2);
    EXPECT_I(p, "main.tr2", 9);
    EXPECT_I(p, "main.w", 0xFFFF);
    EXPECT_I(p, "main.u8", 44);
    EXPECT_I(p, "main.neg", -56);
    EXPECT_I(p, "main.l1", 7);
    EXPECT_I(p, "main.sm", 127);
    prog_free(p);
}

static void operator_functions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : INT := 7; b : INT := 3; s : INT; m : INT; d : INT; q : INT; e : LREAL;\n"
        "    s4 : INT; m3 : DINT; g1 : BOOL; g2 : BOOL; g3 : BOOL; e1 : BOOL; l1 : BOOL;\n"
        "    n1 : BOOL; an : BOOL; o3 : BOOL; x3 : WORD; nt : BOOL; mv : INT; eno : BOOL;\n"
        "    zero : INT; dz : INT := 99; dzeno : BOOL := TRUE; en : BOOL; skip : INT := 5;\n"
        "    skipeno : BOOL := TRUE; mz : INT; mzeno : BOOL := TRUE; ge : BOOL; le : BOOL;\n"
        "    lt : BOOL; t : TIME;\n"
        "END_VAR\n"
        "s := ADD(a, b); m := SUB(a, b); d := MUL(a, b); q := DIV(a, b); e := EXPT(2.0, 3);\n"
        "s4 := ADD(1, 2, 3, a); m3 := MUL(DINT#2, 3, 4);\n"
        "g1 := GT(a, b); g2 := GT(3, 2, 1); g3 := GT(3, 2, 2); e1 := EQ(a, 7, 7);\n"
        "l1 := LT(b, a); n1 := NE(a, b); ge := GE(a, 7, 7); le := LE(1, 2, 2, 3);\n"
        "lt := LT(1, 2, 1);\n"
        "an := AND(TRUE, g1, NOT g3); o3 := OR(FALSE, FALSE, e1); x3 := XOR(WORD#1, WORD#3, WORD#4);\n"
        "nt := NOT(g3);\n"
        "mv := MOVE(EN := TRUE, IN := 42, ENO => eno);\n"
        "dz := DIV(EN := TRUE, IN1 := a, IN2 := zero, ENO => dzeno);\n"
        "mz := MOD(IN1 := a, IN2 := zero, ENO => mzeno);\n"
        "skip := ADD(EN := en, IN1 := 1, IN2 := 2, ENO => skipeno);\n"
        "t := ADD(T#1s, T#2s);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.s", 10);
    EXPECT_I(p, "main.m", 4);
    EXPECT_I(p, "main.d", 21);
    EXPECT_I(p, "main.q", 2);
    EXPECT_F(p, "main.e", 8.0, 0);
    EXPECT_I(p, "main.s4", 13);
    EXPECT_I(p, "main.m3", 24);
    EXPECT_I(p, "main.g1", 1);
    EXPECT_I(p, "main.g2", 1);
    EXPECT_I(p, "main.g3", 0);
    EXPECT_I(p, "main.e1", 1);
    EXPECT_I(p, "main.l1", 1);
    EXPECT_I(p, "main.n1", 1);
    EXPECT_I(p, "main.ge", 1);
    EXPECT_I(p, "main.le", 1);
    EXPECT_I(p, "main.lt", 0);
    EXPECT_I(p, "main.an", 1);
    EXPECT_I(p, "main.o3", 1);
    EXPECT_I(p, "main.x3", 6);
    EXPECT_I(p, "main.nt", 1);
    EXPECT_I(p, "main.mv", 42);
    EXPECT_I(p, "main.eno", 1);
    /* a division by zero with ENO connected: ENO FALSE, result 0, no fault */
    EXPECT_I(p, "main.dz", 0);
    EXPECT_I(p, "main.dzeno", 0);
    EXPECT_I(p, "main.mz", 0);
    EXPECT_I(p, "main.mzeno", 0);
    EXPECT_I(p, "main.skip", 0);
    EXPECT_I(p, "main.skipeno", 0);
    EXPECT_I(p, "main.t", 3 * VT_SEC);
    prog_free(p);
}

static void numeric_functions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : LREAL; b : REAL; c : LREAL; d : LREAL; e : LREAL; f : LREAL; g : LREAL;\n"
        "    h : LREAL; i : LREAL; j : LREAL; k : LREAL; ab : INT; ab2 : REAL; ab3 : UINT := 5;\n"
        "    x : LREAL := 0.5;\n"
        "END_VAR\n"
        "a := SQRT(16.0); b := SQRT(REAL#2.0); c := LN(2.718281828459045); d := LOG(1000.0);\n"
        "e := EXP(0.0); f := SIN(0.0); g := COS(0.0); h := TAN(x); i := ASIN(x);\n"
        "j := ACOS(x); k := ATAN(1.0); ab := ABS(-5); ab2 := ABS(REAL#-2.5); ab3 := ABS(ab3);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_F(p, "main.a", 4.0, 0);
    EXPECT_F(p, "main.b", 1.41421354, 1e-7);
    EXPECT_F(p, "main.c", 1.0, 1e-15);
    EXPECT_F(p, "main.d", 3.0, 1e-15);
    EXPECT_F(p, "main.e", 1.0, 0);
    EXPECT_F(p, "main.f", 0.0, 0);
    EXPECT_F(p, "main.g", 1.0, 0);
    EXPECT_F(p, "main.h", tan(0.5), 1e-15);
    EXPECT_F(p, "main.i", asin(0.5), 1e-15);
    EXPECT_F(p, "main.j", acos(0.5), 1e-15);
    EXPECT_F(p, "main.k", atan(1.0), 1e-15);
    EXPECT_I(p, "main.ab", 5);
    EXPECT_F(p, "main.ab2", 2.5, 0);
    EXPECT_I(p, "main.ab3", 5);
    prog_free(p);
}

static void bit_functions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : BYTE; b : WORD; c : DWORD; d : LWORD; e : BYTE; f : WORD; g : BYTE; h : BYTE;\n"
        "    n : INT := 4;\n"
        "END_VAR\n"
        "a := SHL(BYTE#16#81, 1); b := SHR(WORD#16#8000, 15); c := ROL(DWORD#16#80000001, 1);\n"
        "d := ROR(LWORD#1, 1); e := ROL(BYTE#16#81, n); f := SHL(WORD#1, 16);\n"
        "g := ROR(BYTE#16#01, 9); h := SHR(IN := BYTE#16#F0, N := 4);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.a", 0x02);
    EXPECT_I(p, "main.b", 1);
    EXPECT_I(p, "main.c", 3);
    EXPECT_I(p, "main.d", INT64_MIN);
    EXPECT_I(p, "main.e", 0x18);
    EXPECT_I(p, "main.f", 0);
    EXPECT_I(p, "main.g", 0x80);
    EXPECT_I(p, "main.h", 0x0F);
    prog_free(p);
}

static void selection_functions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR s0 : INT; s1 : INT; m0 : INT; m2 : INT; mx : INT; mn : REAL; l1 : INT; l2 : REAL;\n"
        "    l3 : INT; g : BOOL; k : INT := 2; bad : INT; mxt : TIME; x : INT := 50;\n"
        "END_VAR\n"
        "s0 := SEL(g, 10, 20); s1 := SEL(G := NOT g, IN0 := 10, IN1 := 20);\n"
        "m0 := MUX(0, 5, 6, 7); m2 := MUX(k, 5, 6, 7); bad := MUX(K := 9, IN0 := 1, IN1 := 2);\n"
        "mx := MAX(3, 9, x, -1); mn := MIN(2.5, 1.5, 3.0);\n"
        "l1 := LIMIT(0, x, 10); l2 := LIMIT(MN := 0.0, IN := -1.0, MX := 1.0); l3 := LIMIT(0, 5, 10);\n"
        "mxt := MAX(T#1s, T#2s);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.s0", 10);
    EXPECT_I(p, "main.s1", 20);
    EXPECT_I(p, "main.m0", 5);
    EXPECT_I(p, "main.m2", 7);
    EXPECT_I(p, "main.bad", 0); /* out of range: 0, as OpenPLC */
    EXPECT_I(p, "main.mx", 50);
    EXPECT_F(p, "main.mn", 1.5, 0);
    EXPECT_I(p, "main.l1", 10);
    EXPECT_F(p, "main.l2", 0.0, 0);
    EXPECT_I(p, "main.l3", 5);
    EXPECT_I(p, "main.mxt", 2 * VT_SEC);
    prog_free(p);
}

static void string_functions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR s : STRING := 'Hello, world'; n : INT; l : STRING; r : STRING; m : STRING;\n"
        "    c : STRING; f : INT; f0 : INT; i : STRING; d : STRING; rp : STRING; c3 : STRING;\n"
        "    small : STRING[4]; e : STRING; m0 : STRING;\n"
        "END_VAR\n"
        "n := LEN(s); l := LEFT(s, 5); r := RIGHT(s, 5); m := MID(s, 5, 8);\n"
        "c := CONCAT('ab', 'cd'); c3 := CONCAT('a', 'b', 'c');\n"
        "f := FIND(s, 'world'); f0 := FIND(s, 'xyz');\n"
        "i := INSERT('abef', 'cd', 2); d := DELETE('abcdef', 2, 3);\n"
        "rp := REPLACE('abcdef', 'XY', 3, 2);\n"
        "small := CONCAT(s, s); e := LEFT(s, 0); m0 := MID(s, 3, 99);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.n", 12);
    EXPECT_S(p, "main.l", "Hello");
    EXPECT_S(p, "main.r", "world");
    EXPECT_S(p, "main.m", "world");
    EXPECT_S(p, "main.c", "abcd");
    EXPECT_S(p, "main.c3", "abc");
    EXPECT_I(p, "main.f", 8);
    EXPECT_I(p, "main.f0", 0);
    EXPECT_S(p, "main.i", "abcdef");
    EXPECT_S(p, "main.d", "abef"); /* DELETE(IN, L, P): L characters from P */
    EXPECT_S(p, "main.rp", "aXYef");
    EXPECT_S(p, "main.small", "Hell");
    EXPECT_S(p, "main.e", "");
    EXPECT_S(p, "main.m0", "");
    prog_free(p);
}

/* ---- timers against the IEC timing diagrams ---- */

#define STEP (100 * VT_MS)

static const char *timer_prog =
    "PROGRAM main\n"
    "VAR in1 : BOOL; ton1 : TON; off : TOF; pulse : TP; END_VAR\n"
    "ton1(IN := in1, PT := T#5s);\n"
    "off(IN := in1, PT := T#2s);\n"
    "pulse(IN := in1, PT := T#2s);\n"
    "END_PROGRAM\n";

/* IN as a function of time: a list of [start, end) intervals in ms. */
static bool in_at(const int64_t (*iv)[2], int n, vtime_t t)
{
    for (int i = 0; i < n; i++)
        if (t >= iv[i][0] * VT_MS && t < iv[i][1] * VT_MS)
            return true;
    return false;
}

static void ton_diagram(void **state)
{
    (void)state;
    struct prog *p = prog_new(timer_prog);
    /* long pulse (Q at t0+PT until IN falls), short pulse (no Q) */
    static const int64_t iv[][2] = {{1000, 8000}, {10000, 12000}, {14000, 20000}};
    vtime_t rise = -1;
    for (int k = 0; k <= 220; k++) {
        vtime_t t = k * STEP;
        bool in = in_at(iv, 3, t);
        seti(p, "main.in1", in);
        prog_scan(p, t);
        if (in && rise < 0)
            rise = t;
        if (!in)
            rise = -1;
        vtime_t et = in ? (t - rise < 5 * VT_SEC ? t - rise : 5 * VT_SEC) : 0;
        bool q = in && t - rise >= 5 * VT_SEC;
        if (geti(p, "main.ton1.Q") != q || geti(p, "main.ton1.ET") != et)
            fail_msg("TON at %lld ms: Q %lld ET %lld, expected Q %d ET %lld", (long long)(t / VT_MS),
                     (long long)geti(p, "main.ton1.Q"), (long long)geti(p, "main.ton1.ET"), q,
                     (long long)et);
    }
    prog_free(p);
}

static void tof_diagram(void **state)
{
    (void)state;
    struct prog *p = prog_new(timer_prog);
    /* Q on with IN; off PT after IN falls; a new rise within PT keeps Q */
    static const int64_t iv[][2] = {{1000, 3000}, {6000, 6500}, {10000, 11000}, {12000, 13000}};
    vtime_t fall = -1;
    bool was_on = false;
    for (int k = 0; k <= 180; k++) {
        vtime_t t = k * STEP;
        bool in = in_at(iv, 4, t);
        seti(p, "main.in1", in);
        prog_scan(p, t);
        bool q;
        vtime_t et;
        if (in) {
            q = true;
            et = 0;
            fall = -1;
            was_on = true;
        } else if (was_on) {
            if (fall < 0)
                fall = t;
            et = t - fall < 2 * VT_SEC ? t - fall : 2 * VT_SEC;
            q = t - fall < 2 * VT_SEC;
            if (!q)
                was_on = false;
        } else {
            q = false;
            et = fall < 0 ? 0 : 2 * VT_SEC;
        }
        if (geti(p, "main.off.Q") != q || geti(p, "main.off.ET") != et)
            fail_msg("TOF at %lld ms: Q %lld ET %lld, expected Q %d ET %lld",
                     (long long)(t / VT_MS), (long long)geti(p, "main.off.Q"),
                     (long long)geti(p, "main.off.ET"), q, (long long)et);
    }
    prog_free(p);
}

static void tp_diagram(void **state)
{
    (void)state;
    struct prog *p = prog_new(timer_prog);
    /* a long IN (Q for PT, ET holds PT while IN), a short IN (Q for the full
     * PT), and a rise during a pulse (ignored: not retriggerable) */
    static const int64_t iv[][2] = {{1000, 5000}, {6000, 6300}, {7000, 7200}, {9000, 9100}};
    vtime_t start = -1;
    bool prev = false, pulsing = false;
    for (int k = 0; k <= 120; k++) {
        vtime_t t = k * STEP;
        bool in = in_at(iv, 4, t);
        seti(p, "main.in1", in);
        prog_scan(p, t);
        vtime_t et = 0;
        if (pulsing) {
            et = t - start;
            if (et >= 2 * VT_SEC) {
                et = 2 * VT_SEC;
                pulsing = false;
            }
        } else if (in && !prev) {
            start = t;
            pulsing = true;
            et = 0;
        }
        if (!pulsing) {
            if (in && start >= 0)
                et = 2 * VT_SEC;
            else
                et = 0;
        }
        prev = in;
        if (geti(p, "main.pulse.Q") != pulsing || geti(p, "main.pulse.ET") != et)
            fail_msg("TP at %lld ms: Q %lld ET %lld, expected Q %d ET %lld",
                     (long long)(t / VT_MS), (long long)geti(p, "main.pulse.Q"),
                     (long long)geti(p, "main.pulse.ET"), pulsing, (long long)et);
    }
    prog_free(p);
}

static void ton_sampled_every_100ms(void **state)
{
    (void)state;
    /* the brief's case: PT 5 s, IN from 0, samples every 100 ms */
    struct prog *p = prog_new(
        "PROGRAM main VAR t : TON; in1 : BOOL := TRUE; END_VAR\n"
        "t(IN := in1, PT := T#5s); END_PROGRAM\n");
    for (int k = 0; k <= 60; k++) {
        prog_scan(p, k * STEP);
        EXPECT_I(p, "main.t.Q", k >= 50);
        EXPECT_I(p, "main.t.ET", (k < 50 ? k : 50) * STEP);
    }
    seti(p, "main.in1", 0);
    prog_scan(p, 61 * STEP);
    EXPECT_I(p, "main.t.Q", 0);
    EXPECT_I(p, "main.t.ET", 0);
    prog_free(p);
}

static void counters(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR cu : BOOL; cd : BOOL; r : BOOL; ld : BOOL; up : CTU; dn : CTD; ud : CTUD;\n"
        "    big : CTU_DINT; ul : CTD_ULINT;\n"
        "END_VAR\n"
        "up(CU := cu, R := r, PV := 3);\n"
        "dn(CD := cd, LD := ld, PV := 2);\n"
        "ud(CU := cu, CD := cd, R := r, LD := ld, PV := 2);\n"
        "big(CU := cu, R := r, PV := 100000);\n"
        "ul(CD := cd, LD := ld, PV := 5);\n"
        "END_PROGRAM\n");
    /* rising edges count; holding CU does not */
    for (int k = 0; k < 5; k++) {
        seti(p, "main.cu", 1);
        prog_scan(p, 0);
        prog_scan(p, 0);
        seti(p, "main.cu", 0);
        prog_scan(p, 0);
    }
    EXPECT_I(p, "main.up.CV", 3); /* stops at PV, as OpenPLC */
    EXPECT_I(p, "main.up.Q", 1);
    EXPECT_I(p, "main.big.CV", 5);
    EXPECT_I(p, "main.ud.CV", 2);
    EXPECT_I(p, "main.ud.QU", 1);
    seti(p, "main.r", 1);
    prog_scan(p, 0);
    seti(p, "main.r", 0);
    EXPECT_I(p, "main.up.CV", 0);
    EXPECT_I(p, "main.up.Q", 0);
    EXPECT_I(p, "main.ud.QD", 1);
    /* CTD: load, then count down to 0 and stay */
    seti(p, "main.ld", 1);
    prog_scan(p, 0);
    seti(p, "main.ld", 0);
    EXPECT_I(p, "main.dn.CV", 2);
    EXPECT_I(p, "main.dn.Q", 0);
    EXPECT_I(p, "main.ul.CV", 5);
    for (int k = 0; k < 3; k++) {
        seti(p, "main.cd", 1);
        prog_scan(p, 0);
        seti(p, "main.cd", 0);
        prog_scan(p, 0);
    }
    EXPECT_I(p, "main.dn.CV", 0);
    EXPECT_I(p, "main.dn.Q", 1);
    EXPECT_I(p, "main.ul.CV", 2);
    EXPECT_I(p, "main.ud.CV", 0);
    prog_free(p);
}

static void edges_and_bistables(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR clk : BOOL; re : R_TRIG; fe : F_TRIG; s : BOOL; r : BOOL; sr : SR; rs : RS;\n"
        "    rq : BOOL; fq : BOOL;\n"
        "END_VAR\n"
        "re(CLK := clk); fe(CLK := clk); rq := re.Q; fq := fe.Q;\n"
        "sr(S1 := s, R := r); rs(S := s, R1 := r);\n"
        "END_PROGRAM\n");
    /* clk: 0 1 1 0 0 1 */
    int clk[] = {0, 1, 1, 0, 0, 1};
    int rq[] = {0, 1, 0, 0, 0, 1};
    int fq[] = {1, 0, 0, 1, 0, 0}; /* F_TRIG pulses at the first call with CLK FALSE, as IEC/OpenPLC */
    for (int k = 0; k < 6; k++) {
        seti(p, "main.clk", clk[k]);
        prog_scan(p, 0);
        EXPECT_I(p, "main.rq", rq[k]);
        EXPECT_I(p, "main.fq", fq[k]);
    }
    /* bistables: set, hold, reset, both (SR: set wins, RS: reset wins) */
    int s[] = {1, 0, 0, 1, 0};
    int r[] = {0, 0, 1, 1, 0};
    int srq[] = {1, 1, 0, 1, 1};
    int rsq[] = {1, 1, 0, 0, 0};
    for (int k = 0; k < 5; k++) {
        seti(p, "main.s", s[k]);
        seti(p, "main.r", r[k]);
        prog_scan(p, 0);
        EXPECT_I(p, "main.sr.Q1", srq[k]);
        EXPECT_I(p, "main.rs.Q1", rsq[k]);
    }
    prog_free(p);
}

static void hysteresis(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main VAR x : REAL; h : HYSTERESIS; q : BOOL; END_VAR\n"
        "h(XIN1 := x, XIN2 := 50.0, EPS := 5.0); q := h.Q; END_PROGRAM\n");
    double xs[] = {40, 54, 56, 50, 46, 44, 50};
    int qs[] = {0, 0, 1, 1, 1, 0, 0};
    for (int k = 0; k < 7; k++) {
        setf(p, "main.x", xs[k]);
        prog_scan(p, 0);
        EXPECT_I(p, "main.q", qs[k]);
    }
    prog_free(p);
}

static void integral_derivative(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR run : BOOL := TRUE; r1 : BOOL; x : REAL; it : INTEGRAL; dt : DERIVATIVE; END_VAR\n"
        "it(RUN := run, R1 := r1, XIN := 2.0, X0 := 5.0, CYCLE := T#100ms);\n"
        "dt(RUN := run, XIN := x, CYCLE := T#100ms);\n"
        "END_PROGRAM\n");
    for (int k = 0; k < 10; k++) {
        setf(p, "main.x", 3.0 * k * 0.1); /* slope 3 per second */
        prog_scan(p, k * STEP);
    }
    EXPECT_F(p, "main.it.XOUT", 2.0, 1e-5);
    EXPECT_I(p, "main.it.Q", 1);
    EXPECT_F(p, "main.dt.XOUT", 3.0, 1e-4);
    seti(p, "main.r1", 1);
    prog_scan(p, 0);
    EXPECT_F(p, "main.it.XOUT", 5.0, 0);
    EXPECT_I(p, "main.it.Q", 0);
    seti(p, "main.run", 0);
    prog_scan(p, 0);
    EXPECT_F(p, "main.dt.XOUT", 0.0, 0);
    prog_free(p);
}

static void pid(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR auto : BOOL := TRUE; pv : REAL := 10.0; c : PID; END_VAR\n"
        "c(AUTO := auto, PV := pv, SP := 15.0, X0 := 3.0, KP := 2.0, TR := 1.0E9, TD := 0.0,\n"
        "  CYCLE := T#100ms);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    /* proportional: KP * (PV - SP) (Annex F's sign) */
    EXPECT_F(p, "main.c.XOUT", -10.0, 1e-4);
    /* integral: with TR 1 s, E = -5 integrates at -5/s */
    struct prog *q = prog_new(
        "PROGRAM main\n"
        "VAR c : PID; END_VAR\n"
        "c(AUTO := TRUE, PV := 10.0, SP := 15.0, KP := 1.0, TR := 1.0, CYCLE := T#100ms);\n"
        "END_PROGRAM\n");
    for (int k = 0; k < 10; k++)
        prog_scan(q, k * STEP);
    EXPECT_F(q, "main.c.XOUT", -5.0 - 5.0, 1e-4);
    prog_free(q);
    /* manual: XOUT = KP * X0, a bumpless start point */
    seti(p, "main.auto", 0);
    prog_scan(p, 0);
    EXPECT_F(p, "main.c.XOUT", 6.0, 1e-3);
    prog_free(p);
}

static void ramp(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR run : BOOL; r : RAMP; END_VAR\n"
        "r(RUN := run, X0 := 0.0, X1 := 10.0, TR := T#1s, CYCLE := T#100ms);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_F(p, "main.r.XOUT", 0.0, 0);
    EXPECT_I(p, "main.r.BUSY", 0);
    seti(p, "main.run", 1);
    for (int k = 0; k < 5; k++)
        prog_scan(p, 0);
    EXPECT_F(p, "main.r.XOUT", 4.0, 1e-5);
    EXPECT_I(p, "main.r.BUSY", 1);
    for (int k = 0; k < 6; k++)
        prog_scan(p, 0);
    EXPECT_F(p, "main.r.XOUT", 10.0, 0);
    EXPECT_I(p, "main.r.BUSY", 0);
    prog_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversions),
        cmocka_unit_test(operator_functions),
        cmocka_unit_test(numeric_functions),
        cmocka_unit_test(bit_functions),
        cmocka_unit_test(selection_functions),
        cmocka_unit_test(string_functions),
        cmocka_unit_test(ton_diagram),
        cmocka_unit_test(tof_diagram),
        cmocka_unit_test(tp_diagram),
        cmocka_unit_test(ton_sampled_every_100ms),
        cmocka_unit_test(counters),
        cmocka_unit_test(edges_and_bistables),
        cmocka_unit_test(hysteresis),
        cmocka_unit_test(integral_derivative),
        cmocka_unit_test(pid),
        cmocka_unit_test(ramp),
    };
    return cmocka_run_group_tests_name("st_stdlib", tests, NULL, NULL);
}
