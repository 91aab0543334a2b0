/* range_int.h — what the range's files share: the device specification read
 * from the plant file, and the range itself. Not a public contract. */
#ifndef RANGE_RANGE_INT_H
#define RANGE_RANGE_INT_H

#include <stdio.h>

#include "core/cfg.h"
#include "core/loop.h"
#include "core/sched.h"
#include "core/snap.h"
#include "devices/hmi.h"
#include "devices/plc_device.h"
#include "historian/historian.h"
#include "net/capture.h"
#include "net/link.h"
#include "net/tap_pcap.h"
#include "range/ctl.h"
#include "range/range.h"
#include "sim/plant.h"

#define RANGE_MAX_DEVICES 32
#define RANGE_MAX_BLOCKS 16
#define RANGE_MAX_ALARMS 32

enum range_kind { RK_PLC = 0, RK_SIS, RK_HMI };

struct range_alarm {
    struct locaddr addr;   /* a bit of the PLC's image (%QX, or %IX) */
    char *text;
    int trip;              /* 1: an SIS trip (event kind sis_trip) */
    int last;              /* last value seen */
};

/* One block an HMI reads from one PLC. */
struct range_read {
    int target;            /* index of the PLC device */
    struct hmi_block b;
};

struct range_dev {
    char *name;
    enum range_kind kind;
    int host;              /* 127.0.N.host */
    int line;              /* where it is declared, for messages */
    /* PLC and SIS */
    char *program_path;    /* as resolved (for messages) */
    char *program_text;    /* loaded at range_new (or from the snapshot) */
    size_t program_len;
    enum plc_key key;
    int has_key_input;
    struct locaddr key_input;
    int password_mode;     /* 0 random, 1 none, 2 default, 3 given */
    char *password;
    double budget;         /* requests per second, 0 unlimited */
    int max_connections;
    char *vendor, *product;
    struct range_alarm alarms[RANGE_MAX_ALARMS];
    size_t nalarms;
    /* HMI */
    vtime_t period;
    struct range_read reads[RANGE_MAX_BLOCKS * 4];
    size_t nreads;
    /* built */
    struct net_addr addr;
    struct plc_device *plc;
    struct hmi *hmi;
    struct range *r;
};

struct range_spec {
    struct range_dev dev[RANGE_MAX_DEVICES];
    size_t ndev;
    uint16_t port;          /* Modbus port [502] */
    uint16_t fallback_port; /* when 502 cannot be bound [5020] */
    vtime_t record_period;  /* historian.period [1 s] */
};

/* Reads `devices`, `network` and `historian` of a loaded plant file whose
 * plant is p (wiring names must be devices). Programs are read relative to
 * `base_dir` unless `programs_from` supplies them (a snapshot: a callback
 * giving a device's saved program text, or NULL). Returns 0 or -1 with
 * "file:line:col: message". */
typedef const char *(*range_program_fn)(void *ctx, const char *device, size_t *len);
int range_spec_load(struct range_spec *sp, struct cfg *c, const struct plant *p,
                    const char *base_dir, range_program_fn programs_from, void *ctx,
                    struct err *e);
void range_spec_free(struct range_spec *sp);

struct range_inject {
    vtime_t when;
    char *text;
    struct plant_cmd cmd;  /* a plant command, unless hmi >= 0 */
    int hmi;               /* an operator write: the HMI device's index, else -1 */
    size_t target;         /* the HMI's target */
    int coil;              /* 1: FC 5 coil, 0: FC 6 holding register */
    uint16_t addr, value;
    struct range *r;
    int task;
};

struct range_lab {
    vtime_t from, to;      /* to = VT_NEVER: open */
    char *technique, *text;
    int64_t hist_id;
};

struct range {
    struct range_opts o;
    char *plant_path;
    char *plant_text;      /* the plant file as loaded (saved in snapshots) */
    size_t plant_len;
    char **sets;           /* --set overrides */
    size_t nsets;
    struct cfg *cfg;
    struct plant *plant;
    struct range_spec spec;
    struct sched *s;
    struct rtloop *loop;   /* real time only */
    uv_timer_t poll_timer; /* real time: commits the historian's batch */
    int poll_timer_on;
    struct net *net;
    struct tapw *tap;
    struct cap *cap;
    struct hist *hist;
    struct ctl_server *ctl;
    /* recording */
    struct csvw *csv;
    int ts_decimals;
    int *decimals;
    size_t ncols;
    double *row;
    int record_task;
    vtime_t record_period;
    /* injects and labels */
    struct range_inject *injects;
    size_t ninjects;
    struct range_lab *labels;
    size_t nlabels;
    /* state */
    vtime_t restored_at;   /* VT_NEVER when not restored */
    vtime_t end;           /* VT_NEVER: until stopped */
    int stop;
    int paused;
    double speed;
    uint64_t steps_at_start;
    int write_failed;
    struct err write_err;
    uint16_t port;         /* the Modbus port the PLCs listen on */
    char *restart_path;    /* ctl restore */
    char *plant_sha256;    /* hex */
    struct range_saved *saved; /* while range_new restores */
};

/* Reads a whole file into a new NUL-terminated buffer (free()). */
char *range_read_file_new(const char *path, size_t *len, struct err *e);

/* range_snap.c */
int range_snap_save(struct range *r, const char *path, struct err *e);
/* Reads a snapshot's "range" section: the plant text, sets, seed, time,
 * and per device its program and alarm states, injects, labels. Strings
 * point into rd's buffer (valid until range_snap_close). */
struct range_saved_dev {
    const char *name;
    const char *program;
    size_t program_len;
    uint32_t nalarms;
    uint8_t alarm_last[RANGE_MAX_ALARMS];
    const char *password;  /* a random engineering password it drew, or NULL */
};
struct range_saved {
    struct snapr *rd;
    const char *plant_path, *plant_text;
    size_t plant_len;
    uint64_t seed;
    vtime_t t;
    size_t nsets;
    const char **sets;   /* NULL-terminated */
    struct range_saved_dev dev[RANGE_MAX_DEVICES];
    size_t ndev;
    size_t ninjects;
    vtime_t *inject_when;
    const char **inject_text;
    size_t nlabels;
    struct range_label *labels;
};
int range_snap_open(const char *path, struct range_saved *out, struct err *e);
/* The same from a loaded snapshot, whose ownership passes to out (also on
 * error: it is freed). */
int range_snap_read(struct snapr *rd, struct range_saved *out, struct err *e);
void range_snap_close(struct range_saved *s);
const char *range_snap_program(void *ctx, const char *device, size_t *len);
/* The random engineering password a device drew, or NULL. */
const char *range_snap_password(const struct range_saved *s, const char *device);
/* After every module is built: restores their state. */
int range_snap_restore(struct range *r, struct range_saved *s, struct err *e);

/* range_ctl.c: the control socket's handler */
json_t *range_ctl_handle(void *ctx, json_t *req);

/* range.c helpers the others use */
void range_log(struct range *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int range_add_inject(struct range *r, vtime_t when, const char *text, struct err *e);
int range_add_label(struct range *r, vtime_t from, vtime_t to, const char *technique,
                    const char *text, struct err *e);
void range_set_speed(struct range *r, double speed);
void range_request_stop(struct range *r);

#endif
