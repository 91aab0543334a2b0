/* tap_pcap.h — the range's tap writer: every conversation on a net's links
 * written to a pcap file that Wireshark opens as if a SPAN port had
 * recorded it.
 *
 * The writer is a `struct net_tap` (net/link.h): the range calls
 * net_set_tap(net, tapw_hooks(), w) and every open, data and close of the
 * net's links becomes Ethernet/IPv4/TCP frames, written through libpcap's
 * dump API (DLT_EN10MB, nanosecond timestamps = the run's start + virtual
 * time). What is synthesized, and how:
 *
 *   - Ethernet: one MAC per IPv4 address, locally administered and derived
 *     from it (127.0.1.10 is 02:00:7f:00:01:0a). Before the first frame
 *     between two hosts that have not spoken yet, an ARP request (from the
 *     client, broadcast) and its reply. Frames shorter than 60 bytes are
 *     padded with zeroes, as on the wire.
 *   - IPv4: TTL 64, DF, the header checksum; the identification field is
 *     one counter per sending host (starting at a value derived from the
 *     seed and the address), +1 for every datagram it sends.
 *   - TCP: a three-way handshake at open (SYN, SYN-ACK, ACK) carrying MSS
 *     1460, window scale 7 and SACK-permitted; initial sequence numbers
 *     derived from the 4-tuple, the number of connections opened before and
 *     the seed (never random). Data becomes segments of at most the MSS
 *     (the last one of each tap event PSH,ACK, others ACK), each sequence
 *     and acknowledgement number right; the receiving side acknowledges
 *     after every second segment of one tap event at once, and otherwise
 *     as a Linux receiver with delayed ACKs does: its next data segment
 *     carries the acknowledgement (a Modbus response acknowledges its
 *     request), or a pure ACK goes out `delack` (40 ms) after the data if
 *     it has nothing to send by then (written when the tap's next event,
 *     on any connection, reaches that time, or tapw_settle() does; one due
 *     after the capture's end is not written, as a capture stopped then would not
 *     have it). `delack` 0 acknowledges every tap event at once. A
 *     FIN (FIN,ACK) for each graceful close the tap reports, acknowledged
 *     at once by the other side; a RST (RST,ACK) for a reset. Bytes or a
 *     FIN that the tap reports after a reset (they were in flight) are
 *     written and answered with a RST, as a stack that no longer knows the
 *     connection does. Checksums are correct.
 *   - Time: every frame of a tap event is stamped with the event's time;
 *     frames are written in the order of the events, never reordered.
 *
 * What a SPAN port would also see but the tap does not report is absent: a
 * connect refused by the in-memory net (no SYN/RST), the peer's FIN after
 * a socket link closed first (the socket net stops reading after a local
 * close; a link closed by its peer reports both FINs), a socket connection
 * its client reset before the server accepted it (a connect scan: its
 * address is gone by then), anything that never became a connection.
 *
 * Determinism: the file is a function of the event sequence, the start
 * and the seed only: identical events give byte-identical files. Flushing
 * never changes the bytes, only when they reach the disk.
 *
 * Flushing: frames go through a stdio buffer of TAPW_BUFFER bytes that is
 * only ever written out at record boundaries, so a process killed at any
 * moment (SIGKILL included) leaves a well-formed file holding every frame
 * up to the last flush. Policies: flush when the buffer is full (fast
 * mode), after every frame, or when `flush_ms` of wall time have passed
 * (checked at each frame, and by a timer with tapw_watch()).
 *
 * Ownership: tapw_new() returns a writer that owns its file; tapw_free()
 * flushes and closes it. One writer serves one net (link ids are the keys
 * of its connections). The writer must outlive the tap: call
 * net_set_tap(net, NULL, NULL) or net_free() before tapw_free().
 */
#ifndef NET_TAP_PCAP_H
#define NET_TAP_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"
#include "net/link.h"

#define TAPW_MSS 1460          /* payload bytes per segment (Ethernet MTU 1500) */
#define TAPW_BUFFER 65536      /* bytes buffered before the file is written */

enum tapw_flush_policy {
    TAPW_FLUSH_FULL = 0,  /* when the buffer is full (and at tapw_flush/tapw_free) */
    TAPW_FLUSH_FRAME,     /* after every frame */
    TAPW_FLUSH_INTERVAL,  /* when flush_ms of wall time passed since the last flush */
};

struct tapw_opts {
    uint64_t seed;            /* initial sequence numbers and IP ids [1] */
    enum tapw_flush_policy flush; /* [TAPW_FLUSH_FULL] */
    unsigned flush_ms;        /* for TAPW_FLUSH_INTERVAL [100] */
    vtime_t delack;           /* delayed ACK [40 ms]; 0: every ACK at once */
};

/* Fills the defaults. */
void tapw_opts_default(struct tapw_opts *o);

/* libpcap's version text ("libpcap version 1.10.3 ..."), for reports. */
const char *tapw_libpcap_version(void);

/* Counters over the writer's life. */
struct tapw_stats {
    uint64_t frames;          /* frames written (ARP included) */
    uint64_t bytes;           /* bytes of those frames (padding included, pcap headers not) */
    uint64_t payload_bytes;   /* TCP payload bytes written */
    uint64_t connections;     /* tap opens */
    uint64_t arp_pairs;       /* ARP request/reply exchanges */
    uint64_t fins, resets;    /* FINs and RSTs the tap reported */
    uint64_t unknown_events;  /* data/close for a link the writer does not know (ignored) */
    uint64_t flushes;         /* times the buffer was written out */
};

struct tapw;

/* Creates `path` (truncated if it exists) and writes the pcap file header
 * to disk at once. `start_unix_ns` (>= 0) is the run's start as Unix
 * nanoseconds: a frame of virtual time t is stamped start_unix_ns + t.
 * `o` may be NULL (defaults). Returns the writer, or NULL with
 * "PATH: why" in `e`. Free with tapw_free(). */
struct tapw *tapw_new(const char *path, int64_t start_unix_ns, const struct tapw_opts *o,
                      struct err *e);

/* The hooks to give net_set_tap() with the writer as ctx. Static: valid
 * forever. Each hook writes its frames before returning; a write error is
 * remembered and reported by tapw_flush(). */
const struct net_tap *tapw_hooks(void);

/* Writes everything buffered to the file. Returns 0, or -1 with "PATH:
 * why" in `e` if this or any earlier write failed (the error sticks). */
int tapw_flush(struct tapw *w, struct err *e);

/* The capture has reached virtual time t (the run's end): writes the
 * delayed ACKs due by then. */
void tapw_settle(struct tapw *w, vtime_t t);

/* Real-time mode: flushes the writer every flush_ms (TAPW_FLUSH_INTERVAL;
 * else 100 ms) of wall time while frames are waiting, from a timer on the
 * loop, so frames written just before a quiet spell reach the disk too.
 * The timer does not keep the loop alive. tapw_free() stops it; the loop
 * must be run once more (rtloop_free() does) to release the timer, so
 * free the writer before the loop. Returns 0, or -1 with a message. */
int tapw_watch(struct tapw *w, struct rtloop *loop, struct err *e);

/* The counters (valid until tapw_free). */
const struct tapw_stats *tapw_stats(const struct tapw *w);

/* The file's path, as given to tapw_new. */
const char *tapw_path(const struct tapw *w);

/* Flushes, closes the file, stops the timer of tapw_watch() and frees the
 * writer with its connection table. Connections still open stay open in
 * the file (no FIN is invented). Errors are ignored: call tapw_flush()
 * first to know. NULL is a no-op. */
void tapw_free(struct tapw *w);

/* The MAC the writer gives an IPv4 address (host byte order): 02:00
 * followed by the address's four bytes. */
void tapw_mac_of(uint32_t ip, uint8_t mac[6]);

#endif
