/* st_types.c — the type system: the elementary types, their classes (ANY_INT,
 * ANY_BIT ...), IEC 61131-3's implicit conversions (widening only) and the
 * common type of two operands. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "st/st_ast.h"

/* ORDER st_type: name, size. */
#define E(t, n, s) [t] = {.kind = TY_ELEM, .elem = t, .size = s, .align = s, .name = n, .sized = true}
struct st_ty st_elem_types[ST_STRING + 1] = {
    E(ST_BOOL, "BOOL", 1),    E(ST_SINT, "SINT", 1),   E(ST_INT, "INT", 2),
    E(ST_DINT, "DINT", 4),    E(ST_LINT, "LINT", 8),   E(ST_USINT, "USINT", 1),
    E(ST_UINT, "UINT", 2),    E(ST_UDINT, "UDINT", 4), E(ST_ULINT, "ULINT", 8),
    E(ST_BYTE, "BYTE", 1),    E(ST_WORD, "WORD", 2),   E(ST_DWORD, "DWORD", 4),
    E(ST_LWORD, "LWORD", 8),  E(ST_REAL, "REAL", 4),   E(ST_LREAL, "LREAL", 8),
    E(ST_TIME, "TIME", 8),
    [ST_STRING] = {.kind = TY_STRING, .elem = ST_STRING, .size = ST_DEFAULT_STRING + 1,
                   .align = 1, .name = "STRING", .cap = ST_DEFAULT_STRING, .sized = true},
};
#undef E
struct st_ty st_ty_litint = {.kind = TY_LITINT, .elem = ST_DERIVED, .name = "integer literal"};
struct st_ty st_ty_litreal = {.kind = TY_LITREAL, .elem = ST_DERIVED, .name = "real literal"};
struct st_ty st_ty_void = {.kind = TY_VOID, .elem = ST_DERIVED, .name = "nothing"};
struct st_ty st_ty_error = {.kind = TY_ERROR, .elem = ST_DERIVED, .name = "?"};

const char *st_type_name(enum st_type t)
{
    if (t <= ST_STRING)
        return st_elem_types[t].name;
    return "derived";
}

const char *st_sect_name(enum st_sect s)
{
    static const char *const n[] = {"VAR", "VAR_INPUT", "VAR_OUTPUT", "VAR_IN_OUT",
                                    "VAR_GLOBAL", "VAR_EXTERNAL", "VAR_TEMP", "RESULT", "CONST"};
    return n[s];
}

int st_ident_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int st_elem_by_key(const char *key)
{
    for (int t = 0; t <= ST_STRING; t++)
        if (!strcmp(st_elem_types[t].name, key))
            return t;
    if (!strcmp(key, "WSTRING"))
        return ST_STRING;
    return -1;
}

struct st_ty *st_ty_string(struct st_comp *C, uint32_t cap)
{
    if (cap == ST_DEFAULT_STRING)
        return st_elem(ST_STRING);
    char key[16];
    snprintf(key, sizeof key, "%u", cap);
    const char *k = st_intern(C, key, strlen(key), NULL);
    struct st_ty *t = st_map_get(C->strtypes, k);
    if (t)
        return t;
    t = st_arena_alloc(C->A, sizeof *t);
    *t = st_elem_types[ST_STRING];
    t->cap = cap;
    t->size = cap + 1;
    char name[32];
    snprintf(name, sizeof name, "STRING[%u]", cap);
    t->name = st_arena_strndup(C->A, name, strlen(name));
    st_map_put(C->strtypes, k, t);
    return t;
}

static bool elem_in(const struct st_ty *t, enum st_type lo, enum st_type hi)
{
    return t && t->kind == TY_ELEM && t->elem >= lo && t->elem <= hi;
}

bool st_ty_is_int(const struct st_ty *t)
{
    return elem_in(t, ST_SINT, ST_ULINT);
}

bool st_ty_is_signed(const struct st_ty *t)
{
    return elem_in(t, ST_SINT, ST_LINT) || elem_in(t, ST_REAL, ST_TIME);
}

bool st_ty_is_real(const struct st_ty *t)
{
    return elem_in(t, ST_REAL, ST_LREAL);
}

bool st_ty_is_num(const struct st_ty *t)
{
    return st_ty_is_int(t) || st_ty_is_real(t);
}

bool st_ty_is_bit(const struct st_ty *t)
{
    return (t && t->kind == TY_ELEM && t->elem == ST_BOOL) || elem_in(t, ST_BYTE, ST_LWORD);
}

bool st_ty_is_elem(const struct st_ty *t)
{
    return t && (t->kind == TY_ELEM || t->kind == TY_STRING);
}

bool st_ty_is_lit(const struct st_ty *t)
{
    return t && (t->kind == TY_LITINT || t->kind == TY_LITREAL);
}

int st_ty_bits(const struct st_ty *t)
{
    if (t->kind == TY_ELEM && t->elem == ST_BOOL)
        return 1;
    return (int)t->size * 8;
}

bool st_ty_same(const struct st_ty *a, const struct st_ty *b)
{
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    if (a->kind == TY_STRING && b->kind == TY_STRING)
        return true;
    if (a->kind == TY_ELEM && b->kind == TY_ELEM)
        return a->elem == b->elem; /* subranges are their base type */
    return false;
}

/* Implicit conversions allowed by IEC 61131-3 (3rd edition, table 11). */
static const uint32_t widen[ST_STRING + 1] = {
#define B(t) (1u << (t))
    [ST_SINT] = B(ST_INT) | B(ST_DINT) | B(ST_LINT) | B(ST_REAL) | B(ST_LREAL),
    [ST_INT] = B(ST_DINT) | B(ST_LINT) | B(ST_REAL) | B(ST_LREAL),
    [ST_DINT] = B(ST_LINT) | B(ST_LREAL),
    [ST_USINT] = B(ST_UINT) | B(ST_UDINT) | B(ST_ULINT) | B(ST_INT) | B(ST_DINT) | B(ST_LINT) |
                 B(ST_REAL) | B(ST_LREAL),
    [ST_UINT] = B(ST_UDINT) | B(ST_ULINT) | B(ST_DINT) | B(ST_LINT) | B(ST_REAL) | B(ST_LREAL),
    [ST_UDINT] = B(ST_ULINT) | B(ST_LINT) | B(ST_LREAL),
    [ST_BYTE] = B(ST_WORD) | B(ST_DWORD) | B(ST_LWORD),
    [ST_WORD] = B(ST_DWORD) | B(ST_LWORD),
    [ST_DWORD] = B(ST_LWORD),
    [ST_REAL] = B(ST_LREAL),
#undef B
};

bool st_ty_widens(const struct st_ty *a, const struct st_ty *b)
{
    if (a->kind != TY_ELEM || b->kind != TY_ELEM)
        return false;
    return (widen[a->elem] >> b->elem) & 1;
}

struct st_ty *st_ty_common(struct st_ty *a, struct st_ty *b)
{
    if (st_ty_same(a, b))
        return a;
    if (st_ty_widens(a, b))
        return b;
    if (st_ty_widens(b, a))
        return a;
    static const enum st_type order[] = {ST_INT,  ST_DINT,  ST_LINT, ST_REAL,  ST_LREAL,
                                         ST_WORD, ST_DWORD, ST_LWORD};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        struct st_ty *c = st_elem(order[i]);
        if (st_ty_widens(a, c) && st_ty_widens(b, c))
            return c;
    }
    return NULL;
}

bool st_ty_int_fits(const struct st_ty *t, uint64_t u, bool neg)
{
    if (t->kind != TY_ELEM)
        return false;
    uint64_t maxpos, maxneg = 0;
    switch (t->elem) {
    case ST_SINT: maxpos = 127; maxneg = 128; break;
    case ST_INT: maxpos = 32767; maxneg = 32768; break;
    case ST_DINT: maxpos = 2147483647u; maxneg = 2147483648u; break;
    case ST_LINT: maxpos = INT64_MAX; maxneg = (uint64_t)INT64_MAX + 1; break;
    case ST_USINT: case ST_BYTE: maxpos = 255; break;
    case ST_UINT: case ST_WORD: maxpos = 65535; break;
    case ST_UDINT: case ST_DWORD: maxpos = 4294967295u; break;
    case ST_ULINT: case ST_LWORD: maxpos = UINT64_MAX; break;
    case ST_BOOL: maxpos = 1; break;
    default: return false;
    }
    bool ok = neg ? u <= maxneg : u <= maxpos;
    if (ok && t->ranged) {
        __int128 v = neg ? -(__int128)u : (__int128)u;
        ok = v >= t->rlo && v <= t->rhi;
    }
    return ok;
}

const char *st_ty_str(const struct st_ty *t)
{
    return t && t->name ? t->name : "?";
}
