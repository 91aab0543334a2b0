/* mb_server.h — an event-driven Modbus/TCP server on links.
 *
 * Many clients at once, each connection with its own resumable framer; a
 * dispatch table from function code to handler, which a device may extend
 * (the PLC's engineering access adds FC 90); hooks through which a device
 * maps each data table onto its own memory. Behaviour, all configurable
 * (struct mb_server_config):
 *
 * - Unit ids. A direct device answers the unit ids it is given (by default
 *   0, 1 and 255, which pymodbus, mbpoll, libmodbus and nmap send) and
 *   stays silent for others (counted as "no response"). A gateway routes
 *   each configured unit id to its own map and answers others with
 *   exception 0x0B (gateway target failed to respond).
 * - Exceptions follow the specification's state diagrams: function code
 *   supported (01), quantity and byte count (03), address range (02), then
 *   execution: 02 when the device's hook does not map an address, 04 when
 *   it reports a failure. 06 (server busy) when the device's comms budget
 *   (requests per second, a token bucket on the virtual clock: a model of a
 *   real PLC's communication processor) is exhausted.
 * - FC 8 force-listen-only applies to the whole device (every connection)
 *   until a restart-communications (FC 8/01), which it executes silently.
 * - A connection limit (real PLCs have few slots): beyond it a connection
 *   is accepted and closed at once, and logged. An idle timeout closes
 *   connections that send nothing.
 * - A frame with protocol id != 0 or a length field out of range is
 *   dropped and its connection closed; no other connection notices.
 * - Output is buffered up to a cap per connection: a client that stops
 *   reading is reset when its pending responses reach the cap, so memory
 *   stays bounded.
 *
 * Time (budget, idle timeout) is the virtual clock of the net's scheduler.
 * Ownership: mb_server_new() returns a server freed with mb_server_free(),
 * which closes its connections and listeners. Config strings are copied.
 */
#ifndef PROTO_MB_SERVER_H
#define PROTO_MB_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/snap.h"
#include "net/link.h"
#include "proto/modbus.h"

enum mb_table {
    MB_COILS = 0,
    MB_DISCRETE_INPUTS = 1,
    MB_HOLDING_REGISTERS = 2,
    MB_INPUT_REGISTERS = 3,
};

/* A device's data, as the server sees it. Each hook returns 0 or a Modbus
 * exception code: MB_EX_ILLEGAL_DATA_ADDRESS when part of the range is not
 * mapped, MB_EX_SERVER_DEVICE_FAILURE when the device cannot do it now.
 * Quantities and address + quantity <= 65536 are checked before a hook is
 * called. Bits are packed LSB first; `bits` arrives zeroed for reads. A
 * NULL hook makes its table unmapped (every access: 02). */
struct mb_map_ops {
    int (*read_bits)(void *ctx, enum mb_table t, uint16_t addr, uint16_t qty, uint8_t *bits);
    int (*write_bits)(void *ctx, uint16_t addr, uint16_t qty, const uint8_t *bits); /* coils */
    int (*read_regs)(void *ctx, enum mb_table t, uint16_t addr, uint16_t qty, uint16_t *regs);
    int (*write_regs)(void *ctx, uint16_t addr, uint16_t qty, const uint16_t *regs); /* holding */
};

/* One extended device-identification object (ids 0x80-0xFF). */
struct mb_devid_extra {
    uint8_t id;
    const char *value;
};

struct mb_server_config {
    /* FC 43/14 objects 0x00-0x06 (NULL: absent; 0x00-0x02 are mandatory
     * and default to "icsrange", "icsrange", the version) */
    const char *vendor_name, *product_code, *revision;
    const char *vendor_url, *product_name, *model_name, *user_app_name;
    const struct mb_devid_extra *extra; /* extended objects, n_extra of them */
    size_t n_extra;
    /* FC 17: the server id bytes, then the run indicator (0xFF when
     * `running`), then additional data */
    const uint8_t *server_id;
    size_t server_id_len;
    int running;
    const char *server_id_additional;
    /* units: a direct device answers `unit_ids` (n_unit_ids of them;
     * 0 = the default 0, 1, 255) with the map given to mb_server_new; a
     * gateway answers routes added with mb_server_route() and 0x0B else */
    int gateway;
    const uint8_t *unit_ids;
    size_t n_unit_ids;
    /* limits (0 = the default in brackets) */
    int max_connections;      /* [16]; -1: unlimited */
    vtime_t idle_timeout;     /* [60 s]; negative: none */
    size_t output_cap;        /* [65536 bytes of pending output] */
    double budget_rate;       /* requests per second; 0: unlimited */
    double budget_burst;      /* bucket size [max(1, rate)] */
};

/* Fills the defaults (all zeroes mean defaults too; this makes them
 * visible). */
void mb_server_config_default(struct mb_server_config *c);

struct mb_server;

/* Creates a server on net `n` whose direct units read and write `map`
 * (may be NULL for a pure gateway). Returns NULL with a message. */
struct mb_server *mb_server_new(struct net *n, const struct mb_server_config *cfg,
                                const struct mb_map_ops *map, void *map_ctx, struct err *e);
void mb_server_free(struct mb_server *s);

/* Listens on an address (may be called for several). Returns 0 or -1. */
int mb_server_listen(struct mb_server *s, const struct net_addr *addr, struct err *e);
/* The address of the n-th listener (n from 0), or NULL. */
const struct net_addr *mb_server_addr(const struct mb_server *s, size_t n);

/* Gateway: requests for `unit` go to `map`. Returns 0 or -1. */
int mb_server_route(struct mb_server *s, uint8_t unit, const struct mb_map_ops *map, void *ctx);

/* What a handler knows of the request it serves. */
struct mb_request_info {
    uint64_t link_id;
    const struct net_addr *peer;  /* client address and port */
    const struct net_addr *local; /* the server's address */
    uint8_t unit;
    uint16_t tid;
    vtime_t t;
};

/* An extension handler for one function code: gets the request PDU
 * (function code first) and writes the response PDU into out (MB_MAX_PDU
 * bytes). Returns the response length (> 0), 0 to send no response, or
 * -code to answer with exception `code`. */
typedef int (*mb_handler_fn)(void *ctx, const struct mb_request_info *info, const uint8_t *pdu,
                             size_t len, uint8_t *out);

/* Installs (or with fn NULL removes) a handler for `fc`. A handler for a
 * standard function code replaces the built-in one. Returns 0 or -1. */
int mb_server_set_handler(struct mb_server *s, uint8_t fc, mb_handler_fn fn, void *ctx);

/* Observer of every request handled (response sent or not): for counters,
 * the historian and the IDS's ground truth. `rsp` is NULL when no response
 * was sent (listen-only, unknown unit); an exception response is a PDU
 * with fc | 0x80. */
typedef void (*mb_observe_fn)(void *ctx, const struct mb_request_info *info,
                              const uint8_t *req, size_t req_len, const uint8_t *rsp,
                              size_t rsp_len);
void mb_server_set_observer(struct mb_server *s, mb_observe_fn fn, void *ctx);

/* Log lines (connection refused at the limit, malformed frame dropped,
 * output cap reached, idle timeout) go to fn; level 0 error, 1 warn,
 * 2 info, 3 debug (core/log.h's order). */
typedef void (*mb_log_fn)(void *ctx, int level, const char *msg);
void mb_server_set_log(struct mb_server *s, mb_log_fn fn, void *ctx);

/* Counters. */
struct mb_server_stats {
    uint64_t connections;       /* accepted */
    uint64_t refused;           /* closed at the connection limit */
    uint64_t frames;            /* ADUs framed (FC 8 bus message count) */
    uint64_t dropped;           /* malformed MBAP: connection closed */
    uint64_t responses;
    uint64_t exceptions;
    uint64_t no_response;
    uint64_t busy;              /* 06 for the budget */
    uint64_t output_cap_resets;
    uint64_t idle_closes;
    uint64_t by_fc[256];        /* completed transactions by function code */
};
const struct mb_server_stats *mb_server_stats(const struct mb_server *s);

/* Live connections. */
size_t mb_server_nconnections(const struct mb_server *s);

/* 1 while the device is in listen-only mode (FC 8/04). */
int mb_server_listen_only(const struct mb_server *s);

/* Snapshots: the device's state the protocol defines (listen-only mode,
 * the FC 8 diagnostic counters, the comms budget's bucket) into section
 * `section`. Connections are not part of it (a restored range has none),
 * nor are mb_server_stats(), which count this process's work. */
void mb_server_snap_save(const struct mb_server *s, struct snapw *w, const char *section);
int mb_server_snap_load(struct mb_server *s, struct snapr *r, const char *section,
                        struct err *e);

#endif
