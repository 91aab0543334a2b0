/* st_diag.c — diagnostics: collecting messages with their position, the
 * source line and a caret, and printing them as
 * "file:line:col: error: msg" followed by the excerpt and the caret. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "st/st_ast.h"

void st_diags_init(struct st_diags *d)
{
    memset(d, 0, sizeof *d);
}

void st_diags_clear(struct st_diags *d)
{
    st_free(d->v);
    memset(d, 0, sizeof *d);
}

void st_diags_print(const struct st_diags *d, void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < d->n; i++) {
        const struct st_diag *g = &d->v[i];
        fprintf(f, "%s:%d:%d: %s: %s\n", g->file, g->line, g->col,
                g->severity == ST_ERROR ? "error" : "warning", g->msg);
        if (g->excerpt[0] || g->caret[0])
            fprintf(f, "  %s\n  %s\n", g->excerpt, g->caret);
    }
}

/* Fills the excerpt (line `line` of text) and the caret under `col`. */
static void excerpt(struct st_diag *g, const char *text, size_t len, int line, int col)
{
    g->excerpt[0] = g->caret[0] = 0;
    if (!text || line < 1)
        return;
    size_t i = 0;
    for (int l = 1; l < line && i < len; i++)
        if (text[i] == '\n')
            l++;
    size_t start = i, end = i;
    while (end < len && text[end] != '\n' && text[end] != '\r')
        end++;
    size_t n = end - start;
    if (n >= sizeof g->excerpt)
        n = sizeof g->excerpt - 1;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)text[start + k];
        g->excerpt[k] = (c == '\t' || c >= 32) ? (char)c : ' ';
    }
    g->excerpt[n] = 0;
    size_t cpos = col > 0 ? (size_t)(col - 1) : 0;
    if (cpos > n)
        cpos = n;
    if (cpos >= sizeof g->caret - 1)
        cpos = sizeof g->caret - 2;
    for (size_t k = 0; k < cpos; k++)
        g->caret[k] = g->excerpt[k] == '\t' ? '\t' : ' ';
    g->caret[cpos] = '^';
    g->caret[cpos + 1] = 0;
}

void st_diag_vadd(struct st_diags *d, enum st_severity sev, const struct st_source *src, int line,
                  int col, const char *fmt, va_list ap)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct st_diag *v = st_realloc(d->v, cap * sizeof *v);
        if (!v)
            return;
        d->v = v;
        d->cap = cap;
    }
    struct st_diag *g = &d->v[d->n++];
    memset(g, 0, sizeof *g);
    g->severity = sev;
    snprintf(g->file, sizeof g->file, "%s", src && src->name ? src->name : "<input>");
    g->line = line;
    g->col = col;
    vsnprintf(g->msg, sizeof g->msg, fmt, ap);
    excerpt(g, src ? src->text : NULL, src ? src->len : 0, line, col);
    if (sev == ST_ERROR)
        d->errors++;
    else
        d->warnings++;
}

void st_diag_add(struct st_diags *d, enum st_severity sev, const struct st_source *src, int line,
                 int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    st_diag_vadd(d, sev, src, line, col, fmt, ap);
    va_end(ap);
}

static void comp_vdiag(struct st_comp *C, enum st_severity sev, int src, int line, int col,
                       const char *fmt, va_list ap)
{
    if (C->stop)
        return;
    st_diag_vadd(C->d, sev, src >= 0 ? &C->allsrc[src] : NULL, line, col, fmt, ap);
    if (C->d->errors >= ST_MAX_ERRORS)
        C->stop = true;
}

void st_error(struct st_comp *C, int src, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    comp_vdiag(C, ST_ERROR, src, line, col, fmt, ap);
    va_end(ap);
}

void st_warning(struct st_comp *C, int src, int line, int col, const char *fmt, ...)
{
    if (C->in_lib)
        return;
    va_list ap;
    va_start(ap, fmt);
    comp_vdiag(C, ST_WARNING, src, line, col, fmt, ap);
    va_end(ap);
}
