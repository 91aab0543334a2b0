/* tcp_reasm.h — TCP stream reassembly for passive observers (the IDS, the
 * pcap tools): parsed TCP segments in, each direction's byte stream out, in
 * sequence order, with holes reported as gaps.
 *
 * Owns: a table of connections keyed by the 4-tuple (both directions of a
 * connection share one entry), each with two directions' out-of-order
 * buffers. It never reads files or sockets: segments come from
 * pcapr_next() (net/pcap_reader.h) or from any other source through
 * tcpr_feed(), which is how live traffic is fed the same way.
 *
 * Model
 *   - The side that sent the SYN is the client (the side that sent a SYN+ACK
 *     is the server). A connection first seen mid-stream takes the side on a
 *     known server port (config; default 502) as the server, else a side on
 *     a port below 1024 when the other is not, else the destination of its
 *     first packet.
 *   - Each direction is a stream of bytes numbered from 0 ("offsets", 64
 *     bits): offset 0 is the byte after the SYN, or for a direction seen
 *     mid-stream the first sequence number of its first segment that carries
 *     data or a FIN. Sequence numbers are compared in 32-bit serial
 *     arithmetic relative to the next expected byte, so wrap-around at 2^32
 *     is invisible; a segment more than 2^30 bytes ahead is out of window
 *     and dropped, one behind is a retransmission.
 *   - Bytes are delivered once, in order, through on_data. Retransmitted
 *     bytes and the overlapping parts of partially overlapping segments are
 *     dropped: the first copy of a byte wins. SYN and FIN each take one
 *     sequence number; data past a FIN is dropped.
 *   - Out-of-order segments are copied into a per-direction buffer. A hole
 *     is given up, reported through on_gap with its size, and delivery
 *     continues after it, when (a) the peer acknowledges bytes beyond it
 *     (the receiver has them, so they will never be retransmitted; only
 *     holes followed by captured data or a FIN are given up this way),
 *     (b) the buffer would exceed its limit (then the oldest hole is skipped
 *     until the new segment fits), or (c) the connection closes (RST,
 *     timeout, eviction, reuse, tcpr_finish()); a hole before a FIN is
 *     reported too. A segment whose payload was cut by the capture's snap
 *     length (seg.payload_len < seg.wire_len) delivers what was captured and
 *     reports the rest as a gap.
 *   - A connection closes with TCPR_CLOSE_FIN once both directions have
 *     delivered everything up to their FIN; on RST at once (the payload of
 *     a RST is not delivered). Closed-by-FIN/RST entries stay in the table
 *     as tombstones that silently absorb late segments (the last ACK, a
 *     retransmitted FIN, the client's SYN sent again with the same initial
 *     sequence number) until a new SYN reuses the 4-tuple or they age out
 *     of the table. A new SYN on a live connection (other than a
 *     retransmission of its own SYN) closes it (TCPR_CLOSE_REUSE) and opens
 *     a new one.
 *
 * Memory: at most cfg.max_conns entries (tombstones included); when full,
 * the least recently active entry is evicted (a live one closes with
 * TCPR_CLOSE_EVICT). Each direction buffers at most cfg.max_buffer bytes
 * (payload plus per-segment bookkeeping), and all directions together at
 * most cfg.max_total_buffer (beyond it the direction being fed gives up its
 * oldest holes). Idle connections close with TCPR_CLOSE_TIMEOUT when
 * cfg.idle_timeout_ns is set, checked on every tcpr_feed() against the
 * segment's time and on tcpr_expire().
 *
 * Zero-copy: in-order data is passed to on_data straight from the segment's
 * payload (for pcap input: libpcap's buffer); only out-of-order data is
 * copied. Either way the pointer given to on_data is valid only during the
 * call: a consumer that needs the bytes later copies them.
 *
 * Callbacks run synchronously inside tcpr_feed(), tcpr_expire() and
 * tcpr_finish(); they may read the connection and set its `user` field, but
 * must not call tcpr_feed/expire/finish/free on the same table.
 * Deterministic: the same segments give the same callbacks in the same
 * order.
 */
#ifndef NET_TCP_REASM_H
#define NET_TCP_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* TCP header flags (the header's byte 13). */
#define TCPR_FIN 0x01
#define TCPR_SYN 0x02
#define TCPR_RST 0x04
#define TCPR_PSH 0x08
#define TCPR_ACK 0x10
#define TCPR_URG 0x20

/* One parsed TCP segment, as pcapr_decode() fills it or a live capture
 * builds it. Addresses are IPv4 in host byte order. `payload` is borrowed:
 * the reassembler reads it during tcpr_feed() only. */
struct tcpr_seg {
    int64_t ts_ns;            /* capture time, ns since the Unix epoch */
    uint64_t pkt_no;          /* packet number in its source (1-based), 0 if none */
    uint32_t src_ip, dst_ip;
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t flags;            /* TCPR_* */
    uint16_t window;
    const uint8_t *payload;   /* captured payload bytes */
    uint32_t payload_len;     /* captured payload length */
    uint32_t wire_len;        /* payload length on the wire (>= payload_len) */
};

/* Directions: data sent by the client, data sent by the server. Also the
 * index of the sending endpoint in tcpr_conn's arrays. */
enum tcpr_dir { TCPR_C2S = 0, TCPR_S2C = 1 };

enum tcpr_close {
    TCPR_CLOSE_FIN = 0, /* both directions reached their FIN */
    TCPR_CLOSE_RST,     /* a RST was seen */
    TCPR_CLOSE_TIMEOUT, /* idle longer than cfg.idle_timeout_ns */
    TCPR_CLOSE_EVICT,   /* the table was full and this entry was the least recently active */
    TCPR_CLOSE_REUSE,   /* a new SYN reused the 4-tuple */
    TCPR_CLOSE_END,     /* tcpr_finish(): end of capture or shutdown */
    TCPR_CLOSE_NREASONS
};

/* Name of a close reason ("fin", "rst", "timeout", "evict", "reuse", "end"). */
const char *tcpr_close_name(enum tcpr_close why);

/* A connection as callbacks see it. Every field but `user` is read-only
 * and maintained by the table; index [d] is the endpoint that sends
 * direction d (0 = client, 1 = server). The struct lives inside the table:
 * do not keep a pointer to it after on_close. */
struct tcpr_conn {
    uint64_t id;              /* 0, 1, 2, ... in order of opening */
    uint32_t ip[2];           /* [TCPR_C2S] client, [TCPR_S2C] server */
    uint16_t port[2];
    int handshake;            /* 1 if the client was known from a SYN or SYN+ACK */
    int64_t first_ts, last_ts;
    uint64_t segments[2];     /* segments fed, per sending side */
    uint64_t bytes[2];        /* bytes delivered through on_data */
    uint64_t gap_bytes[2];    /* bytes reported missing through on_gap */
    uint64_t gaps[2];         /* number of on_gap calls */
    void *user;               /* the consumer's; the table never touches it */
};

/* Callbacks; any may be NULL. `ts_ns` is the capture time of the segment
 * that carried the data (on_data) or that caused the event (others; for
 * tcpr_finish/tcpr_expire the time given to them). */
struct tcpr_callbacks {
    void *ctx;
    void (*on_open)(void *ctx, struct tcpr_conn *c, int64_t ts_ns);
    void (*on_data)(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, const uint8_t *data,
                    size_t len, int64_t ts_ns);
    void (*on_gap)(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, uint64_t missing,
                   int64_t ts_ns);
    /* Last call for `c`: the consumer releases c->user here. */
    void (*on_close)(void *ctx, struct tcpr_conn *c, enum tcpr_close why, int64_t ts_ns);
};

/* Limits; a zero field takes its default. */
struct tcpr_config {
    size_t max_conns;          /* entries in the table; default 65536 */
    size_t max_buffer;         /* out-of-order bytes per direction; default 1 MiB */
    size_t max_total_buffer;   /* all directions together; default 64 MiB */
    int64_t idle_timeout_ns;   /* 0: connections never time out */
    const uint16_t *server_ports; /* known server ports; NULL: {502} */
    size_t nserver_ports;
    uint64_t hash_seed;        /* seeds the 4-tuple hash (0: a fixed seed) */
};

/* Counters over the table's life. */
struct tcpr_stats {
    uint64_t segments;        /* tcpr_feed() calls */
    uint64_t opened;          /* connections opened (on_open calls) */
    uint64_t closed[TCPR_CLOSE_NREASONS];
    uint64_t bytes;           /* delivered through on_data */
    uint64_t gaps, gap_bytes; /* reported through on_gap */
    uint64_t retrans_bytes;   /* dropped: already delivered or already buffered */
    uint64_t ooo_segments;    /* segments (or parts) buffered out of order */
    uint64_t beyond_fin_bytes;/* dropped: after the direction's FIN */
    uint64_t out_of_window;   /* segments dropped: more than 2^30 ahead */
    uint64_t overflows;       /* holes given up because a buffer limit was reached */
    uint64_t late_segments;   /* absorbed by a tombstone (after FIN/RST) */
    uint64_t rst_bytes;       /* payload of RST segments, not delivered */
    uint64_t oom;             /* allocation failures (the segment's data became a gap) */
    size_t buffered;          /* out-of-order bytes held now (with bookkeeping) */
    size_t buffered_peak;
    size_t conns;             /* entries in the table now (tombstones included) */
};

struct tcpr;

/* Creates an empty table. `cfg` may be NULL (all defaults); `cb` is copied
 * (may be NULL: nothing is reported). Returns NULL on allocation failure
 * (message in `e`). Free with tcpr_free(). */
struct tcpr *tcpr_new(const struct tcpr_config *cfg, const struct tcpr_callbacks *cb,
                      struct err *e);

/* Feeds one segment; callbacks run before it returns. Malformed or
 * implausible segments are counted, never an error. Returns 0; -1 only for
 * a NULL table or segment. The segment and its payload are only read during
 * the call. */
int tcpr_feed(struct tcpr *t, const struct tcpr_seg *seg);

/* Closes (TCPR_CLOSE_TIMEOUT) every connection idle since before
 * now_ns - cfg.idle_timeout_ns, and drops tombstones as old. No-op when
 * the timeout is 0. For live capture, called periodically. */
void tcpr_expire(struct tcpr *t, int64_t now_ns);

/* End of input: every live connection gives up its holes, delivers what it
 * buffered and closes (TCPR_CLOSE_END), least recently active first; the
 * table is then empty (and can be fed again). */
void tcpr_finish(struct tcpr *t, int64_t ts_ns);

/* The counters. Valid until the next call on the table. */
const struct tcpr_stats *tcpr_stats(const struct tcpr *t);

/* Frees the table and all buffers. Calls no callback: call tcpr_finish()
 * first if consumers hold state in conn->user. NULL is a no-op. */
void tcpr_free(struct tcpr *t);

#endif
