/* csv.c — buffered CSV writing with fast number formatting (see csv.h). */
#include "core/csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF (1u << 16)

struct csvw {
    FILE *f;
    int is_stdout;
    int failed;
    int err_no;
    int at_row_start;
    size_t n;
    char buf[CSV_BUF];
};

struct csvw *csvw_open(const char *path, struct err *e)
{
    struct csvw *w = calloc(1, sizeof *w);
    if (!w) {
        err_set(e, "out of memory");
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        w->f = stdout;
        w->is_stdout = 1;
    } else {
        w->f = fopen(path, "wb");
        if (!w->f) {
            err_set(e, "%s: %s", path, strerror(errno));
            free(w);
            return NULL;
        }
    }
    w->at_row_start = 1;
    return w;
}

static void flush(struct csvw *w)
{
    if (w->n && fwrite(w->buf, 1, w->n, w->f) != w->n && !w->failed) {
        w->failed = 1;
        w->err_no = errno;
    }
    w->n = 0;
}

static inline void put(struct csvw *w, const char *s, size_t n)
{
    if (w->n + n > CSV_BUF) {
        flush(w);
        if (n > CSV_BUF) {
            if (fwrite(s, 1, n, w->f) != n && !w->failed) {
                w->failed = 1;
                w->err_no = errno;
            }
            return;
        }
    }
    memcpy(w->buf + w->n, s, n);
    w->n += n;
}

static inline void sep(struct csvw *w)
{
    if (!w->at_row_start)
        put(w, ",", 1);
    w->at_row_start = 0;
}

void csvw_flush(struct csvw *w)
{
    flush(w);
    if (fflush(w->f) != 0 && !w->failed) {
        w->failed = 1;
        w->err_no = errno;
    }
}

int csvw_close(struct csvw *w, struct err *e)
{
    if (!w)
        return 0;
    flush(w);
    if (fflush(w->f) != 0 && !w->failed) {
        w->failed = 1;
        w->err_no = errno;
    }
    if (!w->is_stdout && fclose(w->f) != 0 && !w->failed) {
        w->failed = 1;
        w->err_no = errno;
    }
    int failed = w->failed, en = w->err_no;
    free(w);
    if (failed)
        return err_set(e, "CSV write failed: %s", strerror(en ? en : EIO));
    return 0;
}

void csvw_str(struct csvw *w, const char *s)
{
    sep(w);
    if (strpbrk(s, ",\"\r\n") == NULL) {
        put(w, s, strlen(s));
        return;
    }
    put(w, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            put(w, "\"\"", 2);
        else
            put(w, p, 1);
    }
    put(w, "\"", 1);
}

static const double pow10_tab[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

int csv_format_num(double v, int decimals, char *buf)
{
    if (isnan(v)) {
        buf[0] = '\0';
        return 0;
    }
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double scaled = v * pow10_tab[decimals];
    if (!(fabs(scaled) < 9e15))
        return snprintf(buf, 40, "%.*g", 17, v);
    /* round half away from zero, as llround() does */
    long long q = (long long)(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    int neg = q < 0;
    unsigned long long u = neg ? (unsigned long long)(-q) : (unsigned long long)q;
    int frac = decimals;
    while (frac > 0 && u % 10 == 0) { /* drop trailing zeros of the fraction */
        u /= 10;
        frac--;
    }
    char tmp[40];
    int i = (int)sizeof tmp;
    do { /* digits from the right, the point after `frac` of them */
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
        if (--frac == 0)
            tmp[--i] = '.';
    } while (u || frac > 0);
    if (tmp[i] == '.')
        tmp[--i] = '0';
    if (neg && q != 0)
        tmp[--i] = '-';
    int n = (int)sizeof tmp - i;
    memcpy(buf, tmp + i, (size_t)n);
    buf[n] = '\0';
    return n;
}

void csvw_num(struct csvw *w, double v, int decimals)
{
    char b[48];
    int n = csv_format_num(v, decimals, b);
    sep(w);
    put(w, b, (size_t)n);
}

void csvw_int(struct csvw *w, long long v)
{
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    sep(w);
    put(w, b, (size_t)n);
}

void csvw_end_row(struct csvw *w)
{
    put(w, "\n", 1);
    w->at_row_start = 1;
}
