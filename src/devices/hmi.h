/* hmi.h — the HMI's backend: a Modbus/TCP client that polls the PLCs.
 *
 * An operator station sees the plant only through what it reads over the
 * network: every `period` it reads, from each target (a PLC), the blocks
 * of its map the screens show, one request per block, over its own link,
 * as SCADA drivers do. It keeps the last values and when they came. A
 * poll that fails (no answer within the timeout, a refused connection,
 * an exception such as 06 when the PLC's comms budget is spent) marks the
 * target's view stale: a flood costs the operator the view, not the
 * plant. The web HMI and the instructor read these values; the operator's
 * writes go out on the same connection.
 *
 * Time is the virtual clock of the net's scheduler; the first poll is at
 * the time the HMI is created (or a restored phase, hmi_snap_load()).
 *
 * Ownership: hmi_new() returns an HMI freed with hmi_free(); the net must
 * outlive it. Config strings and arrays are copied.
 */
#ifndef DEVICES_HMI_H
#define DEVICES_HMI_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/snap.h"
#include "net/link.h"
#include "proto/mb_client.h"
#include "proto/mb_server.h"

/* A block of a target's map the HMI reads each period. */
struct hmi_block {
    enum mb_table table;
    uint16_t start, count;
};

struct hmi_target {
    const char *name;          /* the PLC's device name */
    struct net_addr addr;      /* its Modbus server */
    uint8_t unit;
    const struct hmi_block *blocks;
    size_t nblocks;
};

struct hmi_config {
    const char *name;          /* for messages ["hmi"] */
    vtime_t period;            /* [1 s] */
    vtime_t timeout;           /* per request [period / 2, at most 1 s] */
    struct net_addr from;      /* the HMI's own address (port 0: any) */
    const struct hmi_target *targets;
    size_t ntargets;
};

/* Something the operator should know (view lost or back), at time t. */
typedef void (*hmi_log_fn)(void *ctx, vtime_t t, const char *msg);

struct hmi;

struct hmi *hmi_new(struct net *net, const struct hmi_config *c, hmi_log_fn log, void *log_ctx,
                    struct err *e);
void hmi_free(struct hmi *h);

/* Stops polling and closes every connection gracefully (FIN): the
 * operator station shutting down. Requests still out are abandoned, and
 * nothing more is logged. */
void hmi_stop(struct hmi *h);
/* Targets with an open connection. */
size_t hmi_nconnected(const struct hmi *h);

size_t hmi_ntargets(const struct hmi *h);
/* Index of a target by name, or -1. */
int hmi_find(const struct hmi *h, const char *name);

/* The last value read of one register (coils and discrete inputs: 0/1).
 * Returns 0, or -1 if the HMI does not poll that address or has no value
 * yet. */
int hmi_value(const struct hmi *h, size_t target, enum mb_table table, uint16_t addr,
              uint16_t *out);

struct hmi_view {
    int fresh;            /* 1: the last poll succeeded entirely */
    vtime_t updated;      /* time of the last complete poll (VT_NEVER: none) */
    uint64_t polls;       /* polls started */
    uint64_t complete;    /* polls whose every request succeeded */
    uint64_t failed;      /* polls with a failed request */
    uint64_t skipped;     /* periods skipped: the previous poll was still out */
    char last_error[128]; /* why the view went stale ("" when fresh) */
};
const struct hmi_view *hmi_target_view(const struct hmi *h, size_t target);

/* The target's client counters (transactions by function code). */
const struct mb_client_stats *hmi_client_stats(const struct hmi *h, size_t target);

/* The operator writes one holding register (FC 6) or one coil (FC 5) on
 * a target; fn (may be NULL) gets the result. Returns 0 or -1. */
int hmi_write_register(struct hmi *h, size_t target, uint16_t addr, uint16_t value,
                       mb_result_fn fn, void *ctx, struct err *e);
int hmi_write_coil(struct hmi *h, size_t target, uint16_t addr, int on, mb_result_fn fn,
                   void *ctx, struct err *e);

/* Snapshots: the values and the polling phase (section `section`). A
 * restored HMI has no connection yet; it reconnects at its next poll. */
void hmi_snap_save(const struct hmi *h, struct snapw *w, const char *section);
int hmi_snap_load(struct hmi *h, struct snapr *r, const char *section, struct err *e);

#endif
