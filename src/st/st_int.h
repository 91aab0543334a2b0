/* st_int.h — what the files of src/st share and nobody else sees: the
 * allocation counter, the arena, types, variables, POUs, and the layout of
 * a compiled image (code, memory map, tasks, symbols).
 *
 * An image owns one arena holding every structure the compiler built (the
 * syntax tree, types, symbols); they live as long as the image, which
 * needs the types and symbols for lookups by name and the disassembly.
 * Code, the initial memory image and the tables are separate blocks.
 */
#ifndef ST_INT_H
#define ST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "st/st.h"
#include "st/st_opcodes.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "src/st assumes a little-endian machine (narrowing reads the low bytes)"
#endif

/* ---- allocation: every byte st allocates goes through these (counted) ---- */

void *st_malloc(size_t n);
void *st_calloc(size_t n, size_t size);
void *st_realloc(void *p, size_t n);
void st_free(void *p);

/* A bump allocator: many small blocks released together. */
struct st_arena {
    struct st_chunk *head;
};
void *st_arena_alloc(struct st_arena *a, size_t n);   /* zeroed; aborts on OOM */
char *st_arena_strndup(struct st_arena *a, const char *s, size_t n);
void st_arena_free(struct st_arena *a);

/* ---- limits ---- */

#define ST_MAX_STRING 65534       /* longest STRING[n] */
#define ST_DEFAULT_STRING 80
#define ST_MAX_DEPTH 64           /* call nesting */
/* The unit of TIME_TO_* and *_TO_TIME conversions, in nanoseconds: the
 * second, as OpenPLC's library (matiec: TIME_TO_REAL(T#1500ms) = 1.5,
 * DINT_TO_TIME(5) = T#5s). */
#define ST_TIME_UNIT_NS 1000000000
#define ST_MAX_ERRORS 50          /* diagnostics before giving up */
#ifdef FUZZING
#define ST_MAX_MEMORY (1u << 20)  /* bytes of VM memory (less under the fuzzer) */
#else
#define ST_MAX_MEMORY (1u << 30)  /* bytes of VM memory */
#endif

/* ---- types ---- */

enum st_tykind {
    TY_ELEM,     /* an elementary type (elem), possibly a subrange */
    TY_STRING,   /* STRING[cap] */
    TY_ARRAY,
    TY_STRUCT,
    TY_ENUM,     /* stored as a DINT */
    TY_FB,       /* a function block instance */
    TY_LITINT,   /* an integer literal not yet given a type */
    TY_LITREAL,  /* a real literal not yet given a type */
    TY_VOID,     /* a call that returns nothing */
    TY_ERROR,    /* already reported: silences follow-up errors */
};

struct st_field {
    const char *name, *key;
    struct st_ty *ty;
    uint32_t off;
    struct st_node *init;
};

struct st_enumval {
    const char *name, *key;
    int32_t value;
};

struct st_ty {
    enum st_tykind kind;
    enum st_type elem;       /* TY_ELEM, TY_STRING: the elementary type */
    uint32_t size, align;
    const char *name;        /* for messages: "INT", "ARRAY[1..10] OF INT", a type's name */
    /* TY_ELEM subrange */
    bool ranged;
    int64_t rlo, rhi;
    /* TY_STRING */
    uint32_t cap;
    /* TY_ARRAY */
    struct st_ty *of;
    int ndim;
    int32_t lo[3], hi[3];
    uint32_t stride[3];      /* bytes per step of each index */
    /* TY_STRUCT */
    struct st_field *fields;
    int nfields;
    /* TY_ENUM */
    struct st_enumval *vals;
    int nvals;
    /* TY_FB */
    struct st_pou *pou;
    /* a derived type's default initial value (TYPE x : INT := 5), or NULL */
    struct st_node *dflt;
    int line;                /* where declared (0: built in) */
    bool sized;              /* size and strides known (arrays of FBs: after layout) */
};

/* The elementary types, indexed by enum st_type (ST_BOOL .. ST_STRING). */
extern struct st_ty st_elem_types[ST_STRING + 1];
extern struct st_ty st_ty_litint, st_ty_litreal, st_ty_void, st_ty_error;
static inline struct st_ty *st_elem(enum st_type t) { return &st_elem_types[t]; }

/* ---- variables ---- */

enum st_sect {
    SECT_VAR, SECT_INPUT, SECT_OUTPUT, SECT_INOUT, SECT_GLOBAL, SECT_EXTERNAL, SECT_TEMP,
    SECT_RESULT,   /* a function's result (the variable named as the function) */
    SECT_CONST,    /* a compiler constant cell */
};

enum {
    VF_CONSTANT = 1 << 0,
    VF_RETAIN = 1 << 1,
    VF_LOCATED = 1 << 2,
    VF_USED = 1 << 3,
    VF_WRITTEN = 1 << 4,
    VF_HIDDEN = 1 << 5,   /* ENO: not listed as a user variable */
    VF_ABS = 1 << 6,      /* off is absolute (globals, located variables) */
    VF_NONRETAIN = 1 << 7,
};

struct st_var {
    const char *name, *key;
    const char *file;
    int line, col;
    enum st_sect sect;
    unsigned flags;
    struct st_ty *ty;
    int32_t off;              /* in the frame or instance; absolute with VF_ABS */
    struct locaddr addr;      /* VF_LOCATED */
    struct st_node *init;
    struct st_var *ext;       /* SECT_EXTERNAL: the global it names */
    struct st_var *next;      /* declaration order */
    struct st_pou *owner;     /* NULL for globals */
};

/* ---- program organisation units ---- */

enum st_poukind { POU_PROGRAM, POU_FUNCTION, POU_FB };

struct st_pou {
    enum st_poukind kind;
    const char *name, *key;
    const char *file;
    int line, col, end_line;
    struct st_ty *ret;        /* FUNCTION: result type (NULL: none) */
    struct st_var *vars;      /* every variable, in order */
    struct st_var **vtail;
    struct st_map *vmap;      /* key -> st_var */
    struct st_var *result;    /* FUNCTION: the result variable */
    struct st_var *eno;       /* the implicit ENO output */
    struct st_node *body;     /* statements */
    struct st_ty *fbty;       /* FB: its instance type */
    uint32_t size, align;     /* instance (FB, PROGRAM) or frame (FUNCTION) bytes */
    uint32_t declsize;        /* bytes of declared variables (temporaries follow) */
    int32_t frame;            /* FUNCTION: absolute address of its frame */
    int bodyidx;              /* FB, FUNCTION: index of its compiled body, -1 before */
    uint8_t state;            /* layout/recursion walk: 0 new, 1 in progress, 2 done */
    bool lib;                 /* from the standard library source */
    bool used;                /* reachable from a program */
    bool checked;
    uint8_t *tmpl;            /* FB: the initial bytes of one instance */
    struct st_pou **callees;  /* POUs it calls or instantiates */
    int (*calledat)[3];       /* where: source, line, column */
    int ncallees, capcallees;
    int depth;                /* call nesting below it (1 = calls nothing) */
    uint32_t tmp_top;         /* codegen: temporaries and constants allocated so far */
    struct st_cell *cells;    /* FB: constant cells inside the instance */
    void *ast;                /* the parser's struct st_pouast */
};

/* A constant cell: bytes the initial image holds at `off`. */
struct st_cell {
    int32_t off;
    uint32_t len;
    char kind;                /* 'i' signed, 'u' unsigned, 'f' real, 's' string, 'a' address */
    const void *data;
    struct st_cell *next;
};

/* ---- the compiled image ---- */

struct st_body {
    const char *name;         /* the POU's name */
    const char *inst;         /* PROGRAM: the instance name */
    enum st_poukind kind;
    int32_t entry, end;       /* code range [entry, end) */
    int32_t base;             /* absolute base of the POU's variables (-1: FB instance) */
    struct st_pou *pou;
};

struct st_proginst {
    const char *name, *key;
    struct st_pou *pou;
    int32_t base;             /* absolute address of the instance */
    int body;                 /* its compiled body */
    int task;                 /* the task that runs it */
    bool retain;
};

struct st_range {
    uint32_t off, len;
};

struct st_task {
    struct st_task_info info;
    const char **names;       /* instance names (info.programs) */
    int *progs;               /* indices into img->progs */
};

struct st_image {
    struct st_arena arena;
    /* code */
    struct st_ins *code;
    uint32_t *lines;
    size_t ncode, capcode;
    struct st_body *bodies;
    size_t nbodies, capbodies;
    struct st_adesc *adesc;
    size_t nadesc, capadesc;
    /* memory */
    uint8_t *init;
    size_t memsize;
    struct st_cell *cells;    /* constants in absolute memory */
    /* program instances, globals, tasks */
    struct st_proginst *progs;
    size_t nprogs;
    struct st_var *globals;   /* list by next (VF_ABS) */
    struct st_task *tasks;
    size_t ntasks;
    struct st_located *located;
    size_t nlocated;
    struct st_range *retain;
    size_t nretain, retain_bytes;
    /* the POUs and types, for the disassembly */
    struct st_pou **pous;
    size_t npous;
};

/* Emitting into an image (st_code.c uses these; st_image.c frees). */
int32_t st_image_emit(struct st_image *img, struct st_ins ins, uint32_t line);
int st_image_adesc(struct st_image *img, int32_t lo, int32_t hi, uint32_t size, int32_t bias);

/* A type's name for messages ("INT", "ARRAY[1..3] OF INT"). */
const char *st_ty_str(const struct st_ty *t);

/* Names of elementary types ("INT"), sections ("VAR_INPUT"). */
const char *st_type_name(enum st_type t);
const char *st_sect_name(enum st_sect s);

/* Case-insensitive comparison of identifiers. */
int st_ident_eq(const char *a, const char *b);

#endif
