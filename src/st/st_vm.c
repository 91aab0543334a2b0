/* st_vm.c — the virtual machine: runs the instructions of st_opcodes.h over
 * the VM's memory, scan after scan, without allocating; plus restarts,
 * retained variables and access to variables by name.
 *
 * The dispatch loop follows Lua's lvm.c: one label per opcode, jumped to
 * through a table (computed goto), the operands decoded inline, memory read
 * and written through memcpy so that any alignment and aliasing is defined.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "st/st_int.h"

struct frame {
    const struct st_ins *ret;
    uint8_t *bp;
    int body;
};

struct st_vm {
    const struct st_image *img;
    uint8_t *mem;
    size_t size;
    vtime_t now;
    struct frame stack[ST_MAX_DEPTH + 1];
    char *scratch;          /* string work space: 2 * (ST_MAX_STRING + 1) + 64 */
    uint8_t *retained;      /* warm restart: the RETAIN bytes */
};

/* ---- names and modes of the opcodes (ORDER: generated from ST_OPCODES) ---- */

#define ST_OP_NAME(name, mode) #name,
const char *const st_op_names[OP__COUNT] = {ST_OPCODES(ST_OP_NAME)};
#undef ST_OP_NAME
#define ST_OP_MODE(name, mode) mode,
const char *const st_op_modes[OP__COUNT] = {ST_OPCODES(ST_OP_MODE)};
#undef ST_OP_MODE

/* ---- memory access ---- */

#define LDST(T, CT)                                                   \
    static inline CT ld_##T(const uint8_t *p)                         \
    {                                                                 \
        CT v;                                                         \
        memcpy(&v, p, sizeof v);                                      \
        return v;                                                     \
    }                                                                 \
    static inline void st_##T(uint8_t *p, CT v) { memcpy(p, &v, sizeof v); }
LDST(u8, uint8_t)
LDST(u16, uint16_t)
LDST(u32, uint32_t)
LDST(u64, uint64_t)
LDST(i8, int8_t)
LDST(i16, int16_t)
LDST(i32, int32_t)
LDST(i64, int64_t)
LDST(f32, float)
LDST(f64, double)
#undef LDST

/* ---- conversions ---- */

static int64_t f2i(double x)
{
    if (x != x)
        return 0;
    x = rint(x);
    if (x >= 9223372036854775807.0)
        return INT64_MAX;
    if (x <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

static uint64_t f2u(double x)
{
    if (!(x > 0))
        return 0;
    x = rint(x);
    if (x >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)x;
}

static int64_t ftrunc(double x)
{
    if (x != x)
        return 0;
    x = trunc(x);
    if (x >= 9223372036854775807.0)
        return INT64_MAX;
    if (x <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

static double mathfn(int f, double x)
{
    switch (f) {
    case MF_SQRT: return sqrt(x);
    case MF_LN: return log(x);
    case MF_LOG: return log10(x);
    case MF_EXP: return exp(x);
    case MF_SIN: return sin(x);
    case MF_COS: return cos(x);
    case MF_TAN: return tan(x);
    case MF_ASIN: return asin(x);
    case MF_ACOS: return acos(x);
    default: return atan(x);
    }
}

static float mathfn32(int f, float x)
{
    switch (f) {
    case MF_SQRT: return sqrtf(x);
    case MF_LN: return logf(x);
    case MF_LOG: return log10f(x);
    case MF_EXP: return expf(x);
    case MF_SIN: return sinf(x);
    case MF_COS: return cosf(x);
    case MF_TAN: return tanf(x);
    case MF_ASIN: return asinf(x);
    case MF_ACOS: return acosf(x);
    default: return atanf(x);
    }
}

/* ---- strings ---- */

static size_t slen(const uint8_t *s)
{
    return strlen((const char *)s);
}

/* Copies n bytes of src as the string at dst with capacity cap. */
static void sput(uint8_t *dst, const void *src, size_t n, size_t cap)
{
    if (n > cap)
        n = cap;
    memmove(dst, src, n);
    dst[n] = 0;
}

static void time_text(int64_t t, char *b, size_t len)
{
    size_t k = (size_t)snprintf(b, len, "T#%s", t < 0 ? "-" : "");
    uint64_t u = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    static const struct { uint64_t ns; const char *unit; } parts[] = {
        {86400000000000ull, "d"}, {3600000000000ull, "h"}, {60000000000ull, "m"},
        {1000000000ull, "s"},     {1000000ull, "ms"},      {1000ull, "us"}, {1, "ns"}};
    if (u == 0) {
        snprintf(b + k, len - k, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && k < len; i++) {
        uint64_t q = u / parts[i].ns;
        u %= parts[i].ns;
        if (q)
            k += (size_t)snprintf(b + k, len - k, "%llu%s", (unsigned long long)q, parts[i].unit);
    }
}

/* A number in a string: optional sign, 2#/8#/16# prefixes, underscores. */
static int64_t str_int(const char *s, bool *isneg)
{
    while (isspace((unsigned char)*s))
        s++;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    int base = 10;
    if (s[0] == '2' && s[1] == '#')
        base = 2, s += 2;
    else if (s[0] == '8' && s[1] == '#')
        base = 8, s += 2;
    else if (s[0] == '1' && s[1] == '6' && s[2] == '#')
        base = 16, s += 3;
    uint64_t v = 0;
    for (; *s; s++) {
        int d;
        if (*s == '_')
            continue;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        if (d >= base)
            break;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    if (isneg)
        *isneg = neg;
    return neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
}

static int64_t str_time(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    const char *h = strchr(s, '#');
    if (h && (h - s == 1 || h - s == 4)) {
        bool neg = h[1] == '-';
        const char *p = h + 1 + (neg || h[1] == '+');
        vtime_t v = 0;
        struct err e;
        char buf[128];
        size_t k = 0;
        for (; *p && k < sizeof buf - 1; p++)
            if (*p != '_')
                buf[k++] = *p;
        buf[k] = 0;
        if (vt_parse_duration(buf, &v, &e) != 0)
            return 0;
        return neg ? -v : v;
    }
    double d = strtod(s, NULL);
    return f2i(d * ST_TIME_UNIT_NS);
}

/* ---- faults ---- */

static int body_at(const struct st_image *img, size_t pc)
{
    for (size_t b = 0; b < img->nbodies; b++)
        if (pc >= (size_t)img->bodies[b].entry && pc < (size_t)img->bodies[b].end)
            return (int)b;
    return -1;
}

static void set_fault(struct st_vm *vm, struct st_fault *f, enum st_fault_kind kind, size_t pc,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void set_fault(struct st_vm *vm, struct st_fault *f, enum st_fault_kind kind, size_t pc,
                      const char *fmt, ...)
{
    if (!f)
        return;
    const struct st_image *img = vm->img;
    int b = body_at(img, pc);
    f->kind = kind;
    snprintf(f->pou, sizeof f->pou, "%s", b >= 0 ? img->bodies[b].name : "?");
    f->line = pc < img->ncode ? (int)img->lines[pc] : 0;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(f->msg, sizeof f->msg, "%s in %s at line %d", what, f->pou, f->line);
}

/* ---- the interpreter ---- */

enum { R_OK, R_FAULT };

/* Runs body `b` with bp = mem. *left: the remaining instruction budget. */
static int run(struct st_vm *vm, int b, int64_t *pleft, struct st_fault *f)
{
    const struct st_image *img = vm->img;
    const struct st_ins *const code = img->code;
    const struct st_adesc *const adesc = img->adesc;
    uint8_t *const mem = vm->mem;
    const uint8_t *const init = img->init;
    const uint32_t size = (uint32_t)vm->size;
    uint8_t *bp = mem;
    const struct st_ins *pc = code + img->bodies[b].entry, *blk = pc, *i;
    int64_t left = *pleft;
    int depth = 0;
    char *sc = vm->scratch;

#define LABEL(name, mode) &&L_##name,
    static const void *const disp[OP__COUNT] = {ST_OPCODES(LABEL)};
#undef LABEL
#define NEXT()                      \
    do {                            \
        i = pc++;                   \
        goto *disp[i->op];          \
    } while (0)
#define CASE(name) L_##name:
#define P(o) (bp + (o))
#define JUMPTO(t)                                  \
    do {                                           \
        left -= pc - blk;                          \
        pc = code + (t);                           \
        blk = pc;                                  \
        if (left < 0)                              \
            goto watchdog;                         \
        NEXT();                                    \
    } while (0)
#define FAULT(kind, ...)                                            \
    do {                                                            \
        set_fault(vm, f, kind, (size_t)(i - code), __VA_ARGS__);    \
        goto fault;                                                 \
    } while (0)

    NEXT();

    CASE(NOP) NEXT();
    /* moves */
    CASE(MOV_8) st_u8(P(i->a), ld_u8(P(i->b))); NEXT();
    CASE(MOV_16) st_u16(P(i->a), ld_u16(P(i->b))); NEXT();
    CASE(MOV_32) st_u32(P(i->a), ld_u32(P(i->b))); NEXT();
    CASE(MOV_64) st_u64(P(i->a), ld_u64(P(i->b))); NEXT();
    CASE(MOVN) memmove(P(i->a), P(i->b), i->x); NEXT();
    CASE(MOVBIG) memmove(P(i->a), P(i->b), (size_t)(uint32_t)i->c); NEXT();
    CASE(LDG_8) st_u8(P(i->a), ld_u8(mem + i->b)); NEXT();
    CASE(LDG_16) st_u16(P(i->a), ld_u16(mem + i->b)); NEXT();
    CASE(LDG_32) st_u32(P(i->a), ld_u32(mem + i->b)); NEXT();
    CASE(LDG_64) st_u64(P(i->a), ld_u64(mem + i->b)); NEXT();
    CASE(LDGN) memmove(P(i->a), mem + i->b, i->x); NEXT();
    CASE(STG_8) st_u8(mem + i->a, ld_u8(P(i->b))); NEXT();
    CASE(STG_16) st_u16(mem + i->a, ld_u16(P(i->b))); NEXT();
    CASE(STG_32) st_u32(mem + i->a, ld_u32(P(i->b))); NEXT();
    CASE(STG_64) st_u64(mem + i->a, ld_u64(P(i->b))); NEXT();
    CASE(STGN) memmove(mem + i->a, P(i->b), i->x); NEXT();
#define XADDR(ptrop, n)                                                      \
    uint64_t ad = (uint64_t)ld_u32(P(ptrop)) + (uint64_t)(int64_t)i->c;     \
    if (ad < 16 || ad + (n) > size)                                          \
        FAULT(ST_FAULT_OTHER, "bad address %llu", (unsigned long long)ad);
    CASE(LDX_8) { XADDR(i->b, 1) st_u8(P(i->a), ld_u8(mem + ad)); NEXT(); }
    CASE(LDX_16) { XADDR(i->b, 2) st_u16(P(i->a), ld_u16(mem + ad)); NEXT(); }
    CASE(LDX_32) { XADDR(i->b, 4) st_u32(P(i->a), ld_u32(mem + ad)); NEXT(); }
    CASE(LDX_64) { XADDR(i->b, 8) st_u64(P(i->a), ld_u64(mem + ad)); NEXT(); }
    CASE(LDXN) { XADDR(i->b, i->x) memmove(P(i->a), mem + ad, i->x); NEXT(); }
    CASE(STX_8) { XADDR(i->a, 1) st_u8(mem + ad, ld_u8(P(i->b))); NEXT(); }
    CASE(STX_16) { XADDR(i->a, 2) st_u16(mem + ad, ld_u16(P(i->b))); NEXT(); }
    CASE(STX_32) { XADDR(i->a, 4) st_u32(mem + ad, ld_u32(P(i->b))); NEXT(); }
    CASE(STX_64) { XADDR(i->a, 8) st_u64(mem + ad, ld_u64(P(i->b))); NEXT(); }
    CASE(STXN) { XADDR(i->a, i->x) memmove(mem + ad, P(i->b), i->x); NEXT(); }
#undef XADDR
    CASE(ADDR) st_u32(P(i->a), (uint32_t)(bp - mem) + (uint32_t)i->b); NEXT();
    CASE(ADDP) st_u32(P(i->a), ld_u32(P(i->b)) + (uint32_t)i->c); NEXT();
    CASE(ELEM) {
        const struct st_adesc *d = &adesc[i->x];
        int64_t x = (int64_t)ld_i32(P(i->c)) + d->bias;
        if (x < d->lo || x > d->hi)
            FAULT(ST_FAULT_BOUNDS, "array index %lld outside %d..%d", (long long)x, d->lo,
                  d->hi);
        st_u32(P(i->a), ld_u32(P(i->b)) + (uint32_t)(x - d->lo) * d->size);
        NEXT();
    }
#define ELEMOP(NAME, IT, T, LOAD)                                                      \
    CASE(NAME) {                                                                       \
        const struct st_adesc *d = &adesc[i->x];                                       \
        int64_t x = (int64_t)ld_##IT(P(LOAD ? i->c : i->b)) + d->bias;                \
        if (x < d->lo || x > d->hi)                                                    \
            FAULT(ST_FAULT_BOUNDS, "array index %lld outside %d..%d", (long long)x,    \
                  d->lo, d->hi);                                                       \
        size_t e = (size_t)(x - d->lo) * sizeof(T##_t);                                \
        if (LOAD)                                                                      \
            st_##T(P(i->a), ld_##T(P(i->b) + e));                                      \
        else                                                                           \
            st_##T(P(i->a) + e, ld_##T(P(i->c)));                                      \
        NEXT();                                                                        \
    }
    typedef uint8_t u8_t;
    typedef uint16_t u16_t;
    typedef uint32_t u32_t;
    typedef uint64_t u64_t;
    ELEMOP(LDE_8, i32, u8, 1)
    ELEMOP(LDE_16, i32, u16, 1)
    ELEMOP(LDE_32, i32, u32, 1)
    ELEMOP(LDE_64, i32, u64, 1)
    ELEMOP(LDEW_8, i16, u8, 1)
    ELEMOP(LDEW_16, i16, u16, 1)
    ELEMOP(LDEW_32, i16, u32, 1)
    ELEMOP(LDEW_64, i16, u64, 1)
    ELEMOP(STE_8, i32, u8, 0)
    ELEMOP(STE_16, i32, u16, 0)
    ELEMOP(STE_32, i32, u32, 0)
    ELEMOP(STE_64, i32, u64, 0)
    ELEMOP(STEW_8, i16, u8, 0)
    ELEMOP(STEW_16, i16, u16, 0)
    ELEMOP(STEW_32, i16, u32, 0)
    ELEMOP(STEW_64, i16, u64, 0)
#undef ELEMOP
    CASE(INITL) {
        size_t o = (size_t)(bp - mem) + (size_t)i->a;
        memcpy(mem + o, init + o, (size_t)i->b);
        NEXT();
    }
    CASE(INITA) memcpy(mem + i->a, init + i->a, (size_t)i->b); NEXT();
    /* arithmetic */
#define BIN(NAME, T, CT, EXPR)                                  \
    CASE(NAME) {                                                \
        CT x = ld_##T(P(i->b)), y = ld_##T(P(i->c));           \
        (void)y;                                                \
        st_##T(P(i->a), (CT)(EXPR));                            \
        NEXT();                                                 \
    }
    BIN(ADD_8, u8, uint8_t, (uint32_t)x + y)
    BIN(ADD_16, u16, uint16_t, (uint32_t)x + y)
    BIN(ADD_32, u32, uint32_t, x + y)
    BIN(ADD_64, u64, uint64_t, x + y)
    BIN(ADD_F32, f32, float, x + y)
    BIN(ADD_F64, f64, double, x + y)
    BIN(SUB_8, u8, uint8_t, (uint32_t)x - y)
    BIN(SUB_16, u16, uint16_t, (uint32_t)x - y)
    BIN(SUB_32, u32, uint32_t, x - y)
    BIN(SUB_64, u64, uint64_t, x - y)
    BIN(SUB_F32, f32, float, x - y)
    BIN(SUB_F64, f64, double, x - y)
    BIN(MUL_8, u8, uint8_t, (uint32_t)x * (uint32_t)y)
    BIN(MUL_16, u16, uint16_t, (uint32_t)x * (uint32_t)y)
    BIN(MUL_32, u32, uint32_t, x * y)
    BIN(MUL_64, u64, uint64_t, x * y)
    BIN(MUL_F32, f32, float, x * y)
    BIN(MUL_F64, f64, double, x * y)
    BIN(DIV_F32, f32, float, x / y)
    BIN(DIV_F64, f64, double, x / y)
#define IDIV(NAME, T, CT, MOD, SIGNED)                                           \
    CASE(NAME) {                                                                 \
        CT x = ld_##T(P(i->b)), y = ld_##T(P(i->c));                            \
        if (y == 0)                                                              \
            FAULT(ST_FAULT_DIV_ZERO, "division by zero");                        \
        if (SIGNED && y == (CT)-1)                                               \
            st_##T(P(i->a), MOD ? 0 : (CT)(0 - (uint64_t)x));                    \
        else                                                                     \
            st_##T(P(i->a), MOD ? (CT)(x % y) : (CT)(x / y));                    \
        NEXT();                                                                  \
    }
    IDIV(DIV_I8, i8, int8_t, 0, 1)
    IDIV(DIV_I16, i16, int16_t, 0, 1)
    IDIV(DIV_I32, i32, int32_t, 0, 1)
    IDIV(DIV_I64, i64, int64_t, 0, 1)
    IDIV(DIV_U8, u8, uint8_t, 0, 0)
    IDIV(DIV_U16, u16, uint16_t, 0, 0)
    IDIV(DIV_U32, u32, uint32_t, 0, 0)
    IDIV(DIV_U64, u64, uint64_t, 0, 0)
    IDIV(MOD_I8, i8, int8_t, 1, 1)
    IDIV(MOD_I16, i16, int16_t, 1, 1)
    IDIV(MOD_I32, i32, int32_t, 1, 1)
    IDIV(MOD_I64, i64, int64_t, 1, 1)
    IDIV(MOD_U8, u8, uint8_t, 1, 0)
    IDIV(MOD_U16, u16, uint16_t, 1, 0)
    IDIV(MOD_U32, u32, uint32_t, 1, 0)
    IDIV(MOD_U64, u64, uint64_t, 1, 0)
#undef IDIV
#define UN(NAME, T, CT, EXPR)                      \
    CASE(NAME) {                                   \
        CT x = ld_##T(P(i->b));                    \
        st_##T(P(i->a), (CT)(EXPR));               \
        NEXT();                                    \
    }
    UN(NEG_8, u8, uint8_t, 0u - x)
    UN(NEG_16, u16, uint16_t, 0u - x)
    UN(NEG_32, u32, uint32_t, 0u - x)
    UN(NEG_64, u64, uint64_t, (uint64_t)0 - x)
    UN(NEG_F32, f32, float, -x)
    UN(NEG_F64, f64, double, -x)
    UN(ABS_I8, i8, int8_t, x < 0 ? (int8_t)(0u - (uint8_t)x) : x)
    UN(ABS_I16, i16, int16_t, x < 0 ? (int16_t)(0u - (uint16_t)x) : x)
    UN(ABS_I32, i32, int32_t, x < 0 ? (int32_t)(0u - (uint32_t)x) : x)
    UN(ABS_I64, i64, int64_t, x < 0 ? (int64_t)((uint64_t)0 - (uint64_t)x) : x)
    UN(ABS_F32, f32, float, fabsf(x))
    UN(ABS_F64, f64, double, fabs(x))
    BIN(EXPT_F32, f32, float, powf(x, y))
    BIN(EXPT_F64, f64, double, pow(x, y))
    CASE(MATH_F32) st_f32(P(i->a), mathfn32(i->x, ld_f32(P(i->b)))); NEXT();
    CASE(MATH_F64) st_f64(P(i->a), mathfn(i->x, ld_f64(P(i->b)))); NEXT();
    BIN(MIN_I8, i8, int8_t, x < y ? x : y)
    BIN(MIN_I16, i16, int16_t, x < y ? x : y)
    BIN(MIN_I32, i32, int32_t, x < y ? x : y)
    BIN(MIN_I64, i64, int64_t, x < y ? x : y)
    BIN(MIN_U8, u8, uint8_t, x < y ? x : y)
    BIN(MIN_U16, u16, uint16_t, x < y ? x : y)
    BIN(MIN_U32, u32, uint32_t, x < y ? x : y)
    BIN(MIN_U64, u64, uint64_t, x < y ? x : y)
    BIN(MIN_F32, f32, float, x < y ? x : y)
    BIN(MIN_F64, f64, double, x < y ? x : y)
    BIN(MAX_I8, i8, int8_t, x > y ? x : y)
    BIN(MAX_I16, i16, int16_t, x > y ? x : y)
    BIN(MAX_I32, i32, int32_t, x > y ? x : y)
    BIN(MAX_I64, i64, int64_t, x > y ? x : y)
    BIN(MAX_U8, u8, uint8_t, x > y ? x : y)
    BIN(MAX_U16, u16, uint16_t, x > y ? x : y)
    BIN(MAX_U32, u32, uint32_t, x > y ? x : y)
    BIN(MAX_U64, u64, uint64_t, x > y ? x : y)
    BIN(MAX_F32, f32, float, x > y ? x : y)
    BIN(MAX_F64, f64, double, x > y ? x : y)
    /* bits */
    BIN(AND_8, u8, uint8_t, x & y)
    BIN(AND_16, u16, uint16_t, x & y)
    BIN(AND_32, u32, uint32_t, x & y)
    BIN(AND_64, u64, uint64_t, x & y)
    BIN(OR_8, u8, uint8_t, x | y)
    BIN(OR_16, u16, uint16_t, x | y)
    BIN(OR_32, u32, uint32_t, x | y)
    BIN(OR_64, u64, uint64_t, x | y)
    BIN(XOR_8, u8, uint8_t, x ^ y)
    BIN(XOR_16, u16, uint16_t, x ^ y)
    BIN(XOR_32, u32, uint32_t, x ^ y)
    BIN(XOR_64, u64, uint64_t, x ^ y)
    UN(NOT_B, u8, uint8_t, x ? 0 : 1)
    UN(NOT_8, u8, uint8_t, ~(uint32_t)x)
    UN(NOT_16, u16, uint16_t, ~(uint32_t)x)
    UN(NOT_32, u32, uint32_t, ~x)
    UN(NOT_64, u64, uint64_t, ~x)
#define SHIFT(NAME, T, CT, W, EXPR)                              \
    CASE(NAME) {                                                 \
        CT x = ld_##T(P(i->b));                                  \
        int32_t n = ld_i32(P(i->c));                             \
        st_##T(P(i->a), (CT)(EXPR));                             \
        NEXT();                                                  \
    }
#define SH_L(W) (n < 0 || n >= W ? 0 : (uint64_t)x << n)
#define SH_R(W) (n < 0 || n >= W ? 0 : (uint64_t)x >> n)
#define RO_L(W) (((uint64_t)x << ((unsigned)n % W)) | ((unsigned)n % W ? (uint64_t)x >> (W - (unsigned)n % W) : 0))
#define RO_R(W) (((uint64_t)x >> ((unsigned)n % W)) | ((unsigned)n % W ? (uint64_t)x << (W - (unsigned)n % W) : 0))
    SHIFT(SHL_8, u8, uint8_t, 8, SH_L(8))
    SHIFT(SHL_16, u16, uint16_t, 16, SH_L(16))
    SHIFT(SHL_32, u32, uint32_t, 32, SH_L(32))
    SHIFT(SHL_64, u64, uint64_t, 64, SH_L(64))
    SHIFT(SHR_8, u8, uint8_t, 8, SH_R(8))
    SHIFT(SHR_16, u16, uint16_t, 16, SH_R(16))
    SHIFT(SHR_32, u32, uint32_t, 32, SH_R(32))
    SHIFT(SHR_64, u64, uint64_t, 64, SH_R(64))
    SHIFT(ROL_8, u8, uint8_t, 8, RO_L(8))
    SHIFT(ROL_16, u16, uint16_t, 16, RO_L(16))
    SHIFT(ROL_32, u32, uint32_t, 32, RO_L(32))
    SHIFT(ROL_64, u64, uint64_t, 64, RO_L(64))
    SHIFT(ROR_8, u8, uint8_t, 8, RO_R(8))
    SHIFT(ROR_16, u16, uint16_t, 16, RO_R(16))
    SHIFT(ROR_32, u32, uint32_t, 32, RO_R(32))
    SHIFT(ROR_64, u64, uint64_t, 64, RO_R(64))
#undef SHIFT
    /* comparisons */
#define CMP(NAME, T, CT, OP)                                              \
    CASE(NAME) {                                                          \
        CT x = ld_##T(P(i->b)), y = ld_##T(P(i->c));                     \
        st_u8(P(i->a), x OP y);                                           \
        NEXT();                                                           \
    }
    CMP(EQ_8, u8, uint8_t, ==)
    CMP(EQ_16, u16, uint16_t, ==)
    CMP(EQ_32, u32, uint32_t, ==)
    CMP(EQ_64, u64, uint64_t, ==)
    CMP(EQ_F32, f32, float, ==)
    CMP(EQ_F64, f64, double, ==)
    CMP(NE_8, u8, uint8_t, !=)
    CMP(NE_16, u16, uint16_t, !=)
    CMP(NE_32, u32, uint32_t, !=)
    CMP(NE_64, u64, uint64_t, !=)
    CMP(NE_F32, f32, float, !=)
    CMP(NE_F64, f64, double, !=)
    CMP(LT_I8, i8, int8_t, <)
    CMP(LT_I16, i16, int16_t, <)
    CMP(LT_I32, i32, int32_t, <)
    CMP(LT_I64, i64, int64_t, <)
    CMP(LT_U8, u8, uint8_t, <)
    CMP(LT_U16, u16, uint16_t, <)
    CMP(LT_U32, u32, uint32_t, <)
    CMP(LT_U64, u64, uint64_t, <)
    CMP(LT_F32, f32, float, <)
    CMP(LT_F64, f64, double, <)
    CMP(LE_I8, i8, int8_t, <=)
    CMP(LE_I16, i16, int16_t, <=)
    CMP(LE_I32, i32, int32_t, <=)
    CMP(LE_I64, i64, int64_t, <=)
    CMP(LE_U8, u8, uint8_t, <=)
    CMP(LE_U16, u16, uint16_t, <=)
    CMP(LE_U32, u32, uint32_t, <=)
    CMP(LE_U64, u64, uint64_t, <=)
    CMP(LE_F32, f32, float, <=)
    CMP(LE_F64, f64, double, <=)
#undef CMP
    CASE(EQ_S) st_u8(P(i->a), strcmp((char *)P(i->b), (char *)P(i->c)) == 0); NEXT();
    CASE(NE_S) st_u8(P(i->a), strcmp((char *)P(i->b), (char *)P(i->c)) != 0); NEXT();
    CASE(LT_S) st_u8(P(i->a), strcmp((char *)P(i->b), (char *)P(i->c)) < 0); NEXT();
    CASE(LE_S) st_u8(P(i->a), strcmp((char *)P(i->b), (char *)P(i->c)) <= 0); NEXT();
    /* jumps */
    CASE(JMP) JUMPTO(i->c);
    CASE(JB) {
        if ((ld_u8(P(i->a)) != 0) == i->x)
            JUMPTO(i->c);
        NEXT();
    }
#define JCMP(NAME, T, CT, OP)                                           \
    CASE(NAME) {                                                        \
        CT x = ld_##T(P(i->a)), y = ld_##T(P(i->b));                   \
        if ((x OP y) == i->x)                                           \
            JUMPTO(i->c);                                               \
        NEXT();                                                         \
    }
    JCMP(JEQ_8, u8, uint8_t, ==)
    JCMP(JEQ_16, u16, uint16_t, ==)
    JCMP(JEQ_32, u32, uint32_t, ==)
    JCMP(JEQ_64, u64, uint64_t, ==)
    JCMP(JEQ_F32, f32, float, ==)
    JCMP(JEQ_F64, f64, double, ==)
    JCMP(JLT_I8, i8, int8_t, <)
    JCMP(JLT_I16, i16, int16_t, <)
    JCMP(JLT_I32, i32, int32_t, <)
    JCMP(JLT_I64, i64, int64_t, <)
    JCMP(JLT_U8, u8, uint8_t, <)
    JCMP(JLT_U16, u16, uint16_t, <)
    JCMP(JLT_U32, u32, uint32_t, <)
    JCMP(JLT_U64, u64, uint64_t, <)
    JCMP(JLT_F32, f32, float, <)
    JCMP(JLT_F64, f64, double, <)
    JCMP(JLE_I8, i8, int8_t, <=)
    JCMP(JLE_I16, i16, int16_t, <=)
    JCMP(JLE_I32, i32, int32_t, <=)
    JCMP(JLE_I64, i64, int64_t, <=)
    JCMP(JLE_U8, u8, uint8_t, <=)
    JCMP(JLE_U16, u16, uint16_t, <=)
    JCMP(JLE_U32, u32, uint32_t, <=)
    JCMP(JLE_U64, u64, uint64_t, <=)
    JCMP(JLE_F32, f32, float, <=)
    JCMP(JLE_F64, f64, double, <=)
#undef JCMP
    /* conversions */
    CASE(SX8_64) st_i64(P(i->a), ld_i8(P(i->b))); NEXT();
    CASE(SX16_64) st_i64(P(i->a), ld_i16(P(i->b))); NEXT();
    CASE(SX32_64) st_i64(P(i->a), ld_i32(P(i->b))); NEXT();
    CASE(ZX8_64) st_u64(P(i->a), ld_u8(P(i->b))); NEXT();
    CASE(ZX16_64) st_u64(P(i->a), ld_u16(P(i->b))); NEXT();
    CASE(ZX32_64) st_u64(P(i->a), ld_u32(P(i->b))); NEXT();
    CASE(SX16_32) st_i32(P(i->a), ld_i16(P(i->b))); NEXT();
    CASE(SX8_16) st_i16(P(i->a), ld_i8(P(i->b))); NEXT();
    CASE(SX8_32) st_i32(P(i->a), ld_i8(P(i->b))); NEXT();
    CASE(ZX8_16) st_u16(P(i->a), ld_u8(P(i->b))); NEXT();
    CASE(ZX8_32) st_u32(P(i->a), ld_u8(P(i->b))); NEXT();
    CASE(ZX16_32) st_u32(P(i->a), ld_u16(P(i->b))); NEXT();
    CASE(I16_F32) st_f32(P(i->a), (float)ld_i16(P(i->b))); NEXT();
    CASE(I32_F32) st_f32(P(i->a), (float)ld_i32(P(i->b))); NEXT();
    CASE(I32_F64) st_f64(P(i->a), (double)ld_i32(P(i->b))); NEXT();
    CASE(I64_F32) st_f32(P(i->a), (float)ld_i64(P(i->b))); NEXT();
    CASE(I64_F64) st_f64(P(i->a), (double)ld_i64(P(i->b))); NEXT();
    CASE(U64_F32) st_f32(P(i->a), (float)ld_u64(P(i->b))); NEXT();
    CASE(U64_F64) st_f64(P(i->a), (double)ld_u64(P(i->b))); NEXT();
    CASE(F32_F64) st_f64(P(i->a), (double)ld_f32(P(i->b))); NEXT();
    CASE(F64_F32) st_f32(P(i->a), (float)ld_f64(P(i->b))); NEXT();
    CASE(F32_I64) st_i64(P(i->a), f2i(ld_f32(P(i->b)))); NEXT();
    CASE(F64_I64) st_i64(P(i->a), f2i(ld_f64(P(i->b)))); NEXT();
    CASE(F32_U64) st_u64(P(i->a), f2u(ld_f32(P(i->b)))); NEXT();
    CASE(F64_U64) st_u64(P(i->a), f2u(ld_f64(P(i->b)))); NEXT();
    CASE(TRUNC_F32) st_i64(P(i->a), ftrunc(ld_f32(P(i->b)))); NEXT();
    CASE(TRUNC_F64) st_i64(P(i->a), ftrunc(ld_f64(P(i->b)))); NEXT();
    CASE(T_S64) st_i64(P(i->a), ld_i64(P(i->b)) / ST_TIME_UNIT_NS); NEXT();
    CASE(S64_T) st_u64(P(i->a), ld_u64(P(i->b)) * (uint64_t)ST_TIME_UNIT_NS); NEXT();
    CASE(T_F64) st_f64(P(i->a), (double)ld_i64(P(i->b)) / ST_TIME_UNIT_NS); NEXT();
    CASE(F64_T) st_i64(P(i->a), f2i(ld_f64(P(i->b)) * ST_TIME_UNIT_NS)); NEXT();
#define TOSTR(NAME, FMT)                                                    \
    CASE(NAME) {                                                            \
        int n = FMT;                                                        \
        sput(P(i->a), sc, n < 0 ? 0 : (size_t)n, i->x);                     \
        NEXT();                                                             \
    }
    TOSTR(I64_S, snprintf(sc, 64, "%lld", (long long)ld_i64(P(i->b))))
    TOSTR(U64_S, snprintf(sc, 64, "%llu", (unsigned long long)ld_u64(P(i->b))))
    TOSTR(X64_S, snprintf(sc, 64, "16#%llx", (unsigned long long)ld_u64(P(i->b))))
    TOSTR(F64_S, snprintf(sc, 64, "%.10g", ld_f64(P(i->b))))
    TOSTR(B_S, snprintf(sc, 64, "%s", ld_u8(P(i->b)) ? "TRUE" : "FALSE"))
    CASE(T_S) {
        time_text(ld_i64(P(i->b)), sc, 64);
        sput(P(i->a), sc, strlen(sc), i->x);
        NEXT();
    }
#undef TOSTR
    CASE(S_I64) st_i64(P(i->a), str_int((char *)P(i->b), NULL)); NEXT();
    CASE(S_U64) st_u64(P(i->a), (uint64_t)str_int((char *)P(i->b), NULL)); NEXT();
    CASE(S_F64) st_f64(P(i->a), strtod((char *)P(i->b), NULL)); NEXT();
    CASE(S_B) {
        const char *s = (const char *)P(i->b);
        st_u8(P(i->a), !strcmp(s, "1") || !strcasecmp(s, "TRUE"));
        NEXT();
    }
    CASE(S_T) st_i64(P(i->a), str_time((char *)P(i->b))); NEXT();
    /* strings */
    CASE(SMOV) {
        const uint8_t *s = P(i->b);
        sput(P(i->a), s, slen(s), i->x);
        NEXT();
    }
    CASE(SCAT) {
        size_t la = slen(P(i->b)), lb = slen(P(i->c));
        memcpy(sc, P(i->b), la);
        memcpy(sc + la, P(i->c), lb);
        sput(P(i->a), sc, la + lb, i->x);
        NEXT();
    }
    CASE(SLEN) st_i16(P(i->a), (int16_t)slen(P(i->b))); NEXT();
    CASE(SLEFT) {
        size_t l = slen(P(i->b));
        int32_t n = ld_i32(P(i->c));
        size_t k = n < 0 ? 0 : (size_t)n > l ? l : (size_t)n;
        sput(P(i->a), P(i->b), k, i->x);
        NEXT();
    }
    CASE(SRIGHT) {
        size_t l = slen(P(i->b));
        int32_t n = ld_i32(P(i->c));
        size_t k = n < 0 ? 0 : (size_t)n > l ? l : (size_t)n;
        sput(P(i->a), P(i->b) + (l - k), k, i->x);
        NEXT();
    }
    CASE(SMID) {
        const struct st_ins *e = pc++;
        size_t l = slen(P(i->b));
        int32_t n = ld_i32(P(i->c)), p = ld_i32(P(e->a));
        if (p < 1 || (size_t)p > l || n <= 0) {
            P(i->a)[0] = 0;
        } else {
            size_t k = (size_t)n > l - (size_t)(p - 1) ? l - (size_t)(p - 1) : (size_t)n;
            sput(P(i->a), P(i->b) + p - 1, k, i->x);
        }
        NEXT();
    }
    CASE(SFIND) {
        const char *h = (const char *)P(i->b), *nd = (const char *)P(i->c);
        const char *r = *nd ? strstr(h, nd) : NULL;
        st_i16(P(i->a), r ? (int16_t)(r - h + 1) : 0);
        NEXT();
    }
    CASE(SINSERT) {
        const struct st_ins *e = pc++;
        size_t la = slen(P(i->b)), lb = slen(P(i->c));
        int32_t p = ld_i32(P(e->a));
        size_t k = p < 0 ? 0 : (size_t)p > la ? la : (size_t)p;
        memcpy(sc, P(i->b), k);
        memcpy(sc + k, P(i->c), lb);
        memcpy(sc + k + lb, P(i->b) + k, la - k);
        sput(P(i->a), sc, la + lb, i->x);
        NEXT();
    }
    CASE(SDELETE) {
        const struct st_ins *e = pc++;
        size_t l = slen(P(i->b));
        int32_t n = ld_i32(P(i->c)), p = ld_i32(P(e->a));
        memcpy(sc, P(i->b), l);
        size_t out = l;
        if (p >= 1 && (size_t)p <= l && n > 0) {
            size_t st = (size_t)p - 1;
            size_t k = (size_t)n > l - st ? l - st : (size_t)n;
            memmove(sc + st, sc + st + k, l - st - k);
            out = l - k;
        }
        sput(P(i->a), sc, out, i->x);
        NEXT();
    }
    CASE(SREPLACE) {
        const struct st_ins *e = pc++;
        size_t la = slen(P(i->b)), lb = slen(P(i->c));
        int32_t n = ld_i32(P(e->a)), p = ld_i32(P(e->b));
        size_t st = p < 1 ? 0 : (size_t)p - 1 > la ? la : (size_t)p - 1;
        size_t k = n < 0 ? 0 : (size_t)n > la - st ? la - st : (size_t)n;
        memcpy(sc, P(i->b), st);
        memcpy(sc + st, P(i->c), lb);
        memcpy(sc + st + lb, P(i->b) + st + k, la - st - k);
        sput(P(i->a), sc, la - k + lb, i->x);
        NEXT();
    }
    CASE(EXT) NEXT();
    /* calls */
    CASE(CALL) {
        if (depth >= ST_MAX_DEPTH)
            FAULT(ST_FAULT_STACK, "calls nested deeper than %d", ST_MAX_DEPTH);
        left -= pc - blk;
        vm->stack[depth++] = (struct frame){pc, bp, b};
        bp += i->b;
        b = i->c;
        pc = blk = code + img->bodies[b].entry;
        if (left < 0)
            goto watchdog;
        NEXT();
    }
    CASE(CALLX) {
        uint32_t ad = ld_u32(P(i->b));
        if (ad < 16 || ad >= size)
            FAULT(ST_FAULT_OTHER, "bad instance address %u", ad);
        if (depth >= ST_MAX_DEPTH)
            FAULT(ST_FAULT_STACK, "calls nested deeper than %d", ST_MAX_DEPTH);
        left -= pc - blk;
        vm->stack[depth++] = (struct frame){pc, bp, b};
        bp = mem + ad;
        b = i->c;
        pc = blk = code + img->bodies[b].entry;
        if (left < 0)
            goto watchdog;
        NEXT();
    }
    CASE(CALLF) {
        if (depth >= ST_MAX_DEPTH)
            FAULT(ST_FAULT_STACK, "calls nested deeper than %d", ST_MAX_DEPTH);
        left -= pc - blk;
        vm->stack[depth++] = (struct frame){pc, bp, b};
        bp = mem;
        b = i->c;
        pc = blk = code + img->bodies[b].entry;
        if (left < 0)
            goto watchdog;
        NEXT();
    }
    CASE(RET) {
        left -= pc - blk;
        if (depth == 0) {
            *pleft = left;
            if (left < 0) {
                /* the budget ran out on this last stretch */
                set_fault(vm, f, ST_FAULT_WATCHDOG, (size_t)(i - code),
                          "watchdog: the scan used its instruction budget");
                return R_FAULT;
            }
            return R_OK;
        }
        const struct frame *fr = &vm->stack[--depth];
        pc = blk = fr->ret;
        bp = fr->bp;
        b = fr->body;
        if (left < 0)
            goto watchdog;
        NEXT();
    }
    CASE(NOW) st_i64(P(i->a), vm->now); NEXT();
    CASE(FAULT) FAULT(ST_FAULT_BOUNDS, "value outside its subrange");

watchdog:
    i = pc > code ? pc - 1 : pc;
    set_fault(vm, f, ST_FAULT_WATCHDOG, (size_t)(i - code),
              "watchdog: the scan used its instruction budget");
    *pleft = left < 0 ? 0 : left;
    return R_FAULT;
fault:
    left -= pc - blk;
    *pleft = left;
    return R_FAULT;
#undef NEXT
#undef CASE
#undef P
#undef JUMPTO
#undef FAULT
#undef BIN
#undef UN
}

/* ---- the VM's life ---- */

struct st_vm *st_vm_new(const struct st_image *img, struct err *e)
{
    struct st_vm *vm = st_calloc(1, sizeof *vm);
    if (!vm) {
        err_set(e, "out of memory");
        return NULL;
    }
    vm->img = img;
    vm->size = img->memsize;
    vm->mem = st_malloc(img->memsize);
    vm->scratch = st_malloc(2 * (ST_MAX_STRING + 1) + 64);
    vm->retained = st_malloc(img->retain_bytes ? img->retain_bytes : 1);
    if (!vm->mem || !vm->scratch || !vm->retained) {
        st_vm_free(vm);
        err_set(e, "out of memory (%zu bytes of VM memory)", img->memsize);
        return NULL;
    }
    memcpy(vm->mem, img->init, img->memsize);
    return vm;
}

void st_vm_free(struct st_vm *vm)
{
    if (!vm)
        return;
    st_free(vm->mem);
    st_free(vm->scratch);
    st_free(vm->retained);
    st_free(vm);
}

uint8_t *st_vm_memory(struct st_vm *vm)
{
    return vm->mem;
}

size_t st_vm_memory_size(const struct st_vm *vm)
{
    return vm->size;
}

int st_vm_run_task(struct st_vm *vm, size_t t, vtime_t now, uint64_t budget, uint64_t *executed,
                   struct st_fault *f)
{
    const struct st_image *img = vm->img;
    if (f)
        memset(f, 0, sizeof *f);
    if (executed)
        *executed = 0;
    if (t >= img->ntasks) {
        if (f) {
            f->kind = ST_FAULT_OTHER;
            snprintf(f->msg, sizeof f->msg, "no task %zu (the image has %zu)", t, img->ntasks);
        }
        return -1;
    }
    vm->now = now;
    int64_t total = budget == 0 || budget > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)budget;
    int64_t left = total;
    const struct st_task *task = &img->tasks[t];
    for (size_t k = 0; k < task->info.nprograms; k++) {
        const struct st_proginst *g = &img->progs[task->progs[k]];
        int r = run(vm, g->body, &left, f);
        if (r != R_OK) {
            if (executed)
                *executed = (uint64_t)(total - (left < 0 ? 0 : left));
            if (f && f->kind == ST_FAULT_WATCHDOG && executed)
                *executed = (uint64_t)total;
            return -1;
        }
    }
    if (executed)
        *executed = (uint64_t)(total - left);
    return 0;
}

void st_vm_restart(struct st_vm *vm, int cold)
{
    const struct st_image *img = vm->img;
    if (cold || !img->nretain) {
        memcpy(vm->mem, img->init, vm->size);
        return;
    }
    st_vm_retain_save(vm, vm->retained);
    memcpy(vm->mem, img->init, vm->size);
    st_vm_retain_load(vm, vm->retained);
}

size_t st_vm_retain_size(const struct st_vm *vm)
{
    return vm->img->retain_bytes;
}

void st_vm_retain_save(const struct st_vm *vm, uint8_t *out)
{
    const struct st_image *img = vm->img;
    for (size_t i = 0; i < img->nretain; i++) {
        memcpy(out, vm->mem + img->retain[i].off, img->retain[i].len);
        out += img->retain[i].len;
    }
}

void st_vm_retain_load(struct st_vm *vm, const uint8_t *in)
{
    const struct st_image *img = vm->img;
    for (size_t i = 0; i < img->nretain; i++) {
        memcpy(vm->mem + img->retain[i].off, in, img->retain[i].len);
        in += img->retain[i].len;
    }
}

/* ---- variables by name ---- */

static const char *ident_end(const char *s)
{
    while (isalnum((unsigned char)*s) || *s == '_')
        s++;
    return s;
}

static bool name_is(const char *name, const char *s, size_t n)
{
    return strlen(name) == n && strncasecmp(name, s, n) == 0;
}

static struct st_var *find_in(struct st_var *list, const char *s, size_t n)
{
    for (struct st_var *v = list; v; v = v->next)
        if (name_is(v->name, s, n))
            return v;
    return NULL;
}

int st_vm_lookup(const struct st_vm *vm, const char *name, struct st_ref *out, struct err *e)
{
    const struct st_image *img = vm->img;
    const char *p = name, *q = ident_end(p);
    if (q == p)
        return err_set(e, "'%s': a variable name expected", name);
    struct st_ty *t = NULL;
    uint64_t off = 0;
    const struct st_proginst *g = NULL;
    for (size_t i = 0; i < img->nprogs; i++)
        if (name_is(img->progs[i].name, p, (size_t)(q - p)))
            g = &img->progs[i];
    if (g && *q == '.') {
        p = q + 1;
        q = ident_end(p);
        struct st_var *v = find_in(g->pou->vars, p, (size_t)(q - p));
        if (!v)
            return err_set(e, "'%s': %s has no variable '%.*s'", name, g->name, (int)(q - p), p);
        if (v->sect == SECT_EXTERNAL && v->ext)
            v = v->ext;
        if (v->sect == SECT_INOUT)
            return err_set(e, "'%s': a VAR_IN_OUT has no storage of its own", name);
        t = v->ty;
        off = (v->flags & VF_ABS) ? (uint64_t)v->off : (uint64_t)g->base + (uint64_t)v->off;
    } else {
        struct st_var *v = find_in(img->globals, p, (size_t)(q - p));
        if (!v)
            return err_set(e, "'%s': no program instance or global variable '%.*s'", name,
                           (int)(q - p), p);
        t = v->ty;
        off = (uint64_t)v->off;
    }
    p = q;
    while (*p) {
        if (*p == '.') {
            p++;
            q = ident_end(p);
            if (t->kind == TY_STRUCT) {
                int k = 0;
                while (k < t->nfields && !name_is(t->fields[k].name, p, (size_t)(q - p)))
                    k++;
                if (k == t->nfields)
                    return err_set(e, "'%s': %s has no field '%.*s'", name, st_ty_str(t),
                                   (int)(q - p), p);
                off += t->fields[k].off;
                t = t->fields[k].ty;
            } else if (t->kind == TY_FB) {
                struct st_var *v = find_in(t->pou->vars, p, (size_t)(q - p));
                if (!v || v->sect == SECT_INOUT || v->sect == SECT_EXTERNAL)
                    return err_set(e, "'%s': %s has no variable '%.*s'", name, t->pou->name,
                                   (int)(q - p), p);
                off += (uint64_t)v->off;
                t = v->ty;
            } else {
                return err_set(e, "'%s': '.%.*s' of a %s", name, (int)(q - p), p, st_ty_str(t));
            }
            p = q;
        } else if (*p == '[') {
            if (t->kind != TY_ARRAY)
                return err_set(e, "'%s': [ ] on a %s", name, st_ty_str(t));
            p++;
            for (int d = 0; d < t->ndim; d++) {
                char *end;
                long long x = strtoll(p, &end, 10);
                if (end == p)
                    return err_set(e, "'%s': an index expected", name);
                if (x < t->lo[d] || x > t->hi[d])
                    return err_set(e, "'%s': index %lld outside %d..%d", name, x, t->lo[d],
                                   t->hi[d]);
                off += (uint64_t)(x - t->lo[d]) * t->stride[d];
                p = end;
                while (*p == ' ')
                    p++;
                if (d < t->ndim - 1) {
                    if (*p != ',')
                        return err_set(e, "'%s': %d indexes expected", name, t->ndim);
                    p++;
                }
            }
            if (*p != ']')
                return err_set(e, "'%s': ']' expected", name);
            p++;
            t = t->of;
        } else {
            return err_set(e, "'%s': unexpected '%s'", name, p);
        }
    }
    out->type = t->kind == TY_ELEM || t->kind == TY_STRING ? t->elem : ST_DERIVED;
    out->offset = (size_t)off;
    out->size = t->size;
    if (t->kind == TY_ENUM) {
        out->type = ST_DINT;
    }
    return 0;
}

static bool ref_ok(const struct st_vm *vm, const struct st_ref *r)
{
    return r->offset + r->size <= vm->size && r->size > 0;
}

double st_vm_get_f(const struct st_vm *vm, const struct st_ref *r)
{
    if (!ref_ok(vm, r))
        return 0;
    const uint8_t *p = vm->mem + r->offset;
    switch (r->type) {
    case ST_REAL: return ld_f32(p);
    case ST_LREAL: return ld_f64(p);
    case ST_ULINT: case ST_LWORD: return (double)ld_u64(p);
    default: return (double)st_vm_get_i(vm, r);
    }
}

int64_t st_vm_get_i(const struct st_vm *vm, const struct st_ref *r)
{
    if (!ref_ok(vm, r))
        return 0;
    const uint8_t *p = vm->mem + r->offset;
    switch (r->type) {
    case ST_BOOL: return ld_u8(p) != 0;
    case ST_SINT: return ld_i8(p);
    case ST_INT: return ld_i16(p);
    case ST_DINT: return ld_i32(p);
    case ST_LINT: case ST_TIME: return ld_i64(p);
    case ST_USINT: case ST_BYTE: return ld_u8(p);
    case ST_UINT: case ST_WORD: return ld_u16(p);
    case ST_UDINT: case ST_DWORD: return ld_u32(p);
    case ST_ULINT: case ST_LWORD: return (int64_t)ld_u64(p);
    case ST_REAL: return ftrunc(ld_f32(p));
    case ST_LREAL: return ftrunc(ld_f64(p));
    default: return 0;
    }
}

void st_vm_set_f(struct st_vm *vm, const struct st_ref *r, double v)
{
    if (!ref_ok(vm, r))
        return;
    uint8_t *p = vm->mem + r->offset;
    switch (r->type) {
    case ST_REAL: st_f32(p, (float)v); return;
    case ST_LREAL: st_f64(p, v); return;
    case ST_TIME: st_i64(p, f2i(v)); return;
    default: st_vm_set_i(vm, r, ftrunc(v)); return;
    }
}

void st_vm_set_i(struct st_vm *vm, const struct st_ref *r, int64_t v)
{
    if (!ref_ok(vm, r))
        return;
    uint8_t *p = vm->mem + r->offset;
    switch (r->type) {
    case ST_BOOL: st_u8(p, v != 0); return;
    case ST_SINT: case ST_USINT: case ST_BYTE: st_u8(p, (uint8_t)v); return;
    case ST_INT: case ST_UINT: case ST_WORD: st_u16(p, (uint16_t)v); return;
    case ST_DINT: case ST_UDINT: case ST_DWORD: st_u32(p, (uint32_t)v); return;
    case ST_LINT: case ST_ULINT: case ST_LWORD: case ST_TIME: st_u64(p, (uint64_t)v); return;
    case ST_REAL: st_f32(p, (float)v); return;
    case ST_LREAL: st_f64(p, (double)v); return;
    default: return;
    }
}

void st_vm_get_s(const struct st_vm *vm, const struct st_ref *r, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = 0;
    if (!ref_ok(vm, r) || r->type != ST_STRING)
        return;
    const char *s = (const char *)vm->mem + r->offset;
    size_t n = strnlen(s, r->size - 1);
    if (n >= len)
        n = len - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
}

void st_vm_set_s(struct st_vm *vm, const struct st_ref *r, const char *s)
{
    if (!ref_ok(vm, r) || r->type != ST_STRING)
        return;
    sput(vm->mem + r->offset, s, strlen(s), r->size - 1);
}
