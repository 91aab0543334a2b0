/* mb_client.h — a Modbus/TCP client on links.
 *
 * Event-driven: mb_client_send() queues a request and calls back once with
 * its result; several requests may be on the wire at once (pipelining, up
 * to max_inflight), matched to their responses by transaction id whatever
 * the order of arrival. Each attempt has a timeout on the virtual clock;
 * after it the request is sent again with a new transaction id, up to
 * `retries` times, and a late answer to an abandoned attempt is counted
 * and ignored. The connection is made on the first request and remade
 * after a loss.
 *
 * Synchronous: mb_client_call() runs a real-time loop (sockets) until the
 * result is in: what the command-line tools use.
 *
 * Ownership: the client owns its connection; mb_client_free() drops queued
 * requests without calling their callbacks. A result's pointers (the PDU
 * and what the decoded response points to) are valid during the callback.
 */
#ifndef PROTO_MB_CLIENT_H
#define PROTO_MB_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "net/link.h"
#include "proto/modbus.h"

struct mb_client_opts {
    vtime_t timeout;        /* per attempt [1 s] */
    int retries;            /* attempts after the first one [0] */
    int max_inflight;       /* requests on the wire at once [1] */
    struct net_addr from;   /* source address when has_from */
    int has_from;
};
void mb_client_opts_default(struct mb_client_opts *o);

enum mb_client_status {
    MB_CLIENT_OK = 0,        /* a response arrived (it may be an exception) */
    MB_CLIENT_TIMEOUT,       /* no response after every attempt */
    MB_CLIENT_CONNECT,       /* the connection could not be made */
    MB_CLIENT_CLOSED,        /* the connection ended before the response */
    MB_CLIENT_MALFORMED,     /* the response could not be decoded or does not match */
};

struct mb_result {
    enum mb_client_status status;
    int sys_errno;           /* for CONNECT / CLOSED: the system's reason, if known */
    int decode;              /* for MALFORMED: the mb_status found */
    uint8_t unit;
    uint16_t tid;
    int attempts;
    vtime_t rtt;             /* send of the last attempt to response */
    const uint8_t *pdu;      /* the response PDU (OK, MALFORMED) */
    size_t pdu_len;
    struct mb_rsp rsp;       /* decoded (OK) */
};

typedef void (*mb_result_fn)(void *ctx, const struct mb_result *r);

struct mb_client;

/* A client of `server` on net `n`. Returns NULL with a message. */
struct mb_client *mb_client_new(struct net *n, const struct net_addr *server,
                                const struct mb_client_opts *o, struct err *e);
void mb_client_free(struct mb_client *c);

/* Queues a request (encoded now, with its limits checked: a bad request
 * fails here with a message). fn is called exactly once, later. */
int mb_client_send(struct mb_client *c, uint8_t unit, const struct mb_req *req,
                   mb_result_fn fn, void *ctx, struct err *e);

/* Queues a request given as a PDU, sent as it is (no limit checked): for
 * extension function codes and for malformed requests. */
int mb_client_send_pdu(struct mb_client *c, uint8_t unit, const uint8_t *pdu, size_t len,
                       mb_result_fn fn, void *ctx, struct err *e);

/* Sends raw bytes on the connection (making it if needed), outside any
 * transaction: for malformed frames. Returns 0 or -1. */
int mb_client_send_raw(struct mb_client *c, const uint8_t *bytes, size_t len, struct err *e);

/* Requests queued or on the wire. */
size_t mb_client_pending(const struct mb_client *c);

/* 1 while connected. */
int mb_client_connected(const struct mb_client *c);

/* Closes the connection (gracefully); the next request reconnects. */
void mb_client_disconnect(struct mb_client *c);

struct mb_client_stats {
    uint64_t requests;     /* attempts sent */
    uint64_t responses;
    uint64_t exceptions;
    uint64_t timeouts;     /* attempts that timed out */
    uint64_t unmatched;    /* responses to no pending attempt */
    uint64_t connects;
    uint64_t by_fc[256];   /* completed transactions by function code */
};
const struct mb_client_stats *mb_client_stats(const struct mb_client *c);

/* Synchronous call over a real-time loop: sends, runs `loop` until the
 * result is in, copies it to *out (its PDU into pdu_store, MB_MAX_PDU
 * bytes, which the decoded response then points into). Returns 0 when a
 * result came (any status), -1 with a message if the request could not be
 * sent or the loop was interrupted. */
int mb_client_call(struct mb_client *c, struct rtloop *loop, uint8_t unit, const struct mb_req *req,
                   struct mb_result *out, uint8_t *pdu_store, struct err *e);
/* The same for a request given as a PDU. */
int mb_client_call_pdu(struct mb_client *c, struct rtloop *loop, uint8_t unit, const uint8_t *pdu,
                       size_t len, struct mb_result *out, uint8_t *pdu_store, struct err *e);

/* "timeout", "connection refused" ... for a result. */
const char *mb_client_status_name(enum mb_client_status s);

#endif
