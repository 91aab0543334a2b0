/* st_lib.c — the standard library: the table of standard functions (the
 * compiler expands them inline into typed instructions) and the ST source of
 * the standard function blocks, compiled with every program (only those a
 * program uses reach the image).
 *
 * Interfaces follow IEC 61131-3 and the library OpenPLC ships (matiec's
 * ieclib: TON TOF TP, CTU CTD CTUD and their _DINT _LINT _UDINT _ULINT
 * forms, R_TRIG F_TRIG, SR RS; Annex F's PID RAMP HYSTERESIS INTEGRAL
 * DERIVATIVE). The bodies are our own. Timers read __NOW(), the clock the
 * scan was given; __NOW exists only in this source.
 */
#include <stdio.h>
#include <string.h>

#include "st/st_ast.h"

/* ORDER st_mathfn */
const char *const st_math_names[MF__COUNT] = {"SQRT", "LN",  "LOG",  "EXP",  "SIN",
                                              "COS",  "TAN", "ASIN", "ACOS", "ATAN"};

/* Parameters: input names separated by commas; "IN#1" is extensible
 * (IN1, IN2, ...; the number is the first index). */
static const struct st_stdfn fns[] = {
    {"ADD", SF_ADD, 2, -1, "IN#1", 0, 0, 0},
    {"SUB", SF_SUB, 2, 2, "IN1,IN2", 0, 0, 0},
    {"MUL", SF_MUL, 2, -1, "IN#1", 0, 0, 0},
    {"DIV", SF_DIV, 2, 2, "IN1,IN2", 0, 0, 0},
    {"MOD", SF_MOD, 2, 2, "IN1,IN2", 0, 0, 0},
    {"EXPT", SF_EXPT, 2, 2, "IN1,IN2", 0, 0, 0},
    {"MOVE", SF_MOVE, 1, 1, "IN", 0, 0, 0},
    {"GT", SF_GT, 2, -1, "IN#1", 0, 0, 0},
    {"GE", SF_GE, 2, -1, "IN#1", 0, 0, 0},
    {"EQ", SF_EQ, 2, -1, "IN#1", 0, 0, 0},
    {"LE", SF_LE, 2, -1, "IN#1", 0, 0, 0},
    {"LT", SF_LT, 2, -1, "IN#1", 0, 0, 0},
    {"NE", SF_NE, 2, 2, "IN1,IN2", 0, 0, 0},
    {"AND", SF_AND, 2, -1, "IN#1", 0, 0, 0},
    {"OR", SF_OR, 2, -1, "IN#1", 0, 0, 0},
    {"XOR", SF_XOR, 2, -1, "IN#1", 0, 0, 0},
    {"NOT", SF_NOT, 1, 1, "IN", 0, 0, 0},
    {"SQRT", SF_MATH, 1, 1, "IN", MF_SQRT, 0, 0},
    {"LN", SF_MATH, 1, 1, "IN", MF_LN, 0, 0},
    {"LOG", SF_MATH, 1, 1, "IN", MF_LOG, 0, 0},
    {"EXP", SF_MATH, 1, 1, "IN", MF_EXP, 0, 0},
    {"SIN", SF_MATH, 1, 1, "IN", MF_SIN, 0, 0},
    {"COS", SF_MATH, 1, 1, "IN", MF_COS, 0, 0},
    {"TAN", SF_MATH, 1, 1, "IN", MF_TAN, 0, 0},
    {"ASIN", SF_MATH, 1, 1, "IN", MF_ASIN, 0, 0},
    {"ACOS", SF_MATH, 1, 1, "IN", MF_ACOS, 0, 0},
    {"ATAN", SF_MATH, 1, 1, "IN", MF_ATAN, 0, 0},
    {"ABS", SF_ABS, 1, 1, "IN", 0, 0, 0},
    {"SHL", SF_SHL, 2, 2, "IN,N", 0, 0, 0},
    {"SHR", SF_SHR, 2, 2, "IN,N", 0, 0, 0},
    {"ROL", SF_ROL, 2, 2, "IN,N", 0, 0, 0},
    {"ROR", SF_ROR, 2, 2, "IN,N", 0, 0, 0},
    {"SEL", SF_SEL, 3, 3, "G,IN0,IN1", 0, 0, 0},
    {"MUX", SF_MUX, 2, -1, "K,IN#0", 0, 0, 0},
    {"MAX", SF_MAX, 2, -1, "IN#1", 0, 0, 0},
    {"MIN", SF_MIN, 2, -1, "IN#1", 0, 0, 0},
    {"LIMIT", SF_LIMIT, 3, 3, "MN,IN,MX", 0, 0, 0},
    {"LEN", SF_LEN, 1, 1, "IN", 0, 0, 0},
    {"LEFT", SF_LEFT, 2, 2, "IN,L", 0, 0, 0},
    {"RIGHT", SF_RIGHT, 2, 2, "IN,L", 0, 0, 0},
    {"MID", SF_MID, 3, 3, "IN,L,P", 0, 0, 0},
    {"CONCAT", SF_CONCAT, 2, -1, "IN#1", 0, 0, 0},
    {"FIND", SF_FIND, 2, 2, "IN1,IN2", 0, 0, 0},
    {"INSERT", SF_INSERT, 3, 3, "IN1,IN2,P", 0, 0, 0},
    {"DELETE", SF_DELETE, 3, 3, "IN,L,P", 0, 0, 0},
    {"REPLACE", SF_REPLACE, 4, 4, "IN1,IN2,L,P", 0, 0, 0},
    {"TRUNC", SF_TRUNC, 1, 1, "IN", 0, ST_DERIVED, ST_DINT},
    {"__NOW", SF_NOW, 0, 0, "", 0, 0, 0},
};

const struct st_stdfn *st_lib_function(struct st_comp *C, const char *key)
{
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (!strcmp(fns[i].name, key)) {
            if (fns[i].kind == SF_NOW && !C->in_lib)
                return NULL;
            return &fns[i];
        }
    /* conversions: X_TO_Y, TO_Y, X_TRUNC_Y */
    const char *p = strstr(key, "_TO_");
    const char *q = strstr(key, "_TRUNC_");
    int from = -2, to = -1;
    enum st_sfkind kind = SF_CONV;
    char a[32];
    if (!strncmp(key, "TO_", 3)) {
        from = ST_DERIVED;
        to = st_elem_by_key(key + 3);
    } else if (p && (size_t)(p - key) < sizeof a) {
        memcpy(a, key, (size_t)(p - key));
        a[p - key] = 0;
        from = st_elem_by_key(a);
        to = st_elem_by_key(p + 4);
    } else if (q && (size_t)(q - key) < sizeof a) {
        memcpy(a, key, (size_t)(q - key));
        a[q - key] = 0;
        from = st_elem_by_key(a);
        to = st_elem_by_key(q + 7);
        kind = SF_TRUNC;
    } else if (!strncmp(key, "TRUNC_", 6)) {
        from = ST_DERIVED;
        to = st_elem_by_key(key + 6);
        kind = SF_TRUNC;
    }
    if (from == -2 || from == -1 || to < 0)
        return NULL;
    struct st_stdfn *f = st_arena_alloc(C->A, sizeof *f);
    f->name = key;
    f->kind = kind;
    f->minargs = f->maxargs = 1;
    f->params = "IN";
    f->from = (enum st_type)from;
    f->to = (enum st_type)to;
    return f;
}

/* The standard function blocks, one entry each, with the blocks each needs.
 * TIME_TO_REAL gives seconds, as OpenPLC. */
#define CTU(NAME, T)                                                                 \
    "FUNCTION_BLOCK " NAME "\n"                                                      \
    "  VAR_INPUT CU : BOOL; R : BOOL; PV : " T "; END_VAR\n"                         \
    "  VAR_OUTPUT Q : BOOL; CV : " T "; END_VAR\n"                                   \
    "  VAR CU_PREV : BOOL; END_VAR\n"                                                \
    "  IF R THEN CV := 0;\n"                                                         \
    "  ELSIF CU AND NOT CU_PREV AND CV < PV THEN CV := CV + 1;\n"                    \
    "  END_IF;\n"                                                                    \
    "  CU_PREV := CU;\n"                                                             \
    "  Q := CV >= PV;\n"                                                             \
    "END_FUNCTION_BLOCK\n"
#define CTD(NAME, T)                                                                 \
    "FUNCTION_BLOCK " NAME "\n"                                                      \
    "  VAR_INPUT CD : BOOL; LD : BOOL; PV : " T "; END_VAR\n"                        \
    "  VAR_OUTPUT Q : BOOL; CV : " T "; END_VAR\n"                                   \
    "  VAR CD_PREV : BOOL; END_VAR\n"                                                \
    "  IF LD THEN CV := PV;\n"                                                       \
    "  ELSIF CD AND NOT CD_PREV AND CV > 0 THEN CV := CV - 1;\n"                     \
    "  END_IF;\n"                                                                    \
    "  CD_PREV := CD;\n"                                                             \
    "  Q := CV <= 0;\n"                                                              \
    "END_FUNCTION_BLOCK\n"
#define CTUD(NAME, T)                                                                \
    "FUNCTION_BLOCK " NAME "\n"                                                      \
    "  VAR_INPUT CU : BOOL; CD : BOOL; R : BOOL; LD : BOOL; PV : " T "; END_VAR\n"   \
    "  VAR_OUTPUT QU : BOOL; QD : BOOL; CV : " T "; END_VAR\n"                       \
    "  VAR CU_PREV : BOOL; CD_PREV : BOOL; UP : BOOL; DN : BOOL; END_VAR\n"          \
    "  UP := CU AND NOT CU_PREV; DN := CD AND NOT CD_PREV;\n"                        \
    "  CU_PREV := CU; CD_PREV := CD;\n"                                              \
    "  IF R THEN CV := 0;\n"                                                         \
    "  ELSIF LD THEN CV := PV;\n"                                                    \
    "  ELSIF NOT (UP AND DN) THEN\n"                                                 \
    "    IF UP AND CV < PV THEN CV := CV + 1;\n"                                     \
    "    ELSIF DN AND CV > 0 THEN CV := CV - 1;\n"                                   \
    "    END_IF;\n"                                                                  \
    "  END_IF;\n"                                                                    \
    "  QU := CV >= PV;\n"                                                            \
    "  QD := CV <= 0;\n"                                                             \
    "END_FUNCTION_BLOCK\n"

const struct st_libfb st_lib_fbs[] = {
    {"R_TRIG", "",
     "FUNCTION_BLOCK R_TRIG\n"
     "  VAR_INPUT CLK : BOOL; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; END_VAR\n"
     "  VAR M : BOOL; END_VAR\n"
     "  Q := CLK AND NOT M;\n"
     "  M := CLK;\n"
     "END_FUNCTION_BLOCK\n"},
    /* F_TRIG pulses at a first call with CLK FALSE, as the standard and OpenPLC */
    {"F_TRIG", "",
     "FUNCTION_BLOCK F_TRIG\n"
     "  VAR_INPUT CLK : BOOL; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; END_VAR\n"
     "  VAR M : BOOL; END_VAR\n"
     "  Q := NOT CLK AND NOT M;\n"
     "  M := NOT CLK;\n"
     "END_FUNCTION_BLOCK\n"},
    {"SR", "",
     "FUNCTION_BLOCK SR\n"
     "  VAR_INPUT S1 : BOOL; R : BOOL; END_VAR\n"
     "  VAR_OUTPUT Q1 : BOOL; END_VAR\n"
     "  Q1 := S1 OR (NOT R AND Q1);\n"
     "END_FUNCTION_BLOCK\n"},
    {"RS", "",
     "FUNCTION_BLOCK RS\n"
     "  VAR_INPUT S : BOOL; R1 : BOOL; END_VAR\n"
     "  VAR_OUTPUT Q1 : BOOL; END_VAR\n"
     "  Q1 := NOT R1 AND (S OR Q1);\n"
     "END_FUNCTION_BLOCK\n"},
    /* TON: Q once IN has been TRUE for PT; ET counts up to PT; both reset
     * when IN falls. */
    {"TON", "",
     "FUNCTION_BLOCK TON\n"
     "  VAR_INPUT IN : BOOL; PT : TIME; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; ET : TIME; END_VAR\n"
     "  VAR RUNNING : BOOL; START : TIME; END_VAR\n"
     "  IF NOT IN THEN\n"
     "    Q := FALSE; ET := T#0s; RUNNING := FALSE;\n"
     "  ELSE\n"
     "    IF NOT RUNNING THEN START := __NOW(); RUNNING := TRUE; END_IF;\n"
     "    ET := __NOW() - START;\n"
     "    IF ET >= PT THEN ET := PT; Q := TRUE; ELSE Q := FALSE; END_IF;\n"
     "  END_IF;\n"
     "END_FUNCTION_BLOCK\n"},
    /* TOF: Q follows IN up, and falls PT after IN fell; ET counts while off. */
    {"TOF", "",
     "FUNCTION_BLOCK TOF\n"
     "  VAR_INPUT IN : BOOL; PT : TIME; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; ET : TIME; END_VAR\n"
     "  VAR RUNNING : BOOL; START : TIME; END_VAR\n"
     "  IF IN THEN\n"
     "    Q := TRUE; ET := T#0s; RUNNING := FALSE;\n"
     "  ELSIF Q THEN\n"
     "    IF NOT RUNNING THEN START := __NOW(); RUNNING := TRUE; END_IF;\n"
     "    ET := __NOW() - START;\n"
     "    IF ET >= PT THEN ET := PT; Q := FALSE; RUNNING := FALSE; END_IF;\n"
     "  END_IF;\n"
     "END_FUNCTION_BLOCK\n"},
    /* TP: a pulse of PT on a rising edge of IN, not retriggerable. */
    {"TP", "",
     "FUNCTION_BLOCK TP\n"
     "  VAR_INPUT IN : BOOL; PT : TIME; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; ET : TIME; END_VAR\n"
     "  VAR PREV_IN : BOOL; START : TIME; END_VAR\n"
     "  IF Q THEN\n"
     "    ET := __NOW() - START;\n"
     "    IF ET >= PT THEN ET := PT; Q := FALSE; END_IF;\n"
     "  ELSIF IN AND NOT PREV_IN THEN\n"
     "    START := __NOW(); ET := T#0s; Q := TRUE;\n"
     "  END_IF;\n"
     "  IF NOT Q AND NOT IN THEN ET := T#0s; END_IF;\n"
     "  PREV_IN := IN;\n"
     "END_FUNCTION_BLOCK\n"},
    /* counters: on rising edges, up to PV / down to 0, as OpenPLC */
    {"CTU", "", CTU("CTU", "INT")},
    {"CTU_DINT", "", CTU("CTU_DINT", "DINT")},
    {"CTU_LINT", "", CTU("CTU_LINT", "LINT")},
    {"CTU_UDINT", "", CTU("CTU_UDINT", "UDINT")},
    {"CTU_ULINT", "", CTU("CTU_ULINT", "ULINT")},
    {"CTD", "", CTD("CTD", "INT")},
    {"CTD_DINT", "", CTD("CTD_DINT", "DINT")},
    {"CTD_LINT", "", CTD("CTD_LINT", "LINT")},
    {"CTD_UDINT", "", CTD("CTD_UDINT", "UDINT")},
    {"CTD_ULINT", "", CTD("CTD_ULINT", "ULINT")},
    {"CTUD", "", CTUD("CTUD", "INT")},
    {"CTUD_DINT", "", CTUD("CTUD_DINT", "DINT")},
    {"CTUD_LINT", "", CTUD("CTUD_LINT", "LINT")},
    {"CTUD_UDINT", "", CTUD("CTUD_UDINT", "UDINT")},
    {"CTUD_ULINT", "", CTUD("CTUD_ULINT", "ULINT")},
    /* Annex F: Q goes TRUE above XIN2 + EPS, FALSE below XIN2 - EPS. */
    {"HYSTERESIS", "",
     "FUNCTION_BLOCK HYSTERESIS\n"
     "  VAR_INPUT XIN1 : REAL; XIN2 : REAL; EPS : REAL; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; END_VAR\n"
     "  IF Q THEN\n"
     "    IF XIN1 < XIN2 - EPS THEN Q := FALSE; END_IF;\n"
     "  ELSIF XIN1 > XIN2 + EPS THEN\n"
     "    Q := TRUE;\n"
     "  END_IF;\n"
     "END_FUNCTION_BLOCK\n"},
    /* Annex F: XOUT integrates XIN over CYCLE seconds; R1 resets it to X0. */
    {"INTEGRAL", "",
     "FUNCTION_BLOCK INTEGRAL\n"
     "  VAR_INPUT RUN : BOOL; R1 : BOOL; XIN : REAL; X0 : REAL; CYCLE : TIME; END_VAR\n"
     "  VAR_OUTPUT Q : BOOL; XOUT : REAL; END_VAR\n"
     "  Q := NOT R1;\n"
     "  IF R1 THEN XOUT := X0;\n"
     "  ELSIF RUN THEN XOUT := XOUT + XIN * TIME_TO_REAL(CYCLE);\n"
     "  END_IF;\n"
     "END_FUNCTION_BLOCK\n"},
    /* Annex F: a four-point derivative of XIN over CYCLE seconds. */
    {"DERIVATIVE", "",
     "FUNCTION_BLOCK DERIVATIVE\n"
     "  VAR_INPUT RUN : BOOL; XIN : REAL; CYCLE : TIME; END_VAR\n"
     "  VAR_OUTPUT XOUT : REAL; END_VAR\n"
     "  VAR X1 : REAL; X2 : REAL; X3 : REAL; END_VAR\n"
     "  IF RUN THEN\n"
     "    XOUT := (3.0 * (XIN - X3) + X1 - X2) / (10.0 * TIME_TO_REAL(CYCLE));\n"
     "    X3 := X2; X2 := X1; X1 := XIN;\n"
     "  ELSE\n"
     "    XOUT := 0.0; X1 := XIN; X2 := XIN; X3 := XIN;\n"
     "  END_IF;\n"
     "END_FUNCTION_BLOCK\n"},
    /* Annex F: XOUT = KP * (E + integral(E)/TR + TD * dE/dt) with E = PV - SP;
     * in manual (AUTO FALSE) the integral is preset so that XOUT = KP * X0. */
    {"PID", "INTEGRAL DERIVATIVE",
     "FUNCTION_BLOCK PID\n"
     "  VAR_INPUT AUTO : BOOL; PV : REAL; SP : REAL; X0 : REAL; KP : REAL; TR : REAL;\n"
     "            TD : REAL; CYCLE : TIME; END_VAR\n"
     "  VAR_OUTPUT XOUT : REAL; END_VAR\n"
     "  VAR ERROR : REAL; ITERM : INTEGRAL; DTERM : DERIVATIVE; END_VAR\n"
     "  ERROR := PV - SP;\n"
     "  ITERM(RUN := AUTO, R1 := NOT AUTO, XIN := ERROR, X0 := TR * (X0 - ERROR), CYCLE := CYCLE);\n"
     "  DTERM(RUN := AUTO, XIN := ERROR, CYCLE := CYCLE);\n"
     "  XOUT := KP * (ERROR + ITERM.XOUT / TR + DTERM.XOUT * TD);\n"
     "END_FUNCTION_BLOCK\n"},
    /* Annex F: XOUT follows X0, or ramps from there to X1 over TR while RUN. */
    {"RAMP", "",
     "FUNCTION_BLOCK RAMP\n"
     "  VAR_INPUT RUN : BOOL; X0 : REAL; X1 : REAL; TR : TIME; CYCLE : TIME; END_VAR\n"
     "  VAR_OUTPUT BUSY : BOOL; XOUT : REAL; END_VAR\n"
     "  VAR XI : REAL; T : TIME; END_VAR\n"
     "  BUSY := RUN;\n"
     "  IF RUN THEN\n"
     "    IF T >= TR THEN BUSY := FALSE; XOUT := X1;\n"
     "    ELSE XOUT := XI + (X1 - XI) * TIME_TO_REAL(T) / TIME_TO_REAL(TR); T := T + CYCLE;\n"
     "    END_IF;\n"
     "  ELSE\n"
     "    XOUT := X0; XI := X0; T := T#0s;\n"
     "  END_IF;\n"
     "END_FUNCTION_BLOCK\n"},
};
const size_t st_lib_nfbs = sizeof st_lib_fbs / sizeof st_lib_fbs[0];
#undef CTU
#undef CTD
#undef CTUD
