/* range.h — a running range: a plant file assembled into physics, devices
 * on a network, the tap, the historian and the control socket.
 *
 * The plant file (sim's sections plus `devices`, `network` and `historian`,
 * docs/range.md) says which devices exist: PLCs and safety PLCs (a program,
 * a keyswitch, engineering access, a comms budget) wired to the plant's
 * terminals, and the HMI's polling client. Each device has its own address
 * 127.0.N.HOST (N = the instance, so ranges side by side never collide);
 * every conversation runs over links the tap sees.
 *
 * Two ways to run. Real time (the default): sockets on loopback, the
 * virtual clock paced to the wall clock times `speed`, outside tools
 * (mbpoll, nmap, a trainee's scripts) talk to the devices, the control
 * socket serves `icsrange ctl`. Fast: in-memory links on the virtual clock,
 * no waiting, a day in seconds; one seed gives the same CSV and pcap byte
 * for byte.
 *
 * Recording: process values at the historian's period (CSV and/or the
 * SQLite historian), events (network writes with their source, mode and
 * keyswitch changes, downloads with their hash, alarms, SIS trips,
 * injected commands), attack labels; the tap's pcap (or a live capture).
 * Counters of completed Modbus transactions by function code come from
 * the servers and clients themselves, independent of the tap.
 *
 * Snapshots: range_snapshot() saves the whole state after the current
 * instant (physics, PLC programs, memories and images, HMI values, clock,
 * labels, the plant file and programs themselves); a range created with
 * opts.restore continues from it in a new process. Connections are not
 * saved: a restored range starts with none, and clients reconnect.
 *
 * Logging goes through core/log.h (the caller sets its level and form).
 *
 * Ownership: range_new() returns a range freed with range_free().
 */
#ifndef RANGE_RANGE_H
#define RANGE_RANGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/vtime.h"

/* A command for the plant at a virtual time (an inject): when "90s" or an
 * ISO-8601 instant, text "LT-101.fault=stuck". */
struct range_at {
    const char *when;
    const char *text;
};

/* A labelled window: [from, to) is an attack with a technique id. */
struct range_label {
    vtime_t from, to;
    const char *technique; /* "T0836" */
    const char *text;      /* may be NULL */
};

struct range_opts {
    const char *plant_path;      /* [plants/waterworks.yaml] */
    const char *const *sets;     /* "TAG.PARAM=VALUE" overrides, NULL-terminated (may be NULL) */
    int instance;                /* 1..254: devices at 127.0.N.x [1] */
    uint64_t seed;               /* [1] */
    int fast;                    /* in-memory links, no waiting (needs duration) */
    vtime_t duration;            /* run until this virtual time (0: until stopped) */
    double speed;                /* real time x speed [1] */
    int start_paused;            /* real time: paused until `ctl resume` */
    vtime_t pause_at;            /* real time: pause when the clock reaches it (0: no) */
    vtime_t snapshot_at;         /* write `snapshot_at_file` at this instant (0: no) */
    const char *snapshot_at_file;
    const char *restore;         /* continue from this snapshot file */
    const char *pcap_path;       /* the tap's pcap */
    const char *capture_iface;   /* real time, root: record IFACE with libpcap instead */
    const char *csv_path;        /* process values */
    const char *db_path;         /* the historian (SQLite) */
    vtime_t record_period;       /* [the plant file's historian.period, else 1 s] */
    const char *ctl_path;        /* [ctl_default_path(instance)]; "" for none */
    const struct range_at *ats;  /* injects */
    size_t nats;
    const struct range_label *labels;
    size_t nlabels;
    /* progress: called about every `progress_every` of virtual time in fast mode */
    void (*progress)(void *ctx, vtime_t now, vtime_t end);
    void *progress_ctx;
};
void range_opts_default(struct range_opts *o);

struct range;

/* Loads the plant file and programs and builds every device (nothing runs
 * yet). Errors name the file, line and column ("plants/x.yaml:40:11:
 * devices.sis.host: 10 is already the address of plc (line 31)"). */
struct range *range_new(const struct range_opts *o, struct err *e);
void range_free(struct range *r);

/* The device table printed at start: one line per device (name, kind,
 * address, protocol) after a header. */
void range_print_table(const struct range *r, FILE *f);

/* Runs until the duration, a `stop`, or SIGINT/SIGTERM. Returns 0 (the
 * duration or a stop), 1 (a signal; what was recorded is complete up to
 * that instant), or -1 with a message (a write failed: disk full ...). */
int range_run(struct range *r, struct err *e);

/* The virtual clock. */
vtime_t range_now(const struct range *r);
/* Unix nanoseconds of virtual time 0. */
int64_t range_start_unix_ns(const struct range *r);

/* "127.0.N.H:PORT" of the first PLC (static storage of r). */
const char *range_first_address(struct range *r);

/* Status as JSON (what `ctl status` prints): time, mode, speed, devices
 * with their PLC mode, keyswitch, program hash, counters by function code,
 * the HMI's view, plant metrics. A new reference. */
json_t *range_status(struct range *r);

/* Counters and identities for meta.json: seed, version, tags with units,
 * program hashes, transactions by function code per server and client. */
json_t *range_meta(struct range *r);

/* Saves a snapshot at the current instant. Returns 0 or -1. */
int range_snapshot(struct range *r, const char *path, struct err *e);

/* Labels an attack window from now (start) until range_label_end(). */
int range_label_start(struct range *r, const char *technique, const char *text, struct err *e);
int range_label_end(struct range *r, struct err *e);

/* After range_run() returned: the snapshot `ctl restore FILE` asked to
 * continue from (the caller builds a new range with opts.restore), or NULL. */
const char *range_restart_requested(const struct range *r);

/* Physics steps this process executed (a restored range counts from its
 * restore). */
uint64_t range_physics_steps(const struct range *r);

#endif
