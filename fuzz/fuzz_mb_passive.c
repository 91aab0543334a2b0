/* fuzz_mb_passive.c — libFuzzer harness for the passive Modbus/TCP decoder
 * (proto/mb_passive): arbitrary bytes cut into chunks of both directions,
 * with gaps, fed directly and through the TCP reassembler.
 *
 * Input: byte 0 = options (bit 0 accept_unknown, bit 1 mid-stream start,
 * bits 2-3 request table of 1, 2, 8 or the default 256 entries, bit 4 go
 * through tcp_reasm, bit 5 the SYN comes from port 502, bit 6 close and
 * reopen on script byte 0x7F); byte 1 = n, the number of script bytes
 * (1 + byte 1 % 32); then the script; then the stream. Script bytes are used
 * in turn: bit 7 = direction, bit 6 = a gap of (low 6 bits + 1) bytes
 * instead of data, else the low 6 bits (+1) are the size of the next chunk.
 *
 * Checked (__builtin_trap): every event is consistent (an ADU has a valid
 * header and a PDU of length - 1 bytes, the request or the response decoded
 * by direction, a match of the same transaction id, a check only when both
 * decoded; a bad frame has a header that really cannot be framed; a
 * resynchronised header is plausible); every byte fed is accounted for
 * (framed in an ADU, skipped, or cut by a gap or the close); every request
 * is answered, evicted or reported at close, every response matched or
 * not; and feeding each chunk one byte at a time gives the same events. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp_reasm.h"
#include "proto/mb_passive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

struct trace {
    uint64_t hash;       /* of the event sequence */
    uint64_t adu_bytes[2];
    uint64_t events;
    uint8_t sink;
};

static void mix(struct trace *t, uint64_t v)
{
    t->hash = (t->hash ^ v) * 0x100000001b3ull;
}

static void on_event(void *ctx, const struct mbp_event *ev)
{
    struct trace *t = ctx;
    t->events++;
    CHECK(ev->conn != NULL);
    CHECK(ev->dir == TCPR_C2S || ev->dir == TCPR_S2C);
    switch (ev->kind) {
    case MBP_ADU:
        CHECK(ev->pdu && ev->pdu_len >= 1 && ev->pdu_len <= MB_MAX_PDU);
        CHECK(ev->h.pid == 0 && ev->h.len >= MB_MIN_LENGTH && ev->h.len <= MB_MAX_LENGTH);
        CHECK(ev->pdu_len + 1 == ev->h.len);
        CHECK(ev->fc_byte == ev->pdu[0] && ev->fc == (ev->pdu[0] & 0x7F));
        t->sink ^= ev->pdu[ev->pdu_len - 1];
        t->adu_bytes[ev->dir] += MB_MBAP_LEN + ev->pdu_len;
        if (ev->dir == TCPR_C2S) {
            CHECK(ev->req && !ev->rsp && !ev->match);
            CHECK(ev->req->fc == ev->fc_byte || ev->status != MB_OK);
        } else {
            CHECK(ev->rsp && !ev->req);
            if (ev->status == MB_OK)
                CHECK(ev->rsp->fc == ev->fc);
        }
        if (ev->match) {
            CHECK(ev->match->h.tid == ev->h.tid);
            CHECK(ev->match->pdu_len + 1 == ev->match->h.len);
            CHECK(ev->match->req != NULL);
        }
        if (!ev->match || ev->status != MB_OK || ev->match->status != MB_OK)
            CHECK(ev->check == MBP_CHECK_NONE);
        else
            CHECK(ev->check <= 0);
        if (ev->flags & MBP_F_RESYNC) {
            /* the hunt's rule */
            CHECK(ev->fc_byte >= 1 && (ev->fc_byte <= 0x7F ||
                                       (ev->dir == TCPR_S2C && ev->fc_byte >= 0x81 &&
                                        ev->h.len == 3)));
            CHECK(ev->flags & (MBP_F_AFTER_GAP | MBP_F_AFTER_BAD | MBP_F_MIDSTREAM));
        }
        break;
    case MBP_BAD_FRAME:
        CHECK(!ev->pdu && !ev->req && !ev->rsp && !ev->match);
        if (ev->status == MB_BAD_PROTOCOL)
            CHECK(ev->h.pid != 0);
        else
            CHECK(ev->status == MB_BAD_LENGTH && ev->h.pid == 0 &&
                  (ev->h.len < MB_MIN_LENGTH || ev->h.len > MB_MAX_LENGTH));
        break;
    case MBP_UNANSWERED:
        CHECK(ev->dir == TCPR_C2S && ev->req && ev->pdu && ev->pdu_len + 1 == ev->h.len);
        CHECK(ev->flags == MBP_F_EVICTED || ev->flags == MBP_F_CLOSED);
        break;
    default:
        CHECK(0);
    }
    mix(t, (uint64_t)ev->kind);
    mix(t, (uint64_t)ev->dir);
    mix(t, ev->pkt_no);
    mix(t, ev->flags);
    mix(t, ev->skipped);
    mix(t, ((uint64_t)ev->h.tid << 32) | ((uint64_t)ev->h.pid << 16) | ev->h.len);
    mix(t, ev->fc_byte);
    mix(t, (uint64_t)(int64_t)ev->status);
    mix(t, ev->match ? 1 + ev->match->pkt_no : 0);
    mix(t, (uint64_t)(int64_t)ev->check);
}

struct input {
    uint8_t opts;
    const uint8_t *script;
    size_t nscript;
    const uint8_t *stream;
    size_t nstream;
};

static struct mbp *make(const struct input *in, struct trace *t)
{
    static const size_t tables[4] = {1, 2, 8, 0};
    struct mbp_config cfg = {0};
    cfg.accept_unknown = in->opts & 1;
    cfg.max_outstanding = tables[(in->opts >> 2) & 3];
    struct mbp *p = mbp_new(&cfg, on_event, t, NULL);
    CHECK(p != NULL);
    return p;
}

/* Direct feeding; bytewise feeds every chunk one byte at a time. */
static void run_direct(const struct input *in, int bytewise, struct trace *t)
{
    memset(t, 0, sizeof *t);
    struct mbp *p = make(in, t);
    struct mbp_conn_info info = {0};
    info.midstream = (in->opts >> 1) & 1;
    struct mbp_conn *c = mbp_conn_open(p, &info, NULL);
    CHECK(c != NULL);
    uint64_t fed[2] = {0, 0};
    size_t pos = 0;
    for (size_t k = 0; pos < in->nstream && k < 100000; k++) {
        uint8_t s = in->script[k % in->nscript];
        enum tcpr_dir d = (enum tcpr_dir)(s >> 7);
        size_t n = (size_t)(s & 0x3F) + 1;
        mbp_set_frame(p, k + 1);
        if (s == 0x7F && (in->opts & 0x40)) {
            mbp_conn_close(c, 0);
            info.id++;
            c = mbp_conn_open(p, &info, NULL);
            CHECK(c != NULL);
            continue;
        }
        if (s & 0x40) {
            mbp_conn_gap(c, d, n, (int64_t)k);
            continue;
        }
        if (n > in->nstream - pos)
            n = in->nstream - pos;
        if (bytewise)
            for (size_t i = 0; i < n; i++)
                mbp_conn_feed(c, d, in->stream + pos + i, 1, (int64_t)k);
        else
            mbp_conn_feed(c, d, in->stream + pos, n, (int64_t)k);
        fed[d] += n;
        pos += n;
    }
    mbp_conn_close(c, 0);
    const struct mbp_stats *st = mbp_stats(p);
    for (int d = 0; d < 2; d++)
        CHECK(fed[d] == t->adu_bytes[d] + st->skipped[d] + st->cut_bytes[d]);
    CHECK(st->matched + st->unmatched == st->adus[TCPR_S2C]);
    CHECK(st->matched + st->evicted + st->unanswered == st->adus[TCPR_C2S]);
    CHECK(st->oom == 0);
    mbp_free(p);
}

/* Through the reassembler: chunks become segments; a gap skips sequence
 * numbers (the reassembler reports it when the peer acknowledges past it,
 * or at the end). */
static void run_tcpr(const struct input *in, struct trace *t)
{
    memset(t, 0, sizeof *t);
    struct mbp *p = make(in, t);
    struct tcpr_callbacks cb;
    mbp_tcpr_callbacks(p, &cb);
    struct tcpr *tr = tcpr_new(NULL, &cb, NULL);
    CHECK(tr != NULL);
    const uint32_t ip[2] = {0x0a000001, 0x0a000002};
    /* endpoint 0 sends the SYN; with bit 5 it is the one on port 502 */
    const uint16_t port[2] = {(in->opts & 0x20) ? 502 : 40000, (in->opts & 0x20) ? 40000 : 502};
    uint32_t seq[2] = {1000, 5000};
    struct tcpr_seg s = {0};
    int64_t ts = 1;
    if (!(in->opts & 2)) {
        s = (struct tcpr_seg){ts++, 0, ip[0], ip[1], port[0], port[1], seq[0]++, 0, TCPR_SYN,
                              1000, NULL, 0, 0};
        tcpr_feed(tr, &s);
        s = (struct tcpr_seg){ts++, 0, ip[1], ip[0], port[1], port[0], seq[1]++, seq[0],
                              TCPR_SYN | TCPR_ACK, 1000, NULL, 0, 0};
        tcpr_feed(tr, &s);
    }
    size_t pos = 0;
    for (size_t k = 0; pos < in->nstream && k < 100000; k++) {
        uint8_t b = in->script[k % in->nscript];
        int e = b >> 7;
        uint32_t n = (uint32_t)(b & 0x3F) + 1;
        mbp_set_frame(p, k + 1);
        if (b & 0x40) {
            seq[e] += n;
            continue;
        }
        if (n > in->nstream - pos)
            n = (uint32_t)(in->nstream - pos);
        s = (struct tcpr_seg){ts++, k + 1, ip[e], ip[1 - e], port[e], port[1 - e], seq[e],
                              seq[1 - e], TCPR_PSH | TCPR_ACK, 1000, in->stream + pos, n, n};
        tcpr_feed(tr, &s);
        seq[e] += n;
        pos += n;
    }
    tcpr_finish(tr, ts);
    tcpr_free(tr);
    const struct mbp_stats *st = mbp_stats(p);
    CHECK(st->conns + st->ignored_conns <= 1);
    CHECK(st->matched + st->unmatched == st->adus[TCPR_S2C]);
    CHECK(st->matched + st->evicted + st->unanswered == st->adus[TCPR_C2S]);
    mbp_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct input in;
    in.opts = data[0];
    in.nscript = 1 + data[1] % 32;
    if (size < 2 + in.nscript)
        return 0;
    in.script = data + 2;
    in.stream = data + 2 + in.nscript;
    in.nstream = size - 2 - in.nscript;
    struct trace a, b;
    if (in.opts & 0x10) {
        run_tcpr(&in, &a);
        return 0;
    }
    run_direct(&in, 0, &a);
    if (in.nstream <= 4096) {
        run_direct(&in, 1, &b);
        CHECK(a.hash == b.hash && a.events == b.events);
    }
    return 0;
}
