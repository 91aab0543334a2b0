/* cmd_sim.c — `icsrange sim`: the physics of a plant alone.
 *
 * Loads a plant file, applies --set overrides, schedules --at commands, runs
 * in fast mode (no waiting) or paced to the wall clock, writes the CSV at
 * the sample period and prints the consequence metrics at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/cfg.h"
#include "core/csv.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/sched.h"
#include "sim/plant.h"

static const char sim_usage[] =
    "usage: icsrange sim PLANT.yaml [OPTIONS]\n"
    "\n"
    "Runs the physics of a plant alone: no PLC, no network. Actuators keep the\n"
    "initial commands of the plant file unless --at changes them.\n"
    "\n"
    "options:\n"
    "  --duration D        simulated time to run (24h, 90m, 601s, 1h30m); without\n"
    "                      it a real-time run lasts until Ctrl-C\n"
    "  --fast              never wait for the wall clock (needs --duration)\n"
    "  --speed X           real time times X (default 1)\n"
    "  --seed N            seed of every random stream (default 1)\n"
    "  --csv FILE          write one row per sample period: timestamp (ISO-8601\n"
    "                      UTC, virtual clock), then per tag what it reports (TAG)\n"
    "                      and the physical truth (TAG.true); '-' is stdout\n"
    "  --sample P          CSV sample period (default 1s)\n"
    "  --set TAG.PARAM=V   override a plant-file parameter before the run, e.g.\n"
    "                      --set TANK.initial_level=0.5 --set PUMP.spin_up=0\n"
    "                      (repeatable)\n"
    "  --at T TAG=V        at simulated time T, command an actuator (PUMP=61%,\n"
    "                      VALVE=closed, DOSING=150mg/L) or set a runtime parameter\n"
    "                      (PUMP.run=off, SENSOR.fault=stuck, SENSOR.drift=2mm/min,\n"
    "                      SENSOR.offset=5cm, CONSUMER.demand=unlimited);\n"
    "                      T is a duration from the start or an ISO-8601 UTC time\n"
    "                      (repeatable)\n"
    "  --json              print the final metrics as one JSON object\n"
    "  --status            show a live one-line status (real time)\n"
    "  --log-level L       error, warn, info (default), debug\n"
    "  --log-json          log as JSON lines\n"
    "  -h, --help          this help\n"
    "\n"
    "The metrics printed at the end are the plant's consequences: litres\n"
    "spilled, unmet demand, pump damage, dry-run and dead-head seconds, dosing\n"
    "concentration and pH at the consumers, and the water balance.\n";

struct at_cmd {
    const char *when_text;
    const char *text;
    vtime_t when;
    struct plant_cmd cmd;
    struct plant *p;
    struct at_cmd *self;
};

struct recorder {
    struct plant *p;
    struct csvw *w;
    vtime_t end;
    int ts_decimals;
    int flush_rows; /* real time: each row reaches the file at once */
    size_t ncols;
    int *decimals;
};

struct status {
    struct plant *p;
    int tty;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void record_row(void *ctx, vtime_t now)
{
    struct recorder *r = ctx;
    if (now >= r->end)
        return;
    char ts[48];
    vt_format_iso(plant_start_unix_ns(r->p) + now, r->ts_decimals, ts, sizeof ts);
    csvw_str(r->w, ts);
    for (size_t i = 0; i < r->ncols; i++)
        csvw_num(r->w, plant_column_value(r->p, i), r->decimals[i]);
    csvw_end_row(r->w);
    if (r->flush_rows)
        csvw_flush(r->w);
}

static void run_at(void *ctx, vtime_t now)
{
    struct at_cmd *a = ctx;
    (void)now;
    plant_cmd_apply(a->p, &a->cmd);
    log_msg(LOGL_DEBUG, "sim", "at %s: %s", a->when_text, a->text);
}

static void show_status(void *ctx, vtime_t now)
{
    struct status *s = ctx;
    char line[512], t[32];
    plant_status_line(s->p, line, sizeof line);
    vt_format_iso(plant_start_unix_ns(s->p) + now, 0, t, sizeof t);
    if (s->tty)
        fprintf(stderr, "\r\033[K%s  %s", t + 11, line);
    else
        fprintf(stderr, "%s  %s\n", t, line);
    fflush(stderr);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Applies "--set TAG.PARAM=VALUE" to the plant file's tree. */
static void print_metrics(const struct plant *p, uint64_t seed, vtime_t ran, double wall,
                          int json, int interrupted_run)
{
    size_t n = plant_metrics(p, NULL, 0);
    struct plant_metric *m = calloc(n ? n : 1, sizeof *m);
    if (!m)
        return;
    plant_metrics(p, m, n);
    double sim_s = vt_to_sec(ran);
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "plant", json_string(plant_name(p)));
        json_object_set_new(o, "seed", json_integer((json_int_t)seed));
        char start[40];
        vt_format_iso(plant_start_unix_ns(p), 0, start, sizeof start);
        json_object_set_new(o, "start", json_string(start));
        json_object_set_new(o, "duration_s", json_real(sim_s));
        json_object_set_new(o, "wall_s", json_real(wall));
        json_object_set_new(o, "speedup", json_real(wall > 0 ? sim_s / wall : 0));
        if (interrupted_run)
            json_object_set_new(o, "interrupted", json_true());
        json_t *comps = json_object();
        for (size_t i = 0; i < n; i++) {
            if (!m[i].comp) {
                json_object_set_new(o, m[i].name, json_real(m[i].value));
                continue;
            }
            json_t *c = json_object_get(comps, m[i].comp);
            if (!c) {
                c = json_object();
                json_object_set_new(comps, m[i].comp, c);
            }
            json_object_set_new(c, m[i].name, json_real(m[i].value));
        }
        json_object_set_new(o, "components", comps);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        if (s) {
            puts(s);
            free(s);
        }
        json_decref(o);
    } else {
        char d[64];
        vt_format_duration(ran, d, sizeof d);
        printf("%s: simulated %s in %.3f s (%.0fx real time)%s\n", plant_name(p), d, wall,
               wall > 0 ? sim_s / wall : 0, interrupted_run ? ", interrupted" : "");
        printf("  spilled %.3f L, unmet demand %.3f L, worst pump damage %.1f %%, "
               "dry run %.1f s, dead head %.1f s\n",
               plant_metric(p, "spilled_L"), plant_metric(p, "unmet_demand_L"),
               plant_metric(p, "pump_damage_pct"), plant_metric(p, "dry_run_s"),
               plant_metric(p, "dead_head_s"));
        const char *cur = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!m[i].comp)
                continue;
            if (!cur || strcmp(cur, m[i].comp) != 0) {
                printf("%s  %s:", cur ? "\n" : "", m[i].comp);
                cur = m[i].comp;
            }
            printf(" %s %.6g", m[i].name, m[i].value);
        }
        if (cur)
            printf("\n");
        double bal = plant_metric(p, "inflow_m3") - plant_metric(p, "outflow_m3") -
                     plant_metric(p, "spilled_m3") - plant_metric(p, "returned_m3") -
                     (plant_metric(p, "volume_m3") - plant_metric(p, "volume_start_m3"));
        printf("  water balance: in %.6f m3, out %.6f m3, spilled %.6f m3, returned %.6f m3, "
               "stored %+.6f m3, residual %.3g m3\n",
               plant_metric(p, "inflow_m3"), plant_metric(p, "outflow_m3"),
               plant_metric(p, "spilled_m3"), plant_metric(p, "returned_m3"),
               plant_metric(p, "volume_m3") - plant_metric(p, "volume_start_m3"), bal);
    }
    free(m);
}

enum { OPT_DURATION = 256, OPT_FAST, OPT_SPEED, OPT_SEED, OPT_CSV, OPT_SAMPLE, OPT_SET,
       OPT_AT, OPT_JSON, OPT_STATUS, OPT_LOG_LEVEL, OPT_LOG_JSON };

int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"duration", required_argument, 0, OPT_DURATION},
        {"fast", no_argument, 0, OPT_FAST},
        {"speed", required_argument, 0, OPT_SPEED},
        {"seed", required_argument, 0, OPT_SEED},
        {"csv", required_argument, 0, OPT_CSV},
        {"sample", required_argument, 0, OPT_SAMPLE},
        {"set", required_argument, 0, OPT_SET},
        {"at", required_argument, 0, OPT_AT},
        {"json", no_argument, 0, OPT_JSON},
        {"status", no_argument, 0, OPT_STATUS},
        {"log-level", required_argument, 0, OPT_LOG_LEVEL},
        {"log-json", no_argument, 0, OPT_LOG_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    vtime_t duration = VT_NEVER, sample = VT_SEC;
    int fast = 0, json = 0, status = 0, log_json = 0;
    double speed = 1.0;
    uint64_t seed = 1;
    const char *csv_path = NULL;
    enum log_level level = LOGL_INFO;
    const char **sets = calloc((size_t)argc, sizeof *sets);
    struct at_cmd *ats = calloc((size_t)argc, sizeof *ats);
    size_t nsets = 0, nats = 0;
    int rc = 2;
    struct err e;
    struct cfg *cfg = NULL;
    struct plant *p = NULL;
    struct sched *s = NULL;
    struct rtloop *loop = NULL;
    struct recorder rec = {0};
    struct status st = {0};
    char **args = NULL, **joined = NULL;
    int njoined = 0;
    if (!sets || !ats) {
        cli_error("out of memory");
        goto out;
    }
    /* "--at TIME CMD" takes two words: join them into one argument so that
     * getopt may reorder options and the plant file freely. */
    args = calloc((size_t)argc + 1, sizeof *args);
    joined = calloc((size_t)argc + 1, sizeof *joined);
    int nargs = 0;
    if (!args || !joined) {
        cli_error("out of memory");
        goto out;
    }
    static const char *const pairs[] = {"--at", NULL};
    size_t nj = 0;
    nargs = cli_join_pairs(argc, argv, pairs, args, joined, &nj);
    njoined = (int)nj;
    if (nargs < 0) {
        cli_error("out of memory");
        goto out;
    }
    argc = nargs;
    argv = args;
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case OPT_DURATION:
            if (vt_parse_duration(optarg, &duration, &e) != 0 || duration <= 0) {
                cli_error("--duration: %s", duration <= 0 ? "must be > 0" : e.msg);
                goto out;
            }
            break;
        case OPT_FAST: fast = 1; break;
        case OPT_SPEED: {
            char *end;
            errno = 0;
            speed = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(speed > 0) || !isfinite(speed)) {
                cli_error("--speed: '%s' is not a positive number", optarg);
                goto out;
            }
            break;
        }
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (end == optarg || *end || errno || optarg[0] == '-') {
                cli_error("--seed: '%s' is not a non-negative integer", optarg);
                goto out;
            }
            seed = v;
            break;
        }
        case OPT_CSV: csv_path = optarg; break;
        case OPT_SAMPLE:
            if (vt_parse_duration(optarg, &sample, &e) != 0 || sample <= 0) {
                cli_error("--sample: %s", sample <= 0 ? "must be > 0" : e.msg);
                goto out;
            }
            break;
        case OPT_SET: sets[nsets++] = optarg; break;
        case OPT_AT: {
            char *tab = strchr(optarg, '\t');
            if (!tab) {
                cli_error("--at needs a time and a command: --at 10m PUMP=off");
                goto out;
            }
            *tab = '\0';
            ats[nats].when_text = optarg;
            ats[nats].text = tab + 1;
            nats++;
            break;
        }
        case OPT_JSON: json = 1; break;
        case OPT_STATUS: status = 1; break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &level) != 0) {
                cli_error("--log-level: '%s' (error, warn, info, debug)", optarg);
                goto out;
            }
            break;
        case OPT_LOG_JSON: log_json = 1; break;
        case 'h':
            fputs(sim_usage, stdout);
            rc = 0;
            goto out;
        default:
            if (optopt >= OPT_DURATION)
                cli_error("option '%s' needs a value (see icsrange sim --help)", argv[optind - 1]);
            else
                cli_error("unknown option '%s' (see icsrange sim --help)", argv[optind - 1]);
            goto out;
        }
    }
    if (optind != argc - 1) {
        cli_error(optind >= argc ? "sim: which plant file? (icsrange sim PLANT.yaml)"
                                 : "sim: one plant file expected, got '%s' too",
                  optind < argc - 1 ? argv[optind + 1] : "");
        goto out;
    }
    if (fast && duration == VT_NEVER) {
        cli_error("--fast needs --duration (a fast run never waits, so it must end)");
        goto out;
    }
    log_setup(level, log_json, stderr);
    rc = 1;
    cfg = cfg_load_file(argv[optind], &e);
    if (!cfg) {
        cli_error("%s", e.msg);
        goto out;
    }
    for (size_t i = 0; i < nsets; i++)
        if (plant_cfg_set(cfg, sets[i], &e) != 0) {
            cli_error("%s", e.msg);
            goto out;
        }
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    p = plant_load(cfg, seed, foreign, &e);
    if (!p) {
        cli_error("%s", e.msg);
        goto out;
    }
    for (size_t i = 0; i < nats; i++) {
        struct at_cmd *a = &ats[i];
        if (plant_parse_when(p, a->when_text, &a->when, &e) != 0) {
            cli_error("--at %s %s: %s", a->when_text, a->text, e.msg);
            goto out;
        }
        if (plant_cmd_parse(p, a->text, &a->cmd, &e) != 0) {
            cli_error("--at %s %s: %s", a->when_text, a->text, e.msg);
            goto out;
        }
        a->p = p;
    }
    s = sched_new();
    if (!s || plant_attach(p, s, &e) != 0) {
        cli_error("%s", s ? e.msg : "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nats; i++)
        sched_at(s, ats[i].when, SCHED_PRIO_COMMAND, run_at, &ats[i]);
    /* commands at time 0 act before the first sample */
    sched_run_until(s, 0);
    if (csv_path) {
        rec.p = p;
        rec.end = duration;
        rec.ncols = plant_ncolumns(p);
        rec.decimals = calloc(rec.ncols ? rec.ncols : 1, sizeof *rec.decimals);
        rec.w = csvw_open(csv_path, &e);
        if (!rec.w || !rec.decimals) {
            cli_error("%s", rec.w ? "out of memory" : e.msg);
            goto out;
        }
        rec.flush_rows = !fast;
        rec.ts_decimals = sample % VT_SEC == 0 ? 0 : sample % VT_MS == 0 ? 3 : sample % VT_US == 0 ? 6 : 9;
        csvw_str(rec.w, "timestamp");
        for (size_t i = 0; i < rec.ncols; i++) {
            csvw_str(rec.w, plant_column_name(p, i));
            rec.decimals[i] = plant_column_decimals(p, i);
        }
        csvw_end_row(rec.w);
        sched_every(s, 0, sample, SCHED_PRIO_RECORD, record_row, &rec);
    }
    double t0 = wall_now();
    int stopped = 0;
    if (fast) {
        struct sigaction sa = {0};
        sa.sa_handler = on_sigint;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        while (sched_now(s) < duration && !interrupted) {
            vtime_t next = sched_now(s) + 60 * VT_SEC;
            sched_run_until(s, next < duration ? next : duration);
        }
        stopped = interrupted;
    } else {
        if (status) {
            fprintf(stderr, "%s in real time (x%g)%s; Ctrl-C stops it and prints the "
                    "consequence metrics\n", plant_name(p), speed,
                    duration == VT_NEVER ? "" : " for the given duration");
            st.p = p;
            st.tty = isatty(STDERR_FILENO);
            sched_every(s, 0, VT_SEC, SCHED_PRIO_RECORD + 1, show_status, &st);
        }
        loop = rtloop_new(s, speed, &e);
        if (!loop) {
            cli_error("%s", e.msg);
            goto out;
        }
        stopped = rtloop_run(loop, duration);
        if (status && st.tty)
            fputc('\n', stderr);
    }
    double wall = wall_now() - t0;
    if (rec.w) {
        int r = csvw_close(rec.w, &e);
        rec.w = NULL;
        if (r != 0) {
            cli_error("%s: %s", csv_path, e.msg);
            goto out;
        }
    }
    print_metrics(p, seed, sched_now(s), wall, json, stopped);
    rc = stopped ? 130 : 0;
out:
    if (rec.w)
        csvw_close(rec.w, NULL);
    free(rec.decimals);
    rtloop_free(loop);
    plant_free(p);
    sched_free(s);
    cfg_free(cfg);
    free(sets);
    free(ats);
    for (int i = 0; i < njoined; i++)
        free(joined[i]);
    free(joined);
    free(args);
    return rc;
}
