/* cmd_dataset.c — `icsrange dataset`: a labelled dataset in seconds. Runs
 * the range fast for a duration and writes DIR/process.csv,
 * DIR/traffic.pcap, DIR/labels.csv and DIR/meta.json; one seed gives the
 * same bytes in all four. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static const char dataset_usage[] =
    "usage: icsrange dataset --duration D --out DIR [OPTIONS]\n"
    "\n"
    "Runs the range in fast mode (in-memory links on the virtual clock, no\n"
    "waiting) and writes a labelled dataset:\n"
    "  DIR/process.csv   one row per sample: timestamp, TAG (what the sensor\n"
    "                    reports), TAG.true (the physical truth), attack (0/1)\n"
    "  DIR/traffic.pcap  every conversation (HMI polling, engineering, ...) as\n"
    "                    Ethernet/IPv4/TCP frames, timestamps on the virtual clock\n"
    "  DIR/labels.csv    attack windows: start, end, technique, description\n"
    "                    (a header only for normal operation)\n"
    "  DIR/meta.json     seed, versions, plant and program hashes, columns and units,\n"
    "                    devices, Modbus transactions by function code per server\n"
    "                    and client, injects\n"
    "The same seed and options give the same bytes in all four files.\n"
    "\n"
    "options:\n"
    "  --plant FILE          the plant file (default plants/waterworks.yaml)\n"
    "  --duration D          simulated duration (90s, 2h, 1d), required\n"
    "  --out DIR             where to write (created if missing), required\n"
    "  --seed N              random streams (default 1)\n"
    "  --sample P            recording period (default: the plant file's historian.period)\n"
    "  --set TAG.PARAM=VALUE override a plant parameter (repeatable)\n"
    "  --at T TAG.CMD=VALUE  inject a command at virtual time T (LT-101.fault=stuck)\n"
    "  --label FROM,TO,TECHNIQUE[,TEXT]\n"
    "                        an attack window for labels.csv and the attack column\n"
    "  --json                print a summary as JSON at the end\n"
    "  --quiet               no progress bar\n"
    "  -h, --help            this help\n"
    "A progress bar is drawn when standard error is a terminal.\n";

struct bar {
    int tty;
    double t0;
    int last;
};

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(void *ctx, vtime_t now, vtime_t end)
{
    struct bar *b = ctx;
    int pct = end > 0 ? (int)(100.0 * (double)now / (double)end) : 100;
    if (!b->tty || pct == b->last)
        return;
    b->last = pct;
    char hashes[41];
    int n = pct * 40 / 100;
    memset(hashes, '#', (size_t)n);
    memset(hashes + n, ' ', (size_t)(40 - n));
    hashes[40] = '\0';
    double w = wall_now() - b->t0;
    fprintf(stderr, "\r[%s] %3d%%  %.0f of %.0f s simulated, %.1f s", hashes, pct,
            vt_to_sec(now), vt_to_sec(end), w);
    fflush(stderr);
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
    }
    return -1;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int write_labels(const char *path, const struct cli_range *c, int64_t start_ns)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("start,end,start_s,end_s,technique,description\n", f);
    for (size_t i = 0; i < c->nlabels; i++) {
        const struct range_label *l = &c->labels[i];
        char a[40], b[40];
        vt_format_iso(start_ns + l->from, 3, a, sizeof a);
        vt_format_iso(start_ns + l->to, 3, b, sizeof b);
        fprintf(f, "%s,%s,%.3f,%.3f,%s,", a, b, vt_to_sec(l->from), vt_to_sec(l->to),
                l->technique);
        /* the description as a CSV field */
        const char *t = l->text ? l->text : "";
        if (strpbrk(t, ",\"\n")) {
            fputc('"', f);
            for (; *t; t++) {
                if (*t == '"')
                    fputc('"', f);
                fputc(*t, f);
            }
            fputc('"', f);
        } else {
            fputs(t, f);
        }
        fputc('\n', f);
    }
    int rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

int cmd_dataset(int argc, char **argv)
{
    struct cli_range c;
    int rc = cli_range_parse(&c, argc, argv, 1, dataset_usage);
    if (rc != 0) {
        cli_range_free(&c);
        return rc < 0 ? 0 : rc;
    }
    char *csv = NULL, *pcap = NULL, *labels = NULL, *meta = NULL;
    struct range *r = NULL;
    rc = 2;
    if (!c.out) {
        cli_error("dataset: --out DIR is required (see icsrange dataset --help)");
        goto out;
    }
    if (c.o.duration <= 0) {
        cli_error("dataset: --duration is required (90s, 2h, 1d)");
        goto out;
    }
    rc = 1;
    log_setup(c.level < LOGL_WARN ? c.level : LOGL_WARN, c.log_json, stderr);
    if (make_dir(c.out) != 0) {
        cli_error("%s: %s", c.out, strerror(errno));
        goto out;
    }
    csv = join(c.out, "process.csv");
    pcap = join(c.out, "traffic.pcap");
    labels = join(c.out, "labels.csv");
    meta = join(c.out, "meta.json");
    if (!csv || !pcap || !labels || !meta) {
        cli_error("out of memory");
        goto out;
    }
    struct range_opts o = c.o;
    o.fast = 1;
    o.csv_path = csv;
    o.pcap_path = pcap;
    o.ctl_path = "";
    struct bar bar = {isatty(STDERR_FILENO) && c.level >= LOGL_INFO, wall_now(), -1};
    o.progress = progress;
    o.progress_ctx = &bar;
    struct err e;
    r = range_new(&o, &e);
    if (!r) {
        cli_error("%s", e.msg);
        goto out;
    }
    int run = range_run(r, &e);
    if (bar.tty)
        fputc('\n', stderr);
    if (run < 0) {
        cli_error("%s", e.msg);
        goto out;
    }
    if (run > 0) {
        cli_error("interrupted at %.0f s of virtual time: %s holds a partial dataset",
                  vt_to_sec(range_now(r)), c.out);
        rc = 130;
        goto out;
    }
    if (write_labels(labels, &c, range_start_unix_ns(r)) != 0) {
        cli_error("%s: %s", labels, strerror(errno));
        goto out;
    }
    json_t *m = range_meta(r);
    json_t *files = json_pack("{s:s, s:s, s:s}", "process", "process.csv", "traffic",
                              "traffic.pcap", "labels", "labels.csv");
    json_object_set_new(m, "files", files);
    int wr = json_dump_file(m, meta, JSON_INDENT(2)) ;
    json_decref(m);
    if (wr != 0) {
        cli_error("%s: cannot write", meta);
        goto out;
    }
    double wall = wall_now() - bar.t0;
    if (c.json) {
        json_t *s = json_pack("{s:s, s:f, s:f, s:f}", "out", c.out, "simulated_s",
                              vt_to_sec(range_now(r)), "wall_s", wall, "speedup",
                              wall > 0 ? vt_to_sec(range_now(r)) / wall : 0.0);
        json_dumpf(s, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(s);
    } else if (bar.tty) {
        fprintf(stderr, "%s: %.0f s simulated in %.2f s (x%.0f)\n", c.out,
                vt_to_sec(range_now(r)), wall, wall > 0 ? vt_to_sec(range_now(r)) / wall : 0.0);
    }
    rc = 0;
out:
    range_free(r);
    free(csv);
    free(pcap);
    free(labels);
    free(meta);
    cli_range_free(&c);
    return rc;
}
