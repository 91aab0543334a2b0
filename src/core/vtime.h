/* vtime.h — virtual time: integer nanoseconds, durations and wall-clock stamps.
 *
 * Virtual time (vtime_t) counts nanoseconds since the start of a run. A run's
 * start is anchored to a UTC instant (the plant file's `start`), kept as Unix
 * nanoseconds, so every output (CSV, pcap, historian) stamps the same instant
 * for the same virtual time.
 */
#ifndef CORE_VTIME_H
#define CORE_VTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef int64_t vtime_t;

#define VT_NS   ((vtime_t)1)
#define VT_US   ((vtime_t)1000)
#define VT_MS   ((vtime_t)1000000)
#define VT_SEC  ((vtime_t)1000000000)
#define VT_MIN  (60 * VT_SEC)
#define VT_HOUR (3600 * VT_SEC)
#define VT_DAY  (86400 * VT_SEC)
#define VT_NEVER INT64_MAX

static inline double vt_to_sec(vtime_t t) { return (double)t / 1e9; }

/* Parses a duration: "24h", "1h30m", "90s", "100ms", "1.5s", "2d", "250us",
 * "10 ms", "5 min", or a bare number of seconds ("600", "0.25"). Components
 * may be combined in decreasing order ("1h2m3.5s"); spaces are allowed
 * between a number and its unit. Negative durations are refused.
 * Returns 0 and sets *out, or -1 with a message in `e`. */
int vt_parse_duration(const char *s, vtime_t *out, struct err *e);

/* Writes a duration as the shortest exact form ("1h30m", "100ms") into buf.
 * Returns buf. */
char *vt_format_duration(vtime_t d, char *buf, size_t len);

/* Parses an ISO-8601 UTC instant "YYYY-MM-DDTHH:MM:SS[.fff]Z" (a space may
 * replace the T; the Z may be "+00:00") into Unix nanoseconds. */
int vt_parse_iso(const char *s, int64_t *unix_ns, struct err *e);

/* Formats Unix nanoseconds as "YYYY-MM-DDTHH:MM:SS[.f...]Z" with `decimals`
 * (0-9) fractional digits, truncating. Returns the number of characters
 * written (excluding the NUL); buf needs at least 32 bytes. */
int vt_format_iso(int64_t unix_ns, int decimals, char *buf, size_t len);

#endif
