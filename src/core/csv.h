/* csv.h — a buffered CSV writer (RFC 4180) with fast fixed-point numbers.
 *
 * Used for every CSV the project writes (physics runs, historian exports,
 * datasets). Numbers are written with a fixed number of decimals and
 * trailing zeros removed ("0.5", "12", "-0.0312"), identically on every run,
 * so equal values give equal bytes. NaN is written as an empty field.
 */
#ifndef CORE_CSV_H
#define CORE_CSV_H

#include <stdio.h>

#include "core/err.h"

struct csvw;

/* Opens `path` for writing ("-" is standard output). Returns NULL with a
 * message in e. Close with csvw_close(), which reports any write error. */
struct csvw *csvw_open(const char *path, struct err *e);

/* Flushes and closes; returns 0, or -1 if any write failed (e.g. disk
 * full). Frees w in every case. */
int csvw_close(struct csvw *w, struct err *e);

/* One field: text (quoted when it holds a comma, quote or line break). */
void csvw_str(struct csvw *w, const char *s);
/* One field: a number with at most `decimals` (0-9) decimals. */
void csvw_num(struct csvw *w, double v, int decimals);
/* One field: an integer. */
void csvw_int(struct csvw *w, long long v);
/* Ends the row ("\n"). */
void csvw_end_row(struct csvw *w);

/* Hands buffered rows to the operating system (for readers that follow the
 * file while it grows, e.g. in real time). */
void csvw_flush(struct csvw *w);

/* Formats v as csvw_num() does into buf (at least 40 bytes); returns the
 * length. Exposed for tests and for other writers. */
int csv_format_num(double v, int decimals, char *buf);

#endif
