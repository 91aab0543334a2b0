/* cli_range.c — the options `run` and `dataset` share: they both build a
 * range (range/range.h) from a plant file, seed, overrides, injects and
 * labels. This file turns argv into struct range_opts and owns the storage
 * the options point into (freed with cli_range_free). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/log.h"

enum {
    OPT_DURATION = 256, OPT_FAST, OPT_SPEED, OPT_SEED, OPT_CSV, OPT_SAMPLE, OPT_SET, OPT_AT,
    OPT_LABEL, OPT_INSTANCE, OPT_PAUSED, OPT_PAUSE_AT, OPT_SNAPSHOT_AT, OPT_RESTORE, OPT_PCAP,
    OPT_CAPTURE, OPT_DB, OPT_SOCKET, OPT_NO_CTL, OPT_LOG_LEVEL, OPT_LOG_JSON, OPT_QUIET,
    OPT_PLANT, OPT_OUT, OPT_SCENARIO, OPT_JSON
};

int cli_join_pairs(int argc, char **argv, const char *const *pair_opts, char **args,
                   char **store, size_t *nstore)
{
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        int pair = 0;
        for (size_t k = 0; pair_opts[k]; k++)
            pair |= strcmp(argv[i], pair_opts[k]) == 0;
        if (pair && i + 2 < argc) {
            size_t len = strlen(argv[i + 1]) + strlen(argv[i + 2]) + 2;
            char *j = malloc(len);
            if (!j)
                return -1;
            snprintf(j, len, "%s\t%s", argv[i + 1], argv[i + 2]);
            store[(*nstore)++] = j;
            args[nargs++] = argv[i];
            args[nargs++] = j;
            i += 2;
        } else {
            args[nargs++] = argv[i];
        }
    }
    args[nargs] = NULL;
    return nargs;
}

/* "FROM,TO,TECHNIQUE[,TEXT]" */
static int parse_label(const char *s, struct range_label *l, char **store, struct err *e)
{
    char *dup = strdup(s);
    if (!dup)
        return err_set(e, "out of memory");
    *store = dup;
    char *from = dup, *to = strchr(from, ',');
    char *tech = to ? strchr(to + 1, ',') : NULL;
    if (!to || !tech)
        return err_set(e, "--label %s: expected FROM,TO,TECHNIQUE[,TEXT] (10m,20m,T0836)", s);
    *to++ = '\0';
    *tech++ = '\0';
    char *text = strchr(tech, ',');
    if (text)
        *text++ = '\0';
    if (vt_parse_duration(from, &l->from, e) != 0 || vt_parse_duration(to, &l->to, e) != 0)
        return err_prefix(e, "--label %s", s);
    if (l->to <= l->from)
        return err_set(e, "--label %s: TO must come after FROM", s);
    if (!tech[0])
        return err_set(e, "--label %s: the technique id (T0836)", s);
    l->technique = tech;
    l->text = text;
    return 0;
}

/* A duration > 0 for option `name`; prints the problem. Returns 0 or 2. */
static int positive_duration(const char *name, const char *text, vtime_t *out)
{
    struct err e;
    if (vt_parse_duration(text, out, &e) != 0) {
        cli_error("%s %s: %s", name, text, e.msg);
        return 2;
    }
    if (*out <= 0) {
        cli_error("%s %s: must be > 0", name, text);
        return 2;
    }
    return 0;
}

int cli_range_parse(struct cli_range *c, int argc, char **argv, int dataset, const char *usage)
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
        {"label", required_argument, 0, OPT_LABEL},
        {"instance", required_argument, 0, OPT_INSTANCE},
        {"paused", no_argument, 0, OPT_PAUSED},
        {"pause-at", required_argument, 0, OPT_PAUSE_AT},
        {"snapshot-at", required_argument, 0, OPT_SNAPSHOT_AT},
        {"restore", required_argument, 0, OPT_RESTORE},
        {"pcap", required_argument, 0, OPT_PCAP},
        {"capture", required_argument, 0, OPT_CAPTURE},
        {"db", required_argument, 0, OPT_DB},
        {"socket", required_argument, 0, OPT_SOCKET},
        {"no-ctl", no_argument, 0, OPT_NO_CTL},
        {"log-level", required_argument, 0, OPT_LOG_LEVEL},
        {"log-json", no_argument, 0, OPT_LOG_JSON},
        {"quiet", no_argument, 0, OPT_QUIET},
        {"plant", required_argument, 0, OPT_PLANT},
        {"out", required_argument, 0, OPT_OUT},
        {"scenario", required_argument, 0, OPT_SCENARIO},
        {"json", no_argument, 0, OPT_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    memset(c, 0, sizeof *c);
    range_opts_default(&c->o);
    c->level = LOGL_INFO;
    struct range_opts *o = &c->o;
    struct err e;
    size_t n = (size_t)argc + 1;
    c->sets = calloc(n, sizeof *c->sets);
    c->ats = calloc(n, sizeof *c->ats);
    c->labels = calloc(n, sizeof *c->labels);
    c->store = calloc(2 * n, sizeof *c->store);
    c->args = calloc(n, sizeof *c->args);
    if (!c->sets || !c->ats || !c->labels || !c->store || !c->args) {
        cli_error("out of memory");
        return 1;
    }
    /* options of two words are joined into one argument (TAB) so that
     * getopt may reorder options and operands freely */
    static const char *const pairs[] = {"--at", "--snapshot-at", NULL};
    int nargs = cli_join_pairs(argc, argv, pairs, c->args, c->store, &c->nstore);
    if (nargs < 0) {
        cli_error("out of memory");
        return 1;
    }
    optind = 1;
    opterr = 0;
    int opt, li = -1, given = 0;
    while ((li = -1, opt = getopt_long(nargs, c->args, "h", opts, &li)) != -1) {
        char name[64] = "";
        if (li >= 0)
            snprintf(name, sizeof name, "--%s", opts[li].name);
        int run_only = opt == OPT_FAST || opt == OPT_SPEED || opt == OPT_INSTANCE ||
                       opt == OPT_PAUSED || opt == OPT_PAUSE_AT || opt == OPT_SNAPSHOT_AT ||
                       opt == OPT_RESTORE || opt == OPT_PCAP || opt == OPT_CAPTURE ||
                       opt == OPT_CSV || opt == OPT_DB || opt == OPT_SOCKET || opt == OPT_NO_CTL;
        int dataset_only = opt == OPT_PLANT || opt == OPT_OUT || opt == OPT_SCENARIO ||
                           opt == OPT_JSON;
        if ((dataset && run_only) || (!dataset && dataset_only)) {
            cli_error("%s is not an option of '%s' (see icsrange %s --help)", name,
                      dataset ? "dataset" : "run", dataset ? "dataset" : "run");
            return 2;
        }
        switch (opt) {
        case OPT_DURATION:
            if (positive_duration("--duration", optarg, &o->duration) != 0)
                return 2;
            break;
        case OPT_FAST: o->fast = 1; break;
        case OPT_SPEED: {
            char *end;
            errno = 0;
            o->speed = strtod(optarg, &end);
            if (end == optarg || *end || errno || !(o->speed > 0) || !isfinite(o->speed)) {
                cli_error("--speed: '%s' is not a positive number", optarg);
                return 2;
            }
            break;
        }
        case OPT_SEED:
        case OPT_INSTANCE: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (end == optarg || *end || errno || optarg[0] == '-') {
                cli_error("%s: '%s' is not a number", name, optarg);
                return 2;
            }
            if (opt == OPT_SEED) {
                o->seed = v;
            } else {
                if (v < 1 || v > 254) {
                    cli_error("--instance: 1 to 254 (devices live at 127.0.N.x)");
                    return 2;
                }
                o->instance = (int)v;
            }
            break;
        }
        case OPT_CSV: o->csv_path = optarg; break;
        case OPT_SAMPLE:
            if (positive_duration("--sample", optarg, &o->record_period) != 0)
                return 2;
            break;
        case OPT_SET: c->sets[c->nsets++] = optarg; break;
        case OPT_AT:
        case OPT_SNAPSHOT_AT: {
            char *tab = strchr(optarg, '\t');
            if (!tab) {
                cli_error(opt == OPT_AT ? "--at needs a time and a command: --at 10m LT-101.fault=stuck"
                                        : "--snapshot-at needs a time and a file: --snapshot-at 23h s.snap");
                return 2;
            }
            *tab = '\0';
            if (opt == OPT_AT) {
                c->ats[c->nats].when = optarg;
                c->ats[c->nats].text = tab + 1;
                c->nats++;
            } else {
                if (positive_duration("--snapshot-at", optarg, &o->snapshot_at) != 0)
                    return 2;
                o->snapshot_at_file = tab + 1;
            }
            break;
        }
        case OPT_LABEL:
            if (parse_label(optarg, &c->labels[c->nlabels], &c->store[c->nstore++], &e) != 0) {
                cli_error("%s", e.msg);
                return 2;
            }
            c->nlabels++;
            break;
        case OPT_PAUSED: o->start_paused = 1; break;
        case OPT_PAUSE_AT:
            if (vt_parse_duration(optarg, &o->pause_at, &e) != 0) {
                cli_error("--pause-at: %s", e.msg);
                return 2;
            }
            break;
        case OPT_RESTORE: o->restore = optarg; break;
        case OPT_PCAP: o->pcap_path = optarg; break;
        case OPT_CAPTURE: o->capture_iface = optarg; break;
        case OPT_DB: o->db_path = optarg; break;
        case OPT_SOCKET: o->ctl_path = optarg; break;
        case OPT_NO_CTL: o->ctl_path = ""; break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &c->level) != 0) {
                cli_error("--log-level: '%s' (error, warn, info, debug)", optarg);
                return 2;
            }
            break;
        case OPT_LOG_JSON: c->log_json = 1; break;
        case OPT_QUIET: c->level = LOGL_WARN; break;
        case OPT_PLANT:
            o->plant_path = optarg;
            given = 1;
            break;
        case OPT_OUT: c->out = optarg; break;
        case OPT_SCENARIO:
            cli_error("--scenario: scenario files are not supported yet; describe attacks "
                      "with --at and --label");
            return 2;
        case OPT_JSON: c->json = 1; break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default:
            li = -1;
            for (int k = 0; opts[k].name; k++)
                if (optopt && opts[k].val == optopt)
                    li = k;
            if (li >= 0 && opts[li].has_arg == no_argument)
                cli_error("option '--%s' takes no value (see icsrange %s --help)",
                          opts[li].name, dataset ? "dataset" : "run");
            else if (optopt >= OPT_DURATION)
                cli_error("option '%s' needs a value (see icsrange %s --help)",
                          c->args[optind - 1], dataset ? "dataset" : "run");
            else
                cli_error("unknown option '%s' (see icsrange %s --help)", c->args[optind - 1],
                          dataset ? "dataset" : "run");
            return 2;
        }
    }
    if (!dataset && optind < nargs) {
        if (o->restore) {
            cli_error("run: a snapshot carries its own plant file; give --restore FILE "
                      "without '%s'", c->args[optind]);
            return 2;
        }
        o->plant_path = c->args[optind++];
        given = 1;
    }
    if (!given && !o->restore && access(o->plant_path, R_OK) != 0) {
        /* the default plant, from the source tree the binary was built in
         * (build/icsrange -> plants/waterworks.yaml), when run elsewhere */
        char exe[4096];
        ssize_t got = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (got > 0) {
            exe[got] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                size_t len = strlen(exe) + 40;
                char *alt = malloc(len);
                if (alt) {
                    snprintf(alt, len, "%s/../plants/waterworks.yaml", exe);
                    c->store[c->nstore++] = alt;
                    if (access(alt, R_OK) == 0)
                        o->plant_path = alt;
                }
            }
        }
    }
    if (optind < nargs) {
        cli_error("unexpected argument '%s'", c->args[optind]);
        return 2;
    }
    c->sets[c->nsets] = NULL;
    o->sets = c->sets;
    o->ats = c->ats;
    o->nats = c->nats;
    o->labels = c->labels;
    o->nlabels = c->nlabels;
    return 0;
}

void cli_range_free(struct cli_range *c)
{
    for (size_t i = 0; i < c->nstore; i++)
        free(c->store[i]);
    free(c->store);
    free(c->sets);
    free(c->ats);
    free(c->labels);
    free(c->args);
}
