/* runtime.h — the soft PLC around a Structured Text program.
 *
 * A PLC holds one program (compiled by src/st), its process image
 * (plc/image.h) and a mode. Each task of the program's configuration scans
 * at its interval on the virtual clock: read inputs (the device's hook
 * writes field values into %I, the keyswitch into its input word), copy the
 * image into the located variables, run the task's programs, copy the
 * located %Q and %M variables back to the image, write outputs (the hook
 * reads %Q). Network writes reach the image between scans, as on OpenPLC:
 * a register the program assigns every scan overwrites what the network
 * wrote.
 *
 * Modes. RUN scans; STOP does not (outputs off, or held, per configuration);
 * PROGRAM is STOP while a program is being transferred; FAULT is STOP after
 * a runtime error (division by zero, array bounds, watchdog) with its
 * diagnostic, until someone sets the mode again. The watchdog is
 * deterministic: a scan's virtual duration is its executed instructions
 * times `instruction_cost`, and a scan that would exceed `watchdog` faults
 * (so an endless loop faults, never hangs).
 *
 * The keyswitch is a field input only the instructor or the scenario sets
 * (plc_set_key): in RUN the PLC refuses program downloads and remote mode
 * changes; PROGRAM allows both; REMOTE allows remote mode changes but no
 * downloads. The runtime does not enforce it for local calls (the device
 * and the engineering access do, through plc_remote_allowed()).
 *
 * Every program installed is identified by the SHA-256 of its source text.
 * Events (mode changes, downloads with their hash and source, faults,
 * restarts, key changes) go to an observer: the historian and the IDS's
 * ground truth.
 *
 * Ownership: plc_new() returns a PLC freed with plc_free(); the image and
 * strings it returns live as long as the PLC (the program's until the next
 * install).
 */
#ifndef PLC_RUNTIME_H
#define PLC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/locaddr.h"
#include "core/sched.h"
#include "core/snap.h"
#include "plc/image.h"
#include "st/st.h"

enum plc_mode { PLC_STOP = 0, PLC_RUN, PLC_PROGRAM, PLC_FAULT };
enum plc_key { PLC_KEY_RUN = 0, PLC_KEY_PROGRAM, PLC_KEY_REMOTE };
enum plc_outputs_on_stop { PLC_OUTPUTS_OFF = 0, PLC_OUTPUTS_HOLD };

const char *plc_mode_name(enum plc_mode m);
const char *plc_key_name(enum plc_key k);
/* Parses "run", "program", "remote" (case-insensitive). Returns 0 or -1. */
int plc_key_parse(const char *s, enum plc_key *out);

struct plc_config {
    const char *name;            /* for messages and events */
    vtime_t default_interval;    /* tasks without INTERVAL [20 ms] */
    vtime_t watchdog;            /* a scan's longest virtual duration [100 ms] */
    vtime_t instruction_cost;    /* virtual time per instruction [10 ns] */
    enum plc_outputs_on_stop on_stop;
    enum plc_key key;            /* initial keyswitch position [RUN] */
    struct locaddr key_input;    /* where the program reads the key (a word:
                                    0 RUN, 1 PROGRAM, 2 REMOTE), if has_key_input */
    int has_key_input;
};
void plc_config_default(struct plc_config *c);

/* Field I/O of a device. */
struct plc_io_hooks {
    /* before a scan: write field values into the image's %I areas */
    void (*read_inputs)(void *ctx, struct plc_image *im, vtime_t now);
    /* after a scan (and when outputs go off at a stop): drive the field
     * from the image's %Q areas */
    void (*write_outputs)(void *ctx, const struct plc_image *im, vtime_t now);
};

enum plc_event_kind {
    PLC_EV_MODE,      /* text: "RUN -> STOP (remote, from 10.0.0.5)" */
    PLC_EV_DOWNLOAD,  /* a program installed: sha256, size, text */
    PLC_EV_FAULT,     /* a runtime error: text */
    PLC_EV_RESTART,
    PLC_EV_KEY,
    PLC_EV_REFUSED,   /* a remote request the keyswitch or a check refused */
};

struct plc_event {
    enum plc_event_kind kind;
    vtime_t t;
    const char *text;
    const uint8_t *sha256;  /* DOWNLOAD */
    size_t size;            /* DOWNLOAD: bytes of source */
};

typedef void (*plc_observe_fn)(void *ctx, const struct plc_event *ev);

struct plc;

/* A PLC on scheduler s, without a program (mode STOP). Returns NULL with a
 * message. */
struct plc *plc_new(struct sched *s, const struct plc_config *cfg, struct err *e);
void plc_free(struct plc *p);

/* Compiles and installs a program (replacing the current one, whose tasks
 * stop; retained values are not carried over to a new program). On a
 * compile error nothing changes and d (may be NULL) holds the diagnostics;
 * -1 with the first error in e. The PLC keeps its mode: RUN scans the new
 * program from the next interval. `origin` (may be NULL) says where it
 * came from, for the event. */
int plc_install(struct plc *p, const char *name, const char *text, size_t len,
                const char *origin, struct st_diags *d, struct err *e);
/* Reads a file and installs it. */
int plc_install_file(struct plc *p, const char *path, struct st_diags *d, struct err *e);

/* Mode changes; `origin` for the event ("local", "FC 90 from 10.0.0.5").
 * RUN without a program fails. Leaving FAULT clears the fault. */
int plc_set_mode(struct plc *p, enum plc_mode m, const char *origin, struct err *e);
enum plc_mode plc_mode(const struct plc *p);

void plc_set_key(struct plc *p, enum plc_key k);
enum plc_key plc_key(const struct plc *p);
/* 1 if the keyswitch lets the network change the mode (what = 'm') or
 * download a program (what = 'd'). */
int plc_remote_allowed(const struct plc *p, char what);

/* Warm restart: retained variables keep their values, the others return
 * to their initial values; cold: all do. */
int plc_restart(struct plc *p, int cold, struct err *e);

/* Reports an event that happened around the PLC (the engineering access's
 * refusals) to its observer. */
void plc_note_event(struct plc *p, enum plc_event_kind kind, const char *text);

void plc_set_io(struct plc *p, const struct plc_io_hooks *h, void *ctx);
void plc_set_observer(struct plc *p, plc_observe_fn fn, void *ctx);

struct plc_image *plc_image(struct plc *p);
/* The VM (NULL without a program): variables by name for tests and tools. */
struct st_vm *plc_vm(struct plc *p);

/* The program: name, source text and its SHA-256 (NULL/0 without one). */
const char *plc_program_name(const struct plc *p);
const char *plc_program_text(const struct plc *p, size_t *len);
const uint8_t *plc_program_sha256(const struct plc *p);
/* SHA-256 as 64 lower-case hex digits into buf (65 bytes). */
char *plc_sha256_hex(const uint8_t *sha, char *buf);

struct plc_stats {
    uint64_t scans;
    uint64_t instructions;      /* of the last scan */
    vtime_t last_scan, max_scan; /* virtual durations */
    uint64_t faults;
    uint64_t downloads;
    uint64_t mode_changes;
};
const struct plc_stats *plc_stats(const struct plc *p);
/* The last fault (kind ST_FAULT_NONE if none). */
const struct st_fault *plc_last_fault(const struct plc *p);

const char *plc_name(const struct plc *p);

/* ---- snapshots ----
 * plc_snap_save() writes the PLC's whole state into section `section` of
 * w: the program (name and source text), the VM's memory (every variable,
 * function-block instance and retained value), the process image, mode,
 * keyswitch, last fault, counters, and when each task scans next.
 * plc_snap_load() restores it into a PLC created with the same
 * configuration on a scheduler whose clock is at the snapshot's instant:
 * the saved program is compiled and installed if it is not the one
 * running (a program downloaded during the run survives the restore), and
 * the tasks continue at their saved times. No event is reported for the
 * restore itself. Returns 0, or -1 with a message. Snapshots are portable
 * between little-endian machines. */
void plc_snap_save(const struct plc *p, struct snapw *w, const char *section);
int plc_snap_load(struct plc *p, struct snapr *r, const char *section, struct err *e);

#endif
