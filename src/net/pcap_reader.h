/* pcap_reader.h — reading capture files (pcap, pcapng) with libpcap and
 * decoding each frame down to its TCP segment, for the reassembler
 * (net/tcp_reasm.h) and through it the protocol codecs.
 *
 * Owns: one libpcap offline handle and the counters of what it read. The
 * frame decoder (pcapr_decode) is stateless and also serves live capture.
 *
 * Link layers: Ethernet (DLT_EN10MB, with any number of 802.1Q / 802.1ad
 * VLAN tags up to 8), Linux cooked v1 and v2 (DLT_LINUX_SLL, SLL2), raw IP
 * (DLT_RAW, DLT_IPV4), BSD loopback (DLT_NULL, DLT_LOOP). A file of any
 * other link type is refused at open.
 *
 * Network: IPv4 only (IPv6, ARP, ... are counted as not IPv4). The header
 * length (IHL) and total length are honoured (Ethernet padding after the
 * datagram is ignored; a total length of 0, as segmentation offload leaves
 * it in captures, means "up to the end of the frame"). Fragments are not
 * reassembled: they are counted and not decoded. Checksums are not
 * verified (offloading makes them unreliable in captures). UDP, ICMP and
 * other protocols are counted and skipped.
 *
 * Damage never stops reading: a frame whose headers are cut by the snap
 * length (caplen < len) or that is inconsistent (a length field pointing
 * outside the frame, an IHL or data offset below 5) is counted and
 * reported with a reason. A TCP segment whose payload is only partly
 * captured is still decoded: tcpr_seg.payload_len < wire_len tells the
 * reassembler which bytes are missing. Only a failure of the file itself
 * (unreadable, not a capture, a record cut by the end of the file) is an
 * error.
 *
 * Timestamps are read with nanosecond precision whatever the file's
 * resolution (libpcap scales microsecond files).
 */
#ifndef NET_PCAP_READER_H
#define NET_PCAP_READER_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "net/tcp_reasm.h"

/* What a frame turned out to be. */
enum pcapr_kind {
    PCAPR_TCP = 0,    /* a TCP segment: pkt.tcp is valid */
    PCAPR_UDP,        /* UDP (skipped) */
    PCAPR_OTHER_IP,   /* IPv4 carrying another protocol (skipped) */
    PCAPR_FRAGMENT,   /* an IPv4 fragment (not reassembled) */
    PCAPR_NOT_IPV4,   /* ARP, IPv6, LLC, ... */
    PCAPR_TRUNCATED,  /* headers cut by the snap length: not decoded */
    PCAPR_MALFORMED,  /* inconsistent headers: not decoded */
    PCAPR_NKINDS
};

/* Name of a kind ("tcp", "udp", ...). */
const char *pcapr_kind_name(enum pcapr_kind k);

/* One decoded frame. Pointers (frame, tcp.payload, why) point into
 * libpcap's buffer or static strings: valid until the next pcapr_next() /
 * pcapr_close() on the same reader (for pcapr_decode: as long as the
 * caller's frame). */
struct pcapr_pkt {
    uint64_t pkt_no;          /* 1-based position in the file */
    int64_t ts_ns;            /* capture time, ns since the Unix epoch */
    uint32_t caplen, len;     /* bytes captured, bytes on the wire */
    const uint8_t *frame;     /* the captured bytes */
    enum pcapr_kind kind;
    int cut;                  /* 1 if caplen < len (some bytes not captured) */
    const char *why;          /* for TRUNCATED / MALFORMED (and partial payloads): what */
    /* IPv4 kinds (TCP, UDP, OTHER_IP, FRAGMENT): */
    uint32_t src_ip, dst_ip;  /* host byte order */
    uint8_t ip_proto;
    /* PCAPR_TCP: the segment (tcp.ts_ns and tcp.pkt_no are filled too) */
    struct tcpr_seg tcp;
};

/* Counters of one reader: `kinds` by enum pcapr_kind, plus frames cut by
 * the snap length (whatever their kind) and TCP segments whose payload was
 * incomplete. */
struct pcapr_stats {
    uint64_t packets;
    uint64_t kinds[PCAPR_NKINDS];
    uint64_t cut;
    uint64_t partial_payload;
    uint64_t payload_bytes;   /* TCP payload bytes on the wire */
};

struct pcapr;

/* Opens a capture file. Returns NULL on failure ("FILE: why" in `e`:
 * unreadable, not a capture, unsupported link type). Close with
 * pcapr_close(). */
struct pcapr *pcapr_open(const char *path, struct err *e);

/* Same from an open stream (a file, or fmemopen() for data in memory);
 * `name` is used in messages. The reader takes `f` over in every case: it
 * is closed by pcapr_close(), or before returning NULL on failure. */
struct pcapr *pcapr_open_stream(FILE *f, const char *name, struct err *e);

/* Reads the next frame into `out`. Returns 1 (a frame; see out->kind), 0 at
 * the end of the file, -1 if the file is damaged ("FILE: packet N: why"
 * in `e`); after -1 every call returns 0. */
int pcapr_next(struct pcapr *r, struct pcapr_pkt *out, struct err *e);

/* Reads every remaining frame and feeds its TCP segments to `t` (the
 * table is not finished: call tcpr_finish() once all input is in). Returns
 * 0 at the end of the file, -1 as pcapr_next(). */
int pcapr_feed_all(struct pcapr *r, struct tcpr *t, struct err *e);

/* The reader's counters and the file's link type (DLT_*). */
const struct pcapr_stats *pcapr_stats(const struct pcapr *r);
int pcapr_linktype(const struct pcapr *r);
/* Capture time of the last frame read (0 before the first). */
int64_t pcapr_last_ts(const struct pcapr *r);

/* Closes the file and frees the reader. NULL is a no-op. */
void pcapr_close(struct pcapr *r);

/* Decodes one frame of link type `dlt` (caplen bytes captured of len on
 * the wire) into `out`; pkt_no and ts_ns are copied into it. Returns 0,
 * or -1 if `dlt` is not supported (out->kind is then PCAPR_NOT_IPV4).
 * Never reads beyond frame[caplen - 1]. */
int pcapr_decode(int dlt, const uint8_t *frame, uint32_t caplen, uint32_t len, uint64_t pkt_no,
                 int64_t ts_ns, struct pcapr_pkt *out);

/* 1 if frames of link type `dlt` can be decoded. */
int pcapr_dlt_supported(int dlt);

#endif
