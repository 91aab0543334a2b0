/* st_code.c — memory layout and code generation: from the checked syntax
 * tree to the instructions of st_opcodes.h, in the manner of Lua's lcode.c
 * (an expression descriptor that says where a value is, jump lists patched
 * when their target is known, conditions compiled to jumps).
 *
 * Memory (all laid out here, allocated once by st_vm_new):
 *
 *   [reserved 16][globals][located variables][function frames]
 *   [program instances][temporaries and constants of programs and functions]
 *
 * A PROGRAM instance or a FUNCTION runs with bp = the start of memory: its
 * operands are absolute. A FUNCTION_BLOCK runs with bp = its instance and
 * keeps its temporaries and constants inside the instance, after its
 * variables; the size of that area is learnt by compiling the body once
 * in a measuring pass before the instances that contain it are laid out.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "st/st_ast.h"

/* ---- the body being compiled (Lua's FuncState) ---- */

struct loop {
    int32_t exits;         /* jump list of EXIT */
    struct loop *prev;
};

struct fs {
    struct st_comp *C;
    struct st_image *img;
    struct st_pou *pou;
    bool inst;             /* FB: operands relative to the instance */
    int32_t base;          /* absolute base of the POU's own variables (not FB) */
    uint32_t *top;         /* where temporaries and constants are allocated */
    struct st_map *cells;  /* constant cells, by value */
    struct st_cell **celllist;
    struct loop *loop;
    int32_t returns;       /* jump list of RETURN */
    uint32_t line;
    bool measure;
};

#define NO_JUMP (-1)

/* Where a value is (Lua's expdesc). */
enum xk {
    X_SLOT,   /* a data operand */
    X_ABS,    /* an absolute address, in an FB (LDG/STG) */
    X_IND,    /* at *ptr + off */
    X_ELEM,   /* element idx of the 1-D array at data operand off (LDE/STE) */
};

struct ex {
    enum xk k;
    struct st_ty *ty;
    int32_t off;
    int32_t ptr;           /* X_IND: slot with the address */
    int32_t idx;           /* X_ELEM: slot with the index */
    bool idx16;            /* X_ELEM: the index is an INT */
    int desc;              /* X_ELEM: array descriptor */
};

static int32_t eval(struct fs *fs, struct st_node *n, int32_t want, struct st_ty *wty);
static void cond(struct fs *fs, struct st_node *n, bool jt, int32_t *list);
static void stmt_list(struct fs *fs, struct st_node *s);

static uint32_t align_up(uint32_t x, uint32_t a)
{
    return a ? (x + a - 1) / a * a : x;
}

/* ---- emitting ---- */

static int32_t emit(struct fs *fs, int op, int32_t a, int32_t b, int32_t c, int x)
{
    struct st_ins i = {(uint16_t)op, (uint16_t)x, a, b, c};
    return st_image_emit(fs->img, i, fs->line);
}

static int32_t here(struct fs *fs)
{
    return (int32_t)fs->img->ncode;
}

/* Jump lists: pending jumps chain through their c field. */
static void concat(struct fs *fs, int32_t *l1, int32_t l2)
{
    if (l2 == NO_JUMP)
        return;
    if (*l1 == NO_JUMP) {
        *l1 = l2;
        return;
    }
    int32_t j = *l1;
    while (fs->img->code[j].c != NO_JUMP)
        j = fs->img->code[j].c;
    fs->img->code[j].c = l2;
}

static void patch(struct fs *fs, int32_t list, int32_t target)
{
    while (list != NO_JUMP) {
        int32_t next = fs->img->code[list].c;
        fs->img->code[list].c = target;
        list = next;
    }
}

static void patch_here(struct fs *fs, int32_t list)
{
    patch(fs, list, here(fs));
}

static int32_t jump(struct fs *fs)
{
    return emit(fs, OP_JMP, 0, 0, NO_JUMP, 0);
}

/* ---- temporaries and constants ---- */

/* Bytes for a temporary or a constant. Past ST_MAX_MEMORY the compilation
 * fails (C->memfull, reported by st_codegen); the offset given then is 0. */
static int32_t alloc(struct fs *fs, uint32_t size, uint32_t align)
{
    uint64_t a = align ? align : 1;
    uint64_t off = ((uint64_t)*fs->top + a - 1) / a * a;
    uint64_t end = off + (size ? size : 1);
    if (end > ST_MAX_MEMORY) {
        fs->C->memfull = true;
        return 0;
    }
    *fs->top = (uint32_t)end;
    return (int32_t)off;
}

static int32_t tmp(struct fs *fs, struct st_ty *t)
{
    return alloc(fs, t->size, t->align > 8 ? 8 : t->align);
}

static int32_t tmp_ptr(struct fs *fs)
{
    return alloc(fs, 4, 4);
}

/* A read-only cell holding `len` bytes (deduplicated). */
static int32_t cell(struct fs *fs, const void *data, uint32_t len, uint32_t align, char kind)
{
    char key[96];
    int n = snprintf(key, sizeof key, "%c%u:", kind, len);
    const uint8_t *d = data;
    bool small = len <= 32;
    if (small)
        for (uint32_t i = 0; i < len; i++)
            n += snprintf(key + n, sizeof key - (size_t)n, "%02x", d[i]);
    const char *k = NULL;
    if (small) {
        k = st_intern(fs->C, key, (size_t)n, NULL);
        void *v = st_map_get(fs->cells, k);
        if (v)
            return (int32_t)((intptr_t)v - 1);
    }
    int32_t off = alloc(fs, len, align);
    struct st_cell *c = st_arena_alloc(fs->C->A, sizeof *c);
    c->off = off;
    c->len = len;
    c->kind = kind;
    c->data = st_arena_strndup(fs->C->A, data, len);
    c->next = *fs->celllist;
    *fs->celllist = c;
    if (k)
        st_map_put(fs->cells, k, (void *)(intptr_t)(off + 1));
    return off;
}

static char cell_kind(const struct st_ty *t)
{
    if (t->kind == TY_STRING)
        return 's';
    if (t->kind == TY_ELEM && (t->elem == ST_REAL || t->elem == ST_LREAL))
        return 'f';
    if (t->kind == TY_ENUM || st_ty_is_signed(t))
        return 'i';
    return 'u';
}

static int32_t kint(struct fs *fs, struct st_ty *t, int64_t v)
{
    uint32_t size = t->size;
    if (size > 8 || size == 0)
        size = 8;
    return cell(fs, &v, size, size, st_ty_is_real(t) ? 'i' : cell_kind(t));
}

static int32_t kzero(struct fs *fs, struct st_ty *t)
{
    static const uint8_t zero[64];
    if (t->size <= sizeof zero)
        return cell(fs, zero, t->size, t->align > 8 ? 8 : t->align, cell_kind(t));
    uint8_t *z = st_arena_alloc(fs->C->A, t->size);
    return cell(fs, z, t->size, 8, cell_kind(t));
}

/* A cell holding an absolute address. Never shared: addresses are not
 * known yet when a function block's body is measured, and the measure
 * must allocate exactly what the real compilation will. */
static int32_t kaddr(struct fs *fs, int32_t abs)
{
    uint32_t v = (uint32_t)abs;
    int32_t off = alloc(fs, 4, 4);
    struct st_cell *c = st_arena_alloc(fs->C->A, sizeof *c);
    c->off = off;
    c->len = 4;
    c->kind = 'a';
    c->data = st_arena_strndup(fs->C->A, (const char *)&v, 4);
    c->next = *fs->celllist;
    *fs->celllist = c;
    return off;
}

/* The bytes of a constant node of type t (len bytes written into buf). */
static uint32_t const_bytes(const struct st_node *n, const struct st_ty *t, uint8_t *buf,
                            uint32_t cap)
{
    memset(buf, 0, cap);
    if (n->kind == N_STR) {
        uint32_t len = t->kind == TY_STRING ? t->cap + 1 : (uint32_t)n->slen + 1;
        if (len > cap)
            len = cap;
        size_t s = n->slen < len - 1 ? n->slen : len - 1;
        memcpy(buf, n->s, s);
        return len;
    }
    uint32_t size = t->size ? t->size : 8;
    if (size > 8)
        size = 8;
    if (n->kind == N_REAL) {
        if (t->kind == TY_ELEM && t->elem == ST_REAL) {
            float f = (float)n->r;
            memcpy(buf, &f, 4);
            return 4;
        }
        memcpy(buf, &n->r, 8);
        return 8;
    }
    int64_t v;
    if (n->kind == N_BOOL)
        v = n->u ? 1 : 0;
    else if (n->kind == N_ENUMVAL || n->kind == N_TIME)
        v = n->i;
    else if (n->ty && n->ty->kind == TY_LITINT)
        v = n->neg ? -(int64_t)n->u : (int64_t)n->u;
    else
        v = n->i;
    if (t->kind == TY_ELEM && (t->elem == ST_REAL || t->elem == ST_LREAL)) {
        double d = (double)v;
        if (t->elem == ST_REAL) {
            float f = (float)d;
            memcpy(buf, &f, 4);
            return 4;
        }
        memcpy(buf, &d, 8);
        return 8;
    }
    memcpy(buf, &v, size);
    return size;
}

static int32_t kconst(struct fs *fs, const struct st_node *n)
{
    struct st_ty *t = n->ty;
    if (n->kind == N_STR) {
        uint32_t len = t->cap + 1;
        uint8_t *b = st_arena_alloc(fs->C->A, len);
        const_bytes(n, t, b, len);
        return cell(fs, b, len, 1, 's');
    }
    uint8_t b[8];
    uint32_t len = const_bytes(n, t, b, 8);
    return cell(fs, b, len, len, cell_kind(t));
}

/* ---- operation tables ---- */

static bool is_time(const struct st_ty *t)
{
    return t->kind == TY_ELEM && t->elem == ST_TIME;
}

static bool is_bool(const struct st_ty *t)
{
    return t->kind == TY_ELEM && t->elem == ST_BOOL;
}

static bool is_f32(const struct st_ty *t)
{
    return t->kind == TY_ELEM && t->elem == ST_REAL;
}

static bool is_f64(const struct st_ty *t)
{
    return t->kind == TY_ELEM && t->elem == ST_LREAL;
}

static int wlog(uint32_t size)
{
    return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

/* Arithmetic class: 0-3 integers by width, 4 REAL, 5 LREAL. */
static int cls_arith(const struct st_ty *t)
{
    if (is_f32(t))
        return 4;
    if (is_f64(t))
        return 5;
    return wlog(t->size);
}

static bool is_unsigned(const struct st_ty *t)
{
    if (t->kind == TY_ENUM)
        return false;
    return !st_ty_is_signed(t);
}

/* Order class: 0-3 signed by width, 4-7 unsigned, 8 REAL, 9 LREAL, 10 STRING. */
static int cls_order(const struct st_ty *t)
{
    if (t->kind == TY_STRING)
        return 10;
    if (is_f32(t))
        return 8;
    if (is_f64(t))
        return 9;
    return wlog(t->size) + (is_unsigned(t) ? 4 : 0);
}

/* Equality class: 0-3 by width, 4 REAL, 5 LREAL, 6 STRING. */
static int cls_eq(const struct st_ty *t)
{
    if (t->kind == TY_STRING)
        return 6;
    return cls_arith(t);
}

static const uint16_t op_add[] = {OP_ADD_8, OP_ADD_16, OP_ADD_32, OP_ADD_64, OP_ADD_F32, OP_ADD_F64};
static const uint16_t op_sub[] = {OP_SUB_8, OP_SUB_16, OP_SUB_32, OP_SUB_64, OP_SUB_F32, OP_SUB_F64};
static const uint16_t op_mul[] = {OP_MUL_8, OP_MUL_16, OP_MUL_32, OP_MUL_64, OP_MUL_F32, OP_MUL_F64};
static const uint16_t op_neg[] = {OP_NEG_8, OP_NEG_16, OP_NEG_32, OP_NEG_64, OP_NEG_F32, OP_NEG_F64};
static const uint16_t op_div[] = {OP_DIV_I8, OP_DIV_I16, OP_DIV_I32, OP_DIV_I64, OP_DIV_U8,
                                  OP_DIV_U16, OP_DIV_U32, OP_DIV_U64, OP_DIV_F32, OP_DIV_F64};
static const uint16_t op_mod[] = {OP_MOD_I8, OP_MOD_I16, OP_MOD_I32, OP_MOD_I64,
                                  OP_MOD_U8, OP_MOD_U16, OP_MOD_U32, OP_MOD_U64};
static const uint16_t op_abs[] = {OP_ABS_I8, OP_ABS_I16, OP_ABS_I32, OP_ABS_I64, OP_ABS_F32,
                                  OP_ABS_F64};
static const uint16_t op_min[] = {OP_MIN_I8, OP_MIN_I16, OP_MIN_I32, OP_MIN_I64, OP_MIN_U8,
                                  OP_MIN_U16, OP_MIN_U32, OP_MIN_U64, OP_MIN_F32, OP_MIN_F64};
static const uint16_t op_max[] = {OP_MAX_I8, OP_MAX_I16, OP_MAX_I32, OP_MAX_I64, OP_MAX_U8,
                                  OP_MAX_U16, OP_MAX_U32, OP_MAX_U64, OP_MAX_F32, OP_MAX_F64};
static const uint16_t op_and[] = {OP_AND_8, OP_AND_16, OP_AND_32, OP_AND_64};
static const uint16_t op_or[] = {OP_OR_8, OP_OR_16, OP_OR_32, OP_OR_64};
static const uint16_t op_xor[] = {OP_XOR_8, OP_XOR_16, OP_XOR_32, OP_XOR_64};
static const uint16_t op_not[] = {OP_NOT_8, OP_NOT_16, OP_NOT_32, OP_NOT_64};
static const uint16_t op_shl[] = {OP_SHL_8, OP_SHL_16, OP_SHL_32, OP_SHL_64};
static const uint16_t op_shr[] = {OP_SHR_8, OP_SHR_16, OP_SHR_32, OP_SHR_64};
static const uint16_t op_rol[] = {OP_ROL_8, OP_ROL_16, OP_ROL_32, OP_ROL_64};
static const uint16_t op_ror[] = {OP_ROR_8, OP_ROR_16, OP_ROR_32, OP_ROR_64};
static const uint16_t op_eq[] = {OP_EQ_8, OP_EQ_16, OP_EQ_32, OP_EQ_64, OP_EQ_F32, OP_EQ_F64, OP_EQ_S};
static const uint16_t op_ne[] = {OP_NE_8, OP_NE_16, OP_NE_32, OP_NE_64, OP_NE_F32, OP_NE_F64, OP_NE_S};
static const uint16_t op_lt[] = {OP_LT_I8, OP_LT_I16, OP_LT_I32, OP_LT_I64, OP_LT_U8, OP_LT_U16,
                                 OP_LT_U32, OP_LT_U64, OP_LT_F32, OP_LT_F64, OP_LT_S};
static const uint16_t op_le[] = {OP_LE_I8, OP_LE_I16, OP_LE_I32, OP_LE_I64, OP_LE_U8, OP_LE_U16,
                                 OP_LE_U32, OP_LE_U64, OP_LE_F32, OP_LE_F64, OP_LE_S};
static const uint16_t op_jeq[] = {OP_JEQ_8, OP_JEQ_16, OP_JEQ_32, OP_JEQ_64, OP_JEQ_F32, OP_JEQ_F64};
static const uint16_t op_jlt[] = {OP_JLT_I8, OP_JLT_I16, OP_JLT_I32, OP_JLT_I64, OP_JLT_U8,
                                  OP_JLT_U16, OP_JLT_U32, OP_JLT_U64, OP_JLT_F32, OP_JLT_F64};
static const uint16_t op_jle[] = {OP_JLE_I8, OP_JLE_I16, OP_JLE_I32, OP_JLE_I64, OP_JLE_U8,
                                  OP_JLE_U16, OP_JLE_U32, OP_JLE_U64, OP_JLE_F32, OP_JLE_F64};
static const uint16_t op_mov[] = {OP_MOV_8, OP_MOV_16, OP_MOV_32, OP_MOV_64};
static const uint16_t op_ldg[] = {OP_LDG_8, OP_LDG_16, OP_LDG_32, OP_LDG_64};
static const uint16_t op_stg[] = {OP_STG_8, OP_STG_16, OP_STG_32, OP_STG_64};
static const uint16_t op_ldx[] = {OP_LDX_8, OP_LDX_16, OP_LDX_32, OP_LDX_64};
static const uint16_t op_stx[] = {OP_STX_8, OP_STX_16, OP_STX_32, OP_STX_64};
static const uint16_t op_lde[] = {OP_LDE_8, OP_LDE_16, OP_LDE_32, OP_LDE_64};
static const uint16_t op_ldew[] = {OP_LDEW_8, OP_LDEW_16, OP_LDEW_32, OP_LDEW_64};
static const uint16_t op_ste[] = {OP_STE_8, OP_STE_16, OP_STE_32, OP_STE_64};
static const uint16_t op_stew[] = {OP_STEW_8, OP_STEW_16, OP_STEW_32, OP_STEW_64};

/* Whether a type moves as one 1/2/4/8-byte word. */
static bool scalar(const struct st_ty *t)
{
    return (t->kind == TY_ELEM || t->kind == TY_ENUM) &&
           (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8);
}

/* ---- moves ---- */

/* dst := src, both data operands, dst of type t. */
static void mov(struct fs *fs, int32_t dst, int32_t src, struct st_ty *t)
{
    if (dst == src)
        return;
    if (t->kind == TY_STRING) {
        emit(fs, OP_SMOV, dst, src, 0, (int)t->cap);
        return;
    }
    if (scalar(t)) {
        emit(fs, op_mov[wlog(t->size)], dst, src, 0, 0);
        return;
    }
    if (t->size <= 65535)
        emit(fs, OP_MOVN, dst, src, 0, (int)t->size);
    else
        emit(fs, OP_MOVBIG, dst, src, (int32_t)t->size, 0);
}

static void ldg(struct fs *fs, int32_t dst, int32_t abs, struct st_ty *t)
{
    if (scalar(t))
        emit(fs, op_ldg[wlog(t->size)], dst, abs, 0, 0);
    else
        for (uint32_t done = 0; done < t->size; done += 65535) {
            uint32_t n = t->size - done > 65535 ? 65535 : t->size - done;
            emit(fs, OP_LDGN, dst + (int32_t)done, abs + (int32_t)done, 0, (int)n);
        }
}

static void stg(struct fs *fs, int32_t abs, int32_t src, struct st_ty *t)
{
    if (scalar(t))
        emit(fs, op_stg[wlog(t->size)], abs, src, 0, 0);
    else
        for (uint32_t done = 0; done < t->size; done += 65535) {
            uint32_t n = t->size - done > 65535 ? 65535 : t->size - done;
            emit(fs, OP_STGN, abs + (int32_t)done, src + (int32_t)done, 0, (int)n);
        }
}

static void ldx(struct fs *fs, int32_t dst, int32_t ptr, int32_t off, struct st_ty *t)
{
    if (scalar(t))
        emit(fs, op_ldx[wlog(t->size)], dst, ptr, off, 0);
    else
        for (uint32_t done = 0; done < t->size; done += 65535) {
            uint32_t n = t->size - done > 65535 ? 65535 : t->size - done;
            emit(fs, OP_LDXN, dst + (int32_t)done, ptr, off + (int32_t)done, (int)n);
        }
}

static void stx(struct fs *fs, int32_t ptr, int32_t off, int32_t src, struct st_ty *t)
{
    if (scalar(t))
        emit(fs, op_stx[wlog(t->size)], ptr, src, off, 0);
    else
        for (uint32_t done = 0; done < t->size; done += 65535) {
            uint32_t n = t->size - done > 65535 ? 65535 : t->size - done;
            emit(fs, OP_STXN, ptr, src + (int32_t)done, off + (int32_t)done, (int)n);
        }
}

/* ---- variables ---- */

static struct st_var *real_var(struct st_var *v)
{
    return v->sect == SECT_EXTERNAL && v->ext ? v->ext : v;
}

/* A location in absolute memory, seen from this body. */
static struct ex at_abs(struct fs *fs, int32_t abs, struct st_ty *t)
{
    struct ex e = {.k = fs->inst ? X_ABS : X_SLOT, .ty = t, .off = abs};
    return e;
}

static struct ex var_ex(struct fs *fs, struct st_var *v)
{
    v = real_var(v);
    if (v->flags & VF_ABS)
        return at_abs(fs, v->off, v->ty);
    struct ex e = {.k = X_SLOT, .ty = v->ty, .off = v->off + (fs->inst ? 0 : fs->base)};
    if (v->sect == SECT_INOUT) {
        e.k = X_IND;
        e.ptr = e.off;
        e.off = 0;
    }
    return e;
}

/* Turns a location into X_IND (an address in a slot plus an offset). */
static struct ex to_ind(struct fs *fs, struct ex e)
{
    switch (e.k) {
    case X_IND:
        return e;
    case X_ABS: {
        struct ex r = {.k = X_IND, .ty = e.ty, .ptr = kaddr(fs, e.off), .off = 0};
        return r;
    }
    case X_SLOT: {
        int32_t p;
        if (fs->inst) {
            p = tmp_ptr(fs);
            emit(fs, OP_ADDR, p, e.off, 0, 0);
        } else {
            p = kaddr(fs, e.off);
        }
        struct ex r = {.k = X_IND, .ty = e.ty, .ptr = p, .off = 0};
        return r;
    }
    case X_ELEM: {
        int32_t p = tmp_ptr(fs), base = tmp_ptr(fs);
        if (fs->inst)
            emit(fs, OP_ADDR, base, e.off, 0, 0);
        else
            base = kaddr(fs, e.off);
        int32_t idx = e.idx;
        if (e.idx16) {
            idx = tmp(fs, st_elem(ST_DINT));
            emit(fs, OP_SX16_32, idx, e.idx, 0, 0);
        }
        emit(fs, OP_ELEM, p, base, idx, e.desc);
        struct ex r = {.k = X_IND, .ty = e.ty, .ptr = p, .off = 0};
        return r;
    }
    }
    return e;
}

/* An index value as a DINT (or INT, with *w16) operand. */
static int32_t index_operand(struct fs *fs, struct st_node *x, bool *w16)
{
    int32_t v = eval(fs, x, -1, NULL);
    struct st_ty *t = x->ty;
    *w16 = false;
    if (t->size == 4 && st_ty_is_signed(t))
        return v;
    if (t->size == 2 && st_ty_is_signed(t)) {
        *w16 = true;
        return v;
    }
    /* widen to 64 bits, clamp to the DINT range, take the low half */
    struct st_ty *l = st_elem(ST_LINT);
    int32_t w = tmp(fs, l);
    static const uint16_t sx[] = {OP_SX8_64, OP_SX16_64, OP_SX32_64, OP_MOV_64};
    static const uint16_t zx[] = {OP_ZX8_64, OP_ZX16_64, OP_ZX32_64, OP_MOV_64};
    int wl = wlog(t->size);
    emit(fs, st_ty_is_signed(t) ? sx[wl] : zx[wl], w, v, 0, 0);
    if (t->size == 8 || (t->size == 4 && !st_ty_is_signed(t))) {
        if (t->size == 8 && !st_ty_is_signed(t))
            emit(fs, OP_MIN_U64, w, w, kint(fs, l, INT32_MAX), 0);
        else {
            emit(fs, OP_MAX_I64, w, w, kint(fs, l, INT32_MIN), 0);
            emit(fs, OP_MIN_I64, w, w, kint(fs, l, INT32_MAX), 0);
        }
    }
    return w;
}

/* An index `x + k` or `x - k` (k constant) is x with a bias of +-k, when
 * wrapping of the addition could only give indexes outside the array (so
 * the fault is the same). Returns the node to evaluate. */
static struct st_node *index_bias(struct st_node *n, const struct st_ty *at, int32_t *bias)
{
    *bias = 0;
    if (n->kind != N_BINOP || (n->op != '+' && n->op != '-') || !st_ty_is_int(n->ty) ||
        !st_ty_is_signed(n->ty) || n->ty->size < 2 || n->ty->size > 4)
        return n;
    struct st_node *x = n->a, *k = n->b;
    if (n->op == '+' && x->is_const)
        x = n->b, k = n->a;
    if (!k->is_const || k->kind != N_INT || x->is_const)
        return n;
    int64_t v = k->i;
    if (n->op == '-')
        v = -v;
    int64_t tmin = n->ty->size == 2 ? INT16_MIN : INT32_MIN;
    int64_t tmax = n->ty->size == 2 ? INT16_MAX : INT32_MAX;
    int64_t m = v < 0 ? -v : v;
    if (m > 1000000 || (int64_t)at->lo[0] - m < tmin || (int64_t)at->hi[0] + m > tmax)
        return n;
    *bias = (int32_t)v;
    return x;
}

static struct ex lval(struct fs *fs, struct st_node *n)
{
    switch (n->kind) {
    case N_NAME:
        return var_ex(fs, n->var);
    case N_FIELD: {
        struct ex b = lval(fs, n->a);
        int32_t off = n->field ? (int32_t)n->field->off : n->member ? n->member->off : 0;
        if (b.k == X_ELEM)
            b = to_ind(fs, b);
        b.off += off; /* an in-out member is never reached from outside (sema) */
        b.ty = n->ty;
        return b;
    }
    case N_INDEX: {
        struct st_ty *at = n->a->ty;
        struct ex b = lval(fs, n->a);
        if (b.k == X_ELEM)
            b = to_ind(fs, b);
        /* constant indices: a static offset */
        bool allconst = true;
        for (int i = 0; i < n->n; i++)
            if (!n->list[i]->is_const)
                allconst = false;
        if (allconst) {
            int64_t off = 0;
            for (int i = 0; i < n->n; i++) {
                struct st_node *x = n->list[i];
                int64_t v = x->kind == N_BOOL ? (int64_t)x->u : x->i;
                if (x->ty && x->ty->kind == TY_LITINT)
                    v = x->neg ? -(int64_t)x->u : (int64_t)x->u;
                off += (v - at->lo[i]) * (int64_t)at->stride[i];
            }
            b.off += (int32_t)off;
            b.ty = n->ty;
            return b;
        }
        /* one dimension, an element that moves as a word, a static array: LDE/STE */
        if (n->n == 1 && b.k == X_SLOT && scalar(at->of)) {
            struct ex e = {.k = X_ELEM, .ty = n->ty, .off = b.off};
            int32_t bias = 0;
            struct st_node *x = index_bias(n->list[0], at, &bias);
            e.idx = index_operand(fs, x, &e.idx16);
            e.desc = st_image_adesc(fs->img, at->lo[0], at->hi[0], at->stride[0], bias);
            return e;
        }
        b = to_ind(fs, b);
        int32_t p = tmp_ptr(fs), src = b.ptr;
        if (b.off != 0) {
            emit(fs, OP_ADDP, p, b.ptr, b.off, 0);
            src = p;
        }
        for (int i = 0; i < n->n; i++) {
            bool w16;
            int32_t idx = index_operand(fs, n->list[i], &w16);
            if (w16) {
                int32_t d = tmp(fs, st_elem(ST_DINT));
                emit(fs, OP_SX16_32, d, idx, 0, 0);
                idx = d;
            }
            emit(fs, OP_ELEM, p, src, idx, st_image_adesc(fs->img, at->lo[i], at->hi[i],
                                                          at->stride[i], 0));
            src = p;
        }
        struct ex r = {.k = X_IND, .ty = n->ty, .ptr = p, .off = 0};
        return r;
    }
    default:
        break;
    }
    struct ex e = {.k = X_SLOT, .ty = n->ty, .off = eval(fs, n, -1, NULL)};
    return e;
}

/* Reads a location into a data operand (want, or any if want < 0). */
static int32_t load(struct fs *fs, struct ex *e, int32_t want, struct st_ty *wty)
{
    struct st_ty *t = e->ty;
    if (e->k == X_SLOT) {
        if (want < 0)
            return e->off;
        mov(fs, want, e->off, wty ? wty : t);
        return want;
    }
    bool strmov = want >= 0 && t->kind == TY_STRING && wty && wty->cap != t->cap;
    int32_t dst = want >= 0 && !strmov ? want : tmp(fs, t);
    switch (e->k) {
    case X_ABS:
        ldg(fs, dst, e->off, t);
        break;
    case X_IND:
        ldx(fs, dst, e->ptr, e->off, t);
        break;
    case X_ELEM:
        emit(fs, (e->idx16 ? op_ldew : op_lde)[wlog(t->size)], dst, e->off, e->idx, e->desc);
        break;
    default:
        break;
    }
    if (strmov) {
        mov(fs, want, dst, wty);
        return want;
    }
    return dst;
}

/* Writes data operand src (of the location's type) to a location. */
static void store(struct fs *fs, struct ex *e, int32_t src)
{
    struct st_ty *t = e->ty;
    switch (e->k) {
    case X_SLOT:
        mov(fs, e->off, src, t);
        return;
    case X_ABS:
    case X_IND: {
        if (t->kind == TY_STRING) {
            /* the source may be longer than the destination: truncate first */
            int32_t s = tmp(fs, t);
            mov(fs, s, src, t);
            src = s;
        }
        if (e->k == X_ABS)
            stg(fs, e->off, src, t);
        else
            stx(fs, e->ptr, e->off, src, t);
        return;
    }
    case X_ELEM:
        emit(fs, (e->idx16 ? op_stew : op_ste)[wlog(t->size)], e->off, e->idx, src, e->desc);
        return;
    }
}

/* ---- conversions ---- */

/* Extends an integer-like operand to 64 bits. */
static int32_t ext64(struct fs *fs, int32_t v, struct st_ty *from, int32_t dst)
{
    static const uint16_t sx[] = {OP_SX8_64, OP_SX16_64, OP_SX32_64, OP_MOV_64};
    static const uint16_t zx[] = {OP_ZX8_64, OP_ZX16_64, OP_ZX32_64, OP_MOV_64};
    if (dst < 0) {
        if (from->size == 8)
            return v;
        dst = tmp(fs, st_elem(ST_LINT));
    }
    int wl = wlog(from->size);
    bool sgn = st_ty_is_signed(from) || from->kind == TY_ENUM;
    emit(fs, sgn ? sx[wl] : zx[wl], dst, v, 0, 0);
    return dst;
}

/* Narrows a 64-bit operand into dst of size `size` (the low bytes). */
static void narrow(struct fs *fs, int32_t dst, int32_t v64, struct st_ty *to)
{
    emit(fs, op_mov[wlog(to->size)], dst, v64, 0, 0);
}

enum tclass { TC_INT, TC_UINT, TC_BIT, TC_BOOL, TC_REAL, TC_TIME, TC_STRING, TC_OTHER };

static enum tclass tclass(const struct st_ty *t)
{
    if (t->kind == TY_STRING)
        return TC_STRING;
    if (t->kind == TY_ENUM)
        return TC_INT;
    if (t->kind != TY_ELEM)
        return TC_OTHER;
    switch (t->elem) {
    case ST_BOOL: return TC_BOOL;
    case ST_SINT: case ST_INT: case ST_DINT: case ST_LINT: return TC_INT;
    case ST_USINT: case ST_UINT: case ST_UDINT: case ST_ULINT: return TC_UINT;
    case ST_BYTE: case ST_WORD: case ST_DWORD: case ST_LWORD: return TC_BIT;
    case ST_REAL: case ST_LREAL: return TC_REAL;
    case ST_TIME: return TC_TIME;
    default: return TC_OTHER;
    }
}

/* dst (of type `to`) := v (of type `from`) converted. */
static void convert(struct fs *fs, int32_t dst, int32_t v, struct st_ty *from, struct st_ty *to)
{
    enum tclass f = tclass(from), t = tclass(to);
    struct st_ty *lint = st_elem(ST_LINT), *lreal = st_elem(ST_LREAL);
    if (st_ty_same(from, to) && f != TC_STRING) {
        mov(fs, dst, v, to);
        return;
    }
    if (t == TC_BOOL) {
        int32_t z = kzero(fs, from);
        if (f == TC_STRING)
            emit(fs, OP_S_B, dst, v, 0, 0);
        else
            emit(fs, op_ne[cls_eq(from)], dst, v, z, 0);
        return;
    }
    switch (f) {
    case TC_INT: case TC_UINT: case TC_BIT: case TC_BOOL: {
        bool u64src = (f == TC_UINT || f == TC_BIT) && from->size == 8;
        switch (t) {
        case TC_INT: case TC_UINT: case TC_BIT:
            if (to->size <= from->size) {
                narrow(fs, dst, v, to);
            } else if (to->size == 8) {
                ext64(fs, v, from, dst);
            } else {
                bool sgn = st_ty_is_signed(from) || from->kind == TY_ENUM;
                int op = from->size == 1 ? (to->size == 2 ? (sgn ? OP_SX8_16 : OP_ZX8_16)
                                                          : (sgn ? OP_SX8_32 : OP_ZX8_32))
                                         : (sgn ? OP_SX16_32 : OP_ZX16_32);
                emit(fs, op, dst, v, 0, 0);
            }
            return;
        case TC_REAL: {
            if (f == TC_INT && from->size == 4 && from->kind == TY_ELEM) {
                emit(fs, is_f32(to) ? OP_I32_F32 : OP_I32_F64, dst, v, 0, 0);
                return;
            }
            if (f == TC_INT && from->size == 2 && is_f32(to)) {
                emit(fs, OP_I16_F32, dst, v, 0, 0);
                return;
            }
            int32_t w = ext64(fs, v, from, -1);
            if (is_f32(to))
                emit(fs, u64src ? OP_U64_F32 : OP_I64_F32, dst, w, 0, 0);
            else
                emit(fs, u64src ? OP_U64_F64 : OP_I64_F64, dst, w, 0, 0);
            return;
        }
        case TC_TIME: {
            int32_t w = ext64(fs, v, from, -1);
            emit(fs, OP_S64_T, dst, w, 0, 0);
            return;
        }
        case TC_STRING: {
            int32_t w = ext64(fs, v, from, -1);
            int op = f == TC_BOOL ? OP_B_S : f == TC_INT ? OP_I64_S : f == TC_UINT ? OP_U64_S
                                                                                  : OP_X64_S;
            emit(fs, op, dst, f == TC_BOOL ? v : w, 0, (int)to->cap);
            return;
        }
        default:
            return;
        }
    }
    case TC_REAL:
        switch (t) {
        case TC_REAL:
            emit(fs, is_f32(from) ? OP_F32_F64 : OP_F64_F32, dst, v, 0, 0);
            return;
        case TC_INT: case TC_UINT: case TC_BIT: {
            bool sgn = t == TC_INT;
            int op = is_f32(from) ? (sgn ? OP_F32_I64 : OP_F32_U64) : (sgn ? OP_F64_I64 : OP_F64_U64);
            int32_t w = to->size == 8 ? dst : tmp(fs, lint);
            emit(fs, op, w, v, 0, 0);
            if (w != dst)
                narrow(fs, dst, w, to);
            return;
        }
        case TC_TIME: {
            int32_t d = v;
            if (is_f32(from)) {
                d = tmp(fs, lreal);
                emit(fs, OP_F32_F64, d, v, 0, 0);
            }
            emit(fs, OP_F64_T, dst, d, 0, 0);
            return;
        }
        case TC_STRING: {
            int32_t d = v;
            if (is_f32(from)) {
                d = tmp(fs, lreal);
                emit(fs, OP_F32_F64, d, v, 0, 0);
            }
            emit(fs, OP_F64_S, dst, d, 0, (int)to->cap);
            return;
        }
        default:
            return;
        }
    case TC_TIME:
        switch (t) {
        case TC_INT: case TC_UINT: case TC_BIT: {
            int32_t w = to->size == 8 ? dst : tmp(fs, lint);
            emit(fs, OP_T_S64, w, v, 0, 0);
            if (w != dst)
                narrow(fs, dst, w, to);
            return;
        }
        case TC_REAL: {
            if (is_f64(to)) {
                emit(fs, OP_T_F64, dst, v, 0, 0);
            } else {
                int32_t d = tmp(fs, lreal);
                emit(fs, OP_T_F64, d, v, 0, 0);
                emit(fs, OP_F64_F32, dst, d, 0, 0);
            }
            return;
        }
        case TC_STRING:
            emit(fs, OP_T_S, dst, v, 0, (int)to->cap);
            return;
        default:
            return;
        }
    case TC_STRING:
        switch (t) {
        case TC_STRING:
            emit(fs, OP_SMOV, dst, v, 0, (int)to->cap);
            return;
        case TC_INT: case TC_UINT: case TC_BIT: {
            int32_t w = to->size == 8 ? dst : tmp(fs, lint);
            emit(fs, t == TC_INT ? OP_S_I64 : OP_S_U64, w, v, 0, 0);
            if (w != dst)
                narrow(fs, dst, w, to);
            return;
        }
        case TC_REAL:
            if (is_f64(to)) {
                emit(fs, OP_S_F64, dst, v, 0, 0);
            } else {
                int32_t d = tmp(fs, lreal);
                emit(fs, OP_S_F64, d, v, 0, 0);
                emit(fs, OP_F64_F32, dst, d, 0, 0);
            }
            return;
        case TC_TIME:
            emit(fs, OP_S_T, dst, v, 0, 0);
            return;
        default:
            return;
        }
    default:
        mov(fs, dst, v, to);
    }
}

/* ---- expressions ---- */

/* Whether evaluating n cannot fault or have an effect (so AND/OR may
 * evaluate both sides). */
static bool simple(const struct st_node *n)
{
    if (!n)
        return true;
    switch (n->kind) {
    case N_INT: case N_REAL: case N_BOOL: case N_TIME: case N_STR: case N_ENUMVAL:
    case N_NAME:
        return true;
    case N_FIELD: case N_CONV: case N_UNOP:
        return simple(n->a);
    case N_BINOP:
        if (n->op == '/' || n->op == TK_MOD)
            return false;
        return simple(n->a) && simple(n->b);
    default:
        return false;
    }
}

static int32_t dest(struct fs *fs, int32_t want, struct st_ty *t)
{
    return want >= 0 ? want : tmp(fs, t);
}

/* A value computed by jumping code: want := n ? TRUE : FALSE. */
static int32_t bool_by_jumps(struct fs *fs, struct st_node *n, int32_t want)
{
    struct st_ty *b = st_elem(ST_BOOL);
    int32_t d = dest(fs, want, b);
    int32_t f = NO_JUMP;
    cond(fs, n, false, &f);
    mov(fs, d, kint(fs, b, 1), b);
    int32_t end = jump(fs);
    patch_here(fs, f);
    mov(fs, d, kint(fs, b, 0), b);
    patch_here(fs, end);
    return d;
}

static int32_t binop(struct fs *fs, struct st_node *n, int32_t want)
{
    struct st_ty *t = n->ty, *at = n->a->ty;
    int op = n->op;
    if ((op == TK_AND || op == TK_OR) && is_bool(t) && !simple(n->b))
        return bool_by_jumps(fs, n, want);
    if (op == TK_POW) {
        int32_t a = eval(fs, n->a, -1, NULL), b = eval(fs, n->b, -1, NULL);
        int32_t d = dest(fs, want, t);
        emit(fs, is_f32(t) ? OP_EXPT_F32 : OP_EXPT_F64, d, a, b, 0);
        return d;
    }
    /* TIME * number, number * TIME, TIME / number */
    if (is_time(t) && (op == '*' || op == '/') && !(is_time(at) && is_time(n->b->ty))) {
        struct st_node *tn = is_time(at) ? n->a : n->b, *nn = is_time(at) ? n->b : n->a;
        int32_t tv = eval(fs, tn, -1, NULL), nv = eval(fs, nn, -1, NULL);
        int32_t d = dest(fs, want, t);
        if (st_ty_is_real(nn->ty)) {
            struct st_ty *lr = st_elem(ST_LREAL);
            int32_t x = tmp(fs, lr);
            emit(fs, OP_I64_F64, x, tv, 0, 0);
            emit(fs, op == '*' ? OP_MUL_F64 : OP_DIV_F64, x, x, nv, 0);
            emit(fs, OP_F64_I64, d, x, 0, 0);
        } else {
            emit(fs, op == '*' ? OP_MUL_64 : (is_unsigned(nn->ty) ? OP_DIV_U64 : OP_DIV_I64), d,
                 tv, nv, 0);
        }
        return d;
    }
    int32_t a = eval(fs, n->a, -1, NULL), b = eval(fs, n->b, -1, NULL);
    if (is_bool(t) && (op == '=' || op == TK_NE || op == '<' || op == '>' || op == TK_LE ||
                       op == TK_GE)) {
        int32_t d = dest(fs, want, t);
        switch (op) {
        case '=': emit(fs, op_eq[cls_eq(at)], d, a, b, 0); break;
        case TK_NE: emit(fs, op_ne[cls_eq(at)], d, a, b, 0); break;
        case '<': emit(fs, op_lt[cls_order(at)], d, a, b, 0); break;
        case '>': emit(fs, op_lt[cls_order(at)], d, b, a, 0); break;
        case TK_LE: emit(fs, op_le[cls_order(at)], d, a, b, 0); break;
        default: emit(fs, op_le[cls_order(at)], d, b, a, 0); break;
        }
        return d;
    }
    int32_t d = dest(fs, want, t);
    switch (op) {
    case '+': emit(fs, op_add[cls_arith(t)], d, a, b, 0); break;
    case '-': emit(fs, op_sub[cls_arith(t)], d, a, b, 0); break;
    case '*': emit(fs, op_mul[cls_arith(t)], d, a, b, 0); break;
    case '/': emit(fs, op_div[cls_order(t)], d, a, b, 0); break;
    case TK_MOD: emit(fs, op_mod[cls_order(t)], d, a, b, 0); break;
    case TK_AND: emit(fs, op_and[wlog(t->size)], d, a, b, 0); break;
    case TK_OR: emit(fs, op_or[wlog(t->size)], d, a, b, 0); break;
    case TK_XOR: emit(fs, op_xor[wlog(t->size)], d, a, b, 0); break;
    default: break;
    }
    return d;
}

/* ---- calls ---- */

static int32_t call(struct fs *fs, struct st_node *n, int32_t want, struct st_ty *wty);

/* Address of the location of lvalue n, into pointer slot `dst` (absolute
 * operand when the callee is a function frame in absolute context). */
static void address_of(struct fs *fs, struct st_node *n, struct ex *dstloc)
{
    struct ex e = lval(fs, n);
    int32_t p;
    if (e.k == X_SLOT && !fs->inst) {
        p = kaddr(fs, e.off);
    } else {
        e = to_ind(fs, e);
        if (e.off) {
            p = tmp_ptr(fs);
            emit(fs, OP_ADDP, p, e.ptr, e.off, 0);
        } else {
            p = e.ptr;
        }
    }
    store(fs, dstloc, p);
}

/* Stores the value of n (an output) into the variable `target`. */
static void to_target(struct fs *fs, struct st_node *target, int32_t v, struct st_ty *vt, bool neg)
{
    struct ex d = lval(fs, target);
    if (neg) {
        int32_t x = tmp(fs, vt);
        emit(fs, OP_NOT_B, x, v, 0, 0);
        v = x;
    }
    if (!st_ty_same(vt, d.ty) || (vt->kind == TY_STRING && vt->cap != d.ty->cap)) {
        int32_t x = tmp(fs, d.ty);
        convert(fs, x, v, vt, d.ty);
        v = x;
    }
    store(fs, &d, v);
}

/* EN: emits the test, returns the jump list taken when EN is FALSE. */
static int32_t en_test(struct fs *fs, struct st_binding *b)
{
    int32_t skip = NO_JUMP;
    if (b->en && !(b->en->kind == N_BOOL && b->en->u))
        cond(fs, b->en, false, &skip);
    return skip;
}

static void eno_set(struct fs *fs, struct st_binding *b, bool v)
{
    if (!b->eno)
        return;
    struct st_ty *bt = st_elem(ST_BOOL);
    to_target(fs, b->eno, kint(fs, bt, v), bt, false);
}

static int32_t user_function(struct fs *fs, struct st_node *n, int32_t want, struct st_ty *wty)
{
    struct st_pou *p = n->pou;
    struct st_binding *b = n->bind;
    int32_t skip = en_test(fs, b);
    /* arguments that call functions first, into temporaries */
    int32_t *pre = st_arena_alloc(fs->C->A, (size_t)(b->nin + 1) * sizeof *pre);
    for (int i = 0; i < b->nin; i++) {
        pre[i] = -1;
        if (b->in[i] && b->inv[i]->sect == SECT_INPUT && !simple(b->in[i])) {
            struct st_ty *pt = b->inv[i]->ty;
            pre[i] = tmp(fs, pt);
            eval(fs, b->in[i], pre[i], pt);
        }
    }
    /* a fresh frame, then the arguments */
    emit(fs, OP_INITA, p->frame, (int32_t)p->size, 0, 0);
    for (int i = 0; i < b->nin; i++) {
        struct st_node *a = b->in[i];
        if (!a)
            continue;
        struct st_var *v = b->inv[i];
        struct ex d = at_abs(fs, p->frame + v->off, v->ty);
        if (v->sect == SECT_INOUT) {
            struct ex pd = at_abs(fs, p->frame + v->off, st_elem(ST_UDINT));
            address_of(fs, a, &pd);
            continue;
        }
        if (pre[i] >= 0) {
            store(fs, &d, pre[i]);
        } else if (d.k == X_SLOT) {
            eval(fs, a, d.off, v->ty);
        } else {
            store(fs, &d, eval(fs, a, -1, NULL));
        }
    }
    emit(fs, OP_CALLF, 0, 0, p->bodyidx, 0);
    /* outputs */
    for (int i = 0; i < b->nout; i++) {
        if (!b->out[i])
            continue;
        struct st_var *v = b->outv[i];
        struct ex s = at_abs(fs, p->frame + v->off, v->ty);
        to_target(fs, b->out[i], load(fs, &s, -1, NULL), v->ty, b->outneg[i]);
    }
    if (b->eno) {
        struct ex s = at_abs(fs, p->frame + p->eno->off, st_elem(ST_BOOL));
        to_target(fs, b->eno, load(fs, &s, -1, NULL), st_elem(ST_BOOL), false);
    }
    int32_t d = -1;
    struct st_ty *rt = p->ret;
    if (rt) {
        d = dest(fs, want, wty ? wty : rt);
        struct ex s = at_abs(fs, p->frame + p->result->off, rt);
        load(fs, &s, d, wty ? wty : rt);
    }
    if (skip != NO_JUMP) {
        int32_t end = jump(fs);
        patch_here(fs, skip);
        if (rt)
            mov(fs, d, kzero(fs, wty ? wty : rt), wty ? wty : rt);
        eno_set(fs, b, false);
        patch_here(fs, end);
    }
    return d;
}

static void fb_call(struct fs *fs, struct st_node *n)
{
    struct st_pou *p = n->pou;
    struct st_binding *b = n->bind;
    int32_t skip = en_test(fs, b);
    struct ex inst = lval(fs, n->a);
    if (inst.k != X_SLOT)
        inst = to_ind(fs, inst);
    if (inst.k == X_IND && inst.off) {
        int32_t q = tmp_ptr(fs);
        emit(fs, OP_ADDP, q, inst.ptr, inst.off, 0);
        inst.ptr = q;
        inst.off = 0;
    }
    for (int i = 0; i < b->nin; i++) {
        struct st_node *a = b->in[i];
        if (!a)
            continue;
        struct st_var *v = b->inv[i];
        struct ex d = inst;
        d.off += v->off;
        d.ty = v->ty;
        if (v->sect == SECT_INOUT) {
            d.ty = st_elem(ST_UDINT);
            address_of(fs, a, &d);
            continue;
        }
        if (d.k == X_SLOT && scalar(v->ty))
            eval(fs, a, d.off, v->ty);
        else
            store(fs, &d, eval(fs, a, -1, NULL));
    }
    if (b->eno && p->eno) {
        struct ex d = inst;
        d.off += p->eno->off;
        d.ty = st_elem(ST_BOOL);
        store(fs, &d, kint(fs, d.ty, 1));
    }
    if (inst.k == X_SLOT)
        emit(fs, OP_CALL, 0, inst.off, p->bodyidx, 0);
    else
        emit(fs, OP_CALLX, 0, inst.ptr, p->bodyidx, 0);
    for (int i = 0; i < b->nout; i++) {
        if (!b->out[i])
            continue;
        struct st_var *v = b->outv[i];
        struct ex s = inst;
        s.off += v->off;
        s.ty = v->ty;
        to_target(fs, b->out[i], load(fs, &s, -1, NULL), v->ty, b->outneg[i]);
    }
    if (b->eno && p->eno) {
        struct ex s = inst;
        s.off += p->eno->off;
        s.ty = st_elem(ST_BOOL);
        to_target(fs, b->eno, load(fs, &s, -1, NULL), s.ty, false);
    }
    if (skip != NO_JUMP) {
        int32_t end = jump(fs);
        patch_here(fs, skip);
        eno_set(fs, b, false);
        patch_here(fs, end);
    }
}

/* A DINT operand from an integer argument (string lengths and positions). */
static int32_t dint_arg(struct fs *fs, struct st_node *x)
{
    int32_t v = eval(fs, x, -1, NULL);
    struct st_ty *dt = st_elem(ST_DINT);
    if (x->ty->kind == TY_ELEM && x->ty->elem == ST_DINT)
        return v;
    int32_t d = tmp(fs, dt);
    convert(fs, d, v, x->ty, dt);
    return d;
}

/* The standard functions that are not operators. */
static int32_t std_function(struct fs *fs, struct st_node *n, int32_t want, struct st_ty *wty)
{
    const struct st_stdfn *f = n->fn;
    struct st_binding *b = n->bind;
    struct st_node **in = b->in;
    struct st_ty *t = n->ty;
    struct st_ty *dt = wty ? wty : t;
    switch (f->kind) {
    case SF_MATH: {
        int32_t a = eval(fs, in[0], -1, NULL), d = dest(fs, want, t);
        emit(fs, is_f32(t) ? OP_MATH_F32 : OP_MATH_F64, d, a, 0, f->mathfn);
        return d;
    }
    case SF_ABS: {
        int32_t a = eval(fs, in[0], -1, NULL), d = dest(fs, want, t);
        if (is_unsigned(t))
            mov(fs, d, a, t);
        else
            emit(fs, op_abs[cls_arith(t)], d, a, 0, 0);
        return d;
    }
    case SF_SHL: case SF_SHR: case SF_ROL: case SF_ROR: {
        int32_t a = eval(fs, in[0], -1, NULL), s = dint_arg(fs, in[1]);
        int32_t d = dest(fs, want, t);
        const uint16_t *ops = f->kind == SF_SHL ? op_shl : f->kind == SF_SHR ? op_shr
                              : f->kind == SF_ROL ? op_rol : op_ror;
        emit(fs, ops[wlog(t->size)], d, a, s, 0);
        return d;
    }
    case SF_SEL: {
        int32_t d = dest(fs, want, dt);
        int32_t one = NO_JUMP;
        cond(fs, in[0], true, &one);
        eval(fs, in[1], d, dt);
        int32_t end = jump(fs);
        patch_here(fs, one);
        eval(fs, in[2], d, dt);
        patch_here(fs, end);
        return d;
    }
    case SF_MUX: {
        int32_t d = dest(fs, want, dt);
        int32_t k = eval(fs, in[0], -1, NULL);
        struct st_ty *kt = in[0]->ty;
        int nin = b->nin - 1;
        int32_t *to = st_arena_alloc(fs->C->A, (size_t)nin * sizeof *to);
        for (int i = 0; i < nin; i++)
            to[i] = emit(fs, op_jeq[cls_arith(kt)], k, kint(fs, kt, i), NO_JUMP, 1);
        mov(fs, d, kzero(fs, dt), dt);
        int32_t end = jump(fs);
        for (int i = 0; i < nin; i++) {
            patch_here(fs, to[i]);
            eval(fs, in[i + 1], d, dt);
            concat(fs, &end, jump(fs));
        }
        patch_here(fs, end);
        return d;
    }
    case SF_MAX: case SF_MIN: {
        const uint16_t *ops = f->kind == SF_MAX ? op_max : op_min;
        int32_t acc = eval(fs, in[0], -1, NULL);
        for (int i = 1; i < b->nin; i++) {
            int32_t x = eval(fs, in[i], -1, NULL);
            int32_t d = i == b->nin - 1 ? dest(fs, want, t) : tmp(fs, t);
            emit(fs, ops[cls_order(t)], d, acc, x, 0);
            acc = d;
        }
        return acc;
    }
    case SF_LIMIT: {
        int32_t mn = eval(fs, in[0], -1, NULL), x = eval(fs, in[1], -1, NULL);
        int32_t mx = eval(fs, in[2], -1, NULL);
        int32_t m = tmp(fs, t);
        emit(fs, op_max[cls_order(t)], m, mn, x, 0);
        int32_t d = dest(fs, want, t);
        emit(fs, op_min[cls_order(t)], d, m, mx, 0);
        return d;
    }
    case SF_LEN: {
        int32_t a = eval(fs, in[0], -1, NULL), d = dest(fs, want, t);
        emit(fs, OP_SLEN, d, a, 0, 0);
        return d;
    }
    case SF_FIND: {
        int32_t a = eval(fs, in[0], -1, NULL), c = eval(fs, in[1], -1, NULL);
        int32_t d = dest(fs, want, t);
        emit(fs, OP_SFIND, d, a, c, 0);
        return d;
    }
    case SF_LEFT: case SF_RIGHT: {
        int32_t a = eval(fs, in[0], -1, NULL), l = dint_arg(fs, in[1]);
        int32_t d = dest(fs, want, dt);
        emit(fs, f->kind == SF_LEFT ? OP_SLEFT : OP_SRIGHT, d, a, l, (int)dt->cap);
        return d;
    }
    case SF_MID: case SF_DELETE: {
        int32_t a = eval(fs, in[0], -1, NULL), l = dint_arg(fs, in[1]);
        int32_t p = dint_arg(fs, in[2]);
        int32_t d = dest(fs, want, dt);
        emit(fs, f->kind == SF_MID ? OP_SMID : OP_SDELETE, d, a, l, (int)dt->cap);
        emit(fs, OP_EXT, p, 0, 0, 0);
        return d;
    }
    case SF_CONCAT: {
        int32_t acc = eval(fs, in[0], -1, NULL);
        for (int i = 1; i < b->nin; i++) {
            int32_t x = eval(fs, in[i], -1, NULL);
            int32_t d = i == b->nin - 1 ? dest(fs, want, dt) : tmp(fs, t);
            emit(fs, OP_SCAT, d, acc, x, (int)(i == b->nin - 1 ? dt->cap : t->cap));
            acc = d;
        }
        return acc;
    }
    case SF_INSERT: {
        int32_t a = eval(fs, in[0], -1, NULL), c = eval(fs, in[1], -1, NULL);
        int32_t p = dint_arg(fs, in[2]);
        int32_t d = dest(fs, want, dt);
        emit(fs, OP_SINSERT, d, a, c, (int)dt->cap);
        emit(fs, OP_EXT, p, 0, 0, 0);
        return d;
    }
    case SF_REPLACE: {
        int32_t a = eval(fs, in[0], -1, NULL), c = eval(fs, in[1], -1, NULL);
        int32_t l = dint_arg(fs, in[2]), p = dint_arg(fs, in[3]);
        int32_t d = dest(fs, want, dt);
        emit(fs, OP_SREPLACE, d, a, c, (int)dt->cap);
        emit(fs, OP_EXT, l, p, 0, 0);
        return d;
    }
    case SF_TRUNC: {
        int32_t a = eval(fs, in[0], -1, NULL);
        int32_t w = t->size == 8 ? dest(fs, want, t) : tmp(fs, st_elem(ST_LINT));
        emit(fs, is_f32(in[0]->ty) ? OP_TRUNC_F32 : OP_TRUNC_F64, w, a, 0, 0);
        if (t->size == 8)
            return w;
        int32_t d = dest(fs, want, t);
        narrow(fs, d, w, t);
        return d;
    }
    case SF_CONV: {
        int32_t a = eval(fs, in[0], -1, NULL);
        int32_t d = dest(fs, want, dt);
        convert(fs, d, a, in[0]->ty, dt->kind == t->kind ? dt : t);
        return d;
    }
    case SF_NOW: {
        int32_t d = dest(fs, want, t);
        emit(fs, OP_NOW, d, 0, 0, 0);
        return d;
    }
    default:
        return dest(fs, want, t);
    }
}

static int32_t call(struct fs *fs, struct st_node *n, int32_t want, struct st_ty *wty)
{
    if (n->pou) {
        if (n->pou->kind == POU_FB) {
            fb_call(fs, n);
            return -1;
        }
        return user_function(fs, n, want, wty);
    }
    struct st_binding *b = n->bind;
    struct st_ty *t = wty ? wty : n->ty;
    if (!b->en && !b->eno) {
        if (n->c)
            return eval(fs, n->c, want, wty);
        return std_function(fs, n, want, wty);
    }
    /* EN/ENO: skip the function when EN is FALSE; a division by zero makes
     * ENO FALSE instead of faulting */
    int32_t skip = en_test(fs, b);
    int32_t d = dest(fs, want, t);
    struct st_node *c = n->c;
    if (c && c->kind == N_BINOP && (c->op == '/' || c->op == TK_MOD) &&
        st_ty_is_int(c->ty)) {
        int32_t a = eval(fs, c->a, -1, NULL), v = eval(fs, c->b, -1, NULL);
        int32_t z = emit(fs, op_jeq[cls_arith(c->ty)], v, kzero(fs, c->ty), NO_JUMP, 1);
        concat(fs, &skip, z);
        emit(fs, (c->op == '/' ? op_div : op_mod)[cls_order(c->ty)], d, a, v, 0);
    } else if (c) {
        eval(fs, c, d, t);
    } else {
        std_function(fs, n, d, t);
    }
    eno_set(fs, b, true);
    if (skip != NO_JUMP) {
        int32_t end = jump(fs);
        patch_here(fs, skip);
        mov(fs, d, kzero(fs, t), t);
        eno_set(fs, b, false);
        patch_here(fs, end);
    }
    return d;
}

/* Evaluates n into a data operand: `want` if >= 0 (a slot of type wty, or
 * n's type), else wherever it already is or a temporary. */
static int32_t eval(struct fs *fs, struct st_node *n, int32_t want, struct st_ty *wty)
{
    struct st_ty *t = n->ty;
    switch (n->kind) {
    case N_INT: case N_REAL: case N_BOOL: case N_TIME: case N_STR: case N_ENUMVAL: {
        int32_t k = kconst(fs, n);
        if (want < 0)
            return k;
        mov(fs, want, k, wty ? wty : t);
        return want;
    }
    case N_NAME: case N_FIELD: case N_INDEX: {
        if (n->kind == N_FIELD && n->neg) {
            /* bit access: (w SHR n) AND 1, as a BOOL */
            struct st_ty *bt = n->a->ty;
            int32_t w = eval(fs, n->a, -1, NULL);
            int32_t sh = tmp(fs, bt);
            emit(fs, op_shr[wlog(bt->size)], sh, w, kint(fs, st_elem(ST_DINT), (int64_t)n->u), 0);
            int32_t d = dest(fs, want, t);
            emit(fs, OP_AND_8, d, sh, kint(fs, st_elem(ST_BOOL), 1), 0);
            return d;
        }
        struct ex e = lval(fs, n);
        return load(fs, &e, want, wty);
    }
    case N_UNOP: {
        int32_t a = eval(fs, n->a, -1, NULL);
        int32_t d = dest(fs, want, t);
        if (n->op == '-')
            emit(fs, op_neg[cls_arith(t)], d, a, 0, 0);
        else if (is_bool(t))
            emit(fs, OP_NOT_B, d, a, 0, 0);
        else
            emit(fs, op_not[wlog(t->size)], d, a, 0, 0);
        return d;
    }
    case N_BINOP:
        return binop(fs, n, want);
    case N_CONV: {
        int32_t a = eval(fs, n->a, -1, NULL);
        int32_t d = dest(fs, want, wty ? wty : t);
        convert(fs, d, a, n->a->ty, t);
        return d;
    }
    case N_CALL:
        return call(fs, n, want, wty);
    default:
        return dest(fs, want, t);
    }
}

/* ---- conditions ---- */

/* Jumps to list when n = jt, else falls through. */
static void cond(struct fs *fs, struct st_node *n, bool jt, int32_t *list)
{
    switch (n->kind) {
    case N_BOOL:
        if ((n->u != 0) == jt)
            concat(fs, list, jump(fs));
        return;
    case N_UNOP:
        if (n->op == TK_NOT && is_bool(n->ty)) {
            cond(fs, n->a, !jt, list);
            return;
        }
        break;
    case N_BINOP: {
        int op = n->op;
        if (op == TK_AND && is_bool(n->ty)) {
            if (!jt) {
                cond(fs, n->a, false, list);
                cond(fs, n->b, false, list);
            } else {
                int32_t skip = NO_JUMP;
                cond(fs, n->a, false, &skip);
                cond(fs, n->b, true, list);
                patch_here(fs, skip);
            }
            return;
        }
        if (op == TK_OR && is_bool(n->ty)) {
            if (jt) {
                cond(fs, n->a, true, list);
                cond(fs, n->b, true, list);
            } else {
                int32_t skip = NO_JUMP;
                cond(fs, n->a, true, &skip);
                cond(fs, n->b, false, list);
                patch_here(fs, skip);
            }
            return;
        }
        struct st_ty *at = n->a->ty;
        bool cmp = op == '=' || op == TK_NE || op == '<' || op == '>' || op == TK_LE ||
                   op == TK_GE;
        if (cmp && at->kind != TY_STRING && scalar(at)) {
            int32_t a = eval(fs, n->a, -1, NULL), b = eval(fs, n->b, -1, NULL);
            int32_t j;
            switch (op) {
            case '=': j = emit(fs, op_jeq[cls_arith(at)], a, b, NO_JUMP, jt); break;
            case TK_NE: j = emit(fs, op_jeq[cls_arith(at)], a, b, NO_JUMP, !jt); break;
            case '<': j = emit(fs, op_jlt[cls_order(at)], a, b, NO_JUMP, jt); break;
            case '>': j = emit(fs, op_jlt[cls_order(at)], b, a, NO_JUMP, jt); break;
            case TK_LE: j = emit(fs, op_jle[cls_order(at)], a, b, NO_JUMP, jt); break;
            default: j = emit(fs, op_jle[cls_order(at)], b, a, NO_JUMP, jt); break;
            }
            concat(fs, list, j);
            return;
        }
        break;
    }
    default:
        break;
    }
    int32_t v = eval(fs, n, -1, NULL);
    concat(fs, list, emit(fs, OP_JB, v, 0, NO_JUMP, jt));
}

/* ---- statements ---- */

static void assign(struct fs *fs, struct st_node *s)
{
    struct st_node *l = s->a, *r = s->b;
    struct st_ty *t = l->ty;
    if (l->kind == N_FIELD && l->neg) {
        /* bit write: w := (w AND NOT mask) OR (SHL(BOOL_TO_w(v), n)) */
        struct st_ty *wt = l->a->ty;
        struct ex we = lval(fs, l->a);
        int32_t w = load(fs, &we, -1, NULL);
        int32_t v = eval(fs, r, -1, NULL);
        int32_t x = tmp(fs, wt);
        convert(fs, x, v, st_elem(ST_BOOL), wt);
        emit(fs, op_shl[wlog(wt->size)], x, x, kint(fs, st_elem(ST_DINT), (int64_t)l->u), 0);
        uint64_t mask = ~(1ull << l->u);
        int32_t m = tmp(fs, wt);
        emit(fs, op_and[wlog(wt->size)], m, w, kint(fs, wt, (int64_t)mask), 0);
        emit(fs, op_or[wlog(wt->size)], m, m, x, 0);
        store(fs, &we, m);
        return;
    }
    struct ex d = lval(fs, l);
    if (t->ranged) {
        int32_t v = eval(fs, r, -1, NULL);
        int32_t bad = emit(fs, op_jlt[cls_order(t)], v, kint(fs, t, t->rlo), NO_JUMP, 1);
        int32_t ok = emit(fs, op_jle[cls_order(t)], v, kint(fs, t, t->rhi), NO_JUMP, 1);
        patch_here(fs, bad);
        emit(fs, OP_FAULT, 1, 0, 0, 0);
        patch_here(fs, ok);
        store(fs, &d, v);
        return;
    }
    if (d.k == X_SLOT) {
        eval(fs, r, d.off, t);
        return;
    }
    store(fs, &d, eval(fs, r, -1, NULL));
}

static void if_stmt(struct fs *fs, struct st_node *s)
{
    int32_t end = NO_JUMP;
    for (;;) {
        int32_t f = NO_JUMP;
        cond(fs, s->a, false, &f);
        stmt_list(fs, s->body);
        if (!s->els) {
            patch_here(fs, f);
            break;
        }
        concat(fs, &end, jump(fs));
        patch_here(fs, f);
        if (s->els->kind == S_IF && s->els->elsif) {
            s = s->els;
            fs->line = (uint32_t)s->line;
            continue;
        }
        stmt_list(fs, s->els);
        break;
    }
    patch_here(fs, end);
}

static void case_stmt(struct fs *fs, struct st_node *s)
{
    struct st_ty *t = s->a->ty;
    int32_t sel = eval(fs, s->a, -1, NULL); /* read once: every test comes before any branch */
    int32_t end = NO_JUMP;
    int32_t *targets = st_arena_alloc(fs->C->A, (size_t)(s->ncases + 1) * sizeof *targets);
    for (int i = 0; i < s->ncases; i++) {
        struct st_case *c = &s->cases[i];
        targets[i] = NO_JUMP;
        for (int j = 0; j < c->nlabels; j++) {
            struct st_node *l = c->labels[j];
            if (l->kind == N_RANGE) {
                int32_t skip = emit(fs, op_jlt[cls_order(t)], sel, eval(fs, l->a, -1, NULL),
                                    NO_JUMP, 1);
                concat(fs, &targets[i], emit(fs, op_jle[cls_order(t)], sel,
                                             eval(fs, l->b, -1, NULL), NO_JUMP, 1));
                patch_here(fs, skip);
            } else {
                concat(fs, &targets[i], emit(fs, op_jeq[cls_arith(t)], sel,
                                             eval(fs, l, -1, NULL), NO_JUMP, 1));
            }
        }
    }
    stmt_list(fs, s->els);
    concat(fs, &end, jump(fs));
    for (int i = 0; i < s->ncases; i++) {
        patch_here(fs, targets[i]);
        fs->line = (uint32_t)s->cases[i].line;
        stmt_list(fs, s->cases[i].body);
        if (i < s->ncases - 1)
            concat(fs, &end, jump(fs));
    }
    patch_here(fs, end);
}

static void for_stmt(struct fs *fs, struct st_node *s)
{
    struct st_ty *t = s->a->ty;
    struct ex v = lval(fs, s->a); /* X_SLOT: sema made sure */
    int32_t var = v.off;
    eval(fs, s->b, var, t);
    int32_t end = s->c->is_const ? eval(fs, s->c, -1, NULL) : eval(fs, s->c, tmp(fs, t), t);
    int32_t step;
    int64_t k = 1;
    bool kstep = true;
    if (s->d) {
        if (s->d->is_const) {
            k = s->d->i;
            step = eval(fs, s->d, -1, NULL);
        } else {
            kstep = false;
            step = eval(fs, s->d, tmp(fs, t), t);
        }
    } else {
        step = kint(fs, t, 1);
    }
    struct loop L = {.exits = NO_JUMP, .prev = fs->loop};
    fs->loop = &L;
    int oc = cls_order(t);
    if (kstep) {
        int32_t exit = k > 0 ? emit(fs, op_jlt[oc], end, var, NO_JUMP, 1)
                             : emit(fs, op_jlt[oc], var, end, NO_JUMP, 1);
        int32_t body = here(fs);
        stmt_list(fs, s->body);
        fs->line = (uint32_t)s->line;
        emit(fs, op_add[cls_arith(t)], var, var, step, 0);
        if (k > 0)
            emit(fs, op_jle[oc], var, end, body, 1);
        else
            emit(fs, op_jle[oc], end, var, body, 1);
        patch_here(fs, exit);
    } else {
        int32_t check = here(fs);
        int32_t neg = emit(fs, op_jlt[oc], step, kzero(fs, t), NO_JUMP, 1);
        int32_t exit = emit(fs, op_jlt[oc], end, var, NO_JUMP, 1);
        int32_t tobody = jump(fs);
        patch_here(fs, neg);
        concat(fs, &exit, emit(fs, op_jlt[oc], var, end, NO_JUMP, 1));
        patch_here(fs, tobody);
        stmt_list(fs, s->body);
        fs->line = (uint32_t)s->line;
        emit(fs, op_add[cls_arith(t)], var, var, step, 0);
        emit(fs, OP_JMP, 0, 0, check, 0);
        patch_here(fs, exit);
    }
    patch_here(fs, L.exits);
    fs->loop = L.prev;
}

static void while_stmt(struct fs *fs, struct st_node *s)
{
    struct loop L = {.exits = NO_JUMP, .prev = fs->loop};
    fs->loop = &L;
    int32_t tocond = jump(fs);
    int32_t body = here(fs);
    stmt_list(fs, s->body);
    patch_here(fs, tocond);
    fs->line = (uint32_t)s->line;
    int32_t again = NO_JUMP;
    cond(fs, s->a, true, &again);
    patch(fs, again, body);
    patch_here(fs, L.exits);
    fs->loop = L.prev;
}

static void repeat_stmt(struct fs *fs, struct st_node *s)
{
    struct loop L = {.exits = NO_JUMP, .prev = fs->loop};
    fs->loop = &L;
    int32_t body = here(fs);
    stmt_list(fs, s->body);
    if (s->a)
        fs->line = (uint32_t)s->a->line;
    int32_t again = NO_JUMP;
    cond(fs, s->a, false, &again);
    patch(fs, again, body);
    patch_here(fs, L.exits);
    fs->loop = L.prev;
}

static void stmt(struct fs *fs, struct st_node *s)
{
    fs->line = (uint32_t)s->line;
    switch (s->kind) {
    case S_ASSIGN:
        assign(fs, s);
        break;
    case S_CALL:
        if (s->a->kind == N_CALL)
            call(fs, s->a, -1, NULL);
        else
            eval(fs, s->a, -1, NULL);
        break;
    case S_IF:
        if_stmt(fs, s);
        break;
    case S_CASE:
        case_stmt(fs, s);
        break;
    case S_FOR:
        for_stmt(fs, s);
        break;
    case S_WHILE:
        while_stmt(fs, s);
        break;
    case S_REPEAT:
        repeat_stmt(fs, s);
        break;
    case S_EXIT:
        if (fs->loop)
            concat(fs, &fs->loop->exits, jump(fs));
        break;
    case S_RETURN:
        concat(fs, &fs->returns, jump(fs));
        break;
    default:
        break;
    }
}

static void stmt_list(struct fs *fs, struct st_node *s)
{
    for (; s; s = s->next)
        stmt(fs, s);
}

/* ---- bodies ---- */

/* Compiles a POU body; for a PROGRAM, one instance at `base`. Returns the
 * index of the body. */
static int compile_body(struct st_comp *C, struct st_pou *p, int32_t base, const char *inst,
                        bool measure, uint32_t *top, struct st_map *cells,
                        struct st_cell **celllist)
{
    struct st_image *img = C->img;
    struct fs fs = {.C = C, .img = img, .pou = p, .inst = p->kind == POU_FB, .base = base,
                    .top = top, .cells = cells, .celllist = celllist, .returns = NO_JUMP,
                    .measure = measure, .line = (uint32_t)p->line};
    int32_t entry = here(&fs);
    /* VAR_TEMP: fresh at every call (they are laid out together, at the end) */
    uint32_t tlo = UINT32_MAX, thi = 0;
    for (struct st_var *v = p->vars; v; v = v->next)
        if (v->sect == SECT_TEMP) {
            if ((uint32_t)v->off < tlo)
                tlo = (uint32_t)v->off;
            if ((uint32_t)v->off + v->ty->size > thi)
                thi = (uint32_t)v->off + v->ty->size;
        }
    if (thi > tlo)
        emit(&fs, OP_INITL, (int32_t)tlo + (fs.inst ? 0 : base), (int32_t)(thi - tlo), 0, 0);
    stmt_list(&fs, p->body);
    patch_here(&fs, fs.returns);
    fs.line = (uint32_t)(p->end_line ? p->end_line : p->line);
    emit(&fs, OP_RET, 0, 0, 0, 0);
    if (measure)
        return -1;
    if (img->nbodies == img->capbodies) {
        size_t cap = img->capbodies ? img->capbodies * 2 : 16;
        struct st_body *b = st_realloc(img->bodies, cap * sizeof *b);
        if (!b)
            return -1;
        img->bodies = b;
        img->capbodies = cap;
    }
    struct st_body *b = &img->bodies[img->nbodies];
    b->name = p->name;
    b->inst = inst;
    b->kind = p->kind;
    b->entry = entry;
    b->end = here(&fs);
    b->base = p->kind == POU_FB ? -1 : base;
    b->pou = p;
    return (int)img->nbodies++;
}

/* ---- layout ---- */

static void lay_pou(struct st_comp *C, struct st_pou *p);

/* Makes sure a type's size is known (arrays of function blocks). */
static void lay_type(struct st_comp *C, struct st_ty *t)
{
    if (t->sized)
        return;
    if (t->kind == TY_FB) {
        lay_pou(C, t->pou);
        return;
    }
    if (t->kind == TY_ARRAY) {
        lay_type(C, t->of);
        uint64_t step = t->of->size;
        for (int i = t->ndim - 1; i >= 0; i--) {
            t->stride[i] = (uint32_t)step;
            step *= (uint64_t)((int64_t)t->hi[i] - t->lo[i] + 1);
            if (step > ST_MAX_MEMORY)
                step = ST_MAX_MEMORY + 1ull;
        }
        t->size = (uint32_t)step;
        t->align = t->of->align;
        t->sized = true;
    }
}

/* Offsets of a POU's own variables; for an FB, also its instance size
 * (measured by compiling its body once). */
static void lay_pou(struct st_comp *C, struct st_pou *p)
{
    if (p->state == 3)
        return;
    p->state = 3;
    uint32_t off = 0, align = 8;
    for (int pass = 0; pass < 2; pass++)
        for (struct st_var *v = p->vars; v; v = v->next) {
            if ((v->flags & VF_ABS) || v->sect == SECT_EXTERNAL)
                continue;
            if ((v->sect == SECT_TEMP) != (pass == 1))
                continue;
            lay_type(C, v->ty);
            uint32_t size = v->sect == SECT_INOUT ? 4 : v->ty->size;
            uint32_t a = v->sect == SECT_INOUT ? 4 : v->ty->align;
            if (a > 8)
                a = 8;
            if (v->ty->kind == TY_FB || v->ty->kind == TY_ARRAY)
                a = 8;
            off = align_up(off, a ? a : 1);
            v->off = (int32_t)off;
            if ((uint64_t)off + size > ST_MAX_MEMORY) {
                C->memfull = true;
                off = 0;
            } else {
                off += size;
            }
        }
    p->declsize = align_up(off ? off : 1, 8);
    p->size = p->declsize;
    p->align = align;
    if (p->kind == POU_FB && !C->memfull) {
        /* temporaries and constants follow the variables: measure them */
        uint32_t top = p->declsize;
        size_t mark = C->img->ncode;
        struct st_cell *cells = NULL;
        compile_body(C, p, 0, NULL, true, &top, st_map_new(C->A), &cells);
        C->img->ncode = mark;
        p->size = align_up(top, 8);
        p->fbty->size = p->size;
        p->fbty->align = 8;
        p->fbty->sized = true;
    }
}

/* ---- initial values ---- */

static void write_init(struct st_comp *C, uint8_t *dst, struct st_ty *t, struct st_node *init);

static void write_default(struct st_comp *C, uint8_t *dst, struct st_ty *t)
{
    if (t->dflt) {
        write_init(C, dst, t, t->dflt);
        return;
    }
    switch (t->kind) {
    case TY_ENUM:
        if (t->nvals)
            memcpy(dst, &t->vals[0].value, 4);
        return;
    case TY_ELEM:
        if (t->ranged && t->rlo > 0) {
            int64_t v = t->rlo;
            memcpy(dst, &v, t->size);
        }
        return;
    case TY_FB:
        if (t->pou->tmpl)
            memcpy(dst, t->pou->tmpl, t->pou->size);
        return;
    case TY_STRUCT:
        for (int i = 0; i < t->nfields; i++) {
            struct st_field *f = &t->fields[i];
            if (f->init)
                write_init(C, dst + f->off, f->ty, f->init);
            else
                write_default(C, dst + f->off, f->ty);
        }
        return;
    case TY_ARRAY: {
        uint64_t n = t->size / (t->of->size ? t->of->size : 1);
        bool plain = !t->of->dflt && (t->of->kind == TY_ELEM && !(t->of->ranged && t->of->rlo > 0));
        if (plain)
            return;
        for (uint64_t i = 0; i < n; i++)
            write_default(C, dst + i * t->of->size, t->of);
        return;
    }
    default:
        return;
    }
}

static void write_init(struct st_comp *C, uint8_t *dst, struct st_ty *t, struct st_node *init)
{
    if (!init) {
        write_default(C, dst, t);
        return;
    }
    switch (init->kind) {
    case N_ARRINIT: {
        if (t->kind != TY_ARRAY)
            return;
        uint64_t total = t->size / (t->of->size ? t->of->size : 1), k = 0;
        write_default(C, dst, t);
        for (int i = 0; i < init->n && k < total; i++) {
            struct st_node *e = init->list[i];
            if (e->kind == N_REPEAT) {
                for (uint64_t r = 0; r < e->u && k < total; r++, k++)
                    if (e->a)
                        write_init(C, dst + k * t->of->size, t->of, e->a);
            } else {
                write_init(C, dst + k * t->of->size, t->of, e);
                k++;
            }
        }
        return;
    }
    case N_STRUCTINIT:
        write_default(C, dst, t);
        for (int i = 0; i < init->nargs; i++) {
            struct st_arg *a = &init->args[i];
            if (t->kind == TY_STRUCT) {
                for (int k = 0; k < t->nfields; k++)
                    if (t->fields[k].key == a->key)
                        write_init(C, dst + t->fields[k].off, t->fields[k].ty, a->e);
            } else if (t->kind == TY_FB) {
                struct st_var *m = st_map_get(t->pou->vmap, a->key);
                if (m)
                    write_init(C, dst + m->off, m->ty, a->e);
            }
        }
        return;
    case N_INT: case N_REAL: case N_BOOL: case N_TIME: case N_STR: case N_ENUMVAL: {
        uint8_t b[8];
        if (init->kind == N_STR) {
            const_bytes(init, t, dst, t->size);
            return;
        }
        uint32_t len = const_bytes(init, t, b, 8);
        memcpy(dst, b, len < t->size ? len : t->size);
        return;
    }
    default:
        return;
    }
}

/* The initial bytes of a POU's variables at dst (an instance or a frame). */
static void write_vars(struct st_comp *C, uint8_t *dst, struct st_pou *p)
{
    for (struct st_var *v = p->vars; v; v = v->next) {
        if ((v->flags & VF_ABS) || v->sect == SECT_EXTERNAL || v->sect == SECT_INOUT)
            continue;
        write_init(C, dst + v->off, v->ty, v->init);
    }
    if (p->eno)
        dst[p->eno->off] = 1;
}

static void write_cells(uint8_t *mem, size_t size, const struct st_cell *c)
{
    for (; c; c = c->next)
        if ((size_t)c->off + c->len <= size)
            memcpy(mem + c->off, c->data, c->len);
}

/* ---- retained variables ---- */

static void add_retain(struct st_image *img, uint32_t off, uint32_t len)
{
    if (img->nretain && img->retain[img->nretain - 1].off + img->retain[img->nretain - 1].len == off) {
        img->retain[img->nretain - 1].len += len;
    } else {
        struct st_range *r = st_realloc(img->retain, (img->nretain + 1) * sizeof *r);
        if (!r)
            return;
        img->retain = r;
        img->retain[img->nretain++] = (struct st_range){off, len};
    }
    img->retain_bytes += len;
}

/* RETAIN variables inside an instance at `base` of a POU (recursing into FBs). */
static void retain_walk(struct st_image *img, struct st_pou *p, uint32_t base, bool all)
{
    for (struct st_var *v = p->vars; v; v = v->next) {
        if ((v->flags & VF_ABS) || v->sect == SECT_EXTERNAL || v->sect == SECT_TEMP)
            continue;
        uint32_t off = base + (uint32_t)v->off;
        struct st_ty *t = v->ty;
        if ((all || (v->flags & VF_RETAIN)) && !(v->flags & VF_NONRETAIN)) {
            add_retain(img, off, v->sect == SECT_INOUT ? 4 : t->size);
            continue;
        }
        if (t->kind == TY_FB) {
            retain_walk(img, t->pou, off, false);
        } else if (t->kind == TY_ARRAY && t->of->kind == TY_FB) {
            uint32_t n = t->size / t->of->size;
            for (uint32_t i = 0; i < n; i++)
                retain_walk(img, t->of->pou, off + i * t->of->size, false);
        }
    }
}

/* ---- the pass ---- */

static void add_located(struct st_image *img, struct st_var *v, const char *name)
{
    struct st_located *l = st_realloc(img->located, (img->nlocated + 1) * sizeof *l);
    if (!l)
        return;
    img->located = l;
    struct st_located *x = &l[img->nlocated++];
    x->addr = v->addr;
    x->type = v->ty->kind == TY_ELEM ? v->ty->elem : ST_DERIVED;
    x->name = name;
    x->offset = (size_t)v->off;
}

static bool too_big(struct st_comp *C)
{
    if (!C->memfull)
        return false;
    st_error(C, 0, 1, 1, "the program needs more than %u bytes of memory", ST_MAX_MEMORY);
    return true;
}

void st_codegen(struct st_comp *C)
{
    struct st_image *img = C->img;
    /* function blocks and function frames, callees first */
    for (int i = 0; i < C->norder; i++)
        lay_pou(C, C->order[i]);
    for (int i = 0; i < C->nprogs; i++)
        lay_pou(C, C->progs[i].pou);
    if (too_big(C))
        return;
    /* absolute memory */
    uint64_t addr = 16;
    for (struct st_var *v = C->globals; v; v = v->next) {
        if (v->flags & VF_LOCATED)
            continue;
        lay_type(C, v->ty);
        addr = align_up((uint32_t)addr, v->ty->align > 8 || v->ty->kind == TY_FB ? 8
                                                                                : v->ty->align);
        v->off = (int32_t)addr;
        addr += v->ty->size;
        if (addr > ST_MAX_MEMORY)
            break;
    }
    /* located variables: one cell per address, shared by all who name it */
    struct st_map *locs = st_map_new(C->A);
    struct st_var **locvars = NULL;
    int nloc = 0;
    for (int pass = 0; pass < 2; pass++) {
        int k = 0;
        for (struct st_var *v = C->globals; v; v = v->next)
            if (v->flags & VF_LOCATED) {
                if (pass)
                    locvars[k] = v;
                k++;
            }
        for (struct st_pouast *pa = C->pous; pa; pa = pa->next)
            if (pa->pou->kind == POU_PROGRAM && pa->pou->used)
                for (struct st_var *v = pa->pou->vars; v; v = v->next)
                    if (v->flags & VF_LOCATED) {
                        if (pass)
                            locvars[k] = v;
                        k++;
                    }
        if (!pass) {
            nloc = k;
            locvars = st_arena_alloc(C->A, (size_t)(k + 1) * sizeof *locvars);
        }
    }
    for (int i = 0; i < nloc; i++) {
        struct st_var *v = locvars[i];
        char key[32];
        locaddr_format(&v->addr, key, sizeof key);
        const char *k = st_intern(C, key, strlen(key), NULL);
        void *o = st_map_get(locs, k);
        if (o) {
            v->off = (int32_t)((intptr_t)o - 1);
            continue;
        }
        uint32_t size = (uint32_t)locaddr_bits(&v->addr) / 8;
        if (size == 0)
            size = 1;
        addr = align_up((uint32_t)addr, size);
        v->off = (int32_t)addr;
        st_map_put(locs, k, (void *)(intptr_t)(addr + 1));
        addr += size;
    }
    for (int i = 0; i < C->norder; i++) {
        struct st_pou *p = C->order[i];
        if (p->kind != POU_FUNCTION)
            continue;
        addr = align_up((uint32_t)addr, 8);
        p->frame = (int32_t)addr;
        addr += p->size;
    }
    for (int i = 0; i < C->nprogs; i++) {
        addr = align_up((uint32_t)addr, 8);
        C->progs[i].base = (int32_t)addr;
        addr += C->progs[i].pou->size;
    }
    addr = align_up((uint32_t)addr, 8);
    if (addr > ST_MAX_MEMORY) {
        st_error(C, 0, 1, 1, "the program needs more than %u bytes of memory", ST_MAX_MEMORY);
        return;
    }
    uint32_t top = (uint32_t)addr;
    struct st_map *abscells = st_map_new(C->A);
    /* code: function blocks and functions, then each program instance */
    for (int i = 0; i < C->norder; i++) {
        struct st_pou *p = C->order[i];
        if (p->kind == POU_PROGRAM)
            continue;
        if (p->kind == POU_FB) {
            uint32_t ftop = p->declsize;
            p->cells = NULL;
            p->bodyidx = compile_body(C, p, 0, NULL, false, &ftop, st_map_new(C->A), &p->cells);
            if (too_big(C))
                return;
            if (align_up(ftop, 8) != p->size) {
                st_error(C, 0, p->line, p->col, "internal error: %s measured %u bytes, used %u",
                         p->name, p->size, ftop);
                return;
            }
            /* the template of an instance */
            p->tmpl = st_arena_alloc(C->A, p->size);
            write_vars(C, p->tmpl, p);
            write_cells(p->tmpl, p->size, p->cells);
        } else {
            p->bodyidx = compile_body(C, p, p->frame, NULL, false, &top, abscells, &img->cells);
        }
    }
    for (int i = 0; i < C->nprogs; i++) {
        struct st_proginst *g = &C->progs[i];
        g->body = compile_body(C, g->pou, g->base, g->name, false, &top, abscells, &img->cells);
    }
    if (too_big(C))
        return;
    /* the initial image */
    img->memsize = align_up(top, 8);
    img->init = st_calloc(img->memsize, 1);
    if (!img->init) {
        st_error(C, 0, 1, 1, "out of memory (%zu bytes)", img->memsize);
        return;
    }
    for (struct st_var *v = C->globals; v; v = v->next)
        write_init(C, img->init + v->off, v->ty, v->init);
    for (int i = 0; i < nloc; i++)
        if (locvars[i]->owner && locvars[i]->init)
            write_init(C, img->init + locvars[i]->off, locvars[i]->ty, locvars[i]->init);
    for (int i = 0; i < C->norder; i++) {
        struct st_pou *p = C->order[i];
        if (p->kind == POU_FUNCTION)
            write_vars(C, img->init + p->frame, p);
    }
    for (int i = 0; i < C->nprogs; i++)
        write_vars(C, img->init + C->progs[i].base, C->progs[i].pou);
    write_cells(img->init, img->memsize, img->cells);
    /* program instances, tasks, located variables, retained bytes */
    img->progs = st_calloc((size_t)C->nprogs + 1, sizeof *img->progs);
    img->nprogs = (size_t)C->nprogs;
    for (int i = 0; i < C->nprogs; i++)
        img->progs[i] = C->progs[i];
    img->tasks = st_calloc((size_t)C->ntasks + 1, sizeof *img->tasks);
    img->ntasks = (size_t)C->ntasks;
    for (int t = 0; t < C->ntasks; t++) {
        struct st_task *dt = &img->tasks[t];
        dt->info = C->tasks[t].info;
        int n = 0;
        for (int i = 0; i < C->nprogs; i++)
            if (C->progs[i].task == t)
                n++;
        dt->names = st_arena_alloc(C->A, (size_t)(n + 1) * sizeof *dt->names);
        dt->progs = st_arena_alloc(C->A, (size_t)(n + 1) * sizeof *dt->progs);
        int k = 0;
        for (int i = 0; i < C->nprogs; i++)
            if (C->progs[i].task == t) {
                dt->names[k] = C->progs[i].name;
                dt->progs[k] = i;
                k++;
            }
        dt->info.nprograms = (size_t)n;
        dt->info.programs = dt->names;
    }
    for (struct st_var *v = C->globals; v; v = v->next)
        if (v->flags & VF_LOCATED)
            add_located(img, v, v->name);
    for (int i = 0; i < C->nprogs; i++)
        for (struct st_var *v = C->progs[i].pou->vars; v; v = v->next)
            if (v->flags & VF_LOCATED) {
                char name[256];
                snprintf(name, sizeof name, "%s.%s", C->progs[i].name, v->name);
                add_located(img, v, st_arena_strndup(C->A, name, strlen(name)));
            }
    for (struct st_var *v = C->globals; v; v = v->next)
        if ((v->flags & VF_RETAIN) && !(v->flags & VF_LOCATED))
            add_retain(img, (uint32_t)v->off, v->ty->size);
        else if (v->ty->kind == TY_FB)
            retain_walk(img, v->ty->pou, (uint32_t)v->off, false);
    for (int i = 0; i < C->nprogs; i++)
        retain_walk(img, C->progs[i].pou, (uint32_t)C->progs[i].base, C->progs[i].retain);
    img->globals = C->globals;
    img->pous = st_arena_alloc(C->A, (size_t)(C->norder + 1) * sizeof *img->pous);
    for (int i = 0; i < C->norder; i++)
        img->pous[i] = C->order[i];
    img->npous = (size_t)C->norder;
}
