/* vtime.c — parsing and formatting of durations and UTC instants (vtime.h). */
#include "core/vtime.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct {
    const char *suffix;
    vtime_t ns;
} duration_units[] = {
    /* longest suffixes first so that "ms" is not read as "m" */
    {"min", VT_MIN}, {"ms", VT_MS}, {"us", VT_US}, {"ns", VT_NS},
    {"d", VT_DAY}, {"h", VT_HOUR}, {"m", VT_MIN}, {"s", VT_SEC},
};

int vt_parse_duration(const char *s, vtime_t *out, struct err *e)
{
    if (!s || !*s)
        return err_set(e, "empty duration");
    const char *p = s;
    long double total = 0;
    int parts = 0;
    vtime_t last_unit = VT_NEVER;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p == '-' || *p == '+')
            return err_set(e, "duration '%s': sign not allowed", s);
        char *end;
        errno = 0;
        long double v = strtold(p, &end);
        if (end == p || errno || !isfinite(v) || v < 0)
            return err_set(e, "duration '%s': expected a number at '%s'"
                           " (examples: 24h, 1h30m, 100ms, 2.5)", s, p);
        p = end;
        while (*p == ' ')
            p++;
        vtime_t unit = 0;
        for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
            size_t n = strlen(duration_units[i].suffix);
            if (strncmp(p, duration_units[i].suffix, n) == 0 &&
                !isalpha((unsigned char)p[n])) {
                unit = duration_units[i].ns;
                p += n;
                break;
            }
        }
        if (!unit) {
            if (*p)
                return err_set(e, "duration '%s': unknown unit at '%s'"
                               " (d, h, m, s, ms, us, ns)", s, p);
            if (parts)
                return err_set(e, "duration '%s': missing unit after the last number", s);
            unit = VT_SEC;
        }
        if (unit >= last_unit)
            return err_set(e, "duration '%s': units must decrease (as in 1h30m)", s);
        last_unit = unit;
        total += v * (long double)unit;
        parts++;
        if (total > (long double)INT64_MAX / 2)
            return err_set(e, "duration '%s' is too long", s);
    }
    *out = (vtime_t)llroundl(total);
    return 0;
}

char *vt_format_duration(vtime_t d, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (d == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    size_t n = 0;
    if (d < 0) {
        n += (size_t)snprintf(buf, len, "-");
        d = -d;
    }
    static const struct { const char *s; vtime_t ns; } u[] = {
        {"d", VT_DAY}, {"h", VT_HOUR}, {"m", VT_MIN}, {"s", VT_SEC},
        {"ms", VT_MS}, {"us", VT_US}, {"ns", VT_NS},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0] && d > 0 && n < len; i++) {
        if (d >= u[i].ns) {
            n += (size_t)snprintf(buf + n, len - n, "%lld%s",
                                  (long long)(d / u[i].ns), u[i].s);
            d %= u[i].ns;
        }
    }
    return buf;
}

static int parse_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int vt_parse_iso(const char *s, int64_t *unix_ns, struct err *e)
{
    const char *p = s;
    int Y, M, D, h, m, sec;
    if (parse_digits(&p, 4, &Y) || *p++ != '-' || parse_digits(&p, 2, &M) ||
        *p++ != '-' || parse_digits(&p, 2, &D) || (*p != 'T' && *p != ' ') ||
        (p++, parse_digits(&p, 2, &h)) || *p++ != ':' || parse_digits(&p, 2, &m) ||
        *p++ != ':' || parse_digits(&p, 2, &sec))
        return err_set(e, "'%s' is not an ISO-8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)", s);
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 9) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        if (!digits)
            return err_set(e, "'%s': digits expected after '.'", s);
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
        return err_set(e, "'%s': the time must be UTC (end with Z)", s);
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return err_set(e, "'%s': a field is out of range", s);
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D,
                    .tm_hour = h, .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != D)
        return err_set(e, "'%s': no such day", s);
    *unix_ns = (int64_t)t * 1000000000 + frac;
    return 0;
}

static void put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

int vt_format_iso(int64_t unix_ns, int decimals, char *buf, size_t len)
{
    int64_t secs = unix_ns / 1000000000;
    int64_t frac = unix_ns % 1000000000;
    if (frac < 0) {
        frac += 1000000000;
        secs--;
    }
    if (decimals > 9)
        decimals = 9;
    /* years 0000-9999 into a buffer of room: digits by hand (the civil date
     * of a day count, after H. Hinnant's days_from_civil inverse); others
     * through gmtime_r and snprintf */
    if (len >= 32 && secs >= -62167219200LL && secs < 253402300800LL) {
        int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        int sod = (int)(secs - days * 86400);
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int doe = (int)(z - era * 146097);
        int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int mp = (5 * doy + 2) / 153;
        int day = doy - (153 * mp + 2) / 5 + 1;
        int mon = mp < 10 ? mp + 3 : mp - 9;
        int year = (int)(yoe + era * 400) + (mon <= 2);
        put2(buf, year / 100);
        put2(buf + 2, year % 100);
        buf[4] = '-';
        put2(buf + 5, mon);
        buf[7] = '-';
        put2(buf + 8, day);
        buf[10] = 'T';
        put2(buf + 11, sod / 3600);
        buf[13] = ':';
        put2(buf + 14, sod / 60 % 60);
        buf[16] = ':';
        put2(buf + 17, sod % 60);
        int n = 19;
        if (decimals > 0) {
            buf[n++] = '.';
            int64_t f = frac;
            for (int i = 8; i >= 0; i--, f /= 10)
                if (i < decimals)
                    buf[n + i] = (char)('0' + f % 10);
            n += decimals;
        }
        buf[n++] = 'Z';
        buf[n] = '\0';
        return n;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (decimals > 0 && n > 0 && (size_t)n + 1 < len) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)frac);
        n += snprintf(buf + n, len - (size_t)n, ".%.*s", decimals, f);
    }
    if (n > 0 && (size_t)n + 1 < len)
        n += snprintf(buf + n, len - (size_t)n, "Z");
    return n;
}
