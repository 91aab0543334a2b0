/* st_lex.c — the lexer (see st_lex.h): tokens, literals, comments, and the
 * table of interned identifiers with the keywords in it. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st/st_ast.h"

/* ORDER st_tk: names of the tokens from TK_FIRST. */
static const char *const tk_names[] = {
    ":=", "=>", "<=", ">=", "<>", "**", "..",
    "identifier", "integer", "real", "string", "duration", "typed literal", "located address",
    "AND", "OR", "XOR", "NOT", "MOD",
    "IF", "THEN", "ELSIF", "ELSE", "END_IF",
    "CASE", "OF", "END_CASE",
    "FOR", "TO", "BY", "DO", "END_FOR",
    "WHILE", "END_WHILE", "REPEAT", "UNTIL", "END_REPEAT",
    "EXIT", "RETURN", "TRUE", "FALSE",
    "PROGRAM", "END_PROGRAM", "FUNCTION", "END_FUNCTION",
    "FUNCTION_BLOCK", "END_FUNCTION_BLOCK",
    "VAR", "VAR_INPUT", "VAR_OUTPUT", "VAR_IN_OUT", "VAR_GLOBAL", "VAR_EXTERNAL",
    "VAR_TEMP", "VAR_ACCESS", "VAR_CONFIG", "END_VAR",
    "CONSTANT", "RETAIN", "NON_RETAIN", "AT",
    "TYPE", "END_TYPE", "STRUCT", "END_STRUCT", "ARRAY",
    "CONFIGURATION", "END_CONFIGURATION", "RESOURCE", "END_RESOURCE", "ON", "TASK",
    "WITH",
};
_Static_assert(sizeof tk_names / sizeof tk_names[0] == TK__LAST - TK_FIRST, "ORDER st_tk");

const char *st_tk_name(int tk)
{
    if (tk >= TK_FIRST && tk < TK__LAST)
        return tk_names[tk - TK_FIRST];
    switch (tk) {
    case TK_EOF: return "end of file";
    case '(': return "(";
    case ')': return ")";
    case '[': return "[";
    case ']': return "]";
    case ',': return ",";
    case ';': return ";";
    case ':': return ":";
    case '.': return ".";
    case '+': return "+";
    case '-': return "-";
    case '*': return "*";
    case '/': return "/";
    case '=': return "=";
    case '<': return "<";
    case '>': return ">";
    case '&': return "&";
    case '^': return "^";
    case '#': return "#";
    default: return "?";
    }
}

/* ---- interned identifiers ---- */

struct ient {
    const char *s;
    uint32_t hash;
    int kw;
};

struct st_intern {
    struct ient *v;
    size_t cap, n;
};

static uint32_t hash_upper(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)toupper((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

static void intern_grow(struct st_comp *C)
{
    struct st_intern *I = C->intern;
    size_t cap = I->cap ? I->cap * 2 : 1024;
    struct ient *v = st_arena_alloc(C->A, cap * sizeof *v);
    for (size_t i = 0; i < I->cap; i++) {
        if (!I->v[i].s)
            continue;
        size_t j = I->v[i].hash & (cap - 1);
        while (v[j].s)
            j = (j + 1) & (cap - 1);
        v[j] = I->v[i];
    }
    I->v = v;
    I->cap = cap;
}

static const char *intern_raw(struct st_comp *C, const char *s, size_t n, int **kwslot)
{
    struct st_intern *I = C->intern;
    if ((I->n + 1) * 2 > I->cap)
        intern_grow(C);
    uint32_t h = hash_upper(s, n);
    size_t j = h & (I->cap - 1);
    while (I->v[j].s) {
        const char *e = I->v[j].s;
        if (I->v[j].hash == h && strlen(e) == n) {
            size_t k = 0;
            while (k < n && e[k] == (char)toupper((unsigned char)s[k]))
                k++;
            if (k == n) {
                *kwslot = &I->v[j].kw;
                return e;
            }
        }
        j = (j + 1) & (I->cap - 1);
    }
    char *u = st_arena_alloc(C->A, n + 1);
    for (size_t k = 0; k < n; k++)
        u[k] = (char)toupper((unsigned char)s[k]);
    I->v[j].s = u;
    I->v[j].hash = h;
    I->v[j].kw = 0;
    I->n++;
    *kwslot = &I->v[j].kw;
    return u;
}

const char *st_intern(struct st_comp *C, const char *s, size_t n, int *kw)
{
    int *slot;
    if (!C->intern) {
        C->intern = st_arena_alloc(C->A, sizeof *C->intern);
        for (int t = TK_AND; t < TK__LAST; t++) {
            const char *name = tk_names[t - TK_FIRST];
            intern_raw(C, name, strlen(name), &slot);
            *slot = t;
        }
    }
    const char *k = intern_raw(C, s, n, &slot);
    if (kw)
        *kw = *slot;
    return k;
}

bool st_interned(struct st_comp *C, const char *upper)
{
    struct st_intern *I = C->intern;
    if (!I || !I->cap)
        return false;
    size_t n = strlen(upper);
    uint32_t h = hash_upper(upper, n);
    for (size_t j = h & (I->cap - 1); I->v[j].s; j = (j + 1) & (I->cap - 1))
        if (I->v[j].hash == h && !strcmp(I->v[j].s, upper))
            return true;
    return false;
}

/* ---- errors ---- */

static void lex_error(struct st_lex *L, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lex_error(struct st_lex *L, int line, int col, const char *fmt, ...)
{
    if (L->C->stop)
        return;
    va_list ap;
    va_start(ap, fmt);
    st_diag_vadd(L->C->d, ST_ERROR, L->src, line, col, fmt, ap);
    va_end(ap);
    if (L->C->d->errors >= ST_MAX_ERRORS)
        L->C->stop = true;
}

/* ---- the scanner ---- */

void st_lex_init(struct st_lex *L, struct st_comp *C, const struct st_source *src, int srcindex)
{
    memset(L, 0, sizeof *L);
    L->C = C;
    L->src = src;
    L->srcindex = srcindex;
    L->p = src->text;
    L->end = src->text + src->len;
    L->bol = L->p;
    L->line = 1;
    st_lex_next(L);
}

static int col_of(const struct st_lex *L, const char *p)
{
    return (int)(p - L->bol) + 1;
}

static void newline(struct st_lex *L, const char *after)
{
    L->line++;
    L->bol = after;
}

/* Skips blanks, comments and pragmas. */
static void skip_space(struct st_lex *L)
{
    for (;;) {
        const char *p = L->p;
        if (p >= L->end)
            return;
        char c = *p;
        if (c == '\n') {
            L->p = p + 1;
            newline(L, L->p);
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            L->p = p + 1;
        } else if (c == '(' && p + 1 < L->end && p[1] == '*') {
            int line = L->line, col = col_of(L, p), depth = 1;
            p += 2;
            while (p < L->end && depth > 0) {
                if (*p == '\n') {
                    newline(L, p + 1);
                    p++;
                } else if (*p == '(' && p + 1 < L->end && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (*p == '*' && p + 1 < L->end && p[1] == ')') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
            L->p = p;
            if (depth > 0)
                lex_error(L, line, col, "unfinished comment: '*)' expected before end of file");
        } else if (c == '/' && p + 1 < L->end && p[1] == '*') {
            int line = L->line, col = col_of(L, p);
            p += 2;
            while (p < L->end && !(*p == '*' && p + 1 < L->end && p[1] == '/')) {
                if (*p == '\n')
                    newline(L, p + 1);
                p++;
            }
            if (p >= L->end)
                lex_error(L, line, col, "unfinished comment: '*/' expected before end of file");
            L->p = p < L->end ? p + 2 : p;
        } else if (c == '/' && p + 1 < L->end && p[1] == '/') {
            while (p < L->end && *p != '\n')
                p++;
            L->p = p;
        } else if (c == '{') {
            int line = L->line, col = col_of(L, p);
            while (p < L->end && *p != '}') {
                if (*p == '\n')
                    newline(L, p + 1);
                p++;
            }
            if (p >= L->end)
                lex_error(L, line, col, "unfinished pragma: '}' expected before end of file");
            L->p = p < L->end ? p + 1 : p;
        } else {
            return;
        }
    }
}

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/* Reads digits of `base` with single underscores between them. Returns the
 * number of digits; sets *bad on an invalid digit or an overflow. */
static int read_digits(struct st_lex *L, int base, uint64_t *v, bool *bad, bool *overflow)
{
    int n = 0;
    const char *p = L->p;
    while (p < L->end) {
        char c = *p;
        if (c == '_') {
            if (n == 0 || p + 1 >= L->end || p[1] == '_' || digit_value(p[1]) >= 16)
                break;
            p++;
            continue;
        }
        int d = digit_value(c);
        if (d >= 16)
            break;
        if (d >= base) {
            if (base == 10)
                break; /* e.g. 10E3: the caller looks at the letter */
            *bad = true;
        } else {
            if (*v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                *overflow = true;
            *v = *v * (uint64_t)base + (uint64_t)d;
        }
        n++;
        p++;
    }
    L->p = p;
    return n;
}

static void read_number(struct st_lex *L, struct st_token *t)
{
    const char *start = L->p;
    uint64_t v = 0;
    bool bad = false, overflow = false;
    read_digits(L, 10, &v, &bad, &overflow);
    if (L->p < L->end && *L->p == '#') {
        /* based literal 2#, 8#, 16# */
        int base = overflow ? 0 : (int)v;
        L->p++;
        v = 0;
        int n = 0;
        if (base == 2 || base == 8 || base == 16) {
            n = read_digits(L, base, &v, &bad, &overflow);
            while (L->p < L->end && is_ident_char(*L->p)) {
                bad = true;
                L->p++;
            }
        } else {
            while (L->p < L->end && is_ident_char(*L->p))
                L->p++;
        }
        t->len = (size_t)(L->p - start);
        if (base != 2 && base != 8 && base != 16)
            lex_error(L, t->line, t->col, "malformed number '%.*s': the base must be 2, 8 or 16",
                      (int)t->len, start);
        else if (bad || n == 0)
            lex_error(L, t->line, t->col, "malformed number '%.*s': bad digit for base %d",
                      (int)t->len, start, base);
        else if (overflow)
            lex_error(L, t->line, t->col, "number '%.*s' does not fit 64 bits", (int)t->len,
                      start);
        t->tk = TK_INT;
        t->u = (bad || overflow) ? 0 : v;
        return;
    }
    bool real = false;
    if (L->p + 1 < L->end && *L->p == '.' && isdigit((unsigned char)L->p[1])) {
        real = true;
        L->p++;
        uint64_t f = 0;
        bool b2 = false, o2 = false;
        read_digits(L, 10, &f, &b2, &o2);
    }
    if (L->p < L->end && (*L->p == 'e' || *L->p == 'E')) {
        const char *q = L->p + 1;
        if (q < L->end && (*q == '+' || *q == '-'))
            q++;
        if (q < L->end && isdigit((unsigned char)*q)) {
            real = true;
            L->p = q;
            uint64_t e = 0;
            bool b2 = false, o2 = false;
            read_digits(L, 10, &e, &b2, &o2);
        }
    }
    bool junk = false;
    while (L->p < L->end && is_ident_char(*L->p)) {
        junk = true;
        L->p++;
    }
    t->len = (size_t)(L->p - start);
    if (junk) {
        lex_error(L, t->line, t->col, "malformed number '%.*s'", (int)t->len, start);
        t->tk = real ? TK_REAL : TK_INT;
        t->u = 0;
        t->r = 0;
        return;
    }
    if (real) {
        char buf[128];
        size_t k = 0;
        for (const char *q = start; q < L->p && k < sizeof buf - 1; q++)
            if (*q != '_')
                buf[k++] = *q;
        buf[k] = 0;
        t->tk = TK_REAL;
        t->r = strtod(buf, NULL);
        if (!isfinite(t->r)) {
            lex_error(L, t->line, t->col, "real number '%.*s' out of range", (int)t->len, start);
            t->r = 0;
        }
        return;
    }
    if (overflow)
        lex_error(L, t->line, t->col, "number '%.*s' does not fit 64 bits", (int)t->len, start);
    t->tk = TK_INT;
    t->u = overflow ? 0 : v;
}

/* T#1h2m3s500ms, T#-5s, T#1.5s: the part after '#'. */
static void read_duration(struct st_lex *L, struct st_token *t, const char *start)
{
    bool neg = false, bad = false, any = false;
    if (L->p < L->end && *L->p == '-') {
        neg = true;
        L->p++;
    } else if (L->p < L->end && *L->p == '+') {
        L->p++;
    }
    long double total = 0;
    while (L->p < L->end && (isdigit((unsigned char)*L->p) || *L->p == '_')) {
        if (*L->p == '_') {
            L->p++;
            continue;
        }
        long double num = 0;
        while (L->p < L->end && (isdigit((unsigned char)*L->p) || *L->p == '_')) {
            if (*L->p != '_')
                num = num * 10 + (*L->p - '0');
            L->p++;
        }
        if (L->p + 1 < L->end && *L->p == '.' && isdigit((unsigned char)L->p[1])) {
            L->p++;
            long double scale = 0.1L;
            while (L->p < L->end && isdigit((unsigned char)*L->p)) {
                num += (*L->p - '0') * scale;
                scale /= 10;
                L->p++;
            }
        }
        const char *u = L->p;
        while (L->p < L->end && isalpha((unsigned char)*L->p))
            L->p++;
        size_t ul = (size_t)(L->p - u);
        char unit[4] = {0};
        if (ul > 0 && ul < 3)
            for (size_t k = 0; k < ul; k++)
                unit[k] = (char)tolower((unsigned char)u[k]);
        long double mult;
        if (!strcmp(unit, "d"))
            mult = 86400e9L;
        else if (!strcmp(unit, "h"))
            mult = 3600e9L;
        else if (!strcmp(unit, "m"))
            mult = 60e9L;
        else if (!strcmp(unit, "s"))
            mult = 1e9L;
        else if (!strcmp(unit, "ms"))
            mult = 1e6L;
        else if (!strcmp(unit, "us"))
            mult = 1e3L;
        else if (!strcmp(unit, "ns"))
            mult = 1;
        else {
            bad = true;
            mult = 0;
        }
        total += num * mult;
        any = true;
    }
    while (L->p < L->end && (is_ident_char(*L->p) || *L->p == '.')) {
        bad = true;
        L->p++;
    }
    t->len = (size_t)(L->p - start);
    t->tk = TK_TIME;
    t->t = 0;
    if (bad || !any) {
        lex_error(L, t->line, t->col,
                  "malformed duration '%.*s' (e.g. T#1h30m, T#500ms, T#1.5s)", (int)t->len, start);
        return;
    }
    if (total > 9.2e18L) {
        lex_error(L, t->line, t->col, "duration '%.*s' out of range", (int)t->len, start);
        return;
    }
    t->t = (int64_t)(total + 0.5L);
    if (neg)
        t->t = -t->t;
}

static void read_string(struct st_lex *L, struct st_token *t)
{
    char q = *L->p;
    const char *start = L->p++;
    size_t cap = 64, n = 0;
    char *buf = NULL;
    char small[64];
    buf = small;
    bool closed = false;
    while (L->p < L->end && *L->p != '\n' && *L->p != '\r') {
        char c = *L->p++;
        if (c == q) {
            closed = true;
            break;
        }
        if (c == '$' && L->p < L->end) {
            char e = *L->p++;
            switch (toupper((unsigned char)e)) {
            case '$': c = '$'; break;
            case '\'': c = '\''; break;
            case '"': c = '"'; break;
            case 'L': c = '\n'; break;
            case 'N': c = '\n'; break;
            case 'P': c = '\f'; break;
            case 'R': c = '\r'; break;
            case 'T': c = '\t'; break;
            default:
                if (digit_value(e) < 16 && L->p < L->end && digit_value(*L->p) < 16) {
                    c = (char)(digit_value(e) * 16 + digit_value(*L->p));
                    L->p++;
                } else {
                    lex_error(L, L->line, col_of(L, L->p - 2),
                              "invalid escape '$%c' in string", e);
                    c = e;
                }
            }
        }
        if (n + 1 >= cap) {
            size_t ncap = cap * 2;
            char *nb = st_arena_alloc(L->C->A, ncap);
            memcpy(nb, buf, n);
            buf = nb;
            cap = ncap;
        }
        buf[n++] = c;
    }
    t->len = (size_t)(L->p - start);
    if (!closed)
        lex_error(L, t->line, t->col, "unfinished string: %c expected before end of line", q);
    t->tk = TK_STRING;
    t->s = st_arena_strndup(L->C->A, buf, n);
    t->slen = strlen(t->s);
}

static void read_located(struct st_lex *L, struct st_token *t)
{
    const char *start = L->p++;
    while (L->p < L->end && (is_ident_char(*L->p) || *L->p == '.' || *L->p == '*'))
        L->p++;
    t->len = (size_t)(L->p - start);
    t->tk = TK_LOCATED;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(t->len < 60 ? t->len : 60), start);
    struct err e;
    memset(&t->addr, 0, sizeof t->addr);
    if (locaddr_parse(buf, &t->addr, &e) != 0) {
        lex_error(L, t->line, t->col, "bad located address %s", e.msg);
        memset(&t->addr, 0, sizeof t->addr);
        t->addr.area = 'M';
        t->addr.size = 'X';
    }
}

static void read_token(struct st_lex *L, struct st_token *t)
{
    skip_space(L);
    memset(t, 0, sizeof *t);
    t->line = L->line;
    t->col = col_of(L, L->p);
    t->p = L->p;
    if (L->p >= L->end) {
        t->tk = TK_EOF;
        return;
    }
    char c = *L->p;
    const char *p = L->p;
    if (is_ident_start(c)) {
        while (L->p < L->end && is_ident_char(*L->p))
            L->p++;
        size_t n = (size_t)(L->p - p);
        t->len = n;
        int kw;
        const char *key = st_intern(L->C, p, n, &kw);
        if (L->p < L->end && *L->p == '#' && !kw) {
            L->p++;
            if (!strcmp(key, "T") || !strcmp(key, "TIME") || !strcmp(key, "LTIME")) {
                read_duration(L, t, p);
                return;
            }
            if (!strcmp(key, "D") || !strcmp(key, "DATE") || !strcmp(key, "TOD") ||
                !strcmp(key, "DT") || !strcmp(key, "TIME_OF_DAY") ||
                !strcmp(key, "DATE_AND_TIME")) {
                while (L->p < L->end && (is_ident_char(*L->p) || *L->p == '-' ||
                                         *L->p == ':' || *L->p == '.'))
                    L->p++;
                t->len = (size_t)(L->p - p);
                lex_error(L, t->line, t->col, "%.*s: DATE, TIME_OF_DAY and DATE_AND_TIME are not "
                          "supported", (int)t->len, p);
                t->tk = TK_TIME;
                return;
            }
            t->tk = TK_TYPED;
            t->s = key;
            t->name = st_arena_strndup(L->C->A, p, n);
            t->len = n + 1;
            return;
        }
        t->tk = kw ? kw : TK_IDENT;
        t->s = key;
        t->name = kw ? key : st_arena_strndup(L->C->A, p, n);
        return;
    }
    if (isdigit((unsigned char)c)) {
        read_number(L, t);
        return;
    }
    if (c == '\'' || c == '"') {
        read_string(L, t);
        return;
    }
    if (c == '%') {
        read_located(L, t);
        return;
    }
    char d = L->p + 1 < L->end ? L->p[1] : 0;
    t->len = 2;
    if (c == ':' && d == '=') {
        L->p += 2;
        t->tk = TK_ASSIGN;
        return;
    }
    if (c == '=' && d == '>') {
        L->p += 2;
        t->tk = TK_ARROW;
        return;
    }
    if (c == '<' && d == '=') {
        L->p += 2;
        t->tk = TK_LE;
        return;
    }
    if (c == '>' && d == '=') {
        L->p += 2;
        t->tk = TK_GE;
        return;
    }
    if (c == '<' && d == '>') {
        L->p += 2;
        t->tk = TK_NE;
        return;
    }
    if (c == '*' && d == '*') {
        L->p += 2;
        t->tk = TK_POW;
        return;
    }
    if (c == '.' && d == '.') {
        L->p += 2;
        t->tk = TK_DOTDOT;
        return;
    }
    t->len = 1;
    L->p++;
    switch (c) {
    case '(': case ')': case '[': case ']': case ',': case ';': case ':': case '.':
    case '+': case '-': case '*': case '/': case '=': case '<': case '>': case '&':
    case '^': case '#':
        t->tk = (unsigned char)c;
        return;
    default:
        if ((unsigned char)c >= 32 && (unsigned char)c < 127)
            lex_error(L, t->line, t->col, "unexpected character '%c'", c);
        else
            lex_error(L, t->line, t->col, "unexpected byte 0x%02x", (unsigned char)c);
        read_token(L, t);
    }
}

void st_lex_next(struct st_lex *L)
{
    if (L->nahead > 0) {
        L->t = L->ahead[0];
        L->ahead[0] = L->ahead[1];
        L->nahead--;
        return;
    }
    read_token(L, &L->t);
}

const struct st_token *st_lex_peek(struct st_lex *L)
{
    if (L->nahead < 1) {
        read_token(L, &L->ahead[0]);
        L->nahead = 1;
    }
    return &L->ahead[0];
}

const struct st_token *st_lex_peek2(struct st_lex *L)
{
    st_lex_peek(L);
    if (L->nahead < 2) {
        read_token(L, &L->ahead[1]);
        L->nahead = 2;
    }
    return &L->ahead[1];
}

const char *st_token_text(const struct st_token *t, char *buf, size_t len)
{
    if (t->tk == TK_EOF) {
        snprintf(buf, len, "end of file");
        return buf;
    }
    size_t n = t->len;
    if (n > 40) {
        snprintf(buf, len, "'%.37s...'", t->p);
        return buf;
    }
    snprintf(buf, len, "'%.*s'", (int)n, t->p);
    return buf;
}
