/* fuzz_modbus_framer.c — libFuzzer harness for the Modbus/TCP framer: a
 * byte stream in any segmentation, cut into ADUs; never a crash, and the
 * segmentation never changes what comes out.
 *
 * Input: byte 0 low nibble = k, then k chunk sizes (one byte each, used in
 * turn; 0 is a call with no bytes), then the stream. The stream is fed
 * three ways: all at once, in those chunks (with the callback stopping the
 * framer on every fifth frame, and the rest fed again), and, for short
 * streams, one byte at a time. All three must give the same frames and the
 * same framing errors at the same offsets (after an error the framer is
 * reset and the stream goes on). Every ADU is decoded as a request and as
 * a response; what decodes must re-encode to the same bytes; each response
 * is checked against the request before it. Any mismatch aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a run saw: frames and errors, as bytes, for comparison. */
struct trace {
    uint8_t *log;
    size_t n, cap;
    unsigned frames;
    int stop_every; /* callback returns 1 on every stop_every-th frame */
    uint8_t prev[MB_MAX_PDU]; /* the frame before, as a request */
    size_t prev_len;
};

static void put(struct trace *t, const void *p, size_t n)
{
    if (t->n + n > t->cap)
        abort(); /* the log is sized for the worst case */
    memcpy(t->log + t->n, p, n);
    t->n += n;
}

/* Decodes the ADU both ways; the round-trip property on what decodes. */
static void exercise(const uint8_t *pdu, size_t len)
{
    uint8_t b[MB_MAX_PDU];
    for (int acc = 0; acc < 2; acc++) {
        struct mb_req q;
        if (mb_req_decode(pdu, len, acc, &q) == MB_OK) {
            int n = mb_req_encode(&q, 0, b, sizeof b);
            if (n < 0 || (size_t)n != len || memcmp(b, pdu, len) != 0)
                abort();
        }
        static struct mb_rsp r;
        if (mb_rsp_decode(pdu, len, acc, &r) == MB_OK) {
            int n = mb_rsp_encode(&r, 0, b, sizeof b);
            if (n < 0 || (size_t)n != len || memcmp(b, pdu, len) != 0)
                abort();
        }
    }
}

static int on_frame(void *ctx, const struct mb_mbap *h, const uint8_t *pdu, size_t pdu_len)
{
    struct trace *t = ctx;
    if (h->pid != 0 || h->len < MB_MIN_LENGTH || h->len > MB_MAX_LENGTH ||
        pdu_len != (size_t)h->len - 1)
        abort();
    uint8_t head[6] = {(uint8_t)(h->tid >> 8), (uint8_t)h->tid, h->unit, 'F',
                       (uint8_t)(pdu_len >> 8), (uint8_t)pdu_len};
    put(t, head, sizeof head);
    put(t, pdu, pdu_len);
    exercise(pdu, pdu_len);
    /* a response checked against the request of the frame before */
    struct mb_req q;
    static struct mb_rsp r;
    if (t->prev_len && mb_req_decode(t->prev, t->prev_len, 1, &q) == MB_OK &&
        mb_rsp_decode(pdu, pdu_len, 1, &r) == MB_OK) {
        int st = mb_rsp_check(&q, &r);
        if (st > 0 || st < MB_TOO_LONG)
            abort();
    }
    memcpy(t->prev, pdu, pdu_len);
    t->prev_len = pdu_len;
    t->frames++;
    return t->stop_every && t->frames % (unsigned)t->stop_every == 0;
}

/* Feeds s[0..n) in calls of the given sizes (cycled; all at once if none),
 * resuming after a stop or an error, and logs errors with their offset. */
static void run(struct trace *t, const uint8_t *s, size_t n, const uint8_t *sizes,
                size_t nsizes)
{
    struct mb_framer f;
    mb_framer_init(&f);
    size_t pos = 0, k = 0;
    unsigned zero_calls = 0;
    while (pos < n) {
        size_t chunk = nsizes ? sizes[k++ % nsizes] : n - pos;
        if (chunk > n - pos)
            chunk = n - pos;
        if (chunk == 0 && ++zero_calls > 4 * nsizes + 4)
            chunk = 1; /* all sizes 0: make progress */
        size_t end = pos + chunk;
        do {
            size_t used = 12345;
            int rc = mb_framer_feed(&f, s + pos, end - pos, on_frame, t, &used);
            if (used > end - pos)
                abort();
            pos += used;
            if (rc < 0) {
                if (rc != MB_BAD_PROTOCOL && rc != MB_BAD_LENGTH)
                    abort();
                if (f.have != 0)
                    abort(); /* reset after an error */
                uint8_t e[6] = {'E', (uint8_t)-rc, (uint8_t)(pos >> 24), (uint8_t)(pos >> 16),
                                (uint8_t)(pos >> 8), (uint8_t)pos};
                put(t, e, sizeof e);
            } else if (rc == 0 && pos != end) {
                abort(); /* 0 means all consumed */
            } else if (rc > 0 && rc != 1) {
                abort();
            }
        } while (pos < end);
        if (f.have > MB_MAX_ADU)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t nsizes = data[0] & 0x0F;
    if (nsizes > size - 1)
        nsizes = size - 1;
    const uint8_t *sizes = data + 1;
    const uint8_t *s = data + 1 + nsizes;
    size_t n = size - 1 - nsizes;

    /* each frame logs at most its bytes - 1, each error 6 bytes per 7 */
    size_t cap = 2 * n + 64;
    static struct trace whole, chunked, bytes;
    whole = (struct trace){.log = malloc(cap), .cap = cap};
    chunked = (struct trace){.log = malloc(cap), .cap = cap, .stop_every = 5};
    if (!whole.log || !chunked.log)
        abort();
    run(&whole, s, n, NULL, 0);
    run(&chunked, s, n, sizes, nsizes);
    if (whole.n != chunked.n || whole.frames != chunked.frames ||
        (whole.n && memcmp(whole.log, chunked.log, whole.n) != 0))
        abort();
    if (n <= 2048) {
        static const uint8_t one = 1;
        bytes = (struct trace){.log = malloc(cap), .cap = cap};
        if (!bytes.log)
            abort();
        run(&bytes, s, n, &one, 1);
        if (whole.n != bytes.n || (whole.n && memcmp(whole.log, bytes.log, whole.n) != 0))
            abort();
        free(bytes.log);
    }
    free(whole.log);
    free(chunked.log);
    return 0;
}
