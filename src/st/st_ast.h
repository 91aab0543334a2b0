/* st_ast.h — the compiler's private structures: the syntax tree the parser
 * builds, the declarations it collects, and the compile state shared by the
 * passes (st_parse.c -> st_sema.c -> st_code.c, driven by st_image.c).
 *
 * Everything here lives in the image's arena.
 */
#ifndef ST_AST_H
#define ST_AST_H

#include <setjmp.h>
#include <stdarg.h>

#include "st/st_int.h"
#include "st/st_lex.h"

/* ---- expressions and statements ---- */

enum st_nk {
    /* expressions */
    N_INT,       /* u (as written; neg for a folded negative), ty after sema */
    N_REAL,      /* r */
    N_BOOL,      /* u: 0 or 1 */
    N_STR,       /* s, slen */
    N_TIME,      /* i: nanoseconds */
    N_NAME,      /* name/key; var (or enum value) after sema */
    N_FIELD,     /* a.name */
    N_INDEX,     /* a[list] */
    N_UNOP,      /* op a: '-', TK_NOT, '+' */
    N_BINOP,     /* a op b */
    N_CALL,      /* name(args) or a(args) */
    N_CONV,      /* a converted to ty (inserted by sema) */
    N_RANGE,     /* a .. b (CASE labels) */
    N_ARRINIT,   /* [list] (elements may be N_REPEAT) */
    N_REPEAT,    /* u ( a ) inside an array initialiser */
    N_STRUCTINIT,/* (args) */
    N_ENUMVAL,   /* an enumeration value (i), ty its enum */
    /* statements */
    S_ASSIGN,    /* a := b */
    S_CALL,      /* a (an N_CALL) */
    S_IF,        /* IF a THEN body ELSE els (els: an S_IF for ELSIF) */
    S_CASE,      /* CASE a OF cases ELSE els */
    S_FOR,       /* FOR a := b TO c BY d DO body */
    S_WHILE,     /* WHILE a DO body */
    S_REPEAT,    /* REPEAT body UNTIL a */
    S_EXIT,
    S_RETURN,
    S_EMPTY,
};

struct st_arg {
    const char *name, *key;  /* NULL: positional */
    bool out;                /* name => variable */
    bool neg;                /* NOT name => variable */
    int line, col;
    struct st_node *e;
};

struct st_case {
    struct st_node **labels; /* N_INT, N_NAME, N_ENUMVAL, N_RANGE, ... */
    int nlabels;
    struct st_node *body;
    int line, col;
};

/* Binding of a call's arguments to the callee's parameters (after sema). */
struct st_binding {
    struct st_node **in;     /* per input / in-out parameter, or NULL (default) */
    struct st_var **inv;     /* user POU: those parameters */
    int nin;
    struct st_var **outv;    /* user POU: its outputs */
    struct st_node **out;    /* per output parameter: the variable it goes to, or NULL */
    bool *outneg;
    int nout;
    struct st_node *en;      /* EN := expression, or NULL */
    struct st_node *eno;     /* ENO => variable, or NULL */
    struct st_ty *gty;       /* a standard function's resolved generic type */
    struct st_ty *gty2;      /* ... its second one (shift counts, string positions) */
};

struct st_node {
    enum st_nk kind;
    int op;                  /* N_UNOP/N_BINOP: token */
    int line, col;
    int src;                 /* source index */
    struct st_ty *ty;        /* after sema */
    /* literals */
    uint64_t u;
    bool neg;                /* N_INT: the value is -u */
    double r;
    int64_t i;
    const char *s;
    size_t slen;
    /* names */
    const char *name, *key;
    const char *tyname, *tykey;  /* a typed literal's prefix (INT#5, Color#Red) */
    /* operands */
    struct st_node *a, *b, *c, *d;
    struct st_node **list;
    int n;
    struct st_arg *args;
    int nargs;
    /* statements */
    struct st_node *body, *els, *next;
    struct st_case *cases;
    int ncases;
    bool elsif;
    /* sema results */
    struct st_var *var;          /* N_NAME: the variable */
    struct st_field *field;      /* N_FIELD of a structure */
    struct st_var *member;       /* N_FIELD of a function block instance */
    struct st_pou *pou;          /* N_CALL: user FUNCTION or FB type called */
    const struct st_stdfn *fn;   /* N_CALL: a standard function */
    struct st_binding *bind;     /* N_CALL */
    bool is_const;               /* a constant expression (folded into a literal) */
    bool lvalue;
};

/* ---- declarations ---- */

enum st_tskind { TS_NAME, TS_STRING, TS_ARRAY, TS_STRUCT, TS_ENUM, TS_SUBRANGE };

struct st_decl;

struct st_tyspec {
    enum st_tskind kind;
    const char *name, *key;      /* TS_NAME, TS_SUBRANGE base, TS_STRING ("STRING") */
    int line, col, src;
    struct st_node *len;         /* TS_STRING: [len] or NULL */
    int ndim;                    /* TS_ARRAY */
    struct st_node *lo[3], *hi[3];
    struct st_tyspec *of;
    struct st_decl *fields;      /* TS_STRUCT */
    const char **enames, **ekeys;/* TS_ENUM */
    struct st_node **evals;
    int *elines, *ecols;
    int nenum;
    struct st_node *rlo, *rhi;   /* TS_SUBRANGE */
    struct st_ty *resolved;
};

struct st_decl {
    const char **names, **keys;
    int *lines, *cols;
    int n;
    int line, col, src;
    bool located;
    struct locaddr addr;
    struct st_tyspec *ts;
    struct st_node *init;
    struct st_decl *next;
};

struct st_varblock {
    enum st_sect sect;
    unsigned flags;              /* VF_CONSTANT, VF_RETAIN, VF_NONRETAIN */
    int line, col, src;
    struct st_decl *decls;
    struct st_varblock *next;
};

struct st_typedecl {
    const char *name, *key;
    int line, col, src;
    struct st_tyspec *ts;
    struct st_node *init;
    struct st_ty *ty;
    int state;                   /* 0, 1 resolving, 2 done */
    struct st_typedecl *next;
};

/* A POU as parsed: the shared st_pou plus its declaration blocks. */
struct st_pouast {
    struct st_pou *pou;
    int src;
    struct st_varblock *blocks;
    struct st_tyspec *retspec;
    struct st_pouast *next;
};

struct st_taskdecl {
    const char *name, *key;
    int line, col, src;
    struct st_node *interval, *priority;
    struct st_taskdecl *next;
};

struct st_progdecl {
    const char *name, *key;      /* instance */
    const char *task, *taskkey;  /* NULL: none */
    const char *type, *typekey;  /* program type */
    int line, col, src, tline, tcol, pline, pcol;
    bool retain;
    struct st_progdecl *next;
};

struct st_resource {
    const char *name;
    int line, col, src;
    struct st_varblock *globals;
    struct st_taskdecl *tasks;
    struct st_progdecl *progs;
    struct st_resource *next;
};

struct st_config {
    const char *name;
    int line, col, src;
    struct st_varblock *globals;
    struct st_resource *res;
    struct st_config *next;
};

/* ---- maps keyed by interned names ---- */

struct st_map;
struct st_map *st_map_new(struct st_arena *A);
void *st_map_get(const struct st_map *m, const char *key);
void st_map_put(struct st_map *m, const char *key, void *val);

/* ---- the compile state ---- */

struct st_intern;

struct st_comp {
    struct st_image *img;
    struct st_arena *A;
    struct st_diags *d;
    const struct st_source *srcs;
    size_t nsrc;                 /* user sources; library blocks follow in allsrc */
    struct st_source *allsrc;    /* user sources + the library */
    struct st_intern *intern;
    jmp_buf *jb;                 /* where a syntax error recovers */
    bool in_lib;                 /* parsing or checking library code */
    bool stop;                   /* too many errors */
    bool memfull;                /* the layout exceeded ST_MAX_MEMORY */
    /* what the parser collected */
    struct st_typedecl *types, **ttail;
    struct st_pouast *pous, **ptail;
    struct st_config *configs, **ctail;
    struct st_varblock *topglobals, **gtail;
    /* symbol tables */
    struct st_map *typemap;      /* key -> st_typedecl */
    struct st_map *poumap;       /* key -> st_pouast */
    struct st_map *globmap;      /* key -> st_var */
    struct st_map *enummap;      /* enumeration value key -> st_ty (first enum declaring it) */
    struct st_var *globals, **globtail;
    struct st_map *strtypes;     /* capacity-keyed STRING types */
    /* configuration (sema fills, st_code.c lays out) */
    struct st_proginst *progs;
    int nprogs;
    struct st_task *tasks;
    int ntasks;
    struct st_pou **order;       /* POUs to compile, callees before callers */
    int norder;
};

/* Diagnostics (st_diag.c). */
void st_diag_add(struct st_diags *d, enum st_severity sev, const struct st_source *src, int line,
                 int col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void st_diag_vadd(struct st_diags *d, enum st_severity sev, const struct st_source *src, int line,
                  int col, const char *fmt, va_list ap);

/* An error or warning at a position of source `src` (index in C->allsrc). */
void st_error(struct st_comp *C, int src, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void st_warning(struct st_comp *C, int src, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The passes. */
void st_parse(struct st_comp *C, int src);                 /* st_parse.c */
struct st_node *st_node_new(struct st_comp *C, enum st_nk k, int src, int line, int col);
void st_sema(struct st_comp *C);                           /* st_sema.c */
void st_codegen(struct st_comp *C);                        /* st_code.c */

/* Types (st_types.c). */
struct st_ty *st_ty_string(struct st_comp *C, uint32_t cap);
bool st_ty_is_int(const struct st_ty *t);      /* ANY_INT (typed) */
bool st_ty_is_signed(const struct st_ty *t);
bool st_ty_is_real(const struct st_ty *t);     /* REAL, LREAL */
bool st_ty_is_num(const struct st_ty *t);      /* ANY_NUM */
bool st_ty_is_bit(const struct st_ty *t);      /* BOOL, BYTE..LWORD */
bool st_ty_is_elem(const struct st_ty *t);     /* an elementary type (incl. STRING) */
bool st_ty_is_lit(const struct st_ty *t);
int st_ty_bits(const struct st_ty *t);         /* 1 (BOOL), 8..64 */
bool st_ty_same(const struct st_ty *a, const struct st_ty *b);
/* IEC implicit conversion from a to b (widening only). */
bool st_ty_widens(const struct st_ty *a, const struct st_ty *b);
/* The smallest type both convert to implicitly, or NULL. */
struct st_ty *st_ty_common(struct st_ty *a, struct st_ty *b);
/* Whether an integer literal (value, negated) fits type t. */
bool st_ty_int_fits(const struct st_ty *t, uint64_t u, bool neg);
/* Elementary type by key ("INT"), or -1. */
int st_elem_by_key(const char *key);

/* The standard library (st_lib.c). */
enum st_sfkind {
    SF_ADD, SF_SUB, SF_MUL, SF_DIV, SF_MOD, SF_EXPT, SF_MOVE,
    SF_GT, SF_GE, SF_EQ, SF_LE, SF_LT, SF_NE,
    SF_AND, SF_OR, SF_XOR, SF_NOT,
    SF_MATH, SF_ABS, SF_SHL, SF_SHR, SF_ROL, SF_ROR,
    SF_SEL, SF_MUX, SF_MAX, SF_MIN, SF_LIMIT,
    SF_LEN, SF_LEFT, SF_RIGHT, SF_MID, SF_CONCAT, SF_FIND, SF_INSERT, SF_DELETE, SF_REPLACE,
    SF_TRUNC, SF_CONV, SF_NOW,
};

struct st_stdfn {
    const char *name;
    enum st_sfkind kind;
    int minargs, maxargs;        /* maxargs -1: extensible */
    const char *params;          /* input names, comma-separated; "IN#" extensible IN1..INn */
    int mathfn;                  /* SF_MATH: enum st_mathfn */
    enum st_type from, to;       /* SF_CONV: elementary types (ST_DERIVED: generic) */
};
/* The standard function called `key` (interned upper-case), or NULL.
 * Conversions (X_TO_Y, TO_Y, TRUNC, X_TRUNC_Y) are made on demand. */
const struct st_stdfn *st_lib_function(struct st_comp *C, const char *key);
/* The standard function blocks: each one's ST source, and the blocks it
 * needs (names separated by spaces). Only those a program names are parsed. */
struct st_libfb {
    const char *name;
    const char *deps;
    const char *text;
};
extern const struct st_libfb st_lib_fbs[];
extern const size_t st_lib_nfbs;

#endif
