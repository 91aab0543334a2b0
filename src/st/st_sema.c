/* st_sema.c — semantic analysis: declares types, globals and POUs, gives every
 * expression its type (IEC 61131-3's rules: literals take the type of their
 * context, implicit conversions only widen), folds constant expressions,
 * binds call arguments to parameters, checks statements and writes, builds
 * the call graph and rejects recursion, and resolves the configuration
 * (tasks, program instances).
 *
 * Errors are reported and checking goes on: an expression whose type is
 * unknown gets TY_ERROR, which silences the errors that would follow from it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st/st_ast.h"

struct sema {
    struct st_comp *C;
    struct st_pou *pou;   /* POU being checked, NULL for global declarations */
    int loop;             /* loop nesting, for EXIT */
};

#define ERR(S, n, ...) st_error((S)->C, (n)->src, (n)->line, (n)->col, __VA_ARGS__)
#define ERRT (&st_ty_error)

static struct st_node *expr(struct sema *S, struct st_node *n, struct st_ty *expect);
static struct st_node *check_init(struct sema *S, struct st_node *n, struct st_ty *t,
                                  const char *what);
static struct st_ty *resolve(struct sema *S, struct st_tyspec *ts, const char *name);
static void use_pou(struct sema *S, struct st_pou *p, int src, int line, int col);

/* ---- constants ---- */

static bool is_const(const struct st_node *n)
{
    switch (n->kind) {
    case N_INT: case N_REAL: case N_BOOL: case N_TIME: case N_STR: case N_ENUMVAL:
        return true;
    default:
        return false;
    }
}

static struct st_node *copy_node(struct sema *S, const struct st_node *n)
{
    struct st_node *c = st_arena_alloc(S->C->A, sizeof *c);
    *c = *n;
    c->next = NULL;
    return c;
}

/* The value of an integer-like constant (N_INT typed or not, N_BOOL, N_ENUMVAL). */
static __int128 int_of(const struct st_node *n)
{
    if (n->kind == N_BOOL)
        return n->u ? 1 : 0;
    if (n->kind == N_ENUMVAL || n->kind == N_TIME)
        return n->i;
    if (n->ty && n->ty->kind == TY_LITINT)
        return n->neg ? -(__int128)n->u : (__int128)n->u;
    if (n->ty && st_ty_is_signed(n->ty))
        return n->i;
    return (__int128)(uint64_t)n->i;
}

static double real_of(const struct st_node *n)
{
    if (n->kind == N_REAL)
        return n->r;
    return (double)int_of(n);
}

/* Wraps v to the width and signedness of t. */
static int64_t wrap(const struct st_ty *t, __int128 v)
{
    uint64_t u = (uint64_t)v;
    int bits = st_ty_bits(t);
    if (bits == 1)
        return u & 1;
    if (bits < 64) {
        uint64_t mask = (1ull << bits) - 1;
        u &= mask;
        if (st_ty_is_signed(t) && (u >> (bits - 1)))
            u |= ~mask;
    }
    return (int64_t)u;
}

/* Makes n an integer constant of type t (a literal type or a typed one). */
static struct st_node *set_int(struct sema *S, struct st_node *n, struct st_ty *t, __int128 v)
{
    n->kind = t->kind == TY_ELEM && t->elem == ST_BOOL ? N_BOOL
              : t->kind == TY_ELEM && t->elem == ST_TIME ? N_TIME : N_INT;
    n->ty = t;
    n->is_const = true;
    if (t->kind == TY_LITINT) {
        if (v > (__int128)UINT64_MAX || v < -(__int128)INT64_MAX - 1) {
            ERR(S, n, "constant expression overflows 64 bits");
            v = 0;
        }
        n->neg = v < 0;
        n->u = (uint64_t)(v < 0 ? -v : v);
        return n;
    }
    n->i = wrap(t, v);
    n->u = n->kind == N_BOOL ? (uint64_t)(n->i & 1) : (uint64_t)n->i;
    n->neg = false;
    return n;
}

static struct st_node *set_real(struct st_node *n, struct st_ty *t, double r)
{
    n->kind = N_REAL;
    n->ty = t;
    n->is_const = true;
    n->r = (t->kind == TY_ELEM && t->elem == ST_REAL) ? (double)(float)r : r;
    return n;
}

static const char *lit_text(const struct st_node *n, char *buf, size_t len)
{
    __int128 v = int_of(n);
    if (v < 0)
        snprintf(buf, len, "-%llu", (unsigned long long)(-v));
    else
        snprintf(buf, len, "%llu", (unsigned long long)v);
    return buf;
}

/* ---- conversions ---- */

/* Whether values of type f can be assigned to t without conversion. */
static bool ty_compatible(const struct st_ty *f, const struct st_ty *t)
{
    if (f == t || st_ty_same(f, t))
        return true;
    if (f->kind == TY_ARRAY && t->kind == TY_ARRAY) {
        if (f->ndim != t->ndim)
            return false;
        for (int i = 0; i < f->ndim; i++)
            if (f->lo[i] != t->lo[i] || f->hi[i] != t->hi[i])
                return false;
        return ty_compatible(f->of, t->of) && f->of->size == t->of->size;
    }
    return false;
}

/* Converts n to type t where IEC allows it implicitly (literals take the
 * type). Returns the node to use, or NULL when the types do not match
 * (nothing reported). A literal that does not fit t is reported. */
static struct st_node *convert(struct sema *S, struct st_node *n, struct st_ty *t)
{
    struct st_ty *f = n->ty;
    if (!f || f->kind == TY_ERROR || t->kind == TY_ERROR)
        return n;
    if (f->kind == TY_LITINT) {
        if (t->kind != TY_ELEM)
            return NULL;
        char b[48];
        if (t->elem == ST_BOOL) {
            if (n->neg || n->u > 1) {
                ERR(S, n, "constant %s is not a BOOL (use TRUE, FALSE, 0 or 1)",
                    lit_text(n, b, sizeof b));
                return set_int(S, copy_node(S, n), t, 0);
            }
            return set_int(S, copy_node(S, n), t, (__int128)n->u);
        }
        if (st_ty_is_int(t) || st_ty_is_bit(t)) {
            if (!st_ty_int_fits(t, n->u, n->neg)) {
                ERR(S, n, "constant %s does not fit %s", lit_text(n, b, sizeof b), st_ty_str(t));
                return set_int(S, copy_node(S, n), t, 0);
            }
            return set_int(S, copy_node(S, n), t, int_of(n));
        }
        if (st_ty_is_real(t))
            return set_real(copy_node(S, n), t, (double)int_of(n));
        return NULL;
    }
    if (f->kind == TY_LITREAL) {
        if (st_ty_is_real(t))
            return set_real(copy_node(S, n), t, n->r);
        return NULL;
    }
    if (ty_compatible(f, t)) {
        if (t->ranged && is_const(n) && !(int_of(n) >= t->rlo && int_of(n) <= t->rhi)) {
            char b[48];
            ERR(S, n, "constant %s is outside %s", lit_text(n, b, sizeof b), st_ty_str(t));
        }
        return n;
    }
    if (st_ty_widens(f, t)) {
        if (is_const(n)) {
            struct st_node *c = copy_node(S, n);
            if (st_ty_is_real(t))
                return set_real(c, t, real_of(n));
            return set_int(S, c, t, int_of(n));
        }
        struct st_node *c = st_node_new(S->C, N_CONV, n->src, n->line, n->col);
        c->a = n;
        c->ty = t;
        return c;
    }
    return NULL;
}

/* Converts for an assignment-like context, reporting a mismatch as
 * "<what>: cannot convert F to T" (what NULL: "cannot assign F to T"). */
static struct st_node *coerce(struct sema *S, struct st_node *n, struct st_ty *t, const char *what)
{
    struct st_node *c = convert(S, n, t);
    if (c)
        return c;
    const char *hint = "";
    if (st_ty_is_elem(n->ty) && st_ty_is_elem(t) && n->ty->kind != TY_LITINT &&
        n->ty->kind != TY_LITREAL)
        hint = " (an explicit conversion such as ";
    char conv[96] = "";
    if (*hint)
        snprintf(conv, sizeof conv, "%s_TO_%s is needed)", st_type_name(n->ty->elem),
                 st_type_name(t->elem));
    if (what)
        ERR(S, n, "%s: cannot convert %s to %s%s%s", what, st_ty_str(n->ty), st_ty_str(t), hint,
            conv);
    else
        ERR(S, n, "cannot assign %s to %s%s%s", st_ty_str(n->ty), st_ty_str(t), hint, conv);
    n->ty = ERRT;
    return n;
}

/* The default type of a literal with no context. */
static struct st_ty *lit_default(const struct st_node *n)
{
    if (n->ty->kind == TY_LITREAL)
        return st_elem(ST_LREAL);
    __int128 v = int_of(n);
    if (v >= INT32_MIN && v <= INT32_MAX)
        return st_elem(ST_DINT);
    if (v > INT64_MAX)
        return st_elem(ST_ULINT);
    return st_elem(ST_LINT);
}

/* Gives a literal its context type, or its default type. */
static struct st_node *settle(struct sema *S, struct st_node *n, struct st_ty *expect)
{
    if (!st_ty_is_lit(n->ty))
        return n;
    if (expect) {
        struct st_node *c = convert(S, n, expect);
        if (c)
            return c;
    }
    return convert(S, n, lit_default(n));
}

/* ---- constant expressions in declarations ---- */

static bool const_int(struct sema *S, struct st_node *n, int64_t lo, int64_t hi, int64_t *out,
                      const char *what)
{
    struct st_node *e = expr(S, n, NULL);
    if (e->ty->kind == TY_ERROR)
        return false;
    if (!is_const(e) || !(e->ty->kind == TY_LITINT || st_ty_is_int(e->ty))) {
        ERR(S, n, "%s must be a constant integer", what);
        return false;
    }
    __int128 v = int_of(e);
    if (v < lo || v > hi) {
        char b[48];
        ERR(S, n, "%s %s is out of range (%lld..%lld)", what, lit_text(e, b, sizeof b),
            (long long)lo, (long long)hi);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

/* ---- types ---- */

static struct st_ty *new_ty(struct sema *S, enum st_tykind k)
{
    struct st_ty *t = st_arena_alloc(S->C->A, sizeof *t);
    t->kind = k;
    t->elem = ST_DERIVED;
    return t;
}

static const char *fmt_name(struct sema *S, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *fmt_name(struct sema *S, const char *fmt, ...)
{
    char b[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    return st_arena_strndup(S->C->A, b, strlen(b));
}

static struct st_ty *resolve_typedecl(struct sema *S, struct st_typedecl *td)
{
    if (td->state == 2)
        return td->ty;
    if (td->state == 1) {
        st_error(S->C, td->src, td->line, td->col, "type '%s' is defined in terms of itself",
                 td->name);
        td->ty = ERRT;
        td->state = 2;
        return ERRT;
    }
    td->state = 1;
    struct sema T = {.C = S->C};
    struct st_ty *t = resolve(&T, td->ts, td->name);
    if (td->init && t->kind != TY_ERROR) {
        if (t->kind == TY_ELEM || t->kind == TY_STRING) {
            struct st_ty *c = new_ty(S, t->kind);
            *c = *t;
            c->name = td->name;
            t = c;
        }
        t->dflt = check_init(&T, td->init, t, "initial value");
    }
    td->ty = t;
    td->state = 2;
    return t;
}

static struct st_ty *named_type(struct sema *S, const char *key, const char *name, int src,
                                int line, int col)
{
    int e = st_elem_by_key(key);
    if (e >= 0)
        return st_elem((enum st_type)e);
    struct st_typedecl *td = st_map_get(S->C->typemap, key);
    if (td)
        return resolve_typedecl(S, td);
    struct st_pouast *pa = st_map_get(S->C->poumap, key);
    if (pa && pa->pou->kind == POU_FB) {
        use_pou(S, pa->pou, src, line, col);
        return pa->pou->fbty;
    }
    if (pa) {
        st_error(S->C, src, line, col, "'%s' is a %s, not a type", name,
                 pa->pou->kind == POU_PROGRAM ? "PROGRAM" : "FUNCTION");
        return ERRT;
    }
    static const char *const unsupported[] = {"DATE", "TOD", "DT", "TIME_OF_DAY",
                                              "DATE_AND_TIME", "LTIME", "CHAR", "WCHAR",
                                              "LDATE", "LTOD", "LDT"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (!strcmp(key, unsupported[i])) {
            st_error(S->C, src, line, col, "type %s is not supported", name);
            return ERRT;
        }
    st_error(S->C, src, line, col, "unknown type '%s'", name);
    return ERRT;
}

/* Lays out an array type whose element size is known. */
static void array_size(struct st_ty *t)
{
    if (!t->of->sized)
        return;
    uint64_t step = t->of->size;
    uint64_t total = step;
    for (int i = t->ndim - 1; i >= 0; i--) {
        t->stride[i] = (uint32_t)step;
        total = step * (uint64_t)((int64_t)t->hi[i] - t->lo[i] + 1);
        step = total;
        if (total > ST_MAX_MEMORY)
            total = ST_MAX_MEMORY + 1ull;
    }
    t->size = total > ST_MAX_MEMORY ? ST_MAX_MEMORY + 1u : (uint32_t)total;
    t->align = t->of->align;
    t->sized = true;
}

static struct st_ty *resolve(struct sema *S, struct st_tyspec *ts, const char *name)
{
    struct st_comp *C = S->C;
    switch (ts->kind) {
    case TS_NAME:
        return named_type(S, ts->key, ts->name, ts->src, ts->line, ts->col);
    case TS_STRING: {
        int64_t cap = ST_DEFAULT_STRING;
        if (ts->len && !const_int(S, ts->len, 1, ST_MAX_STRING, &cap, "string length"))
            return ERRT;
        return st_ty_string(C, (uint32_t)cap);
    }
    case TS_SUBRANGE: {
        struct st_ty *base = named_type(S, ts->key, ts->name, ts->src, ts->line, ts->col);
        if (base->kind == TY_ERROR)
            return base;
        if (!st_ty_is_int(base)) {
            st_error(C, ts->src, ts->line, ts->col, "a subrange needs an integer type, not %s",
                     st_ty_str(base));
            return ERRT;
        }
        int64_t lo, hi;
        if (!const_int(S, ts->rlo, INT64_MIN, INT64_MAX, &lo, "subrange bound") ||
            !const_int(S, ts->rhi, INT64_MIN, INT64_MAX, &hi, "subrange bound"))
            return ERRT;
        if (lo > hi || !st_ty_int_fits(base, lo < 0 ? (uint64_t)-lo : (uint64_t)lo, lo < 0) ||
            !st_ty_int_fits(base, hi < 0 ? (uint64_t)-hi : (uint64_t)hi, hi < 0)) {
            st_error(C, ts->src, ts->line, ts->col, "bad subrange %lld..%lld of %s",
                     (long long)lo, (long long)hi, st_ty_str(base));
            return ERRT;
        }
        struct st_ty *t = new_ty(S, TY_ELEM);
        *t = *base;
        t->ranged = true;
        t->rlo = lo;
        t->rhi = hi;
        t->name = name ? name : fmt_name(S, "%s(%lld..%lld)", base->name, (long long)lo,
                                         (long long)hi);
        return t;
    }
    case TS_ARRAY: {
        struct st_ty *t = new_ty(S, TY_ARRAY);
        t->ndim = ts->ndim;
        char dims[128] = "";
        for (int i = 0; i < ts->ndim; i++) {
            int64_t lo, hi;
            if (!const_int(S, ts->lo[i], INT32_MIN, INT32_MAX, &lo, "array bound") ||
                !const_int(S, ts->hi[i], INT32_MIN, INT32_MAX, &hi, "array bound"))
                return ERRT;
            if (lo > hi) {
                st_error(C, ts->lo[i]->src, ts->lo[i]->line, ts->lo[i]->col,
                         "empty array range %lld..%lld", (long long)lo, (long long)hi);
                return ERRT;
            }
            t->lo[i] = (int32_t)lo;
            t->hi[i] = (int32_t)hi;
            size_t l = strlen(dims);
            snprintf(dims + l, sizeof dims - l, "%s%lld..%lld", i ? "," : "", (long long)lo,
                     (long long)hi);
        }
        t->of = resolve(S, ts->of, NULL);
        if (t->of->kind == TY_ERROR)
            return ERRT;
        if (t->of->kind == TY_ARRAY) {
            st_error(C, ts->of->src, ts->of->line, ts->of->col,
                     "an array of arrays is not supported (use ARRAY[a..b, c..d] OF ...)");
            return ERRT;
        }
        t->name = name ? name : fmt_name(S, "ARRAY[%s] OF %s", dims, t->of->name);
        array_size(t);
        if (t->sized && t->size > ST_MAX_MEMORY) {
            st_error(C, ts->src, ts->line, ts->col, "array too large (more than %u bytes)",
                     ST_MAX_MEMORY);
            return ERRT;
        }
        return t;
    }
    case TS_STRUCT: {
        struct st_ty *t = new_ty(S, TY_STRUCT);
        t->name = name ? name : "STRUCT";
        int n = 0;
        for (struct st_decl *d = ts->fields; d; d = d->next)
            n += d->n;
        t->fields = st_arena_alloc(C->A, (size_t)(n ? n : 1) * sizeof *t->fields);
        uint32_t off = 0, align = 1;
        struct st_map *seen = st_map_new(C->A);
        for (struct st_decl *d = ts->fields; d; d = d->next) {
            struct st_ty *ft = resolve(S, d->ts, NULL);
            if (ft->kind == TY_FB) {
                st_error(C, d->src, d->line, d->col,
                         "a structure cannot contain a function block instance");
                ft = ERRT;
            }
            struct st_node *init = NULL;
            if (d->init && ft->kind != TY_ERROR)
                init = check_init(S, d->init, ft, "initial value");
            for (int i = 0; i < d->n; i++) {
                if (st_map_get(seen, d->keys[i])) {
                    st_error(C, d->src, d->lines[i], d->cols[i], "field '%s' is declared twice",
                             d->names[i]);
                    continue;
                }
                st_map_put(seen, d->keys[i], (void *)1);
                struct st_field *f = &t->fields[t->nfields++];
                f->name = d->names[i];
                f->key = d->keys[i];
                f->ty = ft;
                f->init = init;
                uint32_t a = ft->align ? ft->align : 1;
                off = (off + a - 1) / a * a;
                f->off = off;
                off += ft->size;
                if (a > align)
                    align = a;
            }
        }
        t->align = align;
        t->size = (off + align - 1) / align * align;
        if (t->size == 0)
            t->size = 1;
        t->sized = true;
        return t;
    }
    case TS_ENUM: {
        struct st_ty *t = new_ty(S, TY_ENUM);
        t->name = name ? name : "enumeration";
        t->size = t->align = 4;
        t->sized = true;
        t->vals = st_arena_alloc(C->A, (size_t)ts->nenum * sizeof *t->vals);
        int64_t next = 0;
        for (int i = 0; i < ts->nenum; i++) {
            int64_t v = next;
            if (ts->evals[i] &&
                !const_int(S, ts->evals[i], INT32_MIN, INT32_MAX, &v, "enumeration value"))
                v = next;
            for (int k = 0; k < t->nvals; k++)
                if (t->vals[k].key == ts->ekeys[i]) {
                    st_error(C, ts->src, ts->elines[i], ts->ecols[i],
                             "enumeration value '%s' appears twice", ts->enames[i]);
                    break;
                }
            struct st_enumval *ev = &t->vals[t->nvals++];
            ev->name = ts->enames[i];
            ev->key = ts->ekeys[i];
            ev->value = (int32_t)v;
            next = v + 1;
            if (!st_map_get(C->enummap, ev->key))
                st_map_put(C->enummap, ev->key, t);
        }
        return t;
    }
    }
    return ERRT;
}

/* ---- names ---- */

static struct st_var *find_var(struct sema *S, const char *key)
{
    if (S->pou) {
        struct st_var *v = st_map_get(S->pou->vmap, key);
        if (v)
            return v;
    }
    return st_map_get(S->C->globmap, key);
}

/* The variable a reference finally denotes (VAR_EXTERNAL: its global). */
static struct st_var *real_var(struct st_var *v)
{
    return v->sect == SECT_EXTERNAL && v->ext ? v->ext : v;
}

static struct st_node *enum_value(struct sema *S, struct st_node *n, struct st_ty *t)
{
    for (int i = 0; i < t->nvals; i++)
        if (t->vals[i].key == n->key) {
            n->kind = N_ENUMVAL;
            n->i = t->vals[i].value;
            n->ty = t;
            n->is_const = true;
            return n;
        }
    return NULL;
}

static struct st_node *name_expr(struct sema *S, struct st_node *n, struct st_ty *expect)
{
    struct st_comp *C = S->C;
    if (n->tykey) {
        /* Color#Red */
        struct st_ty *t = named_type(S, n->tykey, n->tyname, n->src, n->line, n->col);
        if (t->kind == TY_ERROR) {
            n->ty = ERRT;
            return n;
        }
        if (t->kind != TY_ENUM || !enum_value(S, n, t)) {
            ERR(S, n, "'%s' is not a value of %s", n->name, st_ty_str(t));
            n->ty = ERRT;
        }
        return n;
    }
    struct st_var *v = find_var(S, n->key);
    if (v) {
        v->flags |= VF_USED;
        if (v->ext)
            v->ext->flags |= VF_USED;
        n->var = v;
        n->ty = v->ty;
        n->lvalue = true;
        struct st_var *r = real_var(v);
        if ((r->flags & VF_CONSTANT) && r->init && is_const(r->init) &&
            st_ty_is_elem(r->ty) && r->ty->kind != TY_STRING) {
            struct st_node *c = copy_node(S, r->init);
            c->src = n->src;
            c->line = n->line;
            c->col = n->col;
            c->var = v;
            return c;
        }
        return n;
    }
    if (expect && expect->kind == TY_ENUM && enum_value(S, n, expect))
        return n;
    struct st_ty *et = st_map_get(C->enummap, n->key);
    if (et)
        return enum_value(S, n, et);
    struct st_pouast *pa = st_map_get(C->poumap, n->key);
    if (pa) {
        if (pa->pou->kind == POU_FUNCTION)
            ERR(S, n, "function '%s' must be called: %s(...)", n->name, n->name);
        else
            ERR(S, n, "'%s' is a %s, not a variable", n->name,
                pa->pou->kind == POU_FB ? "function block type" : "PROGRAM");
    } else if (st_lib_function(C, n->key)) {
        ERR(S, n, "function '%s' must be called: %s(...)", n->name, n->name);
    } else {
        ERR(S, n, "'%s' is not declared", n->name);
    }
    n->ty = ERRT;
    return n;
}

static struct st_node *field_expr(struct sema *S, struct st_node *n)
{
    n->a = expr(S, n->a, NULL);
    struct st_ty *bt = n->a->ty;
    n->lvalue = n->a->lvalue;
    if (bt->kind == TY_ERROR) {
        n->ty = ERRT;
        return n;
    }
    if (n->neg) {
        /* bit access w.3 */
        if (!st_ty_is_bit(bt) || bt->elem == ST_BOOL) {
            ERR(S, n, "bit access .%s needs a BYTE, WORD, DWORD or LWORD, not %s", n->name,
                st_ty_str(bt));
            n->ty = ERRT;
        } else if (n->u >= (uint64_t)st_ty_bits(bt)) {
            ERR(S, n, "bit %s is outside %s", n->name, st_ty_str(bt));
            n->ty = ERRT;
        } else {
            n->ty = st_elem(ST_BOOL);
        }
        return n;
    }
    if (bt->kind == TY_STRUCT) {
        for (int i = 0; i < bt->nfields; i++)
            if (bt->fields[i].key == n->key) {
                n->field = &bt->fields[i];
                n->ty = bt->fields[i].ty;
                return n;
            }
        ERR(S, n, "%s has no field '%s'", st_ty_str(bt), n->name);
    } else if (bt->kind == TY_FB) {
        struct st_var *m = st_map_get(bt->pou->vmap, n->key);
        if (m && (m->sect == SECT_INPUT || m->sect == SECT_OUTPUT || m->sect == SECT_INOUT)) {
            n->member = m;
            n->ty = m->ty;
            if (m->sect == SECT_INOUT && n->ty->kind != TY_ERROR) {
                ERR(S, n, "VAR_IN_OUT '%s' of %s cannot be read from outside", n->name,
                    bt->pou->name);
                n->ty = ERRT;
            }
            return n;
        }
        if (m)
            ERR(S, n, "'%s' is internal to %s (only inputs and outputs are visible)", n->name,
                bt->pou->name);
        else
            ERR(S, n, "%s has no input or output '%s'", bt->pou->name, n->name);
    } else {
        ERR(S, n, "'.%s': %s is not a structure or function block", n->name, st_ty_str(bt));
    }
    n->ty = ERRT;
    return n;
}

static struct st_node *index_expr(struct sema *S, struct st_node *n)
{
    n->a = expr(S, n->a, NULL);
    struct st_ty *at = n->a->ty;
    n->lvalue = n->a->lvalue;
    for (int i = 0; i < n->n; i++) {
        n->list[i] = expr(S, n->list[i], NULL);
        struct st_node *x = n->list[i];
        if (x->ty->kind == TY_ERROR)
            continue;
        if (x->ty->kind == TY_LITINT) {
            n->list[i] = x = settle(S, x, st_elem(ST_DINT));
        } else if (!st_ty_is_int(x->ty)) {
            ERR(S, x, "array index must be an integer, not %s", st_ty_str(x->ty));
            x->ty = ERRT;
        }
    }
    if (at->kind == TY_ERROR) {
        n->ty = ERRT;
        return n;
    }
    if (at->kind != TY_ARRAY) {
        ERR(S, n, "'[': %s is not an array", st_ty_str(at));
        n->ty = ERRT;
        return n;
    }
    if (n->n != at->ndim) {
        ERR(S, n, "%s has %d dimension%s, %d index%s given", st_ty_str(at), at->ndim,
            at->ndim > 1 ? "s" : "", n->n, n->n > 1 ? "es" : "");
        n->ty = ERRT;
        return n;
    }
    for (int i = 0; i < n->n; i++) {
        struct st_node *x = n->list[i];
        if (is_const(x) && x->ty->kind != TY_ERROR) {
            __int128 v = int_of(x);
            if (v < at->lo[i] || v > at->hi[i]) {
                char b[48];
                ERR(S, x, "index %s is outside %d..%d", lit_text(x, b, sizeof b), at->lo[i],
                    at->hi[i]);
            }
        }
    }
    n->ty = at->of;
    return n;
}

/* ---- operators ---- */

static const char *op_name(int op)
{
    switch (op) {
    case TK_AND: return "AND";
    case TK_OR: return "OR";
    case TK_XOR: return "XOR";
    case TK_NOT: return "NOT";
    case TK_MOD: return "MOD";
    case TK_POW: return "**";
    case TK_LE: return "<=";
    case TK_GE: return ">=";
    case TK_NE: return "<>";
    default: return st_tk_name(op);
    }
}

static bool is_cmp(int op)
{
    return op == '=' || op == TK_NE || op == '<' || op == '>' || op == TK_LE || op == TK_GE;
}

/* The type at which an operation on a and b is done, or NULL. */
static struct st_ty *optype(struct st_ty *a, struct st_ty *b)
{
    if (a->kind == TY_LITINT && b->kind == TY_LITINT)
        return &st_ty_litint;
    if (st_ty_is_lit(a) && st_ty_is_lit(b))
        return &st_ty_litreal;
    if (st_ty_is_lit(a)) {
        struct st_ty *t = a;
        a = b;
        b = t;
    }
    if (b->kind == TY_LITINT)
        return a;
    if (b->kind == TY_LITREAL) {
        if (st_ty_is_real(a))
            return a;
        if (st_ty_is_int(a)) {
            if (st_ty_widens(a, st_elem(ST_REAL)))
                return st_elem(ST_REAL);
            if (st_ty_widens(a, st_elem(ST_LREAL)))
                return st_elem(ST_LREAL);
            return NULL;
        }
        return a;
    }
    if (a->kind == TY_ENUM || b->kind == TY_ENUM)
        return a == b ? a : NULL;
    return st_ty_common(a, b);
}

static bool ordered(const struct st_ty *t)
{
    return st_ty_is_num(t) || st_ty_is_bit(t) || (t->kind == TY_ELEM && t->elem == ST_TIME) ||
           t->kind == TY_STRING || t->kind == TY_ENUM || st_ty_is_lit(t);
}

static struct st_node *fold_binop(struct sema *S, struct st_node *n)
{
    struct st_node *a = n->a, *b = n->b;
    struct st_ty *t = a->ty;
    int op = n->op;
    if (a->kind == N_STR || b->kind == N_STR)
        return n;
    if (t->kind == TY_LITREAL || st_ty_is_real(t)) {
        double x = real_of(a), y = real_of(b), r;
        if (is_cmp(op)) {
            bool v = op == '=' ? x == y : op == TK_NE ? x != y : op == '<' ? x < y
                     : op == '>' ? x > y : op == TK_LE ? x <= y : x >= y;
            return set_int(S, n, st_elem(ST_BOOL), v);
        }
        switch (op) {
        case '+': r = x + y; break;
        case '-': r = x - y; break;
        case '*': r = x * y; break;
        case '/': r = x / y; break;
        case TK_POW: r = pow(x, y); break;
        default: return n;
        }
        return set_real(n, t->kind == TY_LITREAL ? &st_ty_litreal : t, r);
    }
    __int128 x = int_of(a), y = int_of(b), r;
    if (is_cmp(op)) {
        bool v = op == '=' ? x == y : op == TK_NE ? x != y : op == '<' ? x < y
                 : op == '>' ? x > y : op == TK_LE ? x <= y : x >= y;
        return set_int(S, n, st_elem(ST_BOOL), v);
    }
    if (t->kind == TY_ENUM)
        return n;
    switch (op) {
    case '+': r = x + y; break;
    case '-': r = x - y; break;
    case '*':
        if ((x > ((__int128)1 << 64) || x < -((__int128)1 << 64) || y > ((__int128)1 << 64) ||
             y < -((__int128)1 << 64)) && t->kind == TY_LITINT) {
            ERR(S, n, "constant expression overflows 64 bits");
            r = 0;
        } else {
            r = (__int128)((unsigned __int128)x * (unsigned __int128)y);
        }
        break;
    case '/':
    case TK_MOD:
        if (y == 0) {
            ERR(S, n, "division by zero");
            r = 0;
        } else {
            r = op == '/' ? x / y : x % y;
        }
        break;
    case TK_AND: r = x & y; break;
    case TK_OR: r = x | y; break;
    case TK_XOR: r = x ^ y; break;
    default: return n;
    }
    return set_int(S, n, t, r);
}

/* Types n (a binary operation whose operands are already typed). */
static struct st_node *binop_typed(struct sema *S, struct st_node *n)
{
    struct st_ty *ta = n->a->ty, *tb = n->b->ty;
    int op = n->op;
    if (ta->kind == TY_ERROR || tb->kind == TY_ERROR) {
        n->ty = ERRT;
        return n;
    }
    struct st_ty *time = st_elem(ST_TIME);
    bool at = ta->kind == TY_ELEM && ta->elem == ST_TIME;
    bool bt = tb->kind == TY_ELEM && tb->elem == ST_TIME;
    /* TIME arithmetic: TIME +- TIME, TIME * num, num * TIME, TIME / num */
    if ((at || bt) && (op == '*' || op == '/') && !(at && bt)) {
        struct st_node **num = at ? &n->b : &n->a;
        if (op == '/' && !at)
            goto bad;
        struct st_ty *nt = (*num)->ty;
        if (nt->kind == TY_LITINT)
            *num = convert(S, *num, st_elem(ST_LINT));
        else if (nt->kind == TY_LITREAL)
            *num = convert(S, *num, st_elem(ST_LREAL));
        else if (st_ty_is_int(nt))
            *num = convert(S, *num, st_ty_is_signed(nt) || nt->size < 8 ? st_elem(ST_LINT)
                                                                        : st_elem(ST_ULINT));
        else if (st_ty_is_real(nt))
            *num = convert(S, *num, st_elem(ST_LREAL));
        else
            goto bad;
        if (!*num)
            goto bad;
        n->ty = time;
        if (is_const(n->a) && is_const(n->b)) {
            double x = real_of(at ? n->a : n->b), y = real_of(at ? n->b : n->a);
            if (op == '/' && y == 0) {
                ERR(S, n, "division by zero");
                return set_int(S, n, time, 0);
            }
            double r = op == '*' ? x * y : x / y;
            if (!(fabs(r) < 9.2e18)) {
                ERR(S, n, "duration out of range");
                r = 0;
            }
            return set_int(S, n, time, (__int128)llround(r));
        }
        return n;
    }
    struct st_ty *t = optype(ta, tb);
    if (!t)
        goto bad;
    bool ok;
    switch (op) {
    case '+': case '-':
        ok = st_ty_is_num(t) || st_ty_is_lit(t) || (t->kind == TY_ELEM && t->elem == ST_TIME);
        break;
    case '*': case '/':
        ok = st_ty_is_num(t) || st_ty_is_lit(t);
        break;
    case TK_MOD:
        ok = st_ty_is_int(t) || t->kind == TY_LITINT;
        break;
    case TK_AND: case TK_OR: case TK_XOR:
        ok = st_ty_is_bit(t) || t->kind == TY_LITINT;
        break;
    case '=': case TK_NE:
        ok = st_ty_is_elem(t) || t->kind == TY_ENUM || st_ty_is_lit(t);
        break;
    default: /* < > <= >= */
        ok = ordered(t);
        break;
    }
    if (!ok)
        goto bad;
    if (!st_ty_is_lit(t)) {
        struct st_node *a = convert(S, n->a, t), *b = convert(S, n->b, t);
        if (!a || !b)
            goto bad;
        n->a = a;
        n->b = b;
    }
    n->ty = is_cmp(op) ? st_elem(ST_BOOL) : t;
    if (is_const(n->a) && is_const(n->b) && n->a->ty->kind != TY_ERROR &&
        n->b->ty->kind != TY_ERROR)
        return fold_binop(S, n);
    return n;
bad:
    ERR(S, n, "operator '%s' cannot be applied to %s and %s", op_name(op), st_ty_str(ta),
        st_ty_str(tb));
    n->ty = ERRT;
    return n;
}

static struct st_node *power_typed(struct sema *S, struct st_node *n)
{
    struct st_ty *ta = n->a->ty, *tb = n->b->ty;
    if (ta->kind == TY_ERROR || tb->kind == TY_ERROR) {
        n->ty = ERRT;
        return n;
    }
    if (!(st_ty_is_num(tb) || st_ty_is_lit(tb)))
        goto bad;
    if (st_ty_is_lit(ta) && st_ty_is_lit(tb)) {
        n->ty = &st_ty_litreal;
        n->a = set_real(copy_node(S, n->a), &st_ty_litreal, real_of(n->a));
        n->b = set_real(copy_node(S, n->b), &st_ty_litreal, real_of(n->b));
        return fold_binop(S, n);
    }
    struct st_ty *t;
    if (st_ty_is_lit(ta))
        t = (tb->kind == TY_ELEM && tb->elem == ST_REAL) ? tb : st_elem(ST_LREAL);
    else if (st_ty_is_real(ta))
        t = ta;
    else {
        ERR(S, n, "'**' needs a REAL or LREAL base, not %s (convert it, e.g. INT_TO_REAL)",
            st_ty_str(ta));
        n->ty = ERRT;
        return n;
    }
    n->a = convert(S, n->a, t);
    if (st_ty_is_lit(tb))
        n->b = convert(S, n->b, t);
    else if (st_ty_is_int(tb) || !st_ty_same(tb, t)) {
        struct st_node *c = st_node_new(S->C, N_CONV, n->b->src, n->b->line, n->b->col);
        c->a = n->b;
        c->ty = t;
        n->b = c;
    }
    n->ty = t;
    return n;
bad:
    ERR(S, n, "operator '**' cannot be applied to %s and %s", st_ty_str(ta), st_ty_str(tb));
    n->ty = ERRT;
    return n;
}

static struct st_node *unop_typed(struct sema *S, struct st_node *n)
{
    struct st_ty *t = n->a->ty;
    if (t->kind == TY_ERROR) {
        n->ty = ERRT;
        return n;
    }
    if (n->op == '+') {
        if (!(st_ty_is_num(t) || st_ty_is_lit(t) || (t->kind == TY_ELEM && t->elem == ST_TIME)))
            goto bad;
        return n->a;
    }
    if (n->op == '-') {
        if (!(st_ty_is_num(t) || st_ty_is_lit(t) || (t->kind == TY_ELEM && t->elem == ST_TIME)))
            goto bad;
        n->ty = t;
        if (is_const(n->a)) {
            if (t->kind == TY_LITREAL || st_ty_is_real(t))
                return set_real(n, t, -n->a->r);
            return set_int(S, n, t, -int_of(n->a));
        }
        return n;
    }
    /* NOT */
    if (!(st_ty_is_bit(t) || t->kind == TY_LITINT))
        goto bad;
    if (t->kind == TY_LITINT) {
        ERR(S, n, "NOT of an integer literal: give it a type (e.g. WORD#16#FF)");
        n->ty = ERRT;
        return n;
    }
    n->ty = t;
    if (is_const(n->a))
        return set_int(S, n, t, t->elem == ST_BOOL ? !int_of(n->a) : ~int_of(n->a));
    return n;
bad:
    ERR(S, n, "operator '%s' cannot be applied to %s", op_name(n->op), st_ty_str(t));
    n->ty = ERRT;
    return n;
}

/* ---- calls ---- */

static bool check_lvalue(struct sema *S, struct st_node *n, const char *what);

static struct st_node *call_expr(struct sema *S, struct st_node *n, struct st_ty *expect,
                                 bool stmt);

/* Name of the i-th parameter of a standard function. */
static void std_param_name(const struct st_stdfn *f, int i, char *buf, size_t len)
{
    const char *p = f->params;
    int k = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        const char *hash = memchr(p, '#', l);
        if (hash) {
            int first = atoi(hash + 1);
            snprintf(buf, len, "%.*s%d", (int)(hash - p), p, first + (i - k));
            return;
        }
        if (k == i) {
            snprintf(buf, len, "%.*s", (int)l, p);
            return;
        }
        k++;
        p += l;
        if (*p == ',')
            p++;
    }
    snprintf(buf, len, "?");
}

/* Index of the named parameter of a standard function, or -1. */
/* A named argument EN := x or ENO => v, which every call takes: bound and
 * true, or false for any other argument. */
static bool bind_en_eno(struct st_binding *b, const struct st_arg *a)
{
    if (!strcmp(a->key, "EN") && !a->out) {
        b->en = a->e;
        return true;
    }
    if (!strcmp(a->key, "ENO") && a->out) {
        b->eno = a->e;
        return true;
    }
    return false;
}

static int std_param_index(const struct st_stdfn *f, const char *key, int max)
{
    char b[32];
    for (int i = 0; i < max; i++) {
        std_param_name(f, i, b, sizeof b);
        if (!strcmp(b, key))
            return i;
    }
    return -1;
}

static int std_fixed(const struct st_stdfn *f)
{
    return f->maxargs < 0 ? 64 : f->maxargs;
}

/* Binds EN, ENO and the arguments of a call to a standard function. */
static bool bind_std(struct sema *S, struct st_node *n, const struct st_stdfn *f)
{
    struct st_binding *b = st_arena_alloc(S->C->A, sizeof *b);
    n->bind = b;
    int max = std_fixed(f);
    b->in = st_arena_alloc(S->C->A, (size_t)max * sizeof *b->in);
    int npos = 0, top = 0;
    bool ok = true, named = false;
    for (int i = 0; i < n->nargs; i++) {
        struct st_arg *a = &n->args[i];
        if (!a->name) {
            if (named) {
                ERR(S, a->e, "positional argument after named ones in call to %s", f->name);
                ok = false;
                continue;
            }
            if (npos >= max) {
                ERR(S, a->e, "too many arguments in call to %s (it takes %d)", f->name, max);
                return false;
            }
            b->in[npos++] = a->e;
            if (npos > top)
                top = npos;
            continue;
        }
        named = true;
        if (bind_en_eno(b, a))
            continue;
        int k = std_param_index(f, a->key, max);
        if (k < 0 || a->out) {
            st_error(S->C, n->src, a->line, a->col, "%s has no %s named '%s'", f->name,
                     a->out ? "output" : "input", a->name);
            ok = false;
            continue;
        }
        if (b->in[k]) {
            st_error(S->C, n->src, a->line, a->col, "input '%s' of %s given twice", a->name,
                     f->name);
            ok = false;
            continue;
        }
        b->in[k] = a->e;
        if (k + 1 > top)
            top = k + 1;
    }
    b->nin = top;
    if (!ok)
        return false;
    for (int i = 0; i < top; i++)
        if (!b->in[i]) {
            char pn[32];
            std_param_name(f, i, pn, sizeof pn);
            ERR(S, n, "missing input %s in call to %s", pn, f->name);
            return false;
        }
    if (top < f->minargs) {
        if (f->minargs == f->maxargs)
            ERR(S, n, "%s takes %d argument%s, %d given", f->name, f->minargs,
                f->minargs > 1 ? "s" : "", top);
        else
            ERR(S, n, "%s takes at least %d arguments, %d given", f->name, f->minargs, top);
        return false;
    }
    return true;
}

static void check_en_eno(struct sema *S, struct st_binding *b)
{
    if (b->en) {
        b->en = expr(S, b->en, st_elem(ST_BOOL));
        b->en = coerce(S, b->en, st_elem(ST_BOOL), "EN");
    }
    if (b->eno) {
        b->eno = expr(S, b->eno, NULL);
        if (check_lvalue(S, b->eno, "ENO") && b->eno->ty->kind != TY_ERROR &&
            !(b->eno->ty->kind == TY_ELEM && b->eno->ty->elem == ST_BOOL))
            ERR(S, b->eno, "ENO goes to a BOOL, not %s", st_ty_str(b->eno->ty));
    }
}

/* Unifies the generic inputs [from, to) of a standard function: returns
 * their common type (literals adapt), converting them, or NULL. */
static struct st_ty *unify_args(struct sema *S, struct st_node *n, struct st_node **in, int from,
                                int to, struct st_ty *expect, bool (*ok)(const struct st_ty *))
{
    struct st_ty *t = NULL;
    for (int i = from; i < to; i++) {
        struct st_ty *x = in[i]->ty;
        if (x->kind == TY_ERROR)
            return ERRT;
        t = t ? optype(t, x) : x;
        if (!t)
            break;
    }
    if (t && st_ty_is_lit(t)) {
        /* only literals: the context decides, else the default */
        struct st_ty *d = NULL;
        if (expect && ok(expect) && (t->kind == TY_LITINT || st_ty_is_real(expect)))
            d = expect;
        if (!d) {
            d = st_elem(ST_DINT);
            for (int i = from; i < to; i++) {
                struct st_ty *x = lit_default(in[i]);
                struct st_ty *c = optype(d, x);
                d = c ? c : x;
            }
        }
        t = d;
    }
    if (!t || !ok(t)) {
        ERR(S, n, "%s cannot take %s", n->fn->name,
            t ? st_ty_str(t) : "inputs of different types");
        return NULL;
    }
    for (int i = from; i < to; i++) {
        struct st_node *c = convert(S, in[i], t);
        if (!c) {
            ERR(S, in[i], "input %d of %s: cannot convert %s to %s", i + 1, n->fn->name,
                st_ty_str(in[i]->ty), st_ty_str(t));
            return NULL;
        }
        in[i] = c;
    }
    return t;
}

static bool ok_num(const struct st_ty *t) { return st_ty_is_num(t); }
static bool ok_real(const struct st_ty *t) { return st_ty_is_real(t); }
static bool ok_nbit(const struct st_ty *t) { return st_ty_is_bit(t) && t->elem != ST_BOOL; }
static bool ok_elem(const struct st_ty *t)
{
    return st_ty_is_elem(t) || t->kind == TY_ENUM;
}
static bool ok_ordered(const struct st_ty *t)
{
    return st_ty_is_elem(t) && t->kind != TY_STRING && !(t->elem == ST_BOOL);
}
static bool ok_string(const struct st_ty *t) { return t->kind == TY_STRING; }

static struct st_node *new_binop(struct sema *S, struct st_node *n, int op, struct st_node *a,
                                 struct st_node *b)
{
    struct st_node *x = st_node_new(S->C, N_BINOP, n->src, n->line, n->col);
    x->op = op;
    x->a = a;
    x->b = b;
    return x;
}

/* An int-typed auxiliary input (shift count, string length or position). */
static struct st_node *int_input(struct sema *S, struct st_node *n, struct st_node *x,
                                 const char *pname)
{
    if (x->ty->kind == TY_ERROR)
        return x;
    if (x->ty->kind == TY_LITINT)
        return settle(S, x, st_elem(ST_DINT));
    if (!st_ty_is_int(x->ty)) {
        ERR(S, x, "input %s of %s must be an integer, not %s", pname, n->fn->name,
            st_ty_str(x->ty));
        x->ty = ERRT;
    }
    return x;
}

static uint32_t cap_of(const struct st_ty *t)
{
    return t->kind == TY_STRING ? t->cap : ST_DEFAULT_STRING;
}

/* Checks a call of a standard function; returns the node standing for it. */
static struct st_node *std_call(struct sema *S, struct st_node *n, const struct st_stdfn *f,
                                struct st_ty *expect)
{
    n->fn = f;
    if (!bind_std(S, n, f)) {
        n->ty = ERRT;
        return n;
    }
    struct st_binding *b = n->bind;
    check_en_eno(S, b);
    struct st_node **in = b->in;
    int k = b->nin;
    /* the inputs, typed with the context where it helps */
    for (int i = 0; i < k; i++)
        in[i] = expr(S, in[i], (f->kind == SF_SEL && i == 0) || (f->kind == SF_MUX && i == 0)
                                   ? NULL : expect);
    for (int i = 0; i < k; i++)
        if (in[i]->ty->kind == TY_ERROR) {
            n->ty = ERRT;
            return n;
        }
    bool eneno = b->en || b->eno;
    struct st_node *op = NULL; /* an operator form of the call */
    switch (f->kind) {
    case SF_ADD: case SF_MUL: case SF_SUB: case SF_DIV: case SF_MOD: case SF_EXPT:
    case SF_AND: case SF_OR: case SF_XOR: {
        int tk = f->kind == SF_ADD ? '+' : f->kind == SF_MUL ? '*' : f->kind == SF_SUB ? '-'
                 : f->kind == SF_DIV ? '/' : f->kind == SF_MOD ? TK_MOD
                 : f->kind == SF_EXPT ? TK_POW : f->kind == SF_AND ? TK_AND
                 : f->kind == SF_OR ? TK_OR : TK_XOR;
        op = in[0];
        for (int i = 1; i < k; i++) {
            op = new_binop(S, n, tk, op, in[i]);
            op = tk == TK_POW ? power_typed(S, op) : binop_typed(S, op);
        }
        break;
    }
    case SF_GT: case SF_GE: case SF_EQ: case SF_LE: case SF_LT: case SF_NE: {
        int tk = f->kind == SF_GT ? '>' : f->kind == SF_GE ? TK_GE : f->kind == SF_EQ ? '='
                 : f->kind == SF_LE ? TK_LE : f->kind == SF_LT ? '<' : TK_NE;
        for (int i = 1; i < k; i++) {
            struct st_node *c = binop_typed(S, new_binop(S, n, tk, in[i - 1], in[i]));
            op = op ? binop_typed(S, new_binop(S, n, TK_AND, op, c)) : c;
        }
        break;
    }
    case SF_NOT: {
        op = st_node_new(S->C, N_UNOP, n->src, n->line, n->col);
        op->op = TK_NOT;
        op->a = in[0];
        op = unop_typed(S, op);
        break;
    }
    case SF_MOVE:
        op = in[0];
        break;
    default:
        break;
    }
    if (op) {
        if (op->ty->kind == TY_ERROR) {
            n->ty = ERRT;
            return n;
        }
        if (!eneno)
            return op;
        n->c = settle(S, op, expect);
        n->ty = n->c->ty;
        return n;
    }
    switch (f->kind) {
    case SF_MATH: {
        struct st_ty *t = unify_args(S, n, in, 0, 1, expect, ok_real);
        n->ty = t ? t : ERRT;
        break;
    }
    case SF_ABS: {
        struct st_ty *t = unify_args(S, n, in, 0, 1, expect, ok_num);
        n->ty = t ? t : ERRT;
        break;
    }
    case SF_SHL: case SF_SHR: case SF_ROL: case SF_ROR: {
        struct st_ty *t = unify_args(S, n, in, 0, 1, expect, ok_nbit);
        in[1] = int_input(S, n, in[1], "N");
        n->ty = t && in[1]->ty->kind != TY_ERROR ? t : ERRT;
        break;
    }
    case SF_SEL: {
        in[0] = coerce(S, in[0], st_elem(ST_BOOL), "input G of SEL");
        struct st_ty *t = unify_args(S, n, in, 1, 3, expect, ok_elem);
        n->ty = t && in[0]->ty->kind != TY_ERROR ? t : ERRT;
        break;
    }
    case SF_MUX: {
        in[0] = int_input(S, n, in[0], "K");
        if (k < 2) {
            ERR(S, n, "MUX needs at least one input after K");
            n->ty = ERRT;
            break;
        }
        struct st_ty *t = unify_args(S, n, in, 1, k, expect, ok_elem);
        n->ty = t && in[0]->ty->kind != TY_ERROR ? t : ERRT;
        break;
    }
    case SF_MAX: case SF_MIN: {
        struct st_ty *t = unify_args(S, n, in, 0, k, expect, ok_ordered);
        n->ty = t ? t : ERRT;
        break;
    }
    case SF_LIMIT: {
        struct st_ty *t = unify_args(S, n, in, 0, 3, expect, ok_ordered);
        n->ty = t ? t : ERRT;
        break;
    }
    case SF_LEN: case SF_FIND: {
        struct st_ty *t = unify_args(S, n, in, 0, k, NULL, ok_string);
        n->ty = t ? st_elem(ST_INT) : ERRT;
        break;
    }
    case SF_LEFT: case SF_RIGHT: case SF_MID: case SF_DELETE: {
        struct st_ty *t = unify_args(S, n, in, 0, 1, NULL, ok_string);
        static const char *const names[] = {"L", "P"};
        for (int i = 1; i < k; i++)
            in[i] = int_input(S, n, in[i], names[i - 1]);
        n->ty = t ? t : ERRT;
        for (int i = 1; i < k; i++)
            if (in[i]->ty->kind == TY_ERROR)
                n->ty = ERRT;
        break;
    }
    case SF_CONCAT: case SF_INSERT: case SF_REPLACE: {
        int ns = f->kind == SF_CONCAT ? k : 2;
        struct st_ty *t = unify_args(S, n, in, 0, ns, NULL, ok_string);
        static const char *const rn[] = {"L", "P"};
        for (int i = ns; i < k; i++)
            in[i] = int_input(S, n, in[i], f->kind == SF_INSERT ? "P" : rn[i - ns]);
        uint64_t cap = 0;
        for (int i = 0; i < ns; i++)
            cap += cap_of(in[i]->ty);
        if (cap > ST_MAX_STRING)
            cap = ST_MAX_STRING;
        n->ty = t ? st_ty_string(S->C, (uint32_t)cap) : ERRT;
        for (int i = ns; i < k; i++)
            if (in[i]->ty->kind == TY_ERROR)
                n->ty = ERRT;
        break;
    }
    case SF_TRUNC: {
        struct st_ty *t;
        if (f->from != ST_DERIVED) {
            in[0] = coerce(S, in[0], st_elem(f->from), f->name);
            t = in[0]->ty->kind == TY_ERROR ? NULL : in[0]->ty;
        } else {
            t = unify_args(S, n, in, 0, 1, NULL, ok_real);
        }
        struct st_ty *to = f->from == ST_DERIVED
                               ? (expect && st_ty_is_int(expect) ? expect : st_elem(ST_DINT))
                               : st_elem(f->to);
        if (t && (!st_ty_is_real(t) || !st_ty_is_int(to))) {
            ERR(S, n, "%s truncates a REAL or LREAL to an integer", f->name);
            t = NULL;
        }
        n->ty = t ? to : ERRT;
        break;
    }
    case SF_CONV: {
        struct st_ty *from;
        if (f->from == ST_DERIVED) {
            in[0] = settle(S, in[0], NULL);
            from = in[0]->ty;
        } else {
            from = f->from == ST_STRING ? in[0]->ty : st_elem(f->from);
            if (f->from == ST_STRING && from->kind != TY_STRING) {
                ERR(S, in[0], "%s needs a STRING, not %s", f->name, st_ty_str(from));
                n->ty = ERRT;
                break;
            }
            in[0] = coerce(S, in[0], from, f->name);
        }
        if (in[0]->ty->kind == TY_ERROR) {
            n->ty = ERRT;
            break;
        }
        if (!st_ty_is_elem(from)) {
            ERR(S, in[0], "%s cannot convert %s", f->name, st_ty_str(from));
            n->ty = ERRT;
            break;
        }
        n->ty = f->to == ST_STRING ? st_elem(ST_STRING) : st_elem(f->to);
        break;
    }
    case SF_NOW:
        n->ty = st_elem(ST_TIME);
        break;
    default:
        n->ty = ERRT;
    }
    return n;
}

/* Binds the arguments of a call to a user FUNCTION or FUNCTION_BLOCK. */
static void bind_user(struct sema *S, struct st_node *n, struct st_pou *p)
{
    struct st_comp *C = S->C;
    struct st_binding *b = st_arena_alloc(C->A, sizeof *b);
    n->bind = b;
    int nin = 0, nout = 0;
    for (struct st_var *v = p->vars; v; v = v->next) {
        if (v->sect == SECT_INPUT || v->sect == SECT_INOUT)
            nin++;
        else if (v->sect == SECT_OUTPUT && !(v->flags & VF_HIDDEN))
            nout++;
    }
    b->in = st_arena_alloc(C->A, (size_t)(nin + 1) * sizeof *b->in);
    b->inv = st_arena_alloc(C->A, (size_t)(nin + 1) * sizeof *b->inv);
    b->out = st_arena_alloc(C->A, (size_t)(nout + 1) * sizeof *b->out);
    b->outneg = st_arena_alloc(C->A, (size_t)(nout + 1) * sizeof *b->outneg);
    b->outv = st_arena_alloc(C->A, (size_t)(nout + 1) * sizeof *b->outv);
    b->nin = nin;
    b->nout = nout;
    int i = 0, o = 0;
    for (struct st_var *v = p->vars; v; v = v->next) {
        if (v->sect == SECT_INPUT || v->sect == SECT_INOUT)
            b->inv[i++] = v;
        else if (v->sect == SECT_OUTPUT && !(v->flags & VF_HIDDEN))
            b->outv[o++] = v;
    }
    const char *what = p->kind == POU_FB ? "function block" : "function";
    int npos = 0;
    bool named = false;
    for (int a = 0; a < n->nargs; a++) {
        struct st_arg *arg = &n->args[a];
        if (!arg->name) {
            if (named) {
                ERR(S, arg->e, "positional argument after named ones in call to %s", p->name);
                continue;
            }
            if (npos >= nin) {
                ERR(S, arg->e, "too many arguments in call to %s (it takes %d)", p->name, nin);
                return;
            }
            b->in[npos++] = arg->e;
            continue;
        }
        named = true;
        if (bind_en_eno(b, arg))
            continue;
        bool found = false;
        if (!arg->out) {
            for (int k = 0; k < nin; k++)
                if (b->inv[k]->key == arg->key) {
                    found = true;
                    if (b->in[k])
                        st_error(C, n->src, arg->line, arg->col, "input '%s' of %s given twice",
                                 arg->name, p->name);
                    b->in[k] = arg->e;
                }
        } else {
            for (int k = 0; k < nout; k++)
                if (b->outv[k]->key == arg->key) {
                    found = true;
                    if (b->out[k])
                        st_error(C, n->src, arg->line, arg->col,
                                 "output '%s' of %s given twice", arg->name, p->name);
                    b->out[k] = arg->e;
                    b->outneg[k] = arg->neg;
                }
        }
        if (!found) {
            struct st_var *v = st_map_get(p->vmap, arg->key);
            if (v && arg->out && (v->sect == SECT_INPUT || v->sect == SECT_INOUT))
                st_error(C, n->src, arg->line, arg->col,
                         "'%s' is an input of %s: use %s := ...", arg->name, p->name, arg->name);
            else if (v && !arg->out && v->sect == SECT_OUTPUT)
                st_error(C, n->src, arg->line, arg->col,
                         "'%s' is an output of %s: use %s => variable", arg->name, p->name,
                         arg->name);
            else
                st_error(C, n->src, arg->line, arg->col, "%s %s has no %s named '%s'", what,
                         p->name, arg->out ? "output" : "input", arg->name);
        }
    }
    if (npos > 0 && !named && npos < nin && p->kind == POU_FUNCTION)
        ERR(S, n, "%s takes %d argument%s, %d given", p->name, nin, nin > 1 ? "s" : "", npos);
    check_en_eno(S, b);
    for (int k = 0; k < nin; k++) {
        struct st_var *v = b->inv[k];
        if (!b->in[k]) {
            if (v->sect == SECT_INOUT)
                ERR(S, n, "missing VAR_IN_OUT argument '%s' in call to %s", v->name, p->name);
            continue;
        }
        char what2[160];
        snprintf(what2, sizeof what2, "argument '%s' of %s", v->name, p->name);
        if (v->sect == SECT_INOUT) {
            b->in[k] = expr(S, b->in[k], v->ty);
            if (b->in[k]->ty->kind != TY_ERROR && check_lvalue(S, b->in[k], what2) &&
                !ty_compatible(b->in[k]->ty, v->ty))
                ERR(S, b->in[k], "%s (VAR_IN_OUT) must be a %s variable, not %s", what2,
                    st_ty_str(v->ty), st_ty_str(b->in[k]->ty));
            continue;
        }
        b->in[k] = expr(S, b->in[k], v->ty);
        b->in[k] = coerce(S, b->in[k], v->ty, what2);
    }
    for (int k = 0; k < nout; k++) {
        if (!b->out[k])
            continue;
        struct st_var *v = b->outv[k];
        b->out[k] = expr(S, b->out[k], NULL);
        char what2[160];
        snprintf(what2, sizeof what2, "output '%s' of %s", v->name, p->name);
        if (!check_lvalue(S, b->out[k], what2) || b->out[k]->ty->kind == TY_ERROR)
            continue;
        struct st_ty *t = b->out[k]->ty;
        if (b->outneg[k] && !(v->ty->kind == TY_ELEM && v->ty->elem == ST_BOOL))
            ERR(S, b->out[k], "NOT %s => needs a BOOL output", v->name);
        else if (!ty_compatible(v->ty, t) && !st_ty_widens(v->ty, t))
            ERR(S, b->out[k], "%s: cannot convert %s to %s", what2, st_ty_str(v->ty),
                st_ty_str(t));
    }
}

static struct st_node *call_expr(struct sema *S, struct st_node *n, struct st_ty *expect,
                                 bool stmt)
{
    struct st_comp *C = S->C;
    if (n->a->kind == N_NAME && !n->a->tykey) {
        struct st_var *v = find_var(S, n->key);
        if (v && v->ty->kind != TY_FB &&
            (st_map_get(C->poumap, n->key) || st_lib_function(C, n->key)))
            v = NULL; /* a variable named like a function does not hide it in a call */
        if (!v) {
            struct st_pouast *pa = st_map_get(C->poumap, n->key);
            if (pa && pa->pou->kind == POU_FUNCTION) {
                struct st_pou *p = pa->pou;
                use_pou(S, p, n->src, n->line, n->col);
                n->pou = p;
                bind_user(S, n, p);
                n->ty = p->ret ? p->ret : &st_ty_void;
                if (!stmt && !p->ret) {
                    ERR(S, n, "function %s returns no value", p->name);
                    n->ty = ERRT;
                }
                return n;
            }
            if (pa) {
                ERR(S, n, "%s '%s' cannot be called: %s", pa->pou->kind == POU_FB
                    ? "function block type" : "PROGRAM", n->name, pa->pou->kind == POU_FB
                    ? "declare an instance of it and call the instance"
                    : "programs run from tasks");
                n->ty = ERRT;
                return n;
            }
            const struct st_stdfn *f = st_lib_function(C, n->key);
            if (f)
                return std_call(S, n, f, expect);
            ERR(S, n, "'%s' is not a function or function block instance", n->name);
            n->ty = ERRT;
            for (int i = 0; i < n->nargs; i++)
                expr(S, n->args[i].e, NULL);
            return n;
        }
    }
    /* an FB instance */
    n->a = expr(S, n->a, NULL);
    struct st_ty *it = n->a->ty;
    if (it->kind == TY_ERROR) {
        n->ty = ERRT;
        return n;
    }
    if (it->kind != TY_FB) {
        ERR(S, n, "%s is not a function block instance (it is %s)",
            n->a->kind == N_NAME ? n->a->name : "this", st_ty_str(it));
        n->ty = ERRT;
        return n;
    }
    if (n->a->kind == N_FIELD) {
        ERR(S, n, "a function block inside another instance cannot be called from outside");
        n->ty = ERRT;
        return n;
    }
    n->pou = it->pou;
    bind_user(S, n, it->pou);
    n->ty = &st_ty_void;
    if (!stmt) {
        ERR(S, n, "function block instance '%s' cannot be called in an expression "
            "(call it as a statement, then read its outputs)",
            n->a->kind == N_NAME ? n->a->name : it->pou->name);
        n->ty = ERRT;
    }
    return n;
}

/* ---- expressions ---- */

static struct st_node *expr(struct sema *S, struct st_node *n, struct st_ty *expect)
{
    switch (n->kind) {
    case N_INT:
        if (n->tykey) {
            struct st_ty *t = named_type(S, n->tykey, n->tyname, n->src, n->line, n->col);
            n->tykey = NULL;
            if (t->kind == TY_ERROR) {
                n->ty = ERRT;
                return n;
            }
            n->ty = &st_ty_litint;
            if (!st_ty_is_int(t) && !st_ty_is_bit(t) && !st_ty_is_real(t)) {
                ERR(S, n, "%s#: a number cannot be a %s", n->tyname, st_ty_str(t));
                n->ty = ERRT;
                return n;
            }
            return convert(S, n, t);
        }
        n->ty = &st_ty_litint;
        n->is_const = true;
        return n;
    case N_REAL:
        if (n->tykey) {
            struct st_ty *t = named_type(S, n->tykey, n->tyname, n->src, n->line, n->col);
            n->tykey = NULL;
            if (t->kind == TY_ERROR) {
                n->ty = ERRT;
                return n;
            }
            if (!st_ty_is_real(t)) {
                ERR(S, n, "%s#: a real number cannot be a %s", n->tyname, st_ty_str(t));
                n->ty = ERRT;
                return n;
            }
            return set_real(n, t, n->r);
        }
        n->ty = &st_ty_litreal;
        n->is_const = true;
        return n;
    case N_BOOL:
        if (n->tykey) {
            int e = st_elem_by_key(n->tykey);
            n->tykey = NULL;
            if (e != ST_BOOL) {
                ERR(S, n, "%s#TRUE: TRUE and FALSE are BOOL", n->tyname);
                n->ty = ERRT;
                return n;
            }
        }
        n->ty = st_elem(ST_BOOL);
        n->is_const = true;
        return n;
    case N_TIME:
        n->ty = st_elem(ST_TIME);
        n->is_const = true;
        return n;
    case N_STR:
        if (n->tykey) {
            int e = st_elem_by_key(n->tykey);
            n->tykey = NULL;
            if (e != ST_STRING) {
                ERR(S, n, "%s#'...': a string literal is a STRING", n->tyname);
                n->ty = ERRT;
                return n;
            }
        }
        n->ty = st_ty_string(S->C, n->slen < 1 ? 1 : n->slen > ST_MAX_STRING
                                                   ? ST_MAX_STRING : (uint32_t)n->slen);
        n->is_const = true;
        return n;
    case N_ENUMVAL:
        return n;
    case N_NAME:
        return name_expr(S, n, expect);
    case N_FIELD:
        return field_expr(S, n);
    case N_INDEX:
        return index_expr(S, n);
    case N_UNOP:
        n->a = expr(S, n->a, expect);
        return unop_typed(S, n);
    case N_BINOP: {
        struct st_ty *sub = is_cmp(n->op) ? NULL : expect;
        if (n->op == TK_POW) {
            n->a = expr(S, n->a, sub);
            n->b = expr(S, n->b, NULL);
            return power_typed(S, n);
        }
        n->a = expr(S, n->a, sub);
        n->b = expr(S, n->b, st_ty_is_lit(n->a->ty) ? sub : n->a->ty);
        if (n->a->ty->kind == TY_ENUM && n->b->kind == N_NAME && n->b->ty->kind == TY_ERROR)
            return n->b;
        return binop_typed(S, n);
    }
    case N_CALL:
        return call_expr(S, n, expect, false);
    case N_CONV:
        return n;
    case N_RANGE:
    case N_ARRINIT:
    case N_REPEAT:
    case N_STRUCTINIT:
        ERR(S, n, "an initialiser is not an expression");
        n->ty = ERRT;
        return n;
    default:
        ERR(S, n, "statement in an expression");
        n->ty = ERRT;
        return n;
    }
}

/* ---- writes ---- */

/* Checks that n may be written; reports and returns false if not. */
static bool check_lvalue(struct sema *S, struct st_node *n, const char *what)
{
    if (n->ty->kind == TY_ERROR)
        return false;
    switch (n->kind) {
    case N_NAME: {
        struct st_var *v = n->var;
        if (!v)
            break;
        struct st_var *r = real_var(v);
        if ((v->flags | r->flags) & VF_CONSTANT) {
            ERR(S, n, "cannot assign to constant '%s'", n->name);
            return false;
        }
        v->flags |= VF_WRITTEN;
        r->flags |= VF_WRITTEN;
        return true;
    }
    case N_INT: case N_REAL: case N_BOOL: case N_TIME:
        if (n->var) {
            ERR(S, n, "cannot assign to constant '%s'", n->var->name);
            return false;
        }
        break;
    case N_FIELD: {
        if (n->member) {
            struct st_node *base = n->a;
            const char *inst = base->kind == N_NAME ? base->name : "the instance";
            if (n->member->sect == SECT_INPUT)
                ERR(S, n, "cannot assign to input '%s' of %s from outside (pass it in the "
                    "call: %s(%s := ...))", n->name, inst, inst, n->name);
            else
                ERR(S, n, "cannot assign to output '%s' of %s (outputs are written by the "
                    "function block)", n->name, inst);
            return false;
        }
        if (!n->lvalue)
            break;
        return check_lvalue(S, n->a, what);
    }
    case N_INDEX:
        if (!n->lvalue)
            break;
        return check_lvalue(S, n->a, what);
    case N_CALL:
        ERR(S, n, "cannot assign to the result of a call");
        return false;
    default:
        break;
    }
    if (n->kind == N_ENUMVAL)
        ERR(S, n, "cannot assign to enumeration value '%s'", n->name ? n->name : "?");
    else if (what)
        ERR(S, n, "%s must be a variable", what);
    else
        ERR(S, n, "cannot assign to this expression");
    return false;
}

/* ---- statements ---- */

static void stmt_list(struct sema *S, struct st_node *s);

static struct st_node *condition(struct sema *S, struct st_node *e, const char *what)
{
    e = expr(S, e, st_elem(ST_BOOL));
    if (e->ty->kind == TY_ERROR)
        return e;
    if (!(e->ty->kind == TY_ELEM && e->ty->elem == ST_BOOL)) {
        ERR(S, e, "%s must be BOOL, not %s", what, st_ty_str(e->ty));
        e->ty = ERRT;
    }
    return e;
}

static void assign_stmt(struct sema *S, struct st_node *s)
{
    struct st_node *l = s->a;
    if (l->kind == N_NAME && !l->tykey && !find_var(S, l->key)) {
        struct st_pouast *pa = st_map_get(S->C->poumap, l->key);
        if (pa && pa->pou->kind == POU_FUNCTION) {
            ERR(S, l, "cannot assign to function '%s'", l->name);
            s->b = expr(S, s->b, NULL);
            return;
        }
    }
    s->a = l = expr(S, l, NULL);
    bool ok = check_lvalue(S, l, NULL);
    s->b = expr(S, s->b, l->ty->kind == TY_ERROR ? NULL : l->ty);
    if (!ok || l->ty->kind == TY_ERROR || s->b->ty->kind == TY_ERROR)
        return;
    if (l->ty->kind == TY_FB) {
        ERR(S, s, "cannot assign a function block instance");
        return;
    }
    struct st_node *c = convert(S, s->b, l->ty);
    if (!c) {
        const char *hint = "";
        char conv[96] = "";
        if (st_ty_is_elem(s->b->ty) && st_ty_is_elem(l->ty)) {
            hint = " (an explicit conversion such as ";
            snprintf(conv, sizeof conv, "%s_TO_%s is needed)", st_type_name(s->b->ty->elem),
                     st_type_name(l->ty->elem));
        }
        ERR(S, s, "cannot assign %s to %s%s%s", st_ty_str(s->b->ty), st_ty_str(l->ty), hint,
            conv);
        return;
    }
    s->b = c;
}

static void case_stmt(struct sema *S, struct st_node *s)
{
    s->a = expr(S, s->a, NULL);
    struct st_ty *t = s->a->ty;
    if (t->kind == TY_LITINT)
        s->a = settle(S, s->a, NULL), t = s->a->ty;
    if (t->kind != TY_ERROR && !st_ty_is_int(t) && t->kind != TY_ENUM && !st_ty_is_bit(t)) {
        ERR(S, s->a, "CASE selector must be an integer or an enumeration, not %s",
            st_ty_str(t));
        t = ERRT;
    }
    /* labels: constants of the selector's type, no value twice */
    int total = 0;
    for (int i = 0; i < s->ncases; i++)
        total += s->cases[i].nlabels;
    int64_t *lo = st_arena_alloc(S->C->A, (size_t)(total + 1) * sizeof *lo);
    int64_t *hi = st_arena_alloc(S->C->A, (size_t)(total + 1) * sizeof *hi);
    int nl = 0;
    for (int i = 0; i < s->ncases; i++) {
        struct st_case *c = &s->cases[i];
        for (int j = 0; j < c->nlabels; j++) {
            struct st_node *l = c->labels[j];
            struct st_node *parts[2] = {l->kind == N_RANGE ? l->a : l,
                                        l->kind == N_RANGE ? l->b : NULL};
            int64_t v[2] = {0, 0};
            bool ok = t->kind != TY_ERROR;
            for (int k = 0; k < 2 && parts[k]; k++) {
                struct st_node *e = expr(S, parts[k], t->kind == TY_ERROR ? NULL : t);
                if (e->ty->kind == TY_ERROR) {
                    ok = false;
                    continue;
                }
                if (t->kind != TY_ERROR) {
                    struct st_node *cv = convert(S, e, t);
                    if (!cv) {
                        ERR(S, e, "case label: cannot convert %s to %s", st_ty_str(e->ty),
                            st_ty_str(t));
                        ok = false;
                        continue;
                    }
                    e = cv;
                }
                if (!is_const(e)) {
                    ERR(S, e, "case label must be a constant");
                    ok = false;
                    continue;
                }
                v[k] = (int64_t)int_of(e);
                if (l->kind == N_RANGE) {
                    if (k == 0)
                        l->a = e;
                    else
                        l->b = e;
                } else {
                    c->labels[j] = e;
                }
            }
            if (!parts[1])
                v[1] = v[0];
            if (!ok)
                continue;
            if (v[0] > v[1]) {
                ERR(S, l, "empty case range %lld..%lld", (long long)v[0], (long long)v[1]);
                continue;
            }
            for (int k = 0; k < nl; k++)
                if (v[0] <= hi[k] && lo[k] <= v[1]) {
                    ERR(S, l, "case value %lld appears twice",
                        (long long)(v[0] > lo[k] ? v[0] : lo[k]));
                    break;
                }
            lo[nl] = v[0];
            hi[nl] = v[1];
            nl++;
        }
        stmt_list(S, c->body);
    }
    stmt_list(S, s->els);
}

static void for_stmt(struct sema *S, struct st_node *s)
{
    s->a = expr(S, s->a, NULL);
    struct st_ty *t = s->a->ty;
    if (t->kind != TY_ERROR) {
        if (s->a->kind != N_NAME || !s->a->var) {
            ERR(S, s->a, "the FOR variable must be a plain variable");
            t = ERRT;
        } else if (!st_ty_is_int(t)) {
            ERR(S, s->a, "the FOR variable must be an integer, not %s", st_ty_str(t));
            t = ERRT;
        } else if ((real_var(s->a->var)->flags & VF_ABS && S->pou->kind == POU_FB) ||
                   s->a->var->sect == SECT_INOUT) {
            ERR(S, s->a, "the FOR variable must be a local variable of %s", S->pou->name);
            t = ERRT;
        } else if (!check_lvalue(S, s->a, NULL)) {
            t = ERRT;
        }
    }
    struct st_node **parts[3] = {&s->b, &s->c, &s->d};
    static const char *const what[3] = {"FOR start", "FOR end", "FOR step"};
    for (int i = 0; i < 3; i++) {
        if (!*parts[i])
            continue;
        *parts[i] = expr(S, *parts[i], t->kind == TY_ERROR ? NULL : t);
        if (t->kind != TY_ERROR && (*parts[i])->ty->kind != TY_ERROR)
            *parts[i] = coerce(S, *parts[i], t, what[i]);
    }
    if (s->d && is_const(s->d) && s->d->ty->kind != TY_ERROR && int_of(s->d) == 0)
        ERR(S, s->d, "FOR step must not be 0");
    S->loop++;
    stmt_list(S, s->body);
    S->loop--;
}

static void stmt(struct sema *S, struct st_node *s)
{
    if (S->C->stop)
        return;
    switch (s->kind) {
    case S_ASSIGN:
        assign_stmt(S, s);
        break;
    case S_CALL:
        s->a = call_expr(S, s->a, NULL, true); /* may fold to a value, computed for nothing */
        break;
    case S_IF:
        s->a = condition(S, s->a, "IF condition");
        stmt_list(S, s->body);
        if (s->els && s->els->kind == S_IF && s->els->elsif)
            stmt(S, s->els);
        else
            stmt_list(S, s->els);
        break;
    case S_CASE:
        case_stmt(S, s);
        break;
    case S_FOR:
        for_stmt(S, s);
        break;
    case S_WHILE:
        s->a = condition(S, s->a, "WHILE condition");
        S->loop++;
        stmt_list(S, s->body);
        S->loop--;
        break;
    case S_REPEAT:
        S->loop++;
        stmt_list(S, s->body);
        S->loop--;
        s->a = condition(S, s->a, "UNTIL condition");
        break;
    case S_EXIT:
        if (S->loop == 0)
            ERR(S, s, "EXIT outside a loop");
        break;
    case S_RETURN:
    case S_EMPTY:
        break;
    default:
        break;
    }
}

static void stmt_list(struct sema *S, struct st_node *s)
{
    for (; s; s = s->next)
        stmt(S, s);
}

/* ---- initial values ---- */

static struct st_node *check_init(struct sema *S, struct st_node *n, struct st_ty *t,
                                  const char *what)
{
    if (t->kind == TY_ERROR)
        return n;
    if (t->kind == TY_ARRAY) {
        if (n->kind != N_ARRINIT) {
            ERR(S, n, "%s of an array is a list: [a, b, c] or [n(value)]", what);
            return n;
        }
        uint64_t total = 1, count = 0;
        for (int i = 0; i < t->ndim; i++)
            total *= (uint64_t)((int64_t)t->hi[i] - t->lo[i] + 1);
        for (int i = 0; i < n->n; i++) {
            struct st_node *e = n->list[i];
            if (e->kind == N_REPEAT) {
                count += e->u;
                if (e->a)
                    e->a = check_init(S, e->a, t->of, what);
            } else {
                count++;
                n->list[i] = check_init(S, e, t->of, what);
            }
        }
        if (count > total)
            ERR(S, n, "too many initial values: %llu for %llu elements",
                (unsigned long long)count, (unsigned long long)total);
        n->ty = t;
        return n;
    }
    if (t->kind == TY_STRUCT || t->kind == TY_FB) {
        if (n->kind != N_STRUCTINIT) {
            ERR(S, n, "%s of %s is a list of fields: (name := value, ...)", what, st_ty_str(t));
            return n;
        }
        for (int i = 0; i < n->nargs; i++) {
            struct st_arg *a = &n->args[i];
            struct st_ty *ft = NULL;
            if (t->kind == TY_STRUCT) {
                for (int k = 0; k < t->nfields; k++)
                    if (t->fields[k].key == a->key)
                        ft = t->fields[k].ty;
            } else {
                struct st_var *m = st_map_get(t->pou->vmap, a->key);
                if (m && m->sect != SECT_INOUT && m->sect != SECT_EXTERNAL &&
                    m->ty->kind != TY_FB)
                    ft = m->ty;
            }
            if (!ft) {
                st_error(S->C, n->src, a->line, a->col, "%s has no field '%s'", st_ty_str(t),
                         a->name);
                continue;
            }
            a->e = check_init(S, a->e, ft, what);
        }
        n->ty = t;
        return n;
    }
    struct st_node *e = expr(S, n, t);
    if (e->ty->kind == TY_ERROR)
        return e;
    if (!is_const(e)) {
        ERR(S, e, "%s must be a constant", what);
        e->ty = ERRT;
        return e;
    }
    return coerce(S, e, t, what);
}

/* ---- declarations ---- */

static struct st_var *new_var(struct sema *S, struct st_decl *d, int i, enum st_sect sect,
                              struct st_pou *owner)
{
    struct st_var *v = st_arena_alloc(S->C->A, sizeof *v);
    v->name = d->names[i];
    v->key = d->keys[i];
    v->file = S->C->allsrc[d->src].name;
    v->line = d->lines[i];
    v->col = d->cols[i];
    v->sect = sect;
    v->owner = owner;
    return v;
}

/* Whether type t fits a located address of this size. */
static bool loc_fits(const struct locaddr *a, const struct st_ty *t)
{
    if (t->kind != TY_ELEM)
        return false;
    switch (a->size) {
    case 'X': return t->elem == ST_BOOL;
    case 'B': return t->size == 1;
    case 'W': return t->size == 2;
    case 'D': return t->size == 4;
    default: return t->size == 8;
    }
}

static void declare_block(struct sema *S, struct st_varblock *b, struct st_pou *p,
                          struct st_map *map)
{
    struct st_comp *C = S->C;
    for (struct st_decl *d = b->decls; d; d = d->next) {
        enum st_sect sect = b->sect;
        if (p && p->kind == POU_FUNCTION && sect == SECT_TEMP)
            sect = SECT_VAR;
        struct st_ty *t = resolve(S, d->ts, NULL);
        if (t->kind == TY_FB && p && p->kind == POU_FUNCTION) {
            st_error(C, d->src, d->line, d->col,
                     "a function cannot contain a function block instance (use a "
                     "FUNCTION_BLOCK)");
            t = ERRT;
        }
        if (t->kind == TY_FB && (b->flags & VF_CONSTANT)) {
            st_error(C, d->src, d->line, d->col, "a function block instance cannot be CONSTANT");
            t = ERRT;
        }
        if (d->located && t->kind != TY_ERROR && !loc_fits(&d->addr, t)) {
            char ab[32];
            locaddr_format(&d->addr, ab, sizeof ab);
            const char *sugg = d->addr.size == 'X' ? "BOOL"
                               : d->addr.size == 'B' ? "BYTE, SINT or USINT"
                               : d->addr.size == 'W' ? "INT, UINT or WORD"
                               : d->addr.size == 'D' ? "DINT, UDINT, DWORD or REAL"
                               : "LINT, ULINT, LWORD, LREAL or TIME";
            st_error(C, d->src, d->line, d->col, "%s is a %d-bit address: %s does not fit (use %s)",
                     ab, locaddr_bits(&d->addr), st_ty_str(t), sugg);
            t = ERRT;
        }
        if (d->located && b->sect != SECT_VAR && b->sect != SECT_GLOBAL) {
            st_error(C, d->src, d->line, d->col, "a located variable belongs in VAR or VAR_GLOBAL");
        }
        struct st_node *init = NULL;
        if (d->init) {
            if (sect == SECT_INOUT || sect == SECT_EXTERNAL)
                st_error(C, d->init->src, d->init->line, d->init->col,
                         "a %s variable cannot have an initial value", st_sect_name(sect));
            else
                init = check_init(S, d->init, t, "initial value");
        } else if (b->flags & VF_CONSTANT && sect != SECT_EXTERNAL) {
            st_error(C, d->src, d->line, d->col, "constant '%s' needs an initial value",
                     d->names[0]);
        }
        for (int i = 0; i < d->n; i++) {
            struct st_var *old = st_map_get(map, d->keys[i]);
            if (old) {
                st_error(C, d->src, d->lines[i], d->cols[i],
                         "'%s' is already declared (at line %d)", d->names[i], old->line);
                continue;
            }
            if (p && p->kind == POU_FUNCTION && d->keys[i] == p->key) {
                st_error(C, d->src, d->lines[i], d->cols[i],
                         "'%s' is the function's own name (its result)", d->names[i]);
                continue;
            }
            struct st_var *v = new_var(S, d, i, sect, p);
            v->ty = t;
            v->init = init;
            v->flags |= b->flags & (VF_CONSTANT | VF_RETAIN | VF_NONRETAIN);
            if (d->located) {
                v->flags |= VF_LOCATED | VF_ABS;
                v->addr = d->addr;
            }
            if (!p)
                v->flags |= VF_ABS;
            if ((v->flags & VF_RETAIN) && p && p->kind == POU_FUNCTION) {
                st_error(C, d->src, d->lines[i], d->cols[i], "RETAIN is not allowed in a FUNCTION");
                v->flags &= ~(unsigned)VF_RETAIN;
            }
            st_map_put(map, v->key, v);
            if (p) {
                *p->vtail = v;
                p->vtail = &v->next;
            } else {
                *S->C->globtail = v;
                S->C->globtail = &v->next;
            }
        }
    }
}

static struct st_var *implicit_var(struct sema *S, struct st_pou *p, const char *name,
                                   enum st_sect sect, struct st_ty *t)
{
    struct st_var *v = st_arena_alloc(S->C->A, sizeof *v);
    v->name = name;
    v->key = st_intern(S->C, name, strlen(name), NULL);
    v->file = p->file;
    v->line = p->line;
    v->col = p->col;
    v->sect = sect;
    v->ty = t;
    v->owner = p;
    st_map_put(p->vmap, v->key, v);
    *p->vtail = v;
    p->vtail = &v->next;
    return v;
}

/* Declares a POU's variables (once). */
static void declare_pou(struct sema *S, struct st_pouast *pa)
{
    struct st_pou *p = pa->pou;
    if (p->vmap)
        return;
    struct st_comp *C = S->C;
    bool lib = C->in_lib;
    C->in_lib = p->lib;
    p->vmap = st_map_new(C->A);
    p->vtail = &p->vars;
    struct sema T = {.C = C, .pou = p};
    if (p->kind == POU_FUNCTION) {
        p->ret = pa->retspec ? resolve(&T, pa->retspec, NULL) : NULL;
        if (p->ret && p->ret->kind == TY_FB) {
            st_error(C, pa->src, pa->retspec->line, pa->retspec->col,
                     "a function cannot return a function block instance");
            p->ret = ERRT;
        }
        if (p->ret)
            p->result = implicit_var(&T, p, p->name, SECT_RESULT, p->ret);
    }
    for (struct st_varblock *b = pa->blocks; b; b = b->next) {
        if (b->sect == SECT_GLOBAL) {
            st_error(C, b->src, b->line, b->col,
                     "VAR_GLOBAL belongs in a CONFIGURATION, a RESOURCE or at top level");
            continue;
        }
        if (b->sect == SECT_INOUT && p->kind == POU_PROGRAM) {
            st_error(C, b->src, b->line, b->col, "a PROGRAM cannot have VAR_IN_OUT");
            continue;
        }
        declare_block(&T, b, p, p->vmap);
    }
    if (p->kind != POU_PROGRAM && !st_map_get(p->vmap, st_intern(C, "ENO", 3, NULL))) {
        p->eno = implicit_var(&T, p, "ENO", SECT_OUTPUT, st_elem(ST_BOOL));
        p->eno->flags |= VF_HIDDEN;
    }
    /* VAR_EXTERNAL: the global it names */
    for (struct st_var *v = p->vars; v; v = v->next) {
        if (v->sect != SECT_EXTERNAL)
            continue;
        struct st_var *g = st_map_get(C->globmap, v->key);
        if (!g) {
            st_error(C, pa->src, v->line, v->col, "VAR_EXTERNAL '%s' has no VAR_GLOBAL", v->name);
            v->ty = ERRT;
            continue;
        }
        if (v->ty->kind != TY_ERROR && g->ty->kind != TY_ERROR && !ty_compatible(v->ty, g->ty))
            st_error(C, pa->src, v->line, v->col,
                     "VAR_EXTERNAL '%s' is %s but the global is %s", v->name, st_ty_str(v->ty),
                     st_ty_str(g->ty));
        if ((g->flags & VF_CONSTANT) && !(v->flags & VF_CONSTANT))
            st_error(C, pa->src, v->line, v->col,
                     "global '%s' is CONSTANT: declare it VAR_EXTERNAL CONSTANT", v->name);
        v->ext = g;
        v->ty = g->ty;
    }
    C->in_lib = lib;
}

static void use_pou(struct sema *S, struct st_pou *p, int src, int line, int col)
{
    p->used = true;
    declare_pou(S, p->ast);
    struct st_pou *from = S->pou;
    if (!from)
        return;
    for (int i = 0; i < from->ncallees; i++)
        if (from->callees[i] == p)
            return;
    if (from->ncallees == from->capcallees) {
        int cap = from->capcallees ? from->capcallees * 2 : 8;
        struct st_pou **v = st_arena_alloc(S->C->A, (size_t)cap * sizeof *v);
        int (*at)[3] = st_arena_alloc(S->C->A, (size_t)cap * sizeof *at);
        if (from->ncallees) {
            memcpy(v, from->callees, (size_t)from->ncallees * sizeof *v);
            memcpy(at, from->calledat, (size_t)from->ncallees * sizeof *at);
        }
        from->callees = v;
        from->calledat = at;
        from->capcallees = cap;
    }
    from->callees[from->ncallees] = p;
    from->calledat[from->ncallees][0] = src;
    from->calledat[from->ncallees][1] = line;
    from->calledat[from->ncallees][2] = col;
    from->ncallees++;
}

static void check_pou(struct st_comp *C, struct st_pouast *pa)
{
    struct st_pou *p = pa->pou;
    if (p->checked)
        return;
    p->checked = true;
    bool lib = C->in_lib;
    C->in_lib = p->lib;
    struct sema S = {.C = C, .pou = p};
    declare_pou(&S, pa);
    stmt_list(&S, p->body);
    /* unused variables */
    if (!p->lib)
        for (struct st_var *v = p->vars; v; v = v->next)
            if ((v->sect == SECT_VAR || v->sect == SECT_TEMP) && !(v->flags & VF_USED) &&
                !(v->flags & (VF_LOCATED | VF_HIDDEN)) && v->ty->kind != TY_ERROR)
                st_warning(C, pa->src, v->line, v->col, "variable '%s' is never used", v->name);
    C->in_lib = lib;
}

/* ---- recursion ---- */

/* Depth-first walk of the call graph (calls and instances); reports a
 * cycle where its last call is. */
static bool walk(struct st_comp *C, struct st_pou *p, struct st_pou **stack, int depth)
{
    if (depth >= ST_MAX_DEPTH) {
        st_error(C, ((struct st_pouast *)p->ast)->src, p->line, p->col,
                 "calls nest deeper than %d levels", ST_MAX_DEPTH);
        return false;
    }
    p->state = 1;
    stack[depth] = p;
    int d = 1;
    for (int i = 0; i < p->ncallees; i++) {
        struct st_pou *c = p->callees[i];
        if (c->state == 1) {
            char path[512] = "";
            int start = depth;
            while (start > 0 && stack[start] != c)
                start--;
            for (int k = start; k <= depth; k++) {
                size_t l = strlen(path);
                snprintf(path + l, sizeof path - l, "%s -> ", stack[k]->name);
            }
            size_t l = strlen(path);
            snprintf(path + l, sizeof path - l, "%s", c->name);
            st_error(C, p->calledat[i][0], p->calledat[i][1], p->calledat[i][2],
                     "recursion: %s (recursion is not allowed in IEC 61131-3)", path);
            return false;
        }
        if (c->state == 0 && !walk(C, c, stack, depth + 1))
            return false;
        if (c->depth + 1 > d)
            d = c->depth + 1;
    }
    if (d > ST_MAX_DEPTH) {
        st_error(C, ((struct st_pouast *)p->ast)->src, p->line, p->col,
                 "calls nest deeper than %d levels", ST_MAX_DEPTH);
        return false;
    }
    p->depth = d;
    p->state = 2;
    C->order[C->norder++] = p;
    return true;
}

/* ---- globals and the configuration ---- */

static void declare_globals(struct st_comp *C, struct st_varblock *b)
{
    struct sema S = {.C = C};
    for (; b; b = b->next)
        declare_block(&S, b, NULL, C->globmap);
}

static bool const_time(struct sema *S, struct st_node *n, int64_t *out)
{
    struct st_node *e = expr(S, n, st_elem(ST_TIME));
    if (e->ty->kind == TY_ERROR)
        return false;
    if (!is_const(e) || !(e->ty->kind == TY_ELEM && e->ty->elem == ST_TIME)) {
        ERR(S, n, "INTERVAL must be a constant duration (e.g. T#20ms)");
        return false;
    }
    *out = e->i;
    return true;
}

static struct st_task *add_task(struct st_comp *C, const char *name, int64_t interval, int prio)
{
    struct st_task *tasks = st_arena_alloc(C->A, (size_t)(C->ntasks + 1) * sizeof *tasks);
    if (C->ntasks)
        memcpy(tasks, C->tasks, (size_t)C->ntasks * sizeof *tasks);
    C->tasks = tasks;
    struct st_task *t = &tasks[C->ntasks++];
    t->info.name = name;
    t->info.interval = interval;
    t->info.priority = prio;
    return t;
}

static void add_prog(struct st_comp *C, const char *name, const char *key, struct st_pou *p,
                     int task, bool retain)
{
    struct st_proginst *v = st_arena_alloc(C->A, (size_t)(C->nprogs + 1) * sizeof *v);
    if (C->nprogs)
        memcpy(v, C->progs, (size_t)C->nprogs * sizeof *v);
    C->progs = v;
    struct st_proginst *g = &v[C->nprogs];
    g->name = name;
    g->key = key;
    g->pou = p;
    g->retain = retain;
    g->task = task;
    g->body = -1;
    C->nprogs++;
}

static void configure(struct st_comp *C)
{
    struct sema S = {.C = C};
    if (!C->configs) {
        add_task(C, "main", 0, 0);
        for (struct st_pouast *pa = C->pous; pa; pa = pa->next)
            if (pa->pou->kind == POU_PROGRAM && !pa->pou->lib &&
                st_map_get(C->poumap, pa->pou->key) == pa) {
                pa->pou->used = true;
                add_prog(C, pa->pou->name, pa->pou->key, pa->pou, 0, false);
            }
        return;
    }
    if (C->configs->next)
        st_error(C, C->configs->next->src, C->configs->next->line, C->configs->next->col,
                 "only one CONFIGURATION is supported");
    struct st_config *cf = C->configs;
    struct st_map *tmap = st_map_new(C->A), *imap = st_map_new(C->A);
    int background = -1;
    for (struct st_resource *r = cf->res; r; r = r->next) {
        for (struct st_taskdecl *td = r->tasks; td; td = td->next) {
            if (st_map_get(tmap, td->key)) {
                st_error(C, td->src, td->line, td->col, "task '%s' is declared twice", td->name);
                continue;
            }
            int64_t interval = 0, prio = 0;
            if (td->interval && !const_time(&S, td->interval, &interval))
                interval = 0;
            if (interval < 0) {
                st_error(C, td->src, td->line, td->col, "task '%s': negative INTERVAL", td->name);
                interval = 0;
            }
            if (td->priority &&
                !const_int(&S, td->priority, 0, 65535, &prio, "task PRIORITY"))
                prio = 0;
            add_task(C, td->name, interval, (int)prio);
            st_map_put(tmap, td->key, (void *)(intptr_t)C->ntasks);
        }
        for (struct st_progdecl *g = r->progs; g; g = g->next) {
            if (st_map_get(imap, g->key)) {
                st_error(C, g->src, g->line, g->col, "program instance '%s' is declared twice",
                         g->name);
                continue;
            }
            st_map_put(imap, g->key, g);
            struct st_pouast *pa = st_map_get(C->poumap, g->typekey);
            if (!pa || pa->pou->kind != POU_PROGRAM) {
                st_error(C, g->src, g->pline, g->pcol, "'%s' is not a PROGRAM", g->type);
                continue;
            }
            int task;
            if (g->task) {
                intptr_t t = (intptr_t)st_map_get(tmap, g->taskkey);
                if (!t) {
                    st_error(C, g->src, g->tline, g->tcol, "task '%s' is not declared", g->task);
                    continue;
                }
                task = (int)t - 1;
            } else {
                if (background < 0) {
                    add_task(C, "default", 0, 0);
                    background = C->ntasks - 1;
                }
                task = background;
            }
            pa->pou->used = true;
            add_prog(C, g->name, g->key, pa->pou, task, g->retain);
        }
    }
}

/* ---- the pass ---- */

void st_sema(struct st_comp *C)
{
    /* types */
    for (struct st_typedecl *t = C->types; t; t = t->next) {
        if (st_elem_by_key(t->key) >= 0) {
            st_error(C, t->src, t->line, t->col, "'%s' is an elementary type name", t->name);
            continue;
        }
        struct st_typedecl *old = st_map_get(C->typemap, t->key);
        if (old) {
            st_error(C, t->src, t->line, t->col, "type '%s' is already declared (at line %d)",
                     t->name, old->line);
            continue;
        }
        st_map_put(C->typemap, t->key, t);
    }
    /* POUs: a user POU hides a library one of the same name */
    for (struct st_pouast *pa = C->pous; pa; pa = pa->next) {
        struct st_pou *p = pa->pou;
        p->ast = pa;
        struct st_pouast *old = st_map_get(C->poumap, p->key);
        if (old && old->pou->lib && !p->lib) {
            st_map_put(C->poumap, p->key, pa);
        } else if (old) {
            if (!p->lib)
                st_error(C, pa->src, p->line, p->col, "'%s' is already declared (at line %d)",
                         p->name, old->pou->line);
            continue;
        } else if (st_map_get(C->typemap, p->key)) {
            st_error(C, pa->src, p->line, p->col, "'%s' is already declared as a type", p->name);
            continue;
        } else {
            st_map_put(C->poumap, p->key, pa);
        }
        if (p->kind == POU_FB) {
            struct st_ty *t = st_arena_alloc(C->A, sizeof *t);
            t->kind = TY_FB;
            t->elem = ST_DERIVED;
            t->pou = p;
            t->name = p->name;
            p->fbty = t;
        }
    }
    for (struct st_pouast *pa = C->pous; pa; pa = pa->next)
        pa->pou->bodyidx = -1;
    if (C->stop)
        return;
    /* globals */
    declare_globals(C, C->topglobals);
    for (struct st_config *cf = C->configs; cf; cf = cf->next) {
        declare_globals(C, cf->globals);
        for (struct st_resource *r = cf->res; r; r = r->next)
            declare_globals(C, r->globals);
    }
    configure(C);
    /* user POUs, then the library POUs they use, until none is left */
    for (struct st_pouast *pa = C->pous; pa; pa = pa->next)
        if (!pa->pou->lib && st_map_get(C->poumap, pa->pou->key) == pa)
            check_pou(C, pa);
    for (bool more = true; more && !C->stop;) {
        more = false;
        for (struct st_pouast *pa = C->pous; pa; pa = pa->next)
            if (pa->pou->lib && pa->pou->used && !pa->pou->checked &&
                st_map_get(C->poumap, pa->pou->key) == pa) {
                check_pou(C, pa);
                more = true;
            }
    }
    if (C->d->errors)
        return;
    /* recursion, and the order of compilation: callees first */
    int n = 0;
    for (struct st_pouast *pa = C->pous; pa; pa = pa->next)
        n++;
    C->order = st_arena_alloc(C->A, (size_t)(n + 1) * sizeof *C->order);
    struct st_pou *stack[ST_MAX_DEPTH + 1];
    for (struct st_pouast *pa = C->pous; pa; pa = pa->next) {
        struct st_pou *p = pa->pou;
        if (st_map_get(C->poumap, p->key) != pa || (p->lib && !p->used))
            continue;
        if (p->state == 0 && !walk(C, p, stack, 0))
            return;
    }
}
