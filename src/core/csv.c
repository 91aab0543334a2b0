/* csv.c — buffered CSV writing with fast number formatting (see csv.h).
 *
 * A writer remembers the last number written at each field position of a
 * row with its text: a column whose value repeats bit for bit (a setpoint,
 * a switch, a full tank) is copied, not formatted again. */
#include "core/csv.h"

#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF (1u << 16)

/* The last number written at one field position, and its text. */
struct csv_cell {
    uint64_t bits;
    int decimals;
    int n;              /* text length; -1: nothing yet */
    char text[40];
};

struct csvw {
    FILE *f;
    int is_stdout;
    int failed;
    int err_no;
    int at_row_start;
    size_t field;       /* position of the next field in the row */
    struct csv_cell *cells;
    size_t ncells;
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
    w->field++;
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
    free(w->cells);
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

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes u (< 10^20) right-aligned so that its last digit is at end[-1];
 * returns the first digit's position. Two digits per division. */
static char *put_digits(unsigned long long u, char *end)
{
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100);
        u /= 100;
        end -= 2;
        memcpy(end, digit_pairs + 2 * d, 2);
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

/* The number's text, right-aligned to end (at most 40 bytes before it), and
 * its length; the slow path (beyond 9e15 after scaling, NaN) returns -1. */
static int format_fixed(double v, int decimals, char *end)
{
    if (decimals < 0)
        decimals = 0;
    if (decimals > 9)
        decimals = 9;
    double scaled = v * pow10_tab[decimals];
    if (!(fabs(scaled) < 9e15))
        return -1;
    /* round half away from zero, as llround() does */
    long long q = (long long)(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    int neg = q < 0;
    unsigned long long u = neg ? (unsigned long long)(-q) : (unsigned long long)q;
    char *p;
    if (decimals == 0 || u == 0) {
        p = put_digits(u, end);
    } else {
        /* drop trailing zeros of the fraction */
        int frac = decimals;
        while (frac > 0 && u % 10 == 0) {
            u /= 10;
            frac--;
        }
        p = put_digits(u, end);
        if (frac > 0) {
            /* at least frac + 1 digits (leading zeros), then the point
             * before the last frac: the integer part moves one left */
            while (end - p <= frac)
                *--p = '0';
            int ni = (int)(end - p) - frac;
            for (int i = 0; i < ni; i++)
                p[i - 1] = p[i];
            p--;
            p[ni] = '.';
        }
    }
    if (neg && q != 0)
        *--p = '-';
    return (int)(end - p);
}

int csv_format_num(double v, int decimals, char *buf)
{
    if (isnan(v)) {
        buf[0] = '\0';
        return 0;
    }
    char tmp[48];
    int n = format_fixed(v, decimals, tmp + sizeof tmp);
    if (n < 0)
        return snprintf(buf, 40, "%.*g", 17, v);
    memcpy(buf, tmp + sizeof tmp - n, (size_t)n);
    buf[n] = '\0';
    return n;
}

/* The cell of field position k, growing the table; NULL when out of
 * memory (the number is then formatted every time). */
static struct csv_cell *cell_at(struct csvw *w, size_t k)
{
    if (k < w->ncells)
        return &w->cells[k];
    size_t n = w->ncells ? 2 * w->ncells : 32;
    while (n <= k)
        n *= 2;
    struct csv_cell *c = realloc(w->cells, n * sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = w->ncells; i < n; i++)
        c[i].n = -1;
    w->cells = c;
    w->ncells = n;
    return &c[k];
}

void csvw_num(struct csvw *w, double v, int decimals)
{
    sep(w);
    if (isnan(v))
        return;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    struct csv_cell *c = cell_at(w, w->field - 1);
    if (c && c->n >= 0 && c->bits == bits && c->decimals == decimals) {
        put(w, c->text, (size_t)c->n);
        return;
    }
    char tmp[48];
    const char *p;
    int n = format_fixed(v, decimals, tmp + sizeof tmp);
    if (n < 0) {
        n = snprintf(tmp, 40, "%.*g", 17, v);
        p = tmp;
    } else {
        p = tmp + sizeof tmp - n;
    }
    if (c) {
        c->bits = bits;
        c->decimals = decimals;
        c->n = n;
        memcpy(c->text, p, (size_t)n);
    }
    put(w, p, (size_t)n);
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
    w->field = 0;
}
