/* mb_passive.h — the passive Modbus/TCP decoder: both directions of a TCP
 * connection read without taking part (what the IDS and the pcap tools use).
 *
 * Owns: per connection, one resumable framer per direction (mb_framer of
 * proto/modbus.h), the resynchronisation state of each direction, and a
 * bounded table of requests awaiting their response; per decoder, the
 * configuration, the counters and the scratch structs events point to.
 * Decoding and checking are the codec's (mb_req_decode, mb_rsp_decode,
 * mb_rsp_check): this module frames, pairs, resynchronises and reports.
 *
 * Input: bytes per direction in stream order, plus gaps (bytes known to be
 * missing), either from the TCP reassembler (net/tcp_reasm.h: install
 * mbp_tcpr_callbacks()) or from a caller that feeds (direction, bytes)
 * itself (mbp_conn_open / mbp_conn_feed / mbp_conn_gap / mbp_conn_close).
 * mbp_read_pcap() runs a whole capture file through pcap_reader + tcp_reasm
 * + this decoder.
 *
 * Output: one event per framed ADU (decoded as a request when it travels
 * client -> server, as a response server -> client), one per MBAP header
 * that cannot be framed, and one per request that never got a response
 * (see enum mbp_kind). A malformed ADU is an MBP_ADU event whose `status`
 * names the broken rule.
 *
 * Roles. The client sends requests, the server (the side on a server port,
 * 502 by default; cfg.server_ports) answers. With the reassembler: a
 * connection with exactly one side on a server port takes that side as the
 * server, even against the handshake (a SYN sent from port 502 is an
 * anomaly, and Wireshark classifies by port too; conn->swapped says so);
 * one with both sides on server ports keeps the reassembler's decision
 * (SYN sender = client); one with neither is not Modbus and is ignored.
 *
 * Resynchronisation. Nothing in a Modbus/TCP stream marks where a frame
 * starts. A gap that falls inside an ADU whose header was read (the common
 * case: a lost segment in the middle of a long frame) leaves the next
 * header's position known: the rest of that ADU is passed over and framing
 * goes on; the cut ADU is dropped and the next one carries MBP_F_AFTER_GAP.
 * Otherwise, after (a) any other gap, (b) an MBAP header that cannot be
 * framed (protocol id != 0, or length outside 2..254: reported once as an
 * MBP_BAD_FRAME event; junk or another protocol on the port shows up this
 * way), or (c) the start of a direction first seen mid-stream (the
 * reassembler saw no handshake), the direction "hunts": it slides over the
 * bytes, one at a time, until the next 8 bytes form a plausible header:
 *     protocol id 0, 2 <= length <= 254, and a function code byte that is
 *     1..127, or (server -> client only) 0x81..0xFF with length 3 (an
 *     exception response is exactly 2 PDU bytes).
 * A bad header's own bytes after its first are scanned too (the header may
 * have been misaligned by a few bytes). The first ADU framed after a hunt
 * carries MBP_F_RESYNC and the cause (MBP_F_AFTER_GAP / _AFTER_BAD /
 * _MIDSTREAM). `skipped` counts the bytes passed over before it (a bad
 * header's included). Outside a hunt the framer reads headers exactly like
 * a server: no plausibility test beyond the codec's framing rules, so a
 * stream that is framed stays framed.
 *
 * Pairing. Each request is remembered (a copy of its PDU, at most 253
 * bytes) until a response with the same transaction id comes back; the
 * response is paired with the oldest outstanding request of that id and,
 * when both decoded, checked with mb_rsp_check(). A response with no such
 * request is reported unmatched. At most cfg.max_outstanding requests are
 * remembered per connection: when the table is full the oldest is given up
 * (MBP_UNANSWERED, MBP_F_EVICTED); requests still outstanding at close are
 * reported the same way (MBP_F_CLOSED).
 *
 * Memory: per connection a fixed state of about 800 bytes, plus the request
 * table, which starts at 4 entries and doubles when full up to
 * max_outstanding entries of about 300 bytes (74 KiB at the default 256).
 * Nothing is allocated per ADU. Single-threaded; deterministic.
 */
#ifndef PROTO_MB_PASSIVE_H
#define PROTO_MB_PASSIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/tcp_reasm.h"
#include "proto/modbus.h"

#define MBP_DEFAULT_MAX_OUTSTANDING 256
#define MBP_MAX_OUTSTANDING 65536 /* one per transaction id */

/* Configuration; a zero field takes its default. Copied by mbp_new(). */
struct mbp_config {
    const uint16_t *server_ports; /* NULL: {502}; copied (at most 64) */
    size_t nserver_ports;
    size_t max_outstanding;       /* requests remembered per connection; default 256,
                                     at most MBP_MAX_OUTSTANDING */
    int accept_unknown;           /* function codes the codec does not know decode as
                                     raw data (MB_OK) instead of MB_BAD_FUNCTION */
};

/* A connection as the decoder sees it, in Modbus orientation: index
 * TCPR_C2S is the client, TCPR_S2C the server. */
struct mbp_conn_info {
    uint64_t id;       /* the reassembler's connection id, or the caller's */
    uint32_t ip[2];    /* host byte order; 0 when unknown */
    uint16_t port[2];
    int midstream;     /* the streams' start was not seen: both directions hunt first */
    int swapped;       /* the server port rule overrode the handshake (the SYN came
                          from the server's side) */
};

enum mbp_kind {
    MBP_ADU = 0,    /* a framed ADU: a request (dir TCPR_C2S) or a response (TCPR_S2C),
                       well-formed (status MB_OK) or malformed (status says why) */
    MBP_BAD_FRAME,  /* an MBAP header that cannot be framed: status MB_BAD_PROTOCOL or
                       MB_BAD_LENGTH, h holds its fields as read; the direction hunts */
    MBP_UNANSWERED, /* a request given up without a response (MBP_F_EVICTED or
                       MBP_F_CLOSED); the event describes the request as it arrived */
};

/* Event flags. */
#define MBP_F_RESYNC 0x01    /* this ADU's header was found by a hunt */
#define MBP_F_AFTER_GAP 0x02 /* the first ADU after a gap (found by a hunt when
                                with MBP_F_RESYNC, else right after the cut ADU) */
#define MBP_F_AFTER_BAD 0x04 /* the hunt began at a bad header */
#define MBP_F_MIDSTREAM 0x08 /* the hunt began at the start of a mid-stream direction */
#define MBP_F_EVICTED 0x10   /* UNANSWERED: pushed out of the full request table */
#define MBP_F_CLOSED 0x20    /* UNANSWERED: still outstanding when the connection closed */

/* mbp_event.check when no check was made (no match, or either side malformed). */
#define MBP_CHECK_NONE 1

/* A remembered request, as given with the response that answers it. */
struct mbp_request {
    struct mb_mbap h;
    int status;                /* what mb_req_decode said of it */
    const struct mb_req *req;  /* decoded again from the stored copy */
    const uint8_t *pdu;        /* the stored copy */
    size_t pdu_len;
    int64_t ts_ns;             /* when it was framed */
    uint64_t pkt_no;
};

/* What an event callback gets. Every pointer in it (conn, pdu, req, rsp,
 * match and what they point to) is valid during the callback only: copy
 * what you keep. */
struct mbp_event {
    enum mbp_kind kind;
    const struct mbp_conn_info *conn;
    enum tcpr_dir dir;         /* TCPR_C2S: client -> server (requests) */
    int64_t ts_ns;             /* time of the bytes that completed it (UNANSWERED: of
                                  the request) */
    uint64_t pkt_no;           /* the frame set by mbp_set_frame() when the last byte
                                  of the ADU (or of the bad header) was fed; 0 if none.
                                  UNANSWERED: the request's */
    unsigned flags;            /* MBP_F_* */
    uint64_t skipped;          /* bytes passed over just before this ADU (by a hunt,
                                  or the rest of an ADU cut by a gap) */
    struct mb_mbap h;          /* the MBAP header */
    uint8_t fc_byte;           /* the PDU's first byte (0 for BAD_FRAME) */
    uint8_t fc;                /* fc_byte & 0x7F: exceptions count under their function */
    int status;                /* MB_OK, or the codec's status for what is wrong */
    const uint8_t *pdu;        /* the PDU (function code first); NULL for BAD_FRAME */
    size_t pdu_len;
    const struct mb_req *req;  /* requests and UNANSWERED: decoded (on failure the
                                  fields read so far); else NULL */
    const struct mb_rsp *rsp;  /* responses: decoded, as req; else NULL */
    const struct mbp_request *match; /* responses: the request paired by transaction
                                  id, or NULL (unmatched) */
    int check;                 /* responses with a match, both MB_OK: mb_rsp_check();
                                  else MBP_CHECK_NONE */
};

/* The event callback. It may read the decoder's counters; it must not feed,
 * gap or close the connection the event is about, nor free the decoder. */
typedef void (*mbp_event_fn)(void *ctx, const struct mbp_event *ev);

/* Counters over the decoder's life; [d] by direction. */
struct mbp_stats {
    uint64_t conns;          /* connections decoded (opened) */
    uint64_t ignored_conns;  /* reassembler connections with no side on a server port */
    uint64_t adus[2];        /* MBP_ADU events */
    uint64_t malformed[2];   /* of which status != MB_OK */
    uint64_t bad_frames[2];  /* MBP_BAD_FRAME events */
    uint64_t resyncs[2];     /* ADUs found by a hunt */
    uint64_t skipped[2];     /* bytes passed over: by hunts (bad headers included, and
                                the hunt window at a gap or close), and the rest of
                                ADUs cut by a gap */
    uint64_t gaps[2];        /* gaps reported */
    uint64_t cut_bytes[2];   /* bytes of partial ADUs dropped at a gap or close.
                                Every byte fed is in an ADU, skipped or cut. */
    uint64_t matched;        /* responses paired with a request */
    uint64_t unmatched;      /* responses without one */
    uint64_t evicted;        /* requests pushed out of a full table */
    uint64_t unanswered;     /* requests outstanding at close */
    uint64_t oom;            /* allocation failures (connection ignored, or table not
                                grown: the oldest request was evicted instead) */
};

struct mbp;
struct mbp_conn;

/* Creates a decoder reporting to fn(ctx, ...). cfg may be NULL (defaults).
 * Returns NULL on a bad configuration or allocation failure (message in
 * e). Free with mbp_free(). */
struct mbp *mbp_new(const struct mbp_config *cfg, mbp_event_fn fn, void *ctx, struct err *e);

/* Frees the decoder and any connection still open, without events. NULL is
 * a no-op. */
void mbp_free(struct mbp *p);

/* The frame number events record as pkt_no until the next call (0: none).
 * A caller feeding a capture sets it before feeding each frame. */
void mbp_set_frame(struct mbp *p, uint64_t pkt_no);

/* The counters; valid until the next call on the decoder. */
const struct mbp_stats *mbp_stats(const struct mbp *p);

/* ---- feeding directly ---- */

/* Opens a connection (info copied; NULL: id 0, nothing known, start of
 * both streams seen). Returns NULL on allocation failure (message in e).
 * Release with mbp_conn_close(); mbp_free() also releases it. */
struct mbp_conn *mbp_conn_open(struct mbp *p, const struct mbp_conn_info *info, struct err *e);

/* Feeds len bytes of direction d (TCPR_C2S: from the client) in stream
 * order; events for what they complete are reported before it returns.
 * The bytes are read during the call only. */
void mbp_conn_feed(struct mbp_conn *c, enum tcpr_dir d, const uint8_t *data, size_t len,
                   int64_t ts_ns);

/* missing (> 0) bytes of direction d are lost: the partial ADU is dropped,
 * and the direction either skips to the next header (when the gap ends
 * inside the ADU whose header was read) or hunts (see the top). */
void mbp_conn_gap(struct mbp_conn *c, enum tcpr_dir d, uint64_t missing, int64_t ts_ns);

/* Reports the requests still outstanding (MBP_UNANSWERED, MBP_F_CLOSED,
 * oldest first), drops partial ADUs and frees the connection. NULL is a
 * no-op. */
void mbp_conn_close(struct mbp_conn *c, int64_t ts_ns);

/* ---- fed by the reassembler ---- */

/* Fills cb so that a reassembly table drives the decoder: on_open opens a
 * connection for each TCP connection with a side on a server port and
 * keeps it in tcpr_conn.user (which the decoder then owns), on_data and
 * on_gap feed it in Modbus orientation, on_close closes it. Create the
 * table with the same server ports in its config (so that mid-stream
 * connections are oriented alike), call tcpr_finish() before tcpr_free()
 * and mbp_free(). */
void mbp_tcpr_callbacks(struct mbp *p, struct tcpr_callbacks *cb);

/* ---- a whole capture ---- */

/* Reads a capture file (pcap or pcapng) through pcap_reader and tcp_reasm
 * (default limits, cfg's server ports) into a decoder built from cfg, and
 * reports every event to fn. pkt_no in events is the 1-based frame number
 * of the frame whose TCP segment delivered the ADU's last byte (for bytes
 * the reassembler held out of order, the frame that filled the hole; 0 for
 * bytes delivered only at the end of the file). If st is not NULL it
 * receives the decoder's counters. Returns 0, or -1 if the file cannot be
 * opened or is damaged ("FILE: why" in e; the events before the damage
 * were reported and the connections closed). */
int mbp_read_pcap(const char *path, const struct mbp_config *cfg, mbp_event_fn fn, void *ctx,
                  struct mbp_stats *st, struct err *e);

/* Name of an event kind ("adu", "bad frame", "unanswered"). */
const char *mbp_kind_name(enum mbp_kind k);

#endif
