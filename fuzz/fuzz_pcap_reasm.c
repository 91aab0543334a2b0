/* fuzz_pcap_reasm.c — libFuzzer harness for the capture path: bytes as a
 * capture file (pcap or pcapng, read from memory through fmemopen and
 * pcapr_open_stream), every frame decoded (net/pcap_reader), every TCP
 * segment fed to two reassembly tables (net/tcp_reasm): one with the
 * defaults, one with tiny limits (8 connections, 2 KiB per direction,
 * 6 KiB in all, 1 s idle timeout) so that eviction, buffer overflow and
 * expiry run often. The input is also decoded as a single frame of every
 * supported link type, so the decoder is reached even when the file header
 * is broken. Never a crash, a leak, a hang or undefined behaviour; and the
 * callbacks must agree with the counters (checked with __builtin_trap).
 *
 * Seeds (fuzz/corpus/fuzz_pcap_reasm/, 2-4 KB each), cut from the shared
 * captures: part1_head.pcap (editcap -r ..._part1.pcap 1-24) and its pcapng
 * copy; mb2_stream0.pcap (tshark -Y tcp.stream==0 on mb2.pcap:
 * retransmissions, partial overlaps, FIN, RST); the first 30 frames of
 * ..._part2.pcap rewritten as raw IPv4 in a big-endian nanosecond file, as
 * Linux cooked, as BSD loopback, and as 802.1Q Ethernet with every 5th frame
 * cut to 60 bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "net/pcap_reader.h"
#include "net/tcp_reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                    \
    do {                            \
        if (!(x))                   \
            __builtin_trap();       \
    } while (0)

struct tally {
    uint64_t bytes, gaps, opened, closed;
    uint8_t sink;
};

static void f_open(void *ctx, struct tcpr_conn *c, int64_t ts)
{
    struct tally *t = ctx;
    CHECK(c->user == NULL);
    c->user = t;
    t->opened++;
}

static void f_data(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, const uint8_t *p, size_t len,
                   int64_t ts)
{
    struct tally *t = ctx;
    CHECK(c->user == t);
    CHECK(p && len > 0 && (d == TCPR_C2S || d == TCPR_S2C));
    t->sink ^= p[0] ^ p[len - 1]; /* the bytes must be readable */
    t->bytes += len;
}

static void f_gap(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, uint64_t missing, int64_t ts)
{
    struct tally *t = ctx;
    CHECK(c->user == t);
    CHECK(missing > 0);
    t->gaps += missing;
}

static void f_close(void *ctx, struct tcpr_conn *c, enum tcpr_close why, int64_t ts)
{
    struct tally *t = ctx;
    CHECK(c->user == t);
    CHECK((unsigned)why < TCPR_CLOSE_NREASONS);
    t->closed++;
}

static void check_done(const struct tcpr *t, const struct tally *y, size_t max_total)
{
    const struct tcpr_stats *s = tcpr_stats(t);
    CHECK(s->conns == 0);
    CHECK(s->buffered == 0);
    CHECK(s->buffered_peak <= max_total);
    CHECK(s->bytes == y->bytes);
    CHECK(s->gap_bytes == y->gaps);
    CHECK(s->opened == y->opened && y->opened == y->closed);
    uint64_t closed = 0;
    for (int i = 0; i < TCPR_CLOSE_NREASONS; i++)
        closed += s->closed[i];
    CHECK(closed == s->opened);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    struct tally big = {0}, small = {0};
    struct tcpr_callbacks cb_big = {&big, f_open, f_data, f_gap, f_close};
    struct tcpr_callbacks cb_small = {&small, f_open, f_data, f_gap, f_close};
    struct tcpr_config cfg = {.max_conns = 8,
                              .max_buffer = 2048,
                              .max_total_buffer = 6144,
                              .idle_timeout_ns = 1000000000LL};
    struct tcpr *tb = tcpr_new(NULL, &cb_big, &e);
    struct tcpr *ts = tcpr_new(&cfg, &cb_small, &e);
    if (!tb || !ts)
        abort();

    /* the input as one frame of every link type, whole and cut */
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, 276 /* SLL2 */, DLT_RAW,
                               228 /* IPV4 */, DLT_NULL, DLT_LOOP};
    uint32_t n = size > 65535 ? 65535 : (uint32_t)size;
    for (size_t i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        struct pcapr_pkt p;
        for (int cut = 0; cut < 2; cut++) {
            CHECK(pcapr_decode(dlts[i], data, n, n + (uint32_t)cut * 100, 1, 0, &p) == 0);
            CHECK((unsigned)p.kind < PCAPR_NKINDS);
            if (p.kind == PCAPR_TCP) {
                CHECK(p.tcp.payload_len <= p.tcp.wire_len);
                CHECK(p.tcp.payload_len == 0 ||
                      (p.tcp.payload >= data && p.tcp.payload + p.tcp.payload_len <= data + n));
                tcpr_feed(ts, &p.tcp);
            }
        }
    }

    /* the input as a capture file */
    if (size > 0) {
        uint8_t *copy = malloc(size);
        memcpy(copy, data, size);
        FILE *f = fmemopen(copy, size, "rb");
        struct pcapr *r = f ? pcapr_open_stream(f, "fuzz.pcap", &e) : NULL;
        if (r) {
            struct pcapr_pkt p;
            int rc;
            while ((rc = pcapr_next(r, &p, &e)) > 0) {
                CHECK(p.caplen <= 1u << 20);
                if (p.kind != PCAPR_TCP)
                    continue;
                CHECK(p.tcp.payload_len <= p.tcp.wire_len);
                tcpr_feed(tb, &p.tcp);
                tcpr_feed(ts, &p.tcp);
            }
            CHECK(rc == 0 || rc == -1);
            tcpr_expire(ts, pcapr_last_ts(r));
            const struct pcapr_stats *st = pcapr_stats(r);
            uint64_t sum = 0;
            for (int k = 0; k < PCAPR_NKINDS; k++)
                sum += st->kinds[k];
            CHECK(sum == st->packets);
            pcapr_close(r);
        }
        free(copy);
    }
    tcpr_finish(tb, 0);
    tcpr_finish(ts, 0);
    check_done(tb, &big, 64u << 20);
    check_done(ts, &small, cfg.max_total_buffer);
    tcpr_free(tb);
    tcpr_free(ts);
    return 0;
}
