/* st_parse.c — the parser: tokens to the syntax tree (st_ast.h), one
 * function per grammar rule with the rule as its first comment.
 *
 * A syntax error is reported where it is found, in the manner of Lua
 * ("END_IF expected (to close IF at line 12) near 'END_PROGRAM'"), and
 * unwinds (longjmp) to the nearest statement, declaration or top-level
 * boundary, which skips to a token it can resume from; so one run reports
 * several errors. Nothing allocated is lost: the tree lives in the arena.
 */
#include <stdio.h>
#include <string.h>

#include "st/st_ast.h"

struct parser {
    struct st_comp *C;
    struct st_lex L;
    int src;
    int depth;             /* nesting of expressions, statements, initialisers */
};

/* Deeper nesting than this is refused (the passes recurse on the tree). */
#define MAX_NESTING 500

#define CUR(P) ((P)->L.t)
#define TK(P) ((P)->L.t.tk)

/* ---- errors ---- */

static _Noreturn void throw_error(struct parser *P)
{
    longjmp(*P->C->jb, 1);
}

static _Noreturn void error_at(struct parser *P, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static _Noreturn void error_at(struct parser *P, int line, int col, const char *fmt, ...)
{
    if (!P->C->stop) {
        va_list ap;
        va_start(ap, fmt);
        st_diag_vadd(P->C->d, ST_ERROR, &P->C->allsrc[P->src], line, col, fmt, ap);
        va_end(ap);
        if (P->C->d->errors >= ST_MAX_ERRORS)
            P->C->stop = true;
    }
    throw_error(P);
}

/* "X expected near 'y'" at the current token. */
static _Noreturn void error_expected(struct parser *P, const char *what)
{
    char b[80];
    error_at(P, CUR(P).line, CUR(P).col, "%s expected near %s", what,
             st_token_text(&CUR(P), b, sizeof b));
}

static void next(struct parser *P)
{
    st_lex_next(&P->L);
}

static void enter(struct parser *P)
{
    if (++P->depth > MAX_NESTING)
        error_at(P, CUR(P).line, CUR(P).col, "nested too deeply (more than %d levels)",
                 MAX_NESTING);
}

static void leave(struct parser *P)
{
    P->depth--;
}

static bool testnext(struct parser *P, int tk)
{
    if (TK(P) == tk) {
        next(P);
        return true;
    }
    return false;
}

static void check(struct parser *P, int tk)
{
    if (TK(P) != tk) {
        char w[40];
        snprintf(w, sizeof w, "'%s'", st_tk_name(tk));
        error_expected(P, w);
    }
}

static void checknext(struct parser *P, int tk)
{
    check(P, tk);
    next(P);
}

/* Closes a construct: "END_IF expected (to close IF at line 3) near 'x'". */
static void check_match(struct parser *P, int what, int who, int line)
{
    if (testnext(P, what))
        return;
    char b[80];
    if (line == CUR(P).line)
        error_expected(P, st_tk_name(what));
    error_at(P, CUR(P).line, CUR(P).col, "%s expected (to close %s at line %d) near %s",
             st_tk_name(what), st_tk_name(who), line, st_token_text(&CUR(P), b, sizeof b));
}

/* An identifier: its spelling and key. */
static void ident(struct parser *P, const char **name, const char **key, int *line, int *col)
{
    if (TK(P) != TK_IDENT) {
        if (TK(P) >= TK_AND && TK(P) < TK__LAST) {
            char b[80];
            error_at(P, CUR(P).line, CUR(P).col, "name expected near %s (a reserved word)",
                     st_token_text(&CUR(P), b, sizeof b));
        }
        error_expected(P, "name");
    }
    *name = CUR(P).name;
    *key = CUR(P).s;
    if (line)
        *line = CUR(P).line;
    if (col)
        *col = CUR(P).col;
    next(P);
}

static struct st_node *node(struct parser *P, enum st_nk k, int line, int col)
{
    return st_node_new(P->C, k, P->src, line, col);
}

struct st_node *st_node_new(struct st_comp *C, enum st_nk k, int src, int line, int col)
{
    struct st_node *n = st_arena_alloc(C->A, sizeof *n);
    n->kind = k;
    n->src = src;
    n->line = line;
    n->col = col;
    return n;
}

/* A growable array of pointers in the arena. */
struct vec {
    void **v;
    int n, cap;
};

static void vpush(struct parser *P, struct vec *v, void *x)
{
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 4;
        void **nv = st_arena_alloc(P->C->A, (size_t)cap * sizeof *nv);
        if (v->n)
            memcpy(nv, v->v, (size_t)v->n * sizeof *nv);
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = x;
}

/* ---- expressions ---- */

static struct st_node *expression(struct parser *P);
static struct st_node *subexpr(struct parser *P, int limit);

/* args ::= [ arg { ',' arg } ]
 * arg ::= IDENT ':=' expression | IDENT '=>' variable | expression */
static void arguments(struct parser *P, struct st_arg **out, int *nout)
{
    struct st_arg tmp[64];
    struct st_arg *v = tmp;
    int n = 0, cap = 64;
    if (TK(P) != ')') {
        do {
            if (n == cap) {
                struct st_arg *nv = st_arena_alloc(P->C->A, (size_t)cap * 2 * sizeof *nv);
                memcpy(nv, v, (size_t)n * sizeof *nv);
                v = nv;
                cap *= 2;
            }
            struct st_arg *a = &v[n++];
            memset(a, 0, sizeof *a);
            a->line = CUR(P).line;
            a->col = CUR(P).col;
            if (TK(P) == TK_IDENT &&
                (st_lex_peek(&P->L)->tk == TK_ASSIGN || st_lex_peek(&P->L)->tk == TK_ARROW)) {
                ident(P, &a->name, &a->key, NULL, NULL);
                a->out = TK(P) == TK_ARROW;
                next(P);
                a->e = expression(P);
            } else if (TK(P) == TK_NOT && st_lex_peek(&P->L)->tk == TK_IDENT &&
                       st_lex_peek2(&P->L)->tk == TK_ARROW) {
                next(P);
                ident(P, &a->name, &a->key, NULL, NULL);
                next(P);
                a->out = true;
                a->neg = true;
                a->e = expression(P);
            } else {
                a->e = expression(P);
            }
        } while (testnext(P, ','));
    }
    *out = st_arena_alloc(P->C->A, (size_t)(n ? n : 1) * sizeof **out);
    memcpy(*out, v, (size_t)n * sizeof **out);
    *nout = n;
}

/* typed_literal ::= TYPE '#' ( ['+'|'-'] number | TRUE | FALSE | string | IDENT ) */
static struct st_node *typed_literal(struct parser *P)
{
    const char *tyname = CUR(P).name, *tykey = CUR(P).s;
    int line = CUR(P).line, col = CUR(P).col;
    next(P);
    bool neg = false;
    if (TK(P) == '-' || TK(P) == '+') {
        neg = TK(P) == '-';
        next(P);
    }
    struct st_node *n;
    switch (TK(P)) {
    case TK_INT:
        n = node(P, N_INT, line, col);
        n->u = CUR(P).u;
        n->neg = neg && n->u != 0;
        break;
    case TK_REAL:
        n = node(P, N_REAL, line, col);
        n->r = neg ? -CUR(P).r : CUR(P).r;
        break;
    case TK_TRUE:
    case TK_FALSE:
        if (neg)
            error_expected(P, "number");
        n = node(P, N_BOOL, line, col);
        n->u = TK(P) == TK_TRUE;
        break;
    case TK_STRING:
        n = node(P, N_STR, line, col);
        n->s = CUR(P).s;
        n->slen = CUR(P).slen;
        break;
    case TK_IDENT:
        if (neg)
            error_expected(P, "number");
        n = node(P, N_NAME, line, col);
        n->name = CUR(P).name;
        n->key = CUR(P).s;
        break;
    default:
        error_expected(P, "literal after '#'");
    }
    n->tyname = tyname;
    n->tykey = tykey;
    next(P);
    return n;
}

/* primary ::= literal | typed_literal | '(' expression ')' | variable [ '(' args ')' ]
 * variable ::= IDENT { '.' IDENT | '[' expression { ',' expression } ']' } */
static struct st_node *primary(struct parser *P)
{
    int line = CUR(P).line, col = CUR(P).col;
    struct st_node *n;
    switch (TK(P)) {
    case TK_INT:
        n = node(P, N_INT, line, col);
        n->u = CUR(P).u;
        next(P);
        return n;
    case TK_REAL:
        n = node(P, N_REAL, line, col);
        n->r = CUR(P).r;
        next(P);
        return n;
    case TK_TRUE:
    case TK_FALSE:
        n = node(P, N_BOOL, line, col);
        n->u = TK(P) == TK_TRUE;
        next(P);
        return n;
    case TK_STRING:
        n = node(P, N_STR, line, col);
        n->s = CUR(P).s;
        n->slen = CUR(P).slen;
        next(P);
        return n;
    case TK_TIME:
        n = node(P, N_TIME, line, col);
        n->i = CUR(P).t;
        next(P);
        return n;
    case TK_TYPED:
        return typed_literal(P);
    case '(': {
        next(P);
        n = expression(P);
        check_match(P, ')', '(', line);
        return n;
    }
    case TK_IDENT:
        n = node(P, N_NAME, line, col);
        ident(P, &n->name, &n->key, NULL, NULL);
        break;
    case TK_AND: case TK_OR: case TK_XOR: case TK_MOD: case TK_NOT:
        if (st_lex_peek(&P->L)->tk == '(') {
            /* the operator as a function: AND(IN1 := a, IN2 := b) */
            n = node(P, N_NAME, line, col);
            n->name = n->key = CUR(P).s;
            next(P);
            break;
        }
        /* fall through */
    default: {
        char b[80];
        error_at(P, line, col, "unexpected symbol near %s", st_token_text(&CUR(P), b, sizeof b));
    }
    }
    for (;;) {
        if (TK(P) == '.') {
            int l = CUR(P).line, c = CUR(P).col;
            next(P);
            struct st_node *f = node(P, N_FIELD, l, c);
            f->a = n;
            if (TK(P) == TK_INT) {
                /* bit access: w.3 */
                char b[24];
                snprintf(b, sizeof b, "%llu", (unsigned long long)CUR(P).u);
                f->name = st_arena_strndup(P->C->A, b, strlen(b));
                f->key = f->name;
                f->u = CUR(P).u;
                f->neg = true; /* marks a bit number */
                next(P);
            } else {
                ident(P, &f->name, &f->key, &f->line, &f->col);
            }
            n = f;
        } else if (TK(P) == '[') {
            int l = CUR(P).line, c = CUR(P).col;
            next(P);
            struct st_node *x = node(P, N_INDEX, l, c);
            x->a = n;
            struct vec v = {0};
            do
                vpush(P, &v, expression(P));
            while (testnext(P, ','));
            check_match(P, ']', '[', l);
            x->list = (struct st_node **)v.v;
            x->n = v.n;
            n = x;
        } else if (TK(P) == '(') {
            int l = CUR(P).line;
            next(P);
            struct st_node *call = node(P, N_CALL, n->line, n->col);
            call->a = n;
            if (n->kind == N_NAME) {
                call->name = n->name;
                call->key = n->key;
            }
            arguments(P, &call->args, &call->nargs);
            check_match(P, ')', '(', l);
            n = call;
        } else {
            return n;
        }
    }
}

/* Binary operators with their priorities (left, right); ORDER of IEC
 * 61131-3 precedence, lowest first: OR, XOR, AND &, = <>, < > <= >=, + -,
 * * / MOD, (unary - NOT), **. */
struct prio {
    int tk;
    int left, right;
};
static const struct prio binprio[] = {
    {TK_OR, 1, 1},  {TK_XOR, 2, 2}, {TK_AND, 3, 3}, {'&', 3, 3},   {'=', 4, 4},
    {TK_NE, 4, 4},  {'<', 5, 5},    {'>', 5, 5},    {TK_LE, 5, 5}, {TK_GE, 5, 5},
    {'+', 6, 6},    {'-', 6, 6},    {'*', 7, 7},    {'/', 7, 7},   {TK_MOD, 7, 7},
    {TK_POW, 9, 9},
};
#define UNARY_PRIORITY 8

static const struct prio *getbinop(int tk)
{
    for (size_t i = 0; i < sizeof binprio / sizeof binprio[0]; i++)
        if (binprio[i].tk == tk)
            return &binprio[i];
    return NULL;
}

/* subexpr ::= (unop subexpr | primary) { binop subexpr }
 * where binop's priority is higher than limit */
static struct st_node *subexpr(struct parser *P, int limit)
{
    struct st_node *e;
    enter(P);
    if (TK(P) == '-' || TK(P) == '+' || TK(P) == TK_NOT) {
        int op = TK(P), line = CUR(P).line, col = CUR(P).col;
        next(P);
        struct st_node *a = subexpr(P, UNARY_PRIORITY);
        e = node(P, N_UNOP, line, col);
        e->op = op;
        e->a = a;
    } else {
        e = primary(P);
    }
    const struct prio *p;
    int chain = 0; /* a left-deep chain a + b + c ... nests as deeply */
    while ((p = getbinop(TK(P))) != NULL && p->left > limit) {
        int op = TK(P) == '&' ? TK_AND : TK(P), line = CUR(P).line, col = CUR(P).col;
        enter(P);
        chain++;
        next(P);
        struct st_node *b = subexpr(P, p->right);
        struct st_node *n = node(P, N_BINOP, line, col);
        n->op = op;
        n->a = e;
        n->b = b;
        e = n;
    }
    P->depth -= chain;
    leave(P);
    return e;
}

/* expression ::= subexpr */
static struct st_node *expression(struct parser *P)
{
    return subexpr(P, 0);
}

/* ---- statements ---- */

static struct st_node *statement_list(struct parser *P, bool in_case);

/* Tokens that end a statement list. */
static bool block_follow(int tk)
{
    switch (tk) {
    case TK_EOF:
    case TK_END_IF: case TK_ELSE: case TK_ELSIF: case TK_END_CASE: case TK_END_FOR:
    case TK_END_WHILE: case TK_UNTIL: case TK_END_REPEAT:
    case TK_END_PROGRAM: case TK_END_FUNCTION: case TK_END_FUNCTION_BLOCK:
    case TK_PROGRAM: case TK_FUNCTION: case TK_FUNCTION_BLOCK: case TK_TYPE:
    case TK_CONFIGURATION: case TK_END_CONFIGURATION: case TK_RESOURCE: case TK_END_RESOURCE:
    case TK_VAR: case TK_VAR_INPUT: case TK_VAR_OUTPUT: case TK_VAR_IN_OUT: case TK_VAR_GLOBAL:
    case TK_VAR_EXTERNAL: case TK_VAR_TEMP: case TK_END_VAR:
        return true;
    default:
        return false;
    }
}

/* Whether the current token starts a CASE label (1:, 1..3:, 1, 2:, Red:). */
static bool case_label_follows(struct parser *P)
{
    switch (TK(P)) {
    case TK_INT: case TK_TYPED: case '-': case TK_TRUE: case TK_FALSE:
        return true;
    case TK_IDENT: {
        int n = st_lex_peek(&P->L)->tk;
        return n == ':' || n == ',' || n == TK_DOTDOT;
    }
    default:
        return false;
    }
}

static bool stmt_start(int tk)
{
    switch (tk) {
    case TK_IF: case TK_CASE: case TK_FOR: case TK_WHILE: case TK_REPEAT: case TK_EXIT:
    case TK_RETURN:
        return true;
    default:
        return false;
    }
}

/* After a syntax error in a statement: skip to a ';' (consumed), a
 * statement keyword or the end of a block. */
static void sync_statement(struct parser *P, bool in_case)
{
    for (;;) {
        int tk = TK(P);
        if (tk == ';') {
            next(P);
            return;
        }
        if (block_follow(tk) || stmt_start(tk))
            return;
        if (in_case && case_label_follows(P) && tk != TK_IDENT)
            return;
        next(P);
    }
}

/* if_stmt ::= IF expression THEN statement_list
 *             { ELSIF expression THEN statement_list }
 *             [ ELSE statement_list ] END_IF */
static struct st_node *if_stmt(struct parser *P, int line)
{
    struct st_node *s = node(P, S_IF, line, CUR(P).col);
    struct st_node *cur = s;
    next(P);
    s->a = expression(P);
    checknext(P, TK_THEN);
    s->body = statement_list(P, false);
    while (TK(P) == TK_ELSIF) {
        struct st_node *e = node(P, S_IF, CUR(P).line, CUR(P).col);
        e->elsif = true;
        next(P);
        e->a = expression(P);
        checknext(P, TK_THEN);
        e->body = statement_list(P, false);
        cur->els = e;
        cur = e;
    }
    if (testnext(P, TK_ELSE))
        cur->els = statement_list(P, false);
    check_match(P, TK_END_IF, TK_IF, line);
    return s;
}

/* case_label ::= constant [ '..' constant ] */
static struct st_node *case_label(struct parser *P)
{
    struct st_node *a = subexpr(P, 5); /* no comparison operators in a label */
    if (TK(P) == TK_DOTDOT) {
        int line = CUR(P).line, col = CUR(P).col;
        next(P);
        struct st_node *r = node(P, N_RANGE, line, col);
        r->a = a;
        r->b = subexpr(P, 5);
        return r;
    }
    return a;
}

/* case_stmt ::= CASE expression OF { case_element } [ ELSE statement_list ] END_CASE
 * case_element ::= case_label { ',' case_label } ':' statement_list */
static struct st_node *case_stmt(struct parser *P, int line)
{
    struct st_node *s = node(P, S_CASE, line, CUR(P).col);
    next(P);
    s->a = expression(P);
    checknext(P, TK_OF);
    struct st_case tmp[256];
    struct st_case *v = tmp;
    int n = 0, cap = 256;
    while (TK(P) != TK_ELSE && TK(P) != TK_END_CASE && !block_follow(TK(P))) {
        if (n == cap) {
            struct st_case *nv = st_arena_alloc(P->C->A, (size_t)cap * 2 * sizeof *nv);
            memcpy(nv, v, (size_t)n * sizeof *nv);
            v = nv;
            cap *= 2;
        }
        struct st_case *c = &v[n];
        memset(c, 0, sizeof *c);
        c->line = CUR(P).line;
        c->col = CUR(P).col;
        struct vec labels = {0};
        do
            vpush(P, &labels, case_label(P));
        while (testnext(P, ','));
        checknext(P, ':');
        c->labels = (struct st_node **)labels.v;
        c->nlabels = labels.n;
        c->body = statement_list(P, true);
        n++;
    }
    s->cases = st_arena_alloc(P->C->A, (size_t)(n ? n : 1) * sizeof *s->cases);
    memcpy(s->cases, v, (size_t)n * sizeof *v);
    s->ncases = n;
    if (testnext(P, TK_ELSE))
        s->els = statement_list(P, false);
    check_match(P, TK_END_CASE, TK_CASE, line);
    return s;
}

/* for_stmt ::= FOR IDENT ':=' expression TO expression [ BY expression ] DO
 *              statement_list END_FOR */
static struct st_node *for_stmt(struct parser *P, int line)
{
    struct st_node *s = node(P, S_FOR, line, CUR(P).col);
    next(P);
    struct st_node *v = node(P, N_NAME, CUR(P).line, CUR(P).col);
    ident(P, &v->name, &v->key, NULL, NULL);
    s->a = v;
    checknext(P, TK_ASSIGN);
    s->b = expression(P);
    checknext(P, TK_TO);
    s->c = expression(P);
    if (testnext(P, TK_BY))
        s->d = expression(P);
    checknext(P, TK_DO);
    s->body = statement_list(P, false);
    check_match(P, TK_END_FOR, TK_FOR, line);
    return s;
}

/* while_stmt ::= WHILE expression DO statement_list END_WHILE */
static struct st_node *while_stmt(struct parser *P, int line)
{
    struct st_node *s = node(P, S_WHILE, line, CUR(P).col);
    next(P);
    s->a = expression(P);
    checknext(P, TK_DO);
    s->body = statement_list(P, false);
    check_match(P, TK_END_WHILE, TK_WHILE, line);
    return s;
}

/* repeat_stmt ::= REPEAT statement_list UNTIL expression END_REPEAT */
static struct st_node *repeat_stmt(struct parser *P, int line)
{
    struct st_node *s = node(P, S_REPEAT, line, CUR(P).col);
    next(P);
    s->body = statement_list(P, false);
    check_match(P, TK_UNTIL, TK_REPEAT, line);
    s->a = expression(P);
    check_match(P, TK_END_REPEAT, TK_REPEAT, line);
    return s;
}

/* expr_stmt ::= variable ':=' expression | call */
static struct st_node *expr_stmt(struct parser *P)
{
    struct st_node *e = primary(P);
    if (TK(P) == TK_ASSIGN) {
        struct st_node *s = node(P, S_ASSIGN, CUR(P).line, CUR(P).col);
        next(P);
        s->a = e;
        s->b = expression(P);
        return s;
    }
    if (e->kind == N_CALL) {
        struct st_node *s = node(P, S_CALL, e->line, e->col);
        s->a = e;
        return s;
    }
    if (TK(P) == '=')
        error_at(P, CUR(P).line, CUR(P).col, "':=' expected near '=' (assignment is ':=')");
    error_expected(P, "':='");
}

/* statement ::= (if_stmt | case_stmt | for_stmt | while_stmt | repeat_stmt
 *               | EXIT | RETURN | expr_stmt) ';' | ';' */
static struct st_node *statement(struct parser *P)
{
    int line = CUR(P).line, col = CUR(P).col;
    struct st_node *s;
    enter(P);
    switch (TK(P)) {
    case ';':
        next(P);
        leave(P);
        return node(P, S_EMPTY, line, col);
    case TK_IF: s = if_stmt(P, line); break;
    case TK_CASE: s = case_stmt(P, line); break;
    case TK_FOR: s = for_stmt(P, line); break;
    case TK_WHILE: s = while_stmt(P, line); break;
    case TK_REPEAT: s = repeat_stmt(P, line); break;
    case TK_EXIT:
        next(P);
        s = node(P, S_EXIT, line, col);
        break;
    case TK_RETURN:
        next(P);
        s = node(P, S_RETURN, line, col);
        break;
    default:
        s = expr_stmt(P);
    }
    if (TK(P) != ';') {
        if (s->kind == S_IF || s->kind == S_CASE || s->kind == S_FOR || s->kind == S_WHILE ||
            s->kind == S_REPEAT) {
            char b[80];
            error_at(P, CUR(P).line, CUR(P).col, "';' expected after %s near %s",
                     s->kind == S_IF ? "END_IF" : s->kind == S_CASE ? "END_CASE"
                     : s->kind == S_FOR ? "END_FOR" : s->kind == S_WHILE ? "END_WHILE"
                     : "END_REPEAT", st_token_text(&CUR(P), b, sizeof b));
        }
        error_expected(P, "';'");
    }
    next(P);
    leave(P);
    return s;
}

/* statement_list ::= { statement } */
static struct st_node *statement_list(struct parser *P, bool in_case)
{
    struct st_node *head = NULL, **volatile tail = &head;
    jmp_buf *prev = P->C->jb;
    jmp_buf here;
    int depth = P->depth;
    while (!block_follow(TK(P)) && !(in_case && case_label_follows(P)) && !P->C->stop) {
        struct st_node *volatile s = NULL;
        P->C->jb = &here;
        if (setjmp(here) == 0) {
            s = statement(P);
        } else {
            P->depth = depth;
            sync_statement(P, in_case);
            s = NULL;
        }
        if (s) {
            *tail = s;
            tail = &s->next;
        }
    }
    P->C->jb = prev;
    if (P->C->stop)
        throw_error(P);
    return head;
}

/* ---- declarations ---- */

static struct st_tyspec *type_spec(struct parser *P);
static struct st_tyspec *type_spec_inner(struct parser *P);
static struct st_node *initializer(struct parser *P);

/* struct_init ::= '(' IDENT ':=' initializer { ',' IDENT ':=' initializer } ')' */
static struct st_node *struct_init(struct parser *P)
{
    int line = CUR(P).line, col = CUR(P).col;
    checknext(P, '(');
    struct st_node *n = node(P, N_STRUCTINIT, line, col);
    struct st_arg tmp[128];
    int k = 0;
    do {
        if (k == 128)
            error_at(P, CUR(P).line, CUR(P).col, "too many fields in an initialiser");
        struct st_arg *a = &tmp[k++];
        memset(a, 0, sizeof *a);
        a->line = CUR(P).line;
        a->col = CUR(P).col;
        ident(P, &a->name, &a->key, NULL, NULL);
        checknext(P, TK_ASSIGN);
        a->e = initializer(P);
    } while (testnext(P, ','));
    check_match(P, ')', '(', line);
    n->args = st_arena_alloc(P->C->A, (size_t)k * sizeof *n->args);
    memcpy(n->args, tmp, (size_t)k * sizeof *tmp);
    n->nargs = k;
    return n;
}

/* array_init ::= '[' element { ',' element } ']'
 * element ::= INT '(' [initializer] ')' | initializer */
static struct st_node *array_init(struct parser *P)
{
    int line = CUR(P).line, col = CUR(P).col;
    checknext(P, '[');
    struct st_node *n = node(P, N_ARRINIT, line, col);
    struct vec v = {0};
    if (TK(P) != ']') {
        do {
            if (TK(P) == TK_INT && st_lex_peek(&P->L)->tk == '(') {
                struct st_node *r = node(P, N_REPEAT, CUR(P).line, CUR(P).col);
                r->u = CUR(P).u;
                next(P);
                int l = CUR(P).line;
                next(P);
                if (TK(P) != ')')
                    r->a = initializer(P);
                check_match(P, ')', '(', l);
                vpush(P, &v, r);
            } else {
                vpush(P, &v, initializer(P));
            }
        } while (testnext(P, ','));
    }
    check_match(P, ']', '[', line);
    n->list = (struct st_node **)v.v;
    n->n = v.n;
    return n;
}

/* initializer ::= expression | array_init | struct_init */
static struct st_node *initializer(struct parser *P)
{
    struct st_node *n;
    enter(P);
    if (TK(P) == '[')
        n = array_init(P);
    else if (TK(P) == '(' && st_lex_peek(&P->L)->tk == TK_IDENT &&
             st_lex_peek2(&P->L)->tk == TK_ASSIGN)
        n = struct_init(P);
    else
        n = expression(P);
    leave(P);
    return n;
}

/* var_decl ::= IDENT { ',' IDENT } [ AT located ] ':' type_spec [ ':=' initializer ] ';' */
static struct st_decl *var_decl(struct parser *P, bool allow_at)
{
    struct st_decl *d = st_arena_alloc(P->C->A, sizeof *d);
    d->src = P->src;
    d->line = CUR(P).line;
    d->col = CUR(P).col;
    struct vec names = {0}, keys = {0};
    int lines[256], cols[256];
    do {
        const char *name, *key;
        int l, c;
        ident(P, &name, &key, &l, &c);
        if (names.n >= 256)
            error_at(P, l, c, "too many names in one declaration");
        lines[names.n] = l;
        cols[names.n] = c;
        vpush(P, &names, (void *)name);
        vpush(P, &keys, (void *)key);
    } while (testnext(P, ','));
    d->names = (const char **)names.v;
    d->keys = (const char **)keys.v;
    d->n = names.n;
    d->lines = st_arena_alloc(P->C->A, (size_t)d->n * sizeof(int));
    d->cols = st_arena_alloc(P->C->A, (size_t)d->n * sizeof(int));
    memcpy(d->lines, lines, (size_t)d->n * sizeof(int));
    memcpy(d->cols, cols, (size_t)d->n * sizeof(int));
    if (TK(P) == TK_AT) {
        if (!allow_at)
            error_at(P, CUR(P).line, CUR(P).col, "a located variable (AT) is not allowed here");
        next(P);
        check(P, TK_LOCATED);
        d->located = true;
        d->addr = CUR(P).addr;
        next(P);
    }
    checknext(P, ':');
    d->ts = type_spec(P);
    if (testnext(P, TK_ASSIGN))
        d->init = initializer(P);
    checknext(P, ';');
    return d;
}

/* Skips to the end of a declaration after an error. */
static void sync_decl(struct parser *P)
{
    for (;;) {
        int tk = TK(P);
        if (tk == ';') {
            next(P);
            return;
        }
        if (tk == TK_END_VAR || tk == TK_END_STRUCT || tk == TK_END_TYPE || block_follow(tk) ||
            stmt_start(tk))
            return;
        next(P);
    }
}

/* decl_list ::= { var_decl } up to `end` */
static struct st_decl *decl_list(struct parser *P, int end, bool allow_at)
{
    struct st_decl *head = NULL, **volatile tail = &head;
    jmp_buf *prev = P->C->jb;
    jmp_buf here;
    int depth = P->depth;
    while (TK(P) == TK_IDENT && !P->C->stop) {
        struct st_decl *volatile d = NULL;
        P->C->jb = &here;
        if (setjmp(here) == 0) {
            d = var_decl(P, allow_at);
        } else {
            P->depth = depth;
            sync_decl(P);
        }
        if (d) {
            *tail = d;
            tail = &d->next;
        }
    }
    P->C->jb = prev;
    if (P->C->stop)
        throw_error(P);
    if (TK(P) >= TK_AND && TK(P) < TK__LAST && TK(P) != end) {
        int n = st_lex_peek(&P->L)->tk;
        if (n == ':' || n == ',') {
            char b[80];
            error_at(P, CUR(P).line, CUR(P).col,
                     "%s is a reserved word: it cannot name a variable",
                     st_token_text(&CUR(P), b, sizeof b));
        }
    }
    return head;
}

/* subrange ::= expression '..' expression */
static void subrange(struct parser *P, struct st_node **lo, struct st_node **hi)
{
    *lo = subexpr(P, 5);
    checknext(P, TK_DOTDOT);
    *hi = subexpr(P, 5);
}

/* type_spec ::= IDENT [ '(' subrange ')' ]
 *             | (STRING | WSTRING) [ '[' expression ']' | '(' expression ')' ]
 *             | ARRAY '[' subrange { ',' subrange } ']' OF type_spec
 *             | STRUCT { var_decl } END_STRUCT
 *             | '(' IDENT [ ':=' expression ] { ',' IDENT [ ':=' expression ] } ')' */
static struct st_tyspec *type_spec(struct parser *P)
{
    enter(P);
    struct st_tyspec *ts = type_spec_inner(P);
    leave(P);
    return ts;
}

static struct st_tyspec *type_spec_inner(struct parser *P)
{
    struct st_tyspec *ts = st_arena_alloc(P->C->A, sizeof *ts);
    ts->line = CUR(P).line;
    ts->col = CUR(P).col;
    ts->src = P->src;
    switch (TK(P)) {
    case TK_ARRAY: {
        next(P);
        int l = CUR(P).line;
        checknext(P, '[');
        ts->kind = TS_ARRAY;
        do {
            if (ts->ndim == 3)
                error_at(P, CUR(P).line, CUR(P).col, "at most 3 array dimensions are supported");
            subrange(P, &ts->lo[ts->ndim], &ts->hi[ts->ndim]);
            ts->ndim++;
        } while (testnext(P, ','));
        check_match(P, ']', '[', l);
        checknext(P, TK_OF);
        ts->of = type_spec(P);
        return ts;
    }
    case TK_STRUCT: {
        int l = CUR(P).line;
        next(P);
        ts->kind = TS_STRUCT;
        ts->fields = decl_list(P, TK_END_STRUCT, false);
        check_match(P, TK_END_STRUCT, TK_STRUCT, l);
        return ts;
    }
    case '(': {
        int l = CUR(P).line;
        next(P);
        ts->kind = TS_ENUM;
        struct vec names = {0}, keys = {0}, vals = {0};
        int lines[1024], cols[1024];
        do {
            const char *name, *key;
            int ln, c;
            ident(P, &name, &key, &ln, &c);
            if (names.n >= 1024)
                error_at(P, ln, c, "too many enumeration values");
            lines[names.n] = ln;
            cols[names.n] = c;
            vpush(P, &names, (void *)name);
            vpush(P, &keys, (void *)key);
            vpush(P, &vals, testnext(P, TK_ASSIGN) ? expression(P) : NULL);
        } while (testnext(P, ','));
        check_match(P, ')', '(', l);
        ts->enames = (const char **)names.v;
        ts->ekeys = (const char **)keys.v;
        ts->evals = (struct st_node **)vals.v;
        ts->nenum = names.n;
        ts->elines = st_arena_alloc(P->C->A, (size_t)names.n * sizeof(int));
        ts->ecols = st_arena_alloc(P->C->A, (size_t)names.n * sizeof(int));
        memcpy(ts->elines, lines, (size_t)names.n * sizeof(int));
        memcpy(ts->ecols, cols, (size_t)names.n * sizeof(int));
        return ts;
    }
    case TK_IDENT:
        break;
    default:
        error_expected(P, "type");
    }
    ident(P, &ts->name, &ts->key, NULL, NULL);
    if (!strcmp(ts->key, "STRING") || !strcmp(ts->key, "WSTRING")) {
        ts->kind = TS_STRING;
        if (TK(P) == '[' || TK(P) == '(') {
            int open = TK(P), l = CUR(P).line;
            next(P);
            ts->len = expression(P);
            check_match(P, open == '[' ? ']' : ')', open, l);
        }
        return ts;
    }
    ts->kind = TS_NAME;
    if (TK(P) == '(') {
        int l = CUR(P).line;
        next(P);
        ts->kind = TS_SUBRANGE;
        subrange(P, &ts->rlo, &ts->rhi);
        check_match(P, ')', '(', l);
    }
    return ts;
}

/* var_block ::= VAR_kind [ CONSTANT | RETAIN | NON_RETAIN ] { var_decl } END_VAR */
static struct st_varblock *var_block(struct parser *P, bool allow_at)
{
    struct st_varblock *b = st_arena_alloc(P->C->A, sizeof *b);
    int line = CUR(P).line, kw = TK(P);
    b->line = line;
    b->col = CUR(P).col;
    b->src = P->src;
    switch (kw) {
    case TK_VAR: b->sect = SECT_VAR; break;
    case TK_VAR_INPUT: b->sect = SECT_INPUT; break;
    case TK_VAR_OUTPUT: b->sect = SECT_OUTPUT; break;
    case TK_VAR_IN_OUT: b->sect = SECT_INOUT; break;
    case TK_VAR_GLOBAL: b->sect = SECT_GLOBAL; break;
    case TK_VAR_EXTERNAL: b->sect = SECT_EXTERNAL; break;
    case TK_VAR_TEMP: b->sect = SECT_TEMP; break;
    default:
        error_at(P, line, CUR(P).col, "%s is not supported", st_tk_name(kw));
    }
    next(P);
    for (;;) {
        if (testnext(P, TK_CONSTANT))
            b->flags |= VF_CONSTANT;
        else if (testnext(P, TK_RETAIN))
            b->flags |= VF_RETAIN;
        else if (testnext(P, TK_NON_RETAIN))
            b->flags |= VF_NONRETAIN;
        else
            break;
    }
    b->decls = decl_list(P, TK_END_VAR, allow_at);
    check_match(P, TK_END_VAR, kw, line);
    return b;
}

static bool var_kw(int tk)
{
    return tk == TK_VAR || tk == TK_VAR_INPUT || tk == TK_VAR_OUTPUT || tk == TK_VAR_IN_OUT ||
           tk == TK_VAR_GLOBAL || tk == TK_VAR_EXTERNAL || tk == TK_VAR_TEMP ||
           tk == TK_VAR_ACCESS || tk == TK_VAR_CONFIG;
}

/* pou ::= PROGRAM IDENT { var_block } statement_list END_PROGRAM
 *       | FUNCTION IDENT [ ':' type_spec ] { var_block } statement_list END_FUNCTION
 *       | FUNCTION_BLOCK IDENT { var_block } statement_list END_FUNCTION_BLOCK */
static void pou_decl(struct parser *P)
{
    int kw = TK(P), line = CUR(P).line;
    int endkw = kw == TK_PROGRAM ? TK_END_PROGRAM
                : kw == TK_FUNCTION ? TK_END_FUNCTION : TK_END_FUNCTION_BLOCK;
    next(P);
    struct st_pouast *pa = st_arena_alloc(P->C->A, sizeof *pa);
    struct st_pou *pou = st_arena_alloc(P->C->A, sizeof *pou);
    pa->pou = pou;
    pa->src = P->src;
    pou->kind = kw == TK_PROGRAM ? POU_PROGRAM : kw == TK_FUNCTION ? POU_FUNCTION : POU_FB;
    pou->line = line;
    pou->file = P->C->allsrc[P->src].name;
    pou->lib = P->C->in_lib;
    pou->body = NULL;
    pou->frame = -1;
    ident(P, &pou->name, &pou->key, NULL, &pou->col);
    *P->C->ptail = pa;
    P->C->ptail = &pa->next;
    if (kw == TK_FUNCTION && testnext(P, ':'))
        pa->retspec = type_spec(P);
    struct st_varblock **tail = &pa->blocks;
    while (var_kw(TK(P))) {
        struct st_varblock *b = var_block(P, kw == TK_PROGRAM);
        *tail = b;
        tail = &b->next;
    }
    pou->body = statement_list(P, false);
    pou->end_line = CUR(P).line;
    check_match(P, endkw, kw, line);
}

/* type_decl ::= TYPE { IDENT ':' type_spec [ ':=' initializer ] ';' } END_TYPE */
static void type_decl(struct parser *P)
{
    int line = CUR(P).line;
    next(P);
    jmp_buf *prev = P->C->jb;
    jmp_buf here;
    int depth = P->depth;
    while (TK(P) == TK_IDENT && !P->C->stop) {
        P->C->jb = &here;
        if (setjmp(here) == 0) {
            struct st_typedecl *t = st_arena_alloc(P->C->A, sizeof *t);
            t->src = P->src;
            ident(P, &t->name, &t->key, &t->line, &t->col);
            checknext(P, ':');
            t->ts = type_spec(P);
            if (testnext(P, TK_ASSIGN))
                t->init = initializer(P);
            checknext(P, ';');
            *P->C->ttail = t;
            P->C->ttail = &t->next;
        } else {
            P->depth = depth;
            sync_decl(P);
        }
    }
    P->C->jb = prev;
    if (P->C->stop)
        throw_error(P);
    check_match(P, TK_END_TYPE, TK_TYPE, line);
}

/* task ::= TASK IDENT '(' [ IDENT ':=' expression { ',' IDENT ':=' expression } ] ')' ';' */
static struct st_taskdecl *task_decl(struct parser *P)
{
    struct st_taskdecl *t = st_arena_alloc(P->C->A, sizeof *t);
    t->src = P->src;
    next(P);
    ident(P, &t->name, &t->key, &t->line, &t->col);
    int l = CUR(P).line;
    checknext(P, '(');
    if (TK(P) != ')') {
        do {
            const char *name, *key;
            int ln, c;
            ident(P, &name, &key, &ln, &c);
            checknext(P, TK_ASSIGN);
            struct st_node *e = expression(P);
            if (!strcmp(key, "INTERVAL"))
                t->interval = e;
            else if (!strcmp(key, "PRIORITY"))
                t->priority = e;
            else if (!strcmp(key, "SINGLE"))
                st_warning(P->C, P->src, ln, c, "task %s: SINGLE is ignored (the runtime decides "
                           "when a task without INTERVAL runs)", t->name);
            else
                error_at(P, ln, c, "unknown task property '%s' (INTERVAL, PRIORITY or SINGLE)",
                         name);
        } while (testnext(P, ','));
    }
    check_match(P, ')', '(', l);
    checknext(P, ';');
    return t;
}

/* program_config ::= PROGRAM [ RETAIN | NON_RETAIN ] IDENT [ WITH IDENT ] ':' IDENT ';' */
static struct st_progdecl *program_config(struct parser *P)
{
    struct st_progdecl *g = st_arena_alloc(P->C->A, sizeof *g);
    g->src = P->src;
    next(P);
    if (testnext(P, TK_RETAIN))
        g->retain = true;
    else
        testnext(P, TK_NON_RETAIN);
    ident(P, &g->name, &g->key, &g->line, &g->col);
    if (testnext(P, TK_WITH))
        ident(P, &g->task, &g->taskkey, &g->tline, &g->tcol);
    checknext(P, ':');
    ident(P, &g->type, &g->typekey, &g->pline, &g->pcol);
    if (TK(P) == '(')
        error_at(P, CUR(P).line, CUR(P).col,
                 "parameters of a program instance are not supported");
    checknext(P, ';');
    return g;
}

/* resource_body ::= { var_block } { task } { program_config } */
static void resource_body(struct parser *P, struct st_resource *r)
{
    struct st_varblock **gt = &r->globals;
    struct st_taskdecl **tt = &r->tasks;
    struct st_progdecl **pt = &r->progs;
    for (;;) {
        if (TK(P) == TK_VAR_GLOBAL) {
            struct st_varblock *b = var_block(P, true);
            *gt = b;
            gt = &b->next;
        } else if (TK(P) == TK_TASK) {
            struct st_taskdecl *t = task_decl(P);
            *tt = t;
            tt = &t->next;
        } else if (TK(P) == TK_PROGRAM) {
            struct st_progdecl *g = program_config(P);
            *pt = g;
            pt = &g->next;
        } else if (TK(P) == TK_VAR_ACCESS || TK(P) == TK_VAR_CONFIG) {
            error_at(P, CUR(P).line, CUR(P).col, "%s is not supported", st_tk_name(TK(P)));
        } else {
            return;
        }
    }
}

/* configuration ::= CONFIGURATION IDENT { var_block }
 *                   ( resource { resource } | resource_body ) END_CONFIGURATION
 * resource ::= RESOURCE IDENT ON IDENT resource_body END_RESOURCE */
static void configuration(struct parser *P)
{
    int line = CUR(P).line;
    struct st_config *cf = st_arena_alloc(P->C->A, sizeof *cf);
    cf->src = P->src;
    cf->line = line;
    cf->col = CUR(P).col;
    next(P);
    const char *key;
    ident(P, &cf->name, &key, NULL, NULL);
    *P->C->ctail = cf;
    P->C->ctail = &cf->next;
    struct st_varblock **gt = &cf->globals;
    while (TK(P) == TK_VAR_GLOBAL) {
        struct st_varblock *b = var_block(P, true);
        *gt = b;
        gt = &b->next;
    }
    struct st_resource **rt = &cf->res;
    if (TK(P) == TK_RESOURCE) {
        while (TK(P) == TK_RESOURCE) {
            int rl = CUR(P).line;
            struct st_resource *r = st_arena_alloc(P->C->A, sizeof *r);
            r->src = P->src;
            r->line = rl;
            r->col = CUR(P).col;
            next(P);
            ident(P, &r->name, &key, NULL, NULL);
            checknext(P, TK_ON);
            const char *on;
            ident(P, &on, &key, NULL, NULL);
            resource_body(P, r);
            check_match(P, TK_END_RESOURCE, TK_RESOURCE, rl);
            *rt = r;
            rt = &r->next;
        }
    } else {
        struct st_resource *r = st_arena_alloc(P->C->A, sizeof *r);
        r->src = P->src;
        r->line = line;
        r->name = cf->name;
        resource_body(P, r);
        *rt = r;
    }
    check_match(P, TK_END_CONFIGURATION, TK_CONFIGURATION, line);
}

/* Skips to a token that starts a top-level declaration. */
static void sync_top(struct parser *P)
{
    for (;;) {
        int tk = TK(P);
        if (tk == TK_EOF || tk == TK_PROGRAM || tk == TK_FUNCTION || tk == TK_FUNCTION_BLOCK ||
            tk == TK_TYPE || tk == TK_CONFIGURATION || tk == TK_VAR_GLOBAL)
            return;
        next(P);
    }
}

/* compilation_unit ::= { type_decl | pou | configuration | var_block(VAR_GLOBAL) } EOF */
void st_parse(struct st_comp *C, int src)
{
    struct parser P;
    memset(&P, 0, sizeof P);
    P.C = C;
    P.src = src;
    jmp_buf top;
    C->jb = &top;
    if (setjmp(top) != 0) {
        /* the lexer's first token or a top-level construct failed */
        if (C->stop)
            return;
        if (TK(&P) != TK_EOF)
            next(&P);
        sync_top(&P);
    } else {
        st_lex_init(&P.L, C, &C->allsrc[src], src);
    }
    while (TK(&P) != TK_EOF && !C->stop) {
        C->jb = &top;
        P.depth = 0;
        switch (TK(&P)) {
        case TK_PROGRAM:
        case TK_FUNCTION:
        case TK_FUNCTION_BLOCK:
            pou_decl(&P);
            break;
        case TK_TYPE:
            type_decl(&P);
            break;
        case TK_CONFIGURATION:
            configuration(&P);
            break;
        case TK_VAR_GLOBAL: {
            struct st_varblock *b = var_block(&P, true);
            *C->gtail = b;
            C->gtail = &b->next;
            break;
        }
        default: {
            char b[80];
            error_at(&P, CUR(&P).line, CUR(&P).col,
                     "PROGRAM, FUNCTION, FUNCTION_BLOCK, TYPE or CONFIGURATION expected near %s",
                     st_token_text(&CUR(&P), b, sizeof b));
        }
        }
    }
}
