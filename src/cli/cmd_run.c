/* cmd_run.c — `icsrange run`: builds the range of a plant file and runs it
 * (real time by default, or fast), printing its device table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char run_usage[] =
    "usage: icsrange run [PLANT.yaml] [OPTIONS]\n"
    "\n"
    "Runs the range of a plant file (default plants/waterworks.yaml): the plant's\n"
    "physics, its PLC and SIS (Structured Text programs, Modbus/TCP servers with\n"
    "engineering access) and the HMI's polling client, each at its own address\n"
    "127.0.N.HOST (N = --instance). Prints the device table, then runs until\n"
    "--duration, `icsrange ctl stop`, or Ctrl-C. docs/range.md has the details.\n"
    "\n"
    "time:\n"
    "  --speed X             real time times X (default 1)\n"
    "  --fast                no waiting, in-memory links, no sockets (needs --duration)\n"
    "  --duration D          stop at this virtual time (90s, 2h, 1d)\n"
    "  --paused              start paused (`icsrange ctl resume` starts the clock)\n"
    "  --pause-at T          pause when the virtual clock reaches T\n"
    "  --instance N          1-254: devices at 127.0.N.x, control socket N (default 1)\n"
    "  --seed N              random streams (noise, demand, sequence numbers; default 1)\n"
    "\n"
    "recording:\n"
    "  --csv FILE            process values: timestamp, TAG, TAG.true ..., attack\n"
    "  --db FILE             the historian (SQLite): values, events, labels, counters\n"
    "  --sample P            recording period (default: the plant file's historian.period)\n"
    "  --pcap FILE           the tap: every conversation as Ethernet/IPv4/TCP frames\n"
    "  --capture IFACE       real time, as root: record IFACE with libpcap instead\n"
    "                        (into --pcap FILE, default capture.pcap)\n"
    "\n"
    "snapshots:\n"
    "  --snapshot-at T FILE  write a snapshot when the clock reaches T\n"
    "  --restore FILE        continue from a snapshot (its plant file, programs, seed\n"
    "                        and state; no re-simulation)\n"
    "\n"
    "the plant:\n"
    "  --set TAG.PARAM=VALUE override a plant parameter (repeatable)\n"
    "  --at T TAG.CMD=VALUE  inject a command at virtual time T (LT-101.fault=stuck)\n"
    "  --label FROM,TO,TECHNIQUE[,TEXT]\n"
    "                        label an attack window (ground truth; MITRE ATT&CK for ICS)\n"
    "\n"
    "control:\n"
    "  --socket PATH         the control socket (default per instance; see icsrange ctl)\n"
    "  --no-ctl              no control socket\n"
    "  --log-level L         error, warn, info (default), debug\n"
    "  --log-json            log lines as JSON\n"
    "  --quiet               warnings and errors only\n"
    "  -h, --help            this help\n";


/* "dir/name.ext" -> "dir/name.rK.ext": the files of the K-th restore of
 * one run, so that nothing recorded before a `ctl restore` is overwritten
 * (a restore may go back in time: a historian, CSV or pcap must not). */
static char *restore_path_new(const char *path, int k)
{
    if (!path || !path[0])
        return NULL;
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == path || (slash && dot == slash + 1))
        dot = path + strlen(path);
    size_t n = strlen(path) + 16;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%.*s.r%d%s", (int)(dot - path), path, k, dot);
    return out;
}

int cmd_run(int argc, char **argv)
{
    struct cli_range c;
    int rc = cli_range_parse(&c, argc, argv, 0, run_usage);
    if (rc != 0) {
        cli_range_free(&c);
        return rc < 0 ? 0 : rc;
    }
    log_setup(c.level, c.log_json, stderr);
    struct range_opts o = c.o;
    char *restore = NULL, *paths[3] = {NULL, NULL, NULL};
    int restores = 0;
    rc = 1;
    for (;;) {
        struct err e;
        struct range *r = range_new(&o, &e);
        if (!r) {
            cli_error("%s", e.msg);
            break;
        }
        if (c.level >= LOGL_INFO) {
            range_print_table(r, stdout);
            if (o.fast)
                printf("running fast to %gs of virtual time\n", vt_to_sec(o.duration));
            else
                printf("running in real time (x%g)%s; Ctrl-C or 'icsrange ctl --instance %d "
                       "stop' stops it\nready: listening on %s\n", o.speed,
                       o.start_paused ? ", paused" : "", o.instance, range_first_address(r));
            fflush(stdout);
        }
        int run = range_run(r, &e);
        int interrupted = run > 0 && o.fast;
        if (run > 0)
            run = 0; /* Ctrl-C: the usual way to stop a real-time range */
        if (interrupted)
            cli_error("interrupted at %gs of virtual time, before --duration: what was "
                      "recorded is complete up to then", vt_to_sec(range_now(r)));
        const char *again = range_restart_requested(r);
        char *next = again ? strdup(again) : NULL;
        if (run != 0)
            cli_error("%s", e.msg);
        else if (c.level >= LOGL_INFO && !next)
            printf("stopped: at %gs of virtual time (%llu physics steps in this process)\n",
                   vt_to_sec(range_now(r)), (unsigned long long)range_physics_steps(r));
        range_free(r);
        if (run != 0 || !next) {
            free(next);
            rc = run != 0 ? 1 : interrupted ? 130 : 0;
            break;
        }
        /* ctl restore: the same options, continuing from the snapshot */
        free(restore);
        restore = next;
        o.restore = restore;
        o.sets = NULL;
        o.ats = NULL;
        o.nats = 0;
        o.labels = NULL;
        o.nlabels = 0;
        o.start_paused = 0;
        restores++;
        for (int i = 0; i < 3; i++) {
            free(paths[i]);
            const char *orig = i == 0 ? c.o.csv_path : i == 1 ? c.o.pcap_path : c.o.db_path;
            paths[i] = restore_path_new(orig, restores);
        }
        o.csv_path = paths[0];
        o.pcap_path = paths[1];
        o.db_path = paths[2];
        if (c.level >= LOGL_INFO)
            printf("restoring %s%s\n", restore,
                   paths[0] || paths[1] || paths[2] ? " (recording into new files, .rN)" : "");
    }
    free(restore);
    for (int i = 0; i < 3; i++)
        free(paths[i]);
    cli_range_free(&c);
    return rc;
}
