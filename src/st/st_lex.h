/* st_lex.h — the lexer: source text to tokens, one token of lookahead.
 *
 * Identifiers and keywords are case-insensitive: every identifier is
 * interned upper-case (the key compared by pointer) and keeps its spelling
 * for messages. Comments (* *) (nested), slash-star comments, // and
 * pragmas { } are skipped. Literals arrive decoded: integers (any base, underscores),
 * reals, durations in nanoseconds, strings with their $ escapes resolved,
 * located addresses parsed. A malformed literal is reported and replaced by
 * a harmless value, so the parser goes on.
 */
#ifndef ST_LEX_H
#define ST_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/locaddr.h"

struct st_comp;
struct st_source;

/* Tokens: single characters stand for themselves ( ( ) [ ] , ; : . + - *
 * / = < > & ); the rest follow. ORDER st_tk: st_token_names in st_lex.c. */
enum st_tk {
    TK_EOF = 0,
    TK_FIRST = 257,
    TK_ASSIGN = TK_FIRST, /* := */
    TK_ARROW,             /* => */
    TK_LE, TK_GE, TK_NE,  /* <= >= <> */
    TK_POW,               /* ** */
    TK_DOTDOT,            /* .. */
    TK_IDENT, TK_INT, TK_REAL, TK_STRING, TK_TIME,
    TK_TYPED,             /* "INT#" before a literal: the type's key */
    TK_LOCATED,           /* %IX0.0 */
    /* keywords */
    TK_AND, TK_OR, TK_XOR, TK_NOT, TK_MOD,
    TK_IF, TK_THEN, TK_ELSIF, TK_ELSE, TK_END_IF,
    TK_CASE, TK_OF, TK_END_CASE,
    TK_FOR, TK_TO, TK_BY, TK_DO, TK_END_FOR,
    TK_WHILE, TK_END_WHILE, TK_REPEAT, TK_UNTIL, TK_END_REPEAT,
    TK_EXIT, TK_RETURN, TK_TRUE, TK_FALSE,
    TK_PROGRAM, TK_END_PROGRAM, TK_FUNCTION, TK_END_FUNCTION,
    TK_FUNCTION_BLOCK, TK_END_FUNCTION_BLOCK,
    TK_VAR, TK_VAR_INPUT, TK_VAR_OUTPUT, TK_VAR_IN_OUT, TK_VAR_GLOBAL, TK_VAR_EXTERNAL,
    TK_VAR_TEMP, TK_VAR_ACCESS, TK_VAR_CONFIG, TK_END_VAR,
    TK_CONSTANT, TK_RETAIN, TK_NON_RETAIN, TK_AT,
    TK_TYPE, TK_END_TYPE, TK_STRUCT, TK_END_STRUCT, TK_ARRAY,
    TK_CONFIGURATION, TK_END_CONFIGURATION, TK_RESOURCE, TK_END_RESOURCE, TK_ON, TK_TASK,
    TK_WITH,
    TK__LAST
};

struct st_token {
    int tk;
    int line, col;
    const char *p;       /* its text in the source */
    size_t len;
    uint64_t u;          /* TK_INT: value */
    double r;            /* TK_REAL */
    int64_t t;           /* TK_TIME: nanoseconds */
    const char *s;       /* TK_STRING: decoded text (arena); TK_IDENT, TK_TYPED: key */
    size_t slen;
    const char *name;    /* TK_IDENT, TK_TYPED: spelling */
    struct locaddr addr; /* TK_LOCATED */
};

struct st_lex {
    struct st_comp *C;
    const struct st_source *src;
    int srcindex;
    const char *p, *end;
    int line;
    const char *bol;     /* beginning of the current line */
    struct st_token t;   /* current token */
    struct st_token ahead[2];
    int nahead;
};

void st_lex_init(struct st_lex *L, struct st_comp *C, const struct st_source *src, int srcindex);
/* Moves to the next token (L->t). */
void st_lex_next(struct st_lex *L);
/* The token after the current one (read once, kept); peek2: the one after. */
const struct st_token *st_lex_peek(struct st_lex *L);
const struct st_token *st_lex_peek2(struct st_lex *L);
/* A token for messages: "'x'", "end of file"; buf of at least 64 bytes. */
const char *st_token_text(const struct st_token *t, char *buf, size_t len);
/* The spelling of a token kind ("END_IF", ":="). */
const char *st_tk_name(int tk);

/* Interns an identifier (upper-cased); sets *kw to its keyword token or 0. */
const char *st_intern(struct st_comp *C, const char *s, size_t n, int *kw);
/* Whether an upper-case name has been interned (seen in a source). */
bool st_interned(struct st_comp *C, const char *upper);

#endif
