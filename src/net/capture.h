/* capture.h — live capture of a real interface into a pcap file
 * (`--capture IFACE`), on the range's libuv loop.
 *
 * Records what the interface really carries, unlike the tap writer
 * (net/tap_pcap.h), which draws the links' conversations: a SYN scan that
 * never completes a handshake, a connection refused with a RST, traffic of
 * tools outside the range. libpcap opens the interface (pcap_create /
 * pcap_activate: immediate mode, nanosecond timestamps where the system
 * has them), applies a BPF filter, and runs nonblocking: its selectable
 * file descriptor is polled by a uv_poll handle on rtloop_uv(loop), and
 * every batch of packets is appended to the file and flushed to disk at
 * record boundaries, so a range killed at any moment leaves a readable
 * file. Capturing needs root (or CAP_NET_RAW) on Linux.
 *
 * Ownership: cap_new() returns a capture that owns its libpcap handle, its
 * file and its poll handle; cap_free() reads what is still waiting,
 * closes the file and releases the handle. The loop must outlive the
 * capture and run once more after cap_free() (rtloop_free() does) to
 * release the poll handle.
 */
#ifndef NET_CAPTURE_H
#define NET_CAPTURE_H

#include <stdint.h>

#include "core/err.h"
#include "core/loop.h"

struct cap_opts {
    const char *filter;   /* BPF expression ("tcp port 502"); NULL or "": everything */
    int snaplen;          /* bytes kept per packet [262144] */
    int promisc;          /* promiscuous mode [0] */
    int buffer_size;      /* kernel ring in bytes; 0: libpcap's default (2 MiB) */
};

/* Fills the defaults. */
void cap_opts_default(struct cap_opts *o);

struct cap_stats {
    uint64_t packets;      /* written to the file */
    uint64_t bytes;        /* their captured bytes */
    uint64_t kernel_drops; /* dropped for lack of buffer space (pcap_stats ps_drop) */
    uint64_t if_drops;     /* dropped by the interface or its driver (ps_ifdrop) */
};

struct cap;

/* Starts capturing on interface `iface` into `path` (created or
 * truncated), polled on `loop`. `o` may be NULL (defaults). Returns the
 * capture, or NULL with one line in `e`: "IFACE: no such device",
 * "IFACE: permission denied: capturing needs root (or CAP_NET_RAW)",
 * "IFACE: interface is down", "bad capture filter 'F': why",
 * "PATH: why" ... Free with cap_free(). */
struct cap *cap_new(struct rtloop *loop, const char *iface, const char *path,
                    const struct cap_opts *o, struct err *e);

/* Reads every packet waiting now (without waiting for the loop) and
 * flushes the file. Returns the number of packets written, or -1 with a
 * message (a capture or write error; the capture stops). */
long cap_drain(struct cap *c, struct err *e);

/* The counters (the drop counts are asked of the kernel now). */
void cap_stats(struct cap *c, struct cap_stats *out);

/* The link type of the file (DLT_EN10MB for Ethernet and lo). */
int cap_linktype(const struct cap *c);

/* The first capture or write error met while polling, or NULL. */
const char *cap_error(const struct cap *c);

/* Drains what is waiting, flushes and closes the file, stops polling and
 * frees the capture. NULL is a no-op. */
void cap_free(struct cap *c);

#endif
