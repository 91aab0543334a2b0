/* cmd_historian.c — `icsrange historian`: export a historian database as
 * the range's CSV, or show what it holds (meta, columns, counts, counters,
 * time span). Wiring only: everything is read through historian.h, on a
 * read-only handle, so a live file that the range is writing is safe to
 * inspect.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "historian/historian.h"

static const char historian_usage[] =
    "usage: icsrange historian export DB --csv FILE [--from T] [--to T] [--no-attack]\n"
    "       icsrange historian info DB\n"
    "\n"
    "Reads a historian database written by the range (read-only: the range may\n"
    "still be writing it; reads see its last commit).\n"
    "\n"
    "commands:\n"
    "  export DB           write the samples as CSV: timestamp (ISO-8601 UTC),\n"
    "                      one column per tag, then attack (1 inside a labelled\n"
    "                      attack window, else 0)\n"
    "  info DB             meta, columns, counts of samples, events by kind and\n"
    "                      labels, counters, and the time span of the samples\n"
    "\n"
    "export options:\n"
    "  --csv FILE          where to write ('-' is stdout); required\n"
    "  --from T            first instant exported (default: the start)\n"
    "  --to T              end of the export, excluded (default: the last sample)\n"
    "                      T is a duration from the start (90s, 1h30m) or an\n"
    "                      ISO-8601 UTC instant (2026-01-01T00:10:00Z)\n"
    "  --no-attack         leave out the attack column (data for a trainee)\n"
    "\n"
    "  -h, --help          this help\n"
    "\n"
    "Exit status: 0 done, 1 the database could not be read or the file written,\n"
    "2 a usage error. Layout and schema: docs/historian.md.\n";

/* Prints a usage error; returns 2, the exit status. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error("%s (see icsrange historian --help)", msg);
    return 2;
}

/* A time given on the command line: a duration from the start, or an
 * instant that needs the database's start to become one. */
struct when {
    int set, is_instant;
    vtime_t t;       /* duration */
    int64_t unix_ns; /* instant */
    const char *text;
};

static int parse_when(const char *opt, const char *s, struct when *w)
{
    struct err e;
    w->set = 1;
    w->text = s;
    if (strchr(s, 'T') && strchr(s, '-')) {
        w->is_instant = 1;
        if (vt_parse_iso(s, &w->unix_ns, &e) != 0) {
            cli_error("%s: %s (see icsrange historian --help)", opt, e.msg);
            return -1;
        }
        return 0;
    }
    if (vt_parse_duration(s, &w->t, &e) != 0) {
        cli_error("%s: %s (see icsrange historian --help)", opt, e.msg);
        return -1;
    }
    return 0;
}

/* Resolves w against the database's start. Returns 0 or -1 (printed). */
static int resolve_when(struct hist *h, const char *db, const char *opt, const struct when *w,
                        vtime_t *out)
{
    if (!w->set)
        return 0;
    if (!w->is_instant) {
        *out = w->t;
        return 0;
    }
    struct err e;
    int64_t start;
    int r = hist_meta_get_int(h, HIST_META_START, &start, &e);
    if (r < 0) {
        cli_error("%s", e.msg);
        return -1;
    }
    if (r == 0) {
        cli_error("%s %s: %s has no start instant (meta %s); give a duration instead", opt,
                  w->text, db, HIST_META_START);
        return -1;
    }
    if (w->unix_ns < start) {
        *out = 0;
        return 0;
    }
    *out = w->unix_ns - start;
    return 0;
}

enum { OPT_CSV = 256, OPT_FROM, OPT_TO, OPT_NO_ATTACK };

static int historian_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"csv", required_argument, 0, OPT_CSV},
        {"from", required_argument, 0, OPT_FROM},
        {"to", required_argument, 0, OPT_TO},
        {"no-attack", no_argument, 0, OPT_NO_ATTACK},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *csv = NULL;
    struct when from = {0}, to = {0};
    int attack = 1, o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case OPT_CSV: csv = optarg; break;
        case OPT_FROM:
            if (parse_when("--from", optarg, &from) != 0)
                return 2;
            break;
        case OPT_TO:
            if (parse_when("--to", optarg, &to) != 0)
                return 2;
            break;
        case OPT_NO_ATTACK: attack = 0; break;
        case 'h': fputs(historian_usage, stdout); return 0;
        default:
            if (optopt >= OPT_CSV)
                return usage_error("option '%s' needs a value", argv[optind - 1]);
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return usage_error("export: which database? (icsrange historian export DB --csv "
                           "FILE)");
    if (optind < argc - 1)
        return usage_error("export: one database expected, got '%s' too", argv[optind + 1]);
    if (!csv)
        return usage_error("export: --csv FILE is required ('-' for stdout)");
    const char *db = argv[optind];
    struct err e;
    struct hist *h = hist_open_ro(db, &e);
    if (!h) {
        cli_error("%s", e.msg);
        return 1;
    }
    struct hist_export x;
    hist_export_default(&x);
    x.attack = attack;
    int rc = 1;
    if (resolve_when(h, db, "--from", &from, &x.from) != 0 ||
        resolve_when(h, db, "--to", &to, &x.to) != 0)
        goto out;
    if (x.to <= x.from) {
        cli_error("--from %s --to %s: an empty range", from.set ? from.text : "0",
                  to.text ? to.text : "(end)");
        rc = 2;
        goto out;
    }
    if (hist_export_csv(h, csv, &x, &e) != 0) {
        cli_error("%s", e.msg);
        goto out;
    }
    rc = 0;
out:
    hist_close(h, NULL);
    return rc;
}

/* ---- info ---- */

static int print_meta(void *ctx, const char *key, const char *value)
{
    (void)ctx;
    printf("  %s: %s", key, value);
    char *end;
    long long v = strtoll(value, &end, 10);
    if (*value && !*end) {
        char b[48];
        if (strcmp(key, HIST_META_START) == 0) {
            vt_format_iso(v, 0, b, sizeof b);
            printf(" (%s)", b);
        } else if (strcmp(key, HIST_META_PERIOD) == 0 && v > 0) {
            printf(" (%s)", vt_format_duration(v, b, sizeof b));
        }
    }
    putchar('\n');
    return 0;
}

static int print_count(void *ctx, const char *key, int64_t n)
{
    (void)ctx;
    printf("  %s: %" PRId64 "\n", key, n);
    return 0;
}

static int count_open(void *ctx, const struct hist_label *l)
{
    if (l->end == VT_NEVER)
        (*(int64_t *)ctx)++;
    return 0;
}

/* Writes virtual time t as an instant (start known) or a duration. */
static const char *format_t(vtime_t t, int have_start, int64_t start, int decimals, char *b,
                            size_t len)
{
    int64_t ns;
    if (have_start && !__builtin_add_overflow(start, t, &ns)) {
        vt_format_iso(ns, decimals, b, len);
        return b;
    }
    return vt_format_duration(t, b, len);
}

static int historian_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'h') {
            fputs(historian_usage, stdout);
            return 0;
        }
        return usage_error("unknown option '%s'", argv[optind - 1]);
    }
    if (optind >= argc)
        return usage_error("info: which database? (icsrange historian info DB)");
    if (optind < argc - 1)
        return usage_error("info: one database expected, got '%s' too", argv[optind + 1]);
    const char *db = argv[optind];
    struct err e;
    struct hist *h = hist_open_ro(db, &e);
    if (!h) {
        cli_error("%s", e.msg);
        return 1;
    }
    int rc = 1;
    int64_t start = 0, period = 0, nsamples, nevents, nlabels, nopen = 0;
    int have_start = hist_meta_get_int(h, HIST_META_START, &start, &e);
    int have_period = have_start >= 0 ? hist_meta_get_int(h, HIST_META_PERIOD, &period, &e) : -1;
    /* a damaged value is shown as text below, not used */
    have_start = have_start == 1;
    have_period = have_period == 1 && period > 0;
    printf("file: %s\n", db);
    printf("meta:\n");
    if (hist_meta_each(h, print_meta, NULL, &e) < 0)
        goto fail;
    size_t n = hist_ncolumns(h);
    printf("columns: %zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const struct hist_column *c = hist_column(h, i);
        printf("  %zu. %s%s%s%s, %d decimal%s\n", i + 1, c->name, *c->unit ? " [" : "", c->unit,
               *c->unit ? "]" : "", c->decimals, c->decimals == 1 ? "" : "s");
    }
    if ((nsamples = hist_count_samples(h, &e)) < 0)
        goto fail;
    printf("samples: %" PRId64 "\n", nsamples);
    vtime_t first, last;
    int r = hist_sample_span(h, &first, &last, &e);
    if (r < 0)
        goto fail;
    if (r == 1) {
        int dec = have_period
                      ? (period % VT_SEC == 0 ? 0 : period % VT_MS == 0 ? 3
                                                : period % VT_US == 0   ? 6
                                                                        : 9)
                      : 9;
        char a[48], b[48], d[48];
        printf("span: %s .. %s (%s)\n", format_t(first, have_start, start, dec, a, sizeof a),
               format_t(last, have_start, start, dec, b, sizeof b),
               vt_format_duration(last - first, d, sizeof d));
    }
    if ((nevents = hist_count_events(h, NULL, &e)) < 0)
        goto fail;
    printf("events: %" PRId64 "\n", nevents);
    if (hist_event_kinds_each(h, print_count, NULL, &e) < 0)
        goto fail;
    if ((nlabels = hist_count_labels(h, &e)) < 0 ||
        hist_labels_each(h, 0, VT_NEVER, count_open, &nopen, &e) < 0)
        goto fail;
    printf("labels: %" PRId64, nlabels);
    if (nopen)
        printf(" (%" PRId64 " still open)", nopen);
    printf("\ncounters:\n");
    if (hist_counters_each(h, print_count, NULL, &e) < 0)
        goto fail;
    rc = 0;
    goto out;
fail:
    fflush(stdout);
    cli_error("%s", e.msg);
out:
    hist_close(h, NULL);
    return rc;
}

int cmd_historian(int argc, char **argv)
{
    if (argc < 2) {
        fputs(historian_usage, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs(historian_usage, stdout);
        return 0;
    }
    if (strcmp(sub, "export") == 0)
        return historian_export(argc - 1, argv + 1);
    if (strcmp(sub, "info") == 0)
        return historian_info(argc - 1, argv + 1);
    return usage_error("historian: unknown command '%s' (export, info)", sub);
}
