/* st_opcodes.h — the instruction set of the Structured Text VM.
 *
 * Every instruction is 16 bytes:
 *
 *    15       0 15       0 31                0 31                0 31                0
 *   +----------+----------+-------------------+-------------------+-------------------+
 *   |    op    |    x     |         a         |         b         |         c         |
 *   +----------+----------+-------------------+-------------------+-------------------+
 *
 * `op` selects the operation; `a`, `b`, `c` are its operands and `x` a small
 * extra one (a polarity, a string capacity, an array descriptor, a math
 * function, a byte count). The VM is a register machine in the manner of
 * Lua's, but its registers are bytes of the VM memory: a data operand `d` is
 * a byte offset from the frame base `bp`, and the instruction's type suffix
 * says how many bytes it reads and how it reads them. There is no type tag
 * and no dispatch on types at run time: the compiler picks the typed
 * instruction.
 *
 * Frames: a PROGRAM instance and a FUNCTION run with bp = the start of VM
 * memory, so their data operands are absolute offsets (their variables,
 * temporaries and constants all have fixed addresses, laid out at compile
 * time). A FUNCTION_BLOCK runs with bp = its instance, so its operands are
 * offsets inside the instance; it reaches absolute memory (globals, the
 * frames of the functions it calls) through LDG and STG. Constants are
 * read-only cells of memory initialised once (data operands like any other).
 * An address held in memory (`p` operands: VAR_IN_OUT parameters, computed
 * array elements) is a 32-bit absolute offset.
 *
 * Operand kinds (the OPMODE string, in the order a b c x):
 *   d  data operand: byte offset from bp          g  absolute byte offset
 *   p  slot (d) holding a 32-bit absolute address  j  jump target (index into the code)
 *   k  POU body index                              y  array descriptor index
 *   n  a count of bytes, or a string capacity      s  polarity: jump when (test) == x
 *   f  math function (ORDER st_mathfn)             i  immediate integer
 *   -  unused
 *
 * Type suffixes: _8 _16 _32 _64 integers of that width where signedness does
 * not matter (they wrap, as two's complement); _I8.._I64 signed, _U8.._U64
 * unsigned, _F32 REAL, _F64 LREAL, _B BOOL (one byte, 0 or 1), _S STRING
 * (capacity + 1 bytes, NUL-terminated). TIME is a signed 64-bit count of
 * nanoseconds and uses the _64/_I64 instructions.
 *
 * Faults (stop the scan, return the fault): division or MOD by zero (DIV_*,
 * MOD_*), an index outside its declared bounds (ELEM, LDE*, STE*), FAULT,
 * a bad address (LDX*, STX*, CALLX: cannot happen with a correct compiler;
 * checked anyway).
 *
 * The watchdog charges instructions by distance in the code: at each taken
 * jump, call and return the VM adds the length of the straight run just
 * executed, so counting costs nothing on straight-line code and the count
 * is exact.
 *
 * ORDER: the opcode list below is the one definition of the enum, the names
 * the disassembler prints, the operand kinds and the VM's jump table (all
 * generated from ST_OPCODES), so they cannot drift apart.
 */
#ifndef ST_OPCODES_H
#define ST_OPCODES_H

#include <stdint.h>

struct st_ins {
    uint16_t op;
    uint16_t x;
    int32_t a, b, c;
};

/* OP(name, operand kinds "abcx") — one line per opcode, its meaning beside it. */
#define ST_OPCODES(OP) \
    OP(NOP,        "----") /* nothing */ \
    /* ---- moves (a := b) ---- */ \
    OP(MOV_8,      "dd--") /* a := b, 1 byte */ \
    OP(MOV_16,     "dd--") /* a := b, 2 bytes */ \
    OP(MOV_32,     "dd--") /* a := b, 4 bytes */ \
    OP(MOV_64,     "dd--") /* a := b, 8 bytes */ \
    OP(MOVN,       "dd-n") /* a := b, x bytes (structures, arrays) */ \
    OP(MOVBIG,     "ddi-") /* a := b, c bytes (more than 65535) */ \
    OP(LDG_8,      "dg--") /* a := mem[b], 1 byte (absolute source) */ \
    OP(LDG_16,     "dg--") /* a := mem[b], 2 bytes */ \
    OP(LDG_32,     "dg--") /* a := mem[b], 4 bytes */ \
    OP(LDG_64,     "dg--") /* a := mem[b], 8 bytes */ \
    OP(LDGN,       "dg-n") /* a := mem[b], x bytes */ \
    OP(STG_8,      "gd--") /* mem[a] := b, 1 byte (absolute destination) */ \
    OP(STG_16,     "gd--") /* mem[a] := b, 2 bytes */ \
    OP(STG_32,     "gd--") /* mem[a] := b, 4 bytes */ \
    OP(STG_64,     "gd--") /* mem[a] := b, 8 bytes */ \
    OP(STGN,       "gd-n") /* mem[a] := b, x bytes */ \
    OP(LDX_8,      "dpi-") /* a := mem[*b + c], 1 byte (through an address) */ \
    OP(LDX_16,     "dpi-") /* a := mem[*b + c], 2 bytes */ \
    OP(LDX_32,     "dpi-") /* a := mem[*b + c], 4 bytes */ \
    OP(LDX_64,     "dpi-") /* a := mem[*b + c], 8 bytes */ \
    OP(LDXN,       "dpin") /* a := mem[*b + c], x bytes */ \
    OP(STX_8,      "pdi-") /* mem[*a + c] := b, 1 byte */ \
    OP(STX_16,     "pdi-") /* mem[*a + c] := b, 2 bytes */ \
    OP(STX_32,     "pdi-") /* mem[*a + c] := b, 4 bytes */ \
    OP(STX_64,     "pdi-") /* mem[*a + c] := b, 8 bytes */ \
    OP(STXN,       "pdin") /* mem[*a + c] := b, x bytes */ \
    OP(ADDR,       "pd--") /* *a := absolute address of data operand b */ \
    OP(ADDP,       "ppi-") /* *a := *b + c */ \
    OP(ELEM,       "ppdy") /* *a := *b + (c - lo) * size; c is a DINT index, bounds of descriptor x checked */ \
    OP(LDE_8,      "dddy") /* a := element c (DINT) of the array at operand b, 1 byte, checked */ \
    OP(LDE_16,     "dddy") /* a := b[c], 2 bytes */ \
    OP(LDE_32,     "dddy") /* a := b[c], 4 bytes */ \
    OP(LDE_64,     "dddy") /* a := b[c], 8 bytes */ \
    OP(LDEW_8,     "dddy") /* a := b[c] with an INT index, 1 byte */ \
    OP(LDEW_16,    "dddy") /* a := b[c], INT index, 2 bytes */ \
    OP(LDEW_32,    "dddy") /* a := b[c], INT index, 4 bytes */ \
    OP(LDEW_64,    "dddy") /* a := b[c], INT index, 8 bytes */ \
    OP(STE_8,      "dddy") /* a[b] := c, DINT index, 1 byte, checked */ \
    OP(STE_16,     "dddy") /* a[b] := c, 2 bytes */ \
    OP(STE_32,     "dddy") /* a[b] := c, 4 bytes */ \
    OP(STE_64,     "dddy") /* a[b] := c, 8 bytes */ \
    OP(STEW_8,     "dddy") /* a[b] := c, INT index, 1 byte */ \
    OP(STEW_16,    "dddy") /* a[b] := c, INT index, 2 bytes */ \
    OP(STEW_32,    "dddy") /* a[b] := c, INT index, 4 bytes */ \
    OP(STEW_64,    "dddy") /* a[b] := c, INT index, 8 bytes */ \
    OP(INITL,      "di--") /* re-initialise b bytes at operand a from the initial image */ \
    OP(INITA,      "gi--") /* re-initialise b bytes at absolute a from the initial image */ \
    /* ---- integer arithmetic, wrapping to the width ---- */ \
    OP(ADD_8,      "ddd-") /* a := b + c */ \
    OP(ADD_16,     "ddd-") \
    OP(ADD_32,     "ddd-") \
    OP(ADD_64,     "ddd-") \
    OP(ADD_F32,    "ddd-") \
    OP(ADD_F64,    "ddd-") \
    OP(SUB_8,      "ddd-") /* a := b - c */ \
    OP(SUB_16,     "ddd-") \
    OP(SUB_32,     "ddd-") \
    OP(SUB_64,     "ddd-") \
    OP(SUB_F32,    "ddd-") \
    OP(SUB_F64,    "ddd-") \
    OP(MUL_8,      "ddd-") /* a := b * c */ \
    OP(MUL_16,     "ddd-") \
    OP(MUL_32,     "ddd-") \
    OP(MUL_64,     "ddd-") \
    OP(MUL_F32,    "ddd-") \
    OP(MUL_F64,    "ddd-") \
    OP(DIV_I8,     "ddd-") /* a := b / c, truncated; c = 0 faults */ \
    OP(DIV_I16,    "ddd-") \
    OP(DIV_I32,    "ddd-") \
    OP(DIV_I64,    "ddd-") \
    OP(DIV_U8,     "ddd-") \
    OP(DIV_U16,    "ddd-") \
    OP(DIV_U32,    "ddd-") \
    OP(DIV_U64,    "ddd-") \
    OP(DIV_F32,    "ddd-") /* a := b / c (IEEE: no fault) */ \
    OP(DIV_F64,    "ddd-") \
    OP(MOD_I8,     "ddd-") /* a := b MOD c (sign of b, as C); c = 0 faults */ \
    OP(MOD_I16,    "ddd-") \
    OP(MOD_I32,    "ddd-") \
    OP(MOD_I64,    "ddd-") \
    OP(MOD_U8,     "ddd-") \
    OP(MOD_U16,    "ddd-") \
    OP(MOD_U32,    "ddd-") \
    OP(MOD_U64,    "ddd-") \
    OP(NEG_8,      "dd--") /* a := -b */ \
    OP(NEG_16,     "dd--") \
    OP(NEG_32,     "dd--") \
    OP(NEG_64,     "dd--") \
    OP(NEG_F32,    "dd--") \
    OP(NEG_F64,    "dd--") \
    OP(ABS_I8,     "dd--") /* a := |b| (wraps for the most negative value) */ \
    OP(ABS_I16,    "dd--") \
    OP(ABS_I32,    "dd--") \
    OP(ABS_I64,    "dd--") \
    OP(ABS_F32,    "dd--") \
    OP(ABS_F64,    "dd--") \
    OP(EXPT_F32,   "ddd-") /* a := b ** c */ \
    OP(EXPT_F64,   "ddd-") \
    OP(MATH_F32,   "dd-f") /* a := f(b): SQRT LN LOG EXP SIN COS TAN ASIN ACOS ATAN */ \
    OP(MATH_F64,   "dd-f") \
    OP(MIN_I8,     "ddd-") /* a := min(b, c) */ \
    OP(MIN_I16,    "ddd-") \
    OP(MIN_I32,    "ddd-") \
    OP(MIN_I64,    "ddd-") \
    OP(MIN_U8,     "ddd-") \
    OP(MIN_U16,    "ddd-") \
    OP(MIN_U32,    "ddd-") \
    OP(MIN_U64,    "ddd-") \
    OP(MIN_F32,    "ddd-") \
    OP(MIN_F64,    "ddd-") \
    OP(MAX_I8,     "ddd-") /* a := max(b, c) */ \
    OP(MAX_I16,    "ddd-") \
    OP(MAX_I32,    "ddd-") \
    OP(MAX_I64,    "ddd-") \
    OP(MAX_U8,     "ddd-") \
    OP(MAX_U16,    "ddd-") \
    OP(MAX_U32,    "ddd-") \
    OP(MAX_U64,    "ddd-") \
    OP(MAX_F32,    "ddd-") \
    OP(MAX_F64,    "ddd-") \
    /* ---- bits and booleans ---- */ \
    OP(AND_8,      "ddd-") /* a := b AND c (bitwise; BOOL uses _8) */ \
    OP(AND_16,     "ddd-") \
    OP(AND_32,     "ddd-") \
    OP(AND_64,     "ddd-") \
    OP(OR_8,       "ddd-") /* a := b OR c */ \
    OP(OR_16,      "ddd-") \
    OP(OR_32,      "ddd-") \
    OP(OR_64,      "ddd-") \
    OP(XOR_8,      "ddd-") /* a := b XOR c */ \
    OP(XOR_16,     "ddd-") \
    OP(XOR_32,     "ddd-") \
    OP(XOR_64,     "ddd-") \
    OP(NOT_B,      "dd--") /* a := NOT b (BOOL: 0 <-> 1) */ \
    OP(NOT_8,      "dd--") /* a := NOT b (bitwise complement) */ \
    OP(NOT_16,     "dd--") \
    OP(NOT_32,     "dd--") \
    OP(NOT_64,     "dd--") \
    OP(SHL_8,      "ddd-") /* a := b shifted left by c (a DINT); 0 when c >= width */ \
    OP(SHL_16,     "ddd-") \
    OP(SHL_32,     "ddd-") \
    OP(SHL_64,     "ddd-") \
    OP(SHR_8,      "ddd-") /* a := b shifted right by c, zeros in */ \
    OP(SHR_16,     "ddd-") \
    OP(SHR_32,     "ddd-") \
    OP(SHR_64,     "ddd-") \
    OP(ROL_8,      "ddd-") /* a := b rotated left by c */ \
    OP(ROL_16,     "ddd-") \
    OP(ROL_32,     "ddd-") \
    OP(ROL_64,     "ddd-") \
    OP(ROR_8,      "ddd-") /* a := b rotated right by c */ \
    OP(ROR_16,     "ddd-") \
    OP(ROR_32,     "ddd-") \
    OP(ROR_64,     "ddd-") \
    /* ---- comparisons giving a BOOL (GT, GE: operands swapped) ---- */ \
    OP(EQ_8,       "ddd-") /* a := b = c */ \
    OP(EQ_16,      "ddd-") \
    OP(EQ_32,      "ddd-") \
    OP(EQ_64,      "ddd-") \
    OP(EQ_F32,     "ddd-") \
    OP(EQ_F64,     "ddd-") \
    OP(EQ_S,       "ddd-") \
    OP(NE_8,       "ddd-") /* a := b <> c */ \
    OP(NE_16,      "ddd-") \
    OP(NE_32,      "ddd-") \
    OP(NE_64,      "ddd-") \
    OP(NE_F32,     "ddd-") \
    OP(NE_F64,     "ddd-") \
    OP(NE_S,       "ddd-") \
    OP(LT_I8,      "ddd-") /* a := b < c */ \
    OP(LT_I16,     "ddd-") \
    OP(LT_I32,     "ddd-") \
    OP(LT_I64,     "ddd-") \
    OP(LT_U8,      "ddd-") \
    OP(LT_U16,     "ddd-") \
    OP(LT_U32,     "ddd-") \
    OP(LT_U64,     "ddd-") \
    OP(LT_F32,     "ddd-") \
    OP(LT_F64,     "ddd-") \
    OP(LT_S,       "ddd-") \
    OP(LE_I8,      "ddd-") /* a := b <= c */ \
    OP(LE_I16,     "ddd-") \
    OP(LE_I32,     "ddd-") \
    OP(LE_I64,     "ddd-") \
    OP(LE_U8,      "ddd-") \
    OP(LE_U16,     "ddd-") \
    OP(LE_U32,     "ddd-") \
    OP(LE_U64,     "ddd-") \
    OP(LE_F32,     "ddd-") \
    OP(LE_F64,     "ddd-") \
    OP(LE_S,       "ddd-") \
    /* ---- jumps ---- */ \
    OP(JMP,        "--j-") /* pc := c */ \
    OP(JB,         "d-js") /* if (a <> 0) = x then pc := c */ \
    OP(JEQ_8,      "ddjs") /* if (a = b) = x then pc := c */ \
    OP(JEQ_16,     "ddjs") \
    OP(JEQ_32,     "ddjs") \
    OP(JEQ_64,     "ddjs") \
    OP(JEQ_F32,    "ddjs") \
    OP(JEQ_F64,    "ddjs") \
    OP(JLT_I8,     "ddjs") /* if (a < b) = x then pc := c */ \
    OP(JLT_I16,    "ddjs") \
    OP(JLT_I32,    "ddjs") \
    OP(JLT_I64,    "ddjs") \
    OP(JLT_U8,     "ddjs") \
    OP(JLT_U16,    "ddjs") \
    OP(JLT_U32,    "ddjs") \
    OP(JLT_U64,    "ddjs") \
    OP(JLT_F32,    "ddjs") \
    OP(JLT_F64,    "ddjs") \
    OP(JLE_I8,     "ddjs") /* if (a <= b) = x then pc := c */ \
    OP(JLE_I16,    "ddjs") \
    OP(JLE_I32,    "ddjs") \
    OP(JLE_I64,    "ddjs") \
    OP(JLE_U8,     "ddjs") \
    OP(JLE_U16,    "ddjs") \
    OP(JLE_U32,    "ddjs") \
    OP(JLE_U64,    "ddjs") \
    OP(JLE_F32,    "ddjs") \
    OP(JLE_F64,    "ddjs") \
    /* ---- conversions ---- */ \
    OP(SX8_64,     "dd--") /* a (64) := b (8), sign-extended */ \
    OP(SX16_64,    "dd--") \
    OP(SX32_64,    "dd--") \
    OP(ZX8_64,     "dd--") /* a (64) := b (8), zero-extended */ \
    OP(ZX16_64,    "dd--") \
    OP(ZX32_64,    "dd--") \
    OP(SX16_32,    "dd--") /* a (32) := b (16), sign-extended */ \
    OP(SX8_16,     "dd--") /* a (16) := b (8), sign-extended */ \
    OP(SX8_32,     "dd--") /* a (32) := b (8), sign-extended */ \
    OP(ZX8_16,     "dd--") /* a (16) := b (8), zero-extended */ \
    OP(ZX8_32,     "dd--") /* a (32) := b (8), zero-extended */ \
    OP(ZX16_32,    "dd--") /* a (32) := b (16), zero-extended */ \
    OP(I16_F32,    "dd--") /* a REAL := b INT */ \
    OP(I32_F32,    "dd--") /* a REAL := b DINT */ \
    OP(I32_F64,    "dd--") /* a LREAL := b DINT */ \
    OP(I64_F32,    "dd--") /* a REAL := b LINT */ \
    OP(I64_F64,    "dd--") /* a LREAL := b LINT */ \
    OP(U64_F32,    "dd--") /* a REAL := b ULINT */ \
    OP(U64_F64,    "dd--") /* a LREAL := b ULINT */ \
    OP(F32_F64,    "dd--") /* a LREAL := b REAL */ \
    OP(F64_F32,    "dd--") /* a REAL := b LREAL */ \
    OP(F32_I64,    "dd--") /* a LINT := b REAL, rounded to nearest, ties to even, saturated */ \
    OP(F64_I64,    "dd--") /* a LINT := b LREAL, rounded, saturated */ \
    OP(F32_U64,    "dd--") /* a ULINT := b REAL, rounded; negative gives 0 */ \
    OP(F64_U64,    "dd--") /* a ULINT := b LREAL, rounded; negative gives 0 */ \
    OP(TRUNC_F32,  "dd--") /* a LINT := b REAL truncated toward zero, saturated */ \
    OP(TRUNC_F64,  "dd--") /* a LINT := b LREAL truncated */ \
    OP(T_S64,      "dd--") /* a LINT := whole seconds of TIME b (ST_TIME_UNIT_NS) */ \
    OP(S64_T,      "dd--") /* a TIME := b LINT seconds */ \
    OP(T_F64,      "dd--") /* a LREAL := seconds of TIME b */ \
    OP(F64_T,      "dd--") /* a TIME := b LREAL seconds, rounded to the nanosecond */ \
    OP(I64_S,      "dd-n") /* a STRING[x] := decimal text of b LINT */ \
    OP(U64_S,      "dd-n") /* a STRING[x] := decimal text of b ULINT */ \
    OP(X64_S,      "dd-n") /* a STRING[x] := '16#..' text of bit string b */ \
    OP(F64_S,      "dd-n") /* a STRING[x] := text of b LREAL (%.10g) */ \
    OP(B_S,        "dd-n") /* a STRING[x] := 'TRUE' or 'FALSE' */ \
    OP(T_S,        "dd-n") /* a STRING[x] := 'T#1h2m3s' text of TIME b */ \
    OP(S_I64,      "dd--") /* a LINT := value of STRING b (0 if none) */ \
    OP(S_U64,      "dd--") /* a ULINT := value of STRING b */ \
    OP(S_F64,      "dd--") /* a LREAL := value of STRING b */ \
    OP(S_B,        "dd--") /* a BOOL := STRING b is 'TRUE' or '1' */ \
    OP(S_T,        "dd--") /* a TIME := STRING b ('T#5s' or seconds) */ \
    /* ---- strings (capacity x; results truncated to it) ---- */ \
    OP(SMOV,       "dd-n") /* a := b */ \
    OP(SCAT,       "dddn") /* a := b & c */ \
    OP(SLEN,       "dd--") /* a INT := LEN(b) */ \
    OP(SLEFT,      "dddn") /* a := LEFT(b, c) */ \
    OP(SRIGHT,     "dddn") /* a := RIGHT(b, c) */ \
    OP(SMID,       "dddn") /* a := MID(b, c, P); next word: a = P */ \
    OP(SFIND,      "ddd-") /* a INT := FIND(b, c) (1-based, 0 if absent) */ \
    OP(SINSERT,    "dddn") /* a := INSERT(b, c, P); next word: a = P */ \
    OP(SDELETE,    "dddn") /* a := DELETE(b, L = c, P); next word: a = P */ \
    OP(SREPLACE,   "dddn") /* a := REPLACE(b, c, L, P); next word: a = L, b = P */ \
    OP(EXT,        "dd--") /* extra operands of the instruction before it; never executed */ \
    /* ---- calls ---- */ \
    OP(CALL,       "-dk-") /* call POU body c with bp := bp + b (a function block instance) */ \
    OP(CALLX,      "-pk-") /* call POU body c with bp := mem + *b (an instance by address) */ \
    OP(CALLF,      "--k-") /* call function body c (bp := mem) */ \
    OP(RET,        "----") /* return to the caller */ \
    OP(NOW,        "d---") /* a TIME := the scan's clock */ \
    OP(FAULT,      "i---") /* stop with a fault; a: 1 subrange */

enum st_op {
#define ST_OP_ENUM(name, mode) OP_##name,
    ST_OPCODES(ST_OP_ENUM)
#undef ST_OP_ENUM
    OP__COUNT
};

/* Math functions of MATH_F32/MATH_F64 (ORDER st_mathfn). */
enum st_mathfn {
    MF_SQRT, MF_LN, MF_LOG, MF_EXP, MF_SIN, MF_COS, MF_TAN, MF_ASIN, MF_ACOS, MF_ATAN, MF__COUNT
};

/* Names and operand kinds, indexed by opcode (st_disasm.c). */
extern const char *const st_op_names[OP__COUNT];
extern const char *const st_op_modes[OP__COUNT];
extern const char *const st_math_names[MF__COUNT];

/* An array descriptor (operand kind y): index bounds, element size, and a
 * bias added to the index operand (a[j + 1] is element j with bias 1). */
struct st_adesc {
    int32_t lo, hi;
    uint32_t size;
    int32_t bias;
};

#endif
