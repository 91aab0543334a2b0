/* test_lang.c — the Structured Text language, one program per feature:
 * literals, types and their arithmetic, operators and precedence, every
 * statement, arrays, structures, enumerations, subranges, functions and
 * function blocks (calls, EN/ENO, VAR_IN_OUT), globals, configurations,
 * comments, case-insensitivity. Each program runs on the VM and its
 * variables are checked by name. */
#include "sttest.h"

static void literals(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : INT; b : DINT; c : BYTE; d : WORD; e : DINT; f : REAL; g : LREAL;\n"
        "    t1 : TIME; t2 : TIME; t3 : TIME; t4 : TIME; t5 : TIME; ok : BOOL; no : BOOL;\n"
        "    s : STRING; s2 : STRING[20]; u : ULINT; n : SINT; w : LWORD; r2 : REAL;\n"
        "END_VAR\n"
        "a := INT#5; b := 16#FF; c := 2#1010_1010; d := 8#17; e := 1_000_000;\n"
        "f := REAL#1.5; g := 1.0E3; r2 := 2.5e-1;\n"
        "t1 := T#1s500ms; t2 := TIME#1h2m; t3 := T#-5s; t4 := t#1.5S; t5 := T#1d_2h;\n"
        "ok := TRUE; no := FALSE;\n"
        "s := 'it$'s $$5$N$T$41'; s2 := \"dq\";\n"
        "u := 18446744073709551615; n := -128; w := 16#FFFF_FFFF_FFFF_FFFF;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.a", 5);
    EXPECT_I(p, "main.b", 255);
    EXPECT_I(p, "main.c", 0xAA);
    EXPECT_I(p, "main.d", 15);
    EXPECT_I(p, "main.e", 1000000);
    EXPECT_F(p, "main.f", 1.5, 0);
    EXPECT_F(p, "main.g", 1000.0, 0);
    EXPECT_F(p, "main.r2", 0.25, 0);
    EXPECT_I(p, "main.t1", 1500 * VT_MS);
    EXPECT_I(p, "main.t2", VT_HOUR + 2 * VT_MIN);
    EXPECT_I(p, "main.t3", -5 * VT_SEC);
    EXPECT_I(p, "main.t4", 1500 * VT_MS);
    EXPECT_I(p, "main.t5", VT_DAY + 2 * VT_HOUR);
    EXPECT_I(p, "main.ok", 1);
    EXPECT_I(p, "main.no", 0);
    EXPECT_S(p, "main.s", "it's $5\n\tA");
    EXPECT_S(p, "main.s2", "dq");
    EXPECT_I(p, "main.u", (int64_t)UINT64_MAX);
    EXPECT_I(p, "main.n", -128);
    EXPECT_I(p, "main.w", -1);
    prog_free(p);
}

static void integer_wrap(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR i : INT := 32767; si : SINT := 127; us : USINT := 255; ui : UINT := 0;\n"
        "    di : DINT := 2147483647; li : LINT := 9223372036854775807; ud : UDINT := 0;\n"
        "    q1 : INT; q2 : INT; m1 : INT; m2 : INT; m3 : DINT; bb : BYTE := 16#F0;\n"
        "    wd : WORD; big : INT; neg : INT := -32768; ab : INT; mil : DINT := 1000000;\n"
        "    h : INT := 300; seven : INT := 7;\n"
        "END_VAR\n"
        "i := i + 1; si := si + 1; us := us + 1; ui := ui - 1; di := di + 1; li := li + 1;\n"
        "ud := ud - 1;\n"
        "q1 := seven / 2; q2 := -seven / 2; m1 := seven MOD 3; m2 := -seven MOD 3;\n"
        "m3 := mil * 3000;\n"
        "bb := bb OR 16#11; wd := WORD#16#FFFF XOR WORD#16#FFFE;\n"
        "big := h * 200;\n"
        "ab := ABS(neg);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.i", -32768);
    EXPECT_I(p, "main.si", -128);
    EXPECT_I(p, "main.us", 0);
    EXPECT_I(p, "main.ui", 65535);
    EXPECT_I(p, "main.di", INT32_MIN);
    EXPECT_I(p, "main.li", INT64_MIN);
    EXPECT_I(p, "main.ud", 4294967295);
    EXPECT_I(p, "main.q1", 3);
    EXPECT_I(p, "main.q2", -3);
    EXPECT_I(p, "main.m1", 1);
    EXPECT_I(p, "main.m2", -1);
    EXPECT_I(p, "main.m3", (int32_t)(1000000LL * 3000));
    EXPECT_I(p, "main.bb", 0xF1);
    EXPECT_I(p, "main.wd", 1);
    EXPECT_I(p, "main.big", (int16_t)60000);
    EXPECT_I(p, "main.ab", -32768);
    prog_free(p);
}

static void reals_and_mixing(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR r : REAL; l : LREAL; i : INT := 3; d : DINT := 100000; x : REAL; y : LREAL;\n"
        "    z : LREAL; q : REAL; e : LREAL; big : LREAL;\n"
        "END_VAR\n"
        "r := i * 2.5;\n"            /* INT widens to REAL */
        "l := d * 0.5;\n"            /* DINT widens to LREAL */
        "x := 1.0 / 3.0;\n"
        "y := 1.0 / 3.0;\n"
        "z := i + d;\n"              /* DINT to LREAL */
        "q := 2.0 ** 10;\n"
        "e := 2.0 ** 0.5;\n"
        "big := 1.0E300 * 10.0;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_F(p, "main.r", 7.5, 0);
    EXPECT_F(p, "main.l", 50000.0, 0);
    EXPECT_F(p, "main.x", (double)(1.0f / 3.0f), 0);
    EXPECT_F(p, "main.y", 1.0 / 3.0, 0);
    EXPECT_F(p, "main.z", 100003.0, 0);
    EXPECT_F(p, "main.q", 1024.0, 0);
    EXPECT_F(p, "main.e", 1.4142135623730951, 1e-15);
    EXPECT_F(p, "main.big", 1e301, 1e287);
    prog_free(p);
}

static void precedence(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : INT; b : INT; c : LREAL; d : BOOL; e : BOOL; f : BOOL; g : BOOL; h : INT;\n"
        "    t : BOOL := TRUE; u : BOOL := FALSE; k : INT; m : BOOL; n : BOOL; o : INT;\n"
        "END_VAR\n"
        "a := 2 + 3 * 4;\n"
        "b := (2 + 3) * 4;\n"
        "c := -2.0 ** 2.0;\n"            /* ** binds tighter than unary minus */
        "d := NOT u AND u;\n"            /* (NOT u) AND u */
        "e := t OR u AND u;\n"           /* AND before OR */
        "f := t XOR t OR t;\n"           /* XOR before OR: (t XOR t) OR t */
        "g := 1 + 2 = 3 AND 2 < 3;\n"
        "h := 10 - 4 - 3;\n"             /* left to right */
        "k := 17 MOD 5 * 2;\n"
        "m := t & u;\n"
        "n := 3 > 2 = TRUE;\n"           /* comparison before equality */
        "o := 2 * -3;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.a", 14);
    EXPECT_I(p, "main.b", 20);
    EXPECT_F(p, "main.c", -4.0, 0);
    EXPECT_I(p, "main.d", 0);
    EXPECT_I(p, "main.e", 1);
    EXPECT_I(p, "main.f", 1);
    EXPECT_I(p, "main.g", 1);
    EXPECT_I(p, "main.h", 3);
    EXPECT_I(p, "main.k", 4);
    EXPECT_I(p, "main.m", 0);
    EXPECT_I(p, "main.n", 1);
    EXPECT_I(p, "main.o", -6);
    prog_free(p);
}

static void if_elsif_else(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR x : INT; r : INT; n : INT; END_VAR\n"
        "IF x < 0 THEN r := -1;\n"
        "ELSIF x = 0 THEN r := 0;\n"
        "ELSIF x < 10 THEN r := 1;\n"
        "ELSE r := 2;\n"
        "END_IF;\n"
        "IF x > 100 THEN n := n + 1; END_IF;\n"
        "END_PROGRAM\n");
    int in[] = {-5, 0, 7, 50, 101};
    int want[] = {-1, 0, 1, 2, 2};
    for (int k = 0; k < 5; k++) {
        seti(p, "main.x", in[k]);
        prog_scan(p, 0);
        EXPECT_I(p, "main.r", want[k]);
    }
    EXPECT_I(p, "main.n", 1);
    prog_free(p);
}

static void case_statement(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE Mode : (OFF, MANUAL, AUTO); END_TYPE\n"
        "PROGRAM main\n"
        "VAR x : INT; r : INT; m : Mode; rm : INT; b : BYTE; rb : INT; END_VAR\n"
        "CASE x OF\n"
        "  1: r := 10;\n"
        "  2, 3: r := 20;\n"
        "  4..6, 9: r := 30;\n"
        "  -3..-1: r := -1;\n"
        "ELSE r := 99;\n"
        "END_CASE;\n"
        "CASE m OF\n"
        "  OFF: rm := 0;\n"
        "  Mode#MANUAL: rm := 1;\n"
        "  AUTO: rm := 2;\n"
        "END_CASE;\n"
        "CASE b OF 16#10: rb := 1; ELSE rb := 2; END_CASE;\n"
        "END_PROGRAM\n");
    int in[] = {1, 2, 3, 4, 5, 6, 7, 9, -2, 0};
    int want[] = {10, 20, 20, 30, 30, 30, 99, 30, -1, 99};
    for (int k = 0; k < 10; k++) {
        seti(p, "main.x", in[k]);
        prog_scan(p, 0);
        EXPECT_I(p, "main.r", want[k]);
    }
    for (int m = 0; m < 3; m++) {
        seti(p, "main.m", m);
        prog_scan(p, 0);
        EXPECT_I(p, "main.rm", m);
    }
    seti(p, "main.b", 0x10);
    prog_scan(p, 0);
    EXPECT_I(p, "main.rb", 1);
    prog_free(p);
}

static void loops(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR i : INT; j : INT; s1 : DINT; s2 : DINT; s3 : DINT; s4 : DINT; s5 : DINT;\n"
        "    s6 : DINT; s7 : DINT; step : INT := 3; n : INT; k : INT; s8 : INT;\n"
        "    lim : INT := 5;\n"
        "END_VAR\n"
        "s1 := 0; FOR i := 1 TO 10 DO s1 := s1 + i; END_FOR;\n"
        "s2 := 0; FOR i := 10 TO 1 BY -2 DO s2 := s2 * 10 + i; END_FOR;\n"
        "s3 := 0; FOR i := 0 TO 10 BY step DO s3 := s3 + i; END_FOR;\n"
        "s4 := 0; FOR i := 5 TO 1 DO s4 := s4 + 1; END_FOR;\n"
        "s5 := 0; FOR i := 1 TO 100 DO IF i > 4 THEN EXIT; END_IF; s5 := s5 + i; END_FOR;\n"
        "s6 := 0; i := 0; WHILE i < 5 DO i := i + 1; s6 := s6 + i; END_WHILE;\n"
        "s7 := 0; i := 0; REPEAT i := i + 1; s7 := s7 + 1; UNTIL i >= 3 END_REPEAT;\n"
        "n := 0;\n"
        "FOR i := 1 TO 3 DO\n"
        "  FOR j := 1 TO 10 DO IF j > 2 THEN EXIT; END_IF; n := n + 1; END_FOR;\n"
        "END_FOR;\n"
        "k := 0; WHILE TRUE DO k := k + 1; IF k = 7 THEN EXIT; END_IF; END_WHILE;\n"
        "s8 := 0; REPEAT s8 := s8 + 1; IF s8 = 4 THEN EXIT; END_IF; UNTIL FALSE END_REPEAT;\n"
        "FOR i := 1 TO lim DO lim := 2; END_FOR;\n"   /* the end is read once */
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.s1", 55);
    EXPECT_I(p, "main.s2", 108642);
    EXPECT_I(p, "main.s3", 0 + 3 + 6 + 9);
    EXPECT_I(p, "main.s4", 0);
    EXPECT_I(p, "main.s5", 10);
    EXPECT_I(p, "main.s6", 15);
    EXPECT_I(p, "main.s7", 3);
    EXPECT_I(p, "main.n", 6);
    EXPECT_I(p, "main.k", 7);
    EXPECT_I(p, "main.s8", 4);
    EXPECT_I(p, "main.i", 6);
    prog_free(p);
}

static void return_statement(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "FUNCTION sign : INT VAR_INPUT x : INT; END_VAR\n"
        "  IF x < 0 THEN sign := -1; RETURN; END_IF;\n"
        "  IF x = 0 THEN sign := 0; RETURN; END_IF;\n"
        "  sign := 1;\n"
        "END_FUNCTION\n"
        "PROGRAM main\n"
        "VAR a : INT; b : INT; c : INT; n : INT; END_VAR\n"
        "a := sign(-5); b := sign(0); c := sign(9);\n"
        "n := n + 1;\n"
        "IF n > 1 THEN RETURN; END_IF;\n"
        "n := n + 10;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.a", -1);
    EXPECT_I(p, "main.b", 0);
    EXPECT_I(p, "main.c", 1);
    EXPECT_I(p, "main.n", 11);
    prog_scan(p, 0);
    EXPECT_I(p, "main.n", 12);
    prog_free(p);
}

static void arrays(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE Pt : STRUCT x : INT; y : INT; END_STRUCT; END_TYPE\n"
        "PROGRAM main\n"
        "VAR a : ARRAY[1..10] OF INT; b : ARRAY[0..2, 1..3] OF DINT;\n"
        "    c : ARRAY[1..2, 1..2, 1..2] OF REAL; i : INT; j : DINT; k : SINT;\n"
        "    init : ARRAY[-2..2] OF INT := [10, 20, 3(7)];\n"
        "    pts : ARRAY[1..3] OF Pt := [(x := 1, y := 2), (x := 3)];\n"
        "    copy : ARRAY[1..10] OF INT; s : DINT; l : LINT := 2;\n"
        "    flags : ARRAY[0..99] OF BOOL; cnt : INT; strs : ARRAY[1..2] OF STRING[8];\n"
        "END_VAR\n"
        "FOR i := 1 TO 10 DO a[i] := i * i; END_FOR;\n"
        "FOR j := 0 TO 2 DO FOR i := 1 TO 3 DO b[j, i] := j * 10 + i; END_FOR; END_FOR;\n"
        "c[2, 1, 2] := 1.5; c[1, 2, 1] := c[2, 1, 2] * 2.0;\n"
        "pts[3].y := pts[1].x + pts[2].x;\n"
        "copy := a; copy[1] := -1;\n"
        "s := 0; FOR k := -2 TO 2 DO s := s + init[k]; END_FOR;\n"
        "a[l + 8] := 1000;\n"
        "FOR i := 0 TO 99 BY 3 DO flags[i] := TRUE; END_FOR;\n"
        "cnt := 0; FOR i := 0 TO 99 DO IF flags[i] THEN cnt := cnt + 1; END_IF; END_FOR;\n"
        "strs[2] := 'abcdefghijk';\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.a[1]", 1);
    EXPECT_I(p, "main.a[9]", 81);
    EXPECT_I(p, "main.a[10]", 1000);
    EXPECT_I(p, "main.b[0,1]", 1);
    EXPECT_I(p, "main.b[2,3]", 23);
    EXPECT_F(p, "main.c[1,2,1]", 3.0, 0);
    EXPECT_I(p, "main.pts[1].y", 2);
    EXPECT_I(p, "main.pts[2].y", 0);
    EXPECT_I(p, "main.pts[3].y", 4);
    EXPECT_I(p, "main.copy[1]", -1);
    EXPECT_I(p, "main.copy[2]", 4);
    EXPECT_I(p, "main.a[1]", 1);
    EXPECT_I(p, "main.s", 10 + 20 + 7 + 7 + 7);
    EXPECT_I(p, "main.cnt", 34);
    EXPECT_S(p, "main.strs[2]", "abcdefgh");
    prog_free(p);
}

static void structures(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE\n"
        "  Inner : STRUCT v : REAL := 1.5; n : INT; END_STRUCT;\n"
        "  Outer : STRUCT a : Inner; b : ARRAY[1..2] OF Inner; name : STRING[10] := 'pump'; END_STRUCT;\n"
        "END_TYPE\n"
        "PROGRAM main\n"
        "VAR o : Outer; p : Outer := (name := 'valve', a := (n := 4)); q : Outer; r : REAL;\n"
        "END_VAR\n"
        "o.b[2].n := 7;\n"
        "q := o;\n"
        "q.a.v := 9.0;\n"
        "r := o.a.v + p.a.v;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_F(p, "main.o.a.v", 1.5, 0);
    EXPECT_I(p, "main.q.b[2].n", 7);
    EXPECT_F(p, "main.q.a.v", 9.0, 0);
    EXPECT_S(p, "main.o.name", "pump");
    EXPECT_S(p, "main.p.name", "valve");
    EXPECT_I(p, "main.p.a.n", 4);
    EXPECT_F(p, "main.r", 3.0, 0);
    prog_free(p);
}

static void enumerations(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE Color : (Red, Green := 5, Blue); Level : (LOW, HIGH) := HIGH; END_TYPE\n"
        "PROGRAM main\n"
        "VAR c : Color; d : Color := Color#Blue; same : BOOL; diff : BOOL; l : Level;\n"
        "    n : INT; isblue : BOOL;\n"
        "END_VAR\n"
        "same := c = Red;\n"
        "diff := c <> d;\n"
        "isblue := d = Color#Blue;\n"
        "IF l = HIGH THEN n := 1; END_IF;\n"
        "c := Green;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.same", 1);
    EXPECT_I(p, "main.diff", 1);
    EXPECT_I(p, "main.isblue", 1);
    EXPECT_I(p, "main.d", 6);
    EXPECT_I(p, "main.c", 5);
    EXPECT_I(p, "main.n", 1);
    prog_free(p);
}

static void subranges(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE Pct : INT (0..100); END_TYPE\n"
        "PROGRAM main\n"
        "VAR v : Pct := 50; x : INT; d : INT (1..10); END_VAR\n"
        "v := x;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.d", 1); /* the initial value of a subrange is its low bound */
    seti(p, "main.x", 70);
    prog_scan(p, 0);
    EXPECT_I(p, "main.v", 70);
    seti(p, "main.x", 101);
    assert_int_equal(prog_try(p, 0, 0), -1);
    assert_int_equal(p->fault.kind, ST_FAULT_BOUNDS);
    EXPECT_I(p, "main.v", 70);
    prog_free(p);
}

static void functions(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "FUNCTION add3 : DINT\n"
        "  VAR_INPUT a : DINT; b : DINT; c : DINT := 100; END_VAR\n"
        "  add3 := a + b + c;\n"
        "END_FUNCTION\n"
        "FUNCTION swap\n"
        "  VAR_IN_OUT x : INT; y : INT; END_VAR\n"
        "  VAR t : INT; END_VAR\n"
        "  t := x; x := y; y := t;\n"
        "END_FUNCTION\n"
        "FUNCTION divmod : INT\n"
        "  VAR_INPUT a : INT; b : INT; END_VAR\n"
        "  VAR_OUTPUT r : INT; END_VAR\n"
        "  divmod := a / b; r := a MOD b;\n"
        "END_FUNCTION\n"
        "FUNCTION twice : LREAL VAR_INPUT x : LREAL; END_VAR\n"
        "  VAR k : LREAL := 2.0; END_VAR\n"
        "  twice := x * k; k := 100.0;\n"          /* locals are fresh at each call */
        "END_FUNCTION\n"
        "FUNCTION fail : INT VAR_INPUT x : INT; END_VAR\n"
        "  fail := x; IF x < 0 THEN ENO := FALSE; END_IF;\n"
        "END_FUNCTION\n"
        "PROGRAM main\n"
        "VAR p1 : DINT; p2 : DINT; n1 : DINT; a : INT := 1; b : INT := 2; q : INT; r : INT;\n"
        "    t : LREAL; u : LREAL; ok : BOOL; v : INT := 5; en : BOOL; e2 : BOOL := TRUE;\n"
        "    nest : DINT; arr : ARRAY[1..3] OF INT := [7, 8, 9];\n"
        "END_VAR\n"
        "p1 := add3(1, 2, 3);\n"
        "p2 := add3(a := 1, b := 2);\n"
        "n1 := add3(b := 10, c := 20, a := 30);\n"
        "swap(a, b);\n"
        "swap(x := arr[1], y := arr[3]);\n"
        "q := divmod(a := 17, b := 5, r => r);\n"
        "t := twice(1.5); u := twice(twice(2.0));\n"
        "v := fail(x := -3, ENO => ok);\n"
        "v := fail(EN := en, x := 9, ENO => e2);\n"
        "nest := add3(add3(1, 1, 1), add3(2, 2, 2), 0);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.p1", 6);
    EXPECT_I(p, "main.p2", 103);
    EXPECT_I(p, "main.n1", 60);
    EXPECT_I(p, "main.a", 2);
    EXPECT_I(p, "main.b", 1);
    EXPECT_I(p, "main.arr[1]", 9);
    EXPECT_I(p, "main.arr[3]", 7);
    EXPECT_I(p, "main.q", 3);
    EXPECT_I(p, "main.r", 2);
    EXPECT_F(p, "main.t", 3.0, 0);
    EXPECT_F(p, "main.u", 8.0, 0);
    EXPECT_I(p, "main.ok", 0);
    EXPECT_I(p, "main.v", 0);   /* EN FALSE: the function does not run, gives 0 */
    EXPECT_I(p, "main.e2", 0);
    EXPECT_I(p, "main.nest", 9);
    prog_free(p);
}

static void function_blocks(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "FUNCTION_BLOCK Counter\n"
        "  VAR_INPUT step : INT := 1; reset : BOOL; END_VAR\n"
        "  VAR_OUTPUT count : INT; big : BOOL; END_VAR\n"
        "  VAR calls : INT; END_VAR\n"
        "  VAR_TEMP t : INT; END_VAR\n"
        "  t := t + 1;\n"                     /* VAR_TEMP is fresh at each call */
        "  IF reset THEN count := 0; ELSE count := count + step * t; END_IF;\n"
        "  calls := calls + 1;\n"
        "  big := count > 10;\n"
        "END_FUNCTION_BLOCK\n"
        "FUNCTION_BLOCK Acc\n"
        "  VAR_IN_OUT total : DINT; END_VAR\n"
        "  VAR_INPUT add : DINT; END_VAR\n"
        "  total := total + add;\n"
        "END_FUNCTION_BLOCK\n"
        "FUNCTION_BLOCK Pair\n"
        "  VAR_INPUT x : INT; END_VAR\n"
        "  VAR_OUTPUT y : INT; END_VAR\n"
        "  VAR inner : Counter; END_VAR\n"
        "  inner(step := x);\n"
        "  y := inner.count;\n"
        "END_FUNCTION_BLOCK\n"
        "PROGRAM main\n"
        "VAR c1 : Counter; c2 : Counter; n : INT; b : BOOL; acc : Acc; tot : DINT := 5;\n"
        "    cs : ARRAY[1..3] OF Counter; i : INT; pr : Pair; ps : ARRAY[0..1] OF Pair;\n"
        "    en : BOOL; eno : BOOL := TRUE; s : INT;\n"
        "END_VAR\n"
        "c1();\n"
        "c2(step := 5, count => n, big => b);\n"
        "acc(total := tot, add := 10);\n"
        "FOR i := 1 TO 3 DO cs[i](step := i); END_FOR;\n"
        "pr(x := 3);\n"
        "ps[1](x := 4);\n"
        "c1(EN := en, ENO => eno);\n"
        "s := cs[2].count + ps[1].y;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.c1.count", 1);
    EXPECT_I(p, "main.n", 5);
    EXPECT_I(p, "main.b", 0);
    EXPECT_I(p, "main.tot", 15);
    EXPECT_I(p, "main.cs[3].count", 3);
    EXPECT_I(p, "main.pr.y", 3);
    EXPECT_I(p, "main.ps[1].y", 4);
    EXPECT_I(p, "main.ps[0].y", 0);
    EXPECT_I(p, "main.eno", 0);
    EXPECT_I(p, "main.s", 6);
    prog_scan(p, 0);
    prog_scan(p, 0);
    EXPECT_I(p, "main.c1.count", 3);
    EXPECT_I(p, "main.c1.calls", 3);
    EXPECT_I(p, "main.n", 15);
    EXPECT_I(p, "main.b", 1);
    EXPECT_I(p, "main.tot", 35);
    EXPECT_I(p, "main.cs[2].count", 6);
    EXPECT_I(p, "main.pr.y", 9);
    seti(p, "main.en", 1);
    prog_scan(p, 0);
    EXPECT_I(p, "main.eno", 1);
    EXPECT_I(p, "main.c1.count", 5); /* called twice this scan */
    prog_free(p);
}

static void fb_positional_and_init(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "FUNCTION_BLOCK Lim\n"
        "  VAR_INPUT lo : REAL; hi : REAL; x : REAL; END_VAR\n"
        "  VAR_OUTPUT y : REAL; END_VAR\n"
        "  y := LIMIT(lo, x, hi);\n"
        "END_FUNCTION_BLOCK\n"
        "PROGRAM main\n"
        "VAR l : Lim; m : Lim := (lo := 1.0, hi := 2.0); t : TON := (PT := T#3s); END_VAR\n"
        "l(0.0, 10.0, 42.0);\n"
        "m(x := 7.0);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_F(p, "main.l.y", 10.0, 0);
    EXPECT_F(p, "main.m.y", 2.0, 0);
    EXPECT_I(p, "main.t.PT", 3 * VT_SEC);
    prog_free(p);
}

static void globals_and_constants(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "VAR_GLOBAL\n"
        "  g_count : DINT;\n"
        "  g_arr : ARRAY[1..4] OF INT;\n"
        "END_VAR\n"
        "VAR_GLOBAL CONSTANT\n"
        "  N : INT := 4;\n"
        "  K : REAL := 2.5;\n"
        "END_VAR\n"
        "FUNCTION_BLOCK Bump\n"
        "  VAR_EXTERNAL g_count : DINT; g_arr : ARRAY[1..4] OF INT; END_VAR\n"
        "  VAR i : INT; END_VAR\n"
        "  g_count := g_count + 1;\n"
        "  FOR i := 1 TO 4 DO g_arr[i] := g_arr[i] + i; END_FOR;\n"
        "END_FUNCTION_BLOCK\n"
        "PROGRAM main\n"
        "VAR b : Bump; v : ARRAY[1..N] OF INT; r : REAL; c : DINT; END_VAR\n"
        "VAR CONSTANT LOCAL : INT := N * 2; END_VAR\n"
        "b(); b();\n"
        "v[N] := LOCAL;\n"
        "r := K * 2.0;\n"
        "c := g_count;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "g_count", 2);
    EXPECT_I(p, "main.c", 2);
    EXPECT_I(p, "g_arr[3]", 6);
    EXPECT_I(p, "main.v[4]", 8);
    EXPECT_F(p, "main.r", 5.0, 0);
    prog_free(p);
}

static void configuration(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM fast VAR n : INT; END_VAR n := n + 1; END_PROGRAM\n"
        "PROGRAM slow VAR_EXTERNAL shared : INT; END_VAR VAR n : INT; END_VAR\n"
        "  n := n + 1; shared := shared + 10;\n"
        "END_PROGRAM\n"
        "CONFIGURATION Plant\n"
        "  VAR_GLOBAL shared : INT; END_VAR\n"
        "  RESOURCE cpu ON PLC\n"
        "    TASK t_fast(INTERVAL := T#10ms, PRIORITY := 1);\n"
        "    TASK t_slow(INTERVAL := T#100ms, PRIORITY := 2);\n"
        "    PROGRAM f1 WITH t_fast : fast;\n"
        "    PROGRAM f2 WITH t_fast : fast;\n"
        "    PROGRAM s1 WITH t_slow : slow;\n"
        "  END_RESOURCE\n"
        "END_CONFIGURATION\n");
    assert_int_equal(st_image_ntasks(p->img), 2);
    const struct st_task_info *t0 = st_image_task(p->img, 0), *t1 = st_image_task(p->img, 1);
    assert_string_equal(t0->name, "t_fast");
    assert_int_equal(t0->interval, 10 * VT_MS);
    assert_int_equal(t0->priority, 1);
    assert_int_equal(t0->nprograms, 2);
    assert_string_equal(t0->programs[0], "f1");
    assert_string_equal(t0->programs[1], "f2");
    assert_string_equal(t1->name, "t_slow");
    assert_int_equal(t1->interval, 100 * VT_MS);
    assert_int_equal(t1->nprograms, 1);
    struct st_fault f;
    for (int i = 0; i < 10; i++)
        assert_int_equal(st_vm_run_task(p->vm, 0, i * 10 * VT_MS, 0, NULL, &f), 0);
    assert_int_equal(st_vm_run_task(p->vm, 1, 0, 0, NULL, &f), 0);
    EXPECT_I(p, "f1.n", 10);
    EXPECT_I(p, "f2.n", 10);
    EXPECT_I(p, "s1.n", 1);
    EXPECT_I(p, "shared", 10);
    assert_int_equal(st_vm_run_task(p->vm, 2, 0, 0, NULL, &f), -1);
    prog_free(p);
}

static void implicit_task_order(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "VAR_GLOBAL trace : DINT; END_VAR\n"
        "PROGRAM first VAR_EXTERNAL trace : DINT; END_VAR trace := trace * 10 + 1; END_PROGRAM\n"
        "PROGRAM second VAR_EXTERNAL trace : DINT; END_VAR trace := trace * 10 + 2; END_PROGRAM\n");
    assert_int_equal(st_image_ntasks(p->img), 1);
    const struct st_task_info *t = st_image_task(p->img, 0);
    assert_string_equal(t->name, "main");
    assert_int_equal(t->interval, 0);
    assert_int_equal(t->nprograms, 2);
    assert_string_equal(t->programs[0], "first");
    assert_string_equal(t->programs[1], "second");
    prog_scan(p, 0);
    prog_scan(p, 0);
    EXPECT_I(p, "trace", 1212);
    prog_free(p);
}

static void comments_and_case(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "(* header (* nested *) still comment *)\n"
        "program Main // a line comment\n"
        "var Count : int; /* block\n comment */ X : Bool; END_VAR\n"
        "{ pragma ignored }\n"
        "count := COUNT + 1; (* comment between statements *)\n"
        "if COUNT > 0 then x := true; end_if;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "MAIN.COUNT", 1);
    EXPECT_I(p, "main.x", 1);
    prog_free(p);
}

static void located_variables(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "VAR_GLOBAL run AT %QX0.1 : BOOL := TRUE; END_VAR\n"
        "PROGRAM main\n"
        "VAR start AT %IX0.0 : BOOL; level AT %IW3 : INT; out AT %QW1 : UINT;\n"
        "    mem AT %MD1 : REAL; big AT %ML0 : LINT; also AT %IW3 : INT; b AT %IB2 : BYTE;\n"
        "END_VAR\n"
        "IF start THEN out := INT_TO_UINT(level) * 2; END_IF;\n"
        "mem := 1.5; big := -1;\n"
        "END_PROGRAM\n");
    size_t n = st_image_nlocated(p->img);
    assert_int_equal(n, 8);
    const struct st_located *lv = NULL, *al = NULL, *md = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct st_located *l = st_image_located(p->img, i);
        if (!strcmp(l->name, "main.level"))
            lv = l;
        if (!strcmp(l->name, "main.also"))
            al = l;
        if (!strcmp(l->name, "main.mem"))
            md = l;
    }
    assert_non_null(lv);
    assert_non_null(al);
    assert_non_null(md);
    assert_int_equal(lv->addr.area, 'I');
    assert_int_equal(lv->addr.size, 'W');
    assert_int_equal(lv->addr.index, 3);
    assert_int_equal(lv->type, ST_INT);
    assert_int_equal(lv->offset, al->offset); /* one cell per address */
    assert_int_equal(md->type, ST_REAL);
    /* the runtime writes inputs into memory, reads outputs back */
    uint8_t *mem = st_vm_memory(p->vm);
    const struct st_located *in = NULL, *out = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct st_located *l = st_image_located(p->img, i);
        if (!strcmp(l->name, "main.start"))
            in = l;
        if (!strcmp(l->name, "main.out"))
            out = l;
    }
    mem[in->offset] = 1;
    int16_t lvl = 21;
    memcpy(mem + lv->offset, &lvl, 2);
    prog_scan(p, 0);
    uint16_t o;
    memcpy(&o, mem + out->offset, 2);
    assert_int_equal(o, 42);
    EXPECT_I(p, "run", 1);
    assert_true(st_vm_memory_size(p->vm) >= out->offset + 2);
    prog_free(p);
}

static void strings(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR s : STRING; short : STRING[5]; t : STRING[10]; eq : BOOL; lt : BOOL; n : INT;\n"
        "END_VAR\n"
        "s := 'hello';\n"
        "short := 'truncated';\n"
        "t := CONCAT(s, ' world');\n"
        "eq := s = 'hello';\n"
        "lt := 'abc' < 'abd';\n"
        "n := LEN(t);\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_S(p, "main.s", "hello");
    EXPECT_S(p, "main.short", "trunc");
    EXPECT_S(p, "main.t", "hello worl");
    EXPECT_I(p, "main.eq", 1);
    EXPECT_I(p, "main.lt", 1);
    EXPECT_I(p, "main.n", 10);
    prog_free(p);
}

static void time_arithmetic(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : TIME; b : TIME; c : TIME; d : TIME; e : BOOL; f : TIME; k : INT := 3;\n"
        "    g : TIME;\n"
        "END_VAR\n"
        "a := T#1s + T#500ms;\n"
        "b := T#2s * k;\n"
        "c := T#1s / 4;\n"
        "d := T#10s - a;\n"
        "e := a > T#1s;\n"
        "f := T#1s * 1.5;\n"
        "g := -a;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.a", 1500 * VT_MS);
    EXPECT_I(p, "main.b", 6 * VT_SEC);
    EXPECT_I(p, "main.c", 250 * VT_MS);
    EXPECT_I(p, "main.d", 8500 * VT_MS);
    EXPECT_I(p, "main.e", 1);
    EXPECT_I(p, "main.f", 1500 * VT_MS);
    EXPECT_I(p, "main.g", -1500 * VT_MS);
    prog_free(p);
}

static void bit_access(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR w : WORD := 16#0005; b0 : BOOL; b1 : BOOL; b2 : BOOL; END_VAR\n"
        "b0 := w.0; b1 := w.1; b2 := w.2;\n"
        "w.15 := TRUE; w.0 := FALSE;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.b0", 1);
    EXPECT_I(p, "main.b1", 0);
    EXPECT_I(p, "main.b2", 1);
    EXPECT_I(p, "main.w", 0x8004);
    prog_free(p);
}

static void several_sources(void **state)
{
    (void)state;
    const char *a = "FUNCTION_BLOCK Twice VAR_INPUT x : INT; END_VAR VAR_OUTPUT y : INT; END_VAR\n"
                    "y := x * 2; END_FUNCTION_BLOCK\n";
    const char *b = "PROGRAM main VAR t : Twice; r : INT; END_VAR t(x := 21); r := t.y; END_PROGRAM\n";
    struct st_source src[2] = {{"a.st", a, strlen(a)}, {"b.st", b, strlen(b)}};
    struct st_diags d;
    st_diags_init(&d);
    struct st_image *img = st_compile(src, 2, &d);
    assert_non_null(img);
    st_diags_clear(&d);
    struct prog *p = prog_from_image(img);
    prog_scan(p, 0);
    EXPECT_I(p, "main.r", 42);
    prog_free(p);
}

static void openplc_bool_literals(void **state)
{
    (void)state;
    /* the editor writes BOOL initial values as 0 and 1 */
    struct prog *p = prog_new(
        "PROGRAM main VAR a : BOOL := 1; b : BOOL := 0; c : BOOL; END_VAR\n"
        "c := a AND NOT b; b := 1;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.c", 1);
    EXPECT_I(p, "main.b", 1);
    prog_free(p);
}

static void short_circuit(void **state)
{
    (void)state;
    /* AND and OR skip their right side when the left decides, so a guard
     * keeps an index in bounds (as C does on OpenPLC) */
    struct prog *p = prog_new(
        "PROGRAM main\n"
        "VAR a : ARRAY[1..3] OF INT := [5, 6, 7]; j : INT := 0; ok : BOOL; ok2 : BOOL; END_VAR\n"
        "ok := j >= 1 AND a[j] > 0;\n"
        "ok2 := j < 1 OR a[j] > 0;\n"
        "WHILE j >= 1 AND a[j] > 100 DO j := j - 1; END_WHILE;\n"
        "END_PROGRAM\n");
    prog_scan(p, 0);
    EXPECT_I(p, "main.ok", 0);
    EXPECT_I(p, "main.ok2", 1);
    prog_free(p);
}

/* Function blocks reach absolute memory (globals, function frames) through
 * LDG/STG and addresses: calls, VAR_IN_OUT, strings, structures, a global
 * FB instance, bit access and CASE, all inside an FB. */
static void fb_context(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "TYPE Pt : STRUCT x : REAL; y : REAL; END_STRUCT; END_TYPE\n"
        "VAR_GLOBAL gt : TON; gs : STRING[16] := 'global'; gp : Pt; END_VAR\n"
        "FUNCTION mk : Pt\n"
        "  VAR_INPUT x : REAL; y : REAL; END_VAR\n"
        "  mk.x := x; mk.y := y;\n"
        "END_FUNCTION\n"
        "FUNCTION addto\n"
        "  VAR_IN_OUT acc : DINT; s : STRING; END_VAR\n"
        "  VAR_INPUT n : DINT; END_VAR\n"
        "  acc := acc + n; s := CONCAT(s, '!');\n"
        "END_FUNCTION\n"
        "FUNCTION greet : STRING[20]\n"
        "  VAR_INPUT who : STRING; END_VAR\n"
        "  greet := CONCAT('hi ', who);\n"
        "END_FUNCTION\n"
        "FUNCTION_BLOCK worker\n"
        "  VAR_INPUT in1 : BOOL; END_VAR\n"
        "  VAR_OUTPUT p : Pt; msg : STRING; q : BOOL; total : DINT; b3 : BOOL; e : INT; END_VAR\n"
        "  VAR s : STRING := 'w'; w : WORD := 16#0008; k : INT := 2;\n"
        "      loc : ARRAY[1..3] OF Pt; END_VAR\n"
        "  VAR_EXTERNAL gt : TON; gs : STRING[16]; gp : Pt; END_VAR\n"
        "  p := mk(1.5, y := 2.5);\n"
        "  loc[k] := p;\n"
        "  gp := loc[2];\n"
        "  addto(acc := total, s := s, n := 5);\n"
        "  msg := greet(gs);\n"
        "  gs := s;\n"
        "  gt(IN := in1, PT := T#1s);\n"
        "  q := gt.Q;\n"
        "  b3 := w.3;\n"
        "  CASE k OF 2: e := 20; ELSE e := 0; END_CASE;\n"
        "END_FUNCTION_BLOCK\n"
        "PROGRAM main\n"
        "  VAR wk : worker; END_VAR\n"
        "  wk(in1 := TRUE);\n"
        "END_PROGRAM\n");
    prog_scans(p, 12, 100 * VT_MS);
    EXPECT_F(p, "main.wk.p.x", 1.5, 0);
    EXPECT_F(p, "main.wk.p.y", 2.5, 0);
    EXPECT_F(p, "gp.y", 2.5, 0);
    EXPECT_I(p, "main.wk.total", 60);
    EXPECT_S(p, "main.wk.msg", "hi w!!!!!!!!!!!");
    EXPECT_S(p, "gs", "w!!!!!!!!!!!!");
    EXPECT_I(p, "main.wk.q", 1);
    EXPECT_I(p, "main.wk.b3", 1);
    EXPECT_I(p, "main.wk.e", 20);
    prog_free(p);
}

static void two_resources_and_negated_output(void **state)
{
    (void)state;
    struct prog *p = prog_new(
        "FUNCTION_BLOCK flip VAR_INPUT x : BOOL; END_VAR VAR_OUTPUT q : BOOL; END_VAR\n"
        "  q := x; END_FUNCTION_BLOCK\n"
        "PROGRAM a VAR f : flip; y : BOOL; z : BOOL; END_VAR\n"
        "  f(x := TRUE, NOT q => z); y := f.q; END_PROGRAM\n"
        "PROGRAM b VAR n : INT; END_VAR n := n + 1; END_PROGRAM\n"
        "CONFIGURATION plant\n"
        "  VAR_GLOBAL shared : INT; END_VAR\n"
        "  RESOURCE r1 ON PLC TASK t1(INTERVAL := T#10ms, PRIORITY := 1);\n"
        "    PROGRAM ia WITH t1 : a; END_RESOURCE\n"
        "  RESOURCE r2 ON PLC TASK t2(INTERVAL := T#50ms, PRIORITY := 2);\n"
        "    PROGRAM ib WITH t2 : b; PROGRAM ib2 : b; END_RESOURCE\n"
        "END_CONFIGURATION\n");
    assert_int_equal(st_image_ntasks(p->img), 3);
    assert_string_equal(st_image_task(p->img, 1)->name, "t2");
    assert_string_equal(st_image_task(p->img, 2)->name, "default");
    assert_string_equal(st_image_task(p->img, 2)->programs[0], "ib2");
    prog_scan(p, 0);
    EXPECT_I(p, "ia.y", 1);
    EXPECT_I(p, "ia.z", 0);
    EXPECT_I(p, "ib.n", 1);
    EXPECT_I(p, "ib2.n", 1);
    prog_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literals),
        cmocka_unit_test(integer_wrap),
        cmocka_unit_test(reals_and_mixing),
        cmocka_unit_test(precedence),
        cmocka_unit_test(if_elsif_else),
        cmocka_unit_test(case_statement),
        cmocka_unit_test(loops),
        cmocka_unit_test(return_statement),
        cmocka_unit_test(arrays),
        cmocka_unit_test(structures),
        cmocka_unit_test(enumerations),
        cmocka_unit_test(subranges),
        cmocka_unit_test(functions),
        cmocka_unit_test(function_blocks),
        cmocka_unit_test(fb_positional_and_init),
        cmocka_unit_test(globals_and_constants),
        cmocka_unit_test(configuration),
        cmocka_unit_test(implicit_task_order),
        cmocka_unit_test(comments_and_case),
        cmocka_unit_test(located_variables),
        cmocka_unit_test(strings),
        cmocka_unit_test(time_arithmetic),
        cmocka_unit_test(bit_access),
        cmocka_unit_test(several_sources),
        cmocka_unit_test(openplc_bool_literals),
        cmocka_unit_test(short_circuit),
        cmocka_unit_test(fb_context),
        cmocka_unit_test(two_resources_and_negated_output),
    };
    return cmocka_run_group_tests_name("st_lang", tests, NULL, NULL);
}
