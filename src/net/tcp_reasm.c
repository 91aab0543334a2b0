/* tcp_reasm.c — TCP stream reassembly (see tcp_reasm.h for the model).
 *
 * Layout: a chained hash table of connections keyed by the unordered
 * 4-tuple, plus one doubly linked list of all entries in order of last
 * activity (head = most recent), which gives eviction, expiry and
 * tcpr_finish() their order. Each direction keeps its stream position as
 * 64-bit offsets and a sorted singly linked list of out-of-order pieces
 * ("nodes") that never overlap each other, with a tail pointer so that the
 * common case (segments after one lost segment) appends in O(1).
 *
 * Invariant per direction, between calls: the first node, if any, starts
 * after `next` (everything contiguous has been delivered).
 */
#include "net/tcp_reasm.h"

#include <stdlib.h>
#include <string.h>

#define DEF_MAX_CONNS 65536u
#define DEF_MAX_BUFFER (1u << 20)
#define DEF_MAX_TOTAL ((size_t)64 << 20)
#define MAX_AHEAD (1 << 30) /* a segment further ahead is out of window */
#define MIN_BUCKETS 64u

/* An out-of-order piece of one direction: [off, off + len). A hole node
 * carries no bytes: they are known to be missing (cut by the snap length). */
struct node {
    struct node *next;
    uint64_t off, len;
    size_t cost;   /* counted against the buffer limits */
    int64_t ts;
    int hole;
    uint8_t data[];
};

struct dstate {
    int have_base;     /* `base` is known */
    uint32_t base;     /* sequence number of offset 0 */
    int have_isn;
    uint32_t isn;      /* the SYN's sequence number */
    uint64_t next;     /* offset of the next byte to deliver */
    uint64_t seen_end; /* end of the furthest data (or FIN) seen */
    int have_fin;
    uint64_t fin_off;  /* offset the FIN occupies */
    struct node *head, *tail;
    size_t buffered;   /* sum of the nodes' cost */
};

struct conn {
    struct tcpr_conn pub; /* what callbacks see; first member */
    struct conn *hnext;   /* hash chain */
    struct conn *lprev, *lnext; /* activity list */
    uint64_t hash;
    int closed;           /* tombstone after FIN or RST */
    struct dstate d[2];
};

struct tcpr {
    struct tcpr_config cfg;
    uint16_t *ports;
    struct tcpr_callbacks cb;
    struct conn **buckets;
    size_t nbuckets, max_buckets;
    struct conn *lru_head, *lru_tail;
    uint64_t next_id;
    struct tcpr_stats st;
};

const char *tcpr_close_name(enum tcpr_close why)
{
    static const char *const names[TCPR_CLOSE_NREASONS] = {"fin",   "rst",   "timeout",
                                                           "evict", "reuse", "end"};
    return (unsigned)why < TCPR_CLOSE_NREASONS ? names[why] : "?";
}

/* ---- hashing and the activity list ---- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t key_hash(const struct tcpr *t, uint32_t ip1, uint16_t p1, uint32_t ip2,
                         uint16_t p2)
{
    uint64_t a = (uint64_t)ip1 << 16 | p1, b = (uint64_t)ip2 << 16 | p2;
    if (a > b) {
        uint64_t x = a;
        a = b;
        b = x;
    }
    return mix64(mix64(a ^ t->cfg.hash_seed) ^ b);
}

static int same_tuple(const struct conn *c, const struct tcpr_seg *s)
{
    const struct tcpr_conn *p = &c->pub;
    return (p->ip[0] == s->src_ip && p->port[0] == s->src_port && p->ip[1] == s->dst_ip &&
            p->port[1] == s->dst_port) ||
           (p->ip[1] == s->src_ip && p->port[1] == s->src_port && p->ip[0] == s->dst_ip &&
            p->port[0] == s->dst_port);
}

static enum tcpr_dir dir_of(const struct conn *c, const struct tcpr_seg *s)
{
    const struct tcpr_conn *p = &c->pub;
    return p->ip[0] == s->src_ip && p->port[0] == s->src_port && p->ip[1] == s->dst_ip &&
                   p->port[1] == s->dst_port
               ? TCPR_C2S
               : TCPR_S2C;
}

static struct conn *lookup(const struct tcpr *t, uint64_t h, const struct tcpr_seg *s)
{
    for (struct conn *c = t->buckets[h & (t->nbuckets - 1)]; c; c = c->hnext)
        if (c->hash == h && same_tuple(c, s))
            return c;
    return NULL;
}

static void lru_unlink(struct tcpr *t, struct conn *c)
{
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        t->lru_head = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    else
        t->lru_tail = c->lprev;
    c->lprev = c->lnext = NULL;
}

static void lru_push(struct tcpr *t, struct conn *c)
{
    c->lprev = NULL;
    c->lnext = t->lru_head;
    if (t->lru_head)
        t->lru_head->lprev = c;
    else
        t->lru_tail = c;
    t->lru_head = c;
}

static void grow(struct tcpr *t)
{
    if (t->st.conns < t->nbuckets || t->nbuckets >= t->max_buckets)
        return;
    size_t n = t->nbuckets * 2;
    struct conn **b = calloc(n, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct conn *c = t->buckets[i], *nx;
        for (; c; c = nx) {
            nx = c->hnext;
            c->hnext = b[c->hash & (n - 1)];
            b[c->hash & (n - 1)] = c;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

/* ---- out-of-order nodes ---- */

static void node_release(struct tcpr *t, struct dstate *s, struct node *n)
{
    s->buffered -= n->cost;
    t->st.buffered -= n->cost;
    free(n);
}

static void dstate_clear(struct tcpr *t, struct dstate *s)
{
    struct node *n = s->head, *nx;
    for (; n; n = nx) {
        nx = n->next;
        node_release(t, s, n);
    }
    s->head = s->tail = NULL;
}

/* Unhooks and frees an entry (no callback). */
static void conn_destroy(struct tcpr *t, struct conn *c)
{
    struct conn **pp = &t->buckets[c->hash & (t->nbuckets - 1)];
    while (*pp && *pp != c)
        pp = &(*pp)->hnext;
    if (ALWAYS(*pp))
        *pp = c->hnext;
    lru_unlink(t, c);
    dstate_clear(t, &c->d[0]);
    dstate_clear(t, &c->d[1]);
    t->st.conns--;
    free(c);
}

/* ---- delivery ---- */

static const uint8_t *adv(const uint8_t *p, uint64_t k)
{
    return p ? p + k : NULL;
}

/* Passes [next, next + len) on: bytes through on_data, or (data == NULL)
 * a gap through on_gap; moves `next`. */
static void emit(struct tcpr *t, struct conn *c, enum tcpr_dir d, const uint8_t *data,
                 uint64_t len, int64_t ts)
{
    if (!len)
        return;
    c->d[d].next += len;
    if (data) {
        c->pub.bytes[d] += len;
        t->st.bytes += len;
        if (t->cb.on_data)
            t->cb.on_data(t->cb.ctx, &c->pub, d, data, (size_t)len, ts);
    } else {
        c->pub.gap_bytes[d] += len;
        c->pub.gaps[d]++;
        t->st.gap_bytes += len;
        t->st.gaps++;
        if (t->cb.on_gap)
            t->cb.on_gap(t->cb.ctx, &c->pub, d, len, ts);
    }
}

/* Delivers the buffered nodes that have become contiguous. */
static void drain(struct tcpr *t, struct conn *c, enum tcpr_dir d)
{
    struct dstate *s = &c->d[d];
    struct node *n;
    while ((n = s->head) && n->off <= s->next) {
        uint64_t end = n->off + n->len;
        if (end > s->next) {
            uint64_t k = s->next - n->off;
            emit(t, c, d, n->hole ? NULL : n->data + k, end - s->next, n->ts);
        }
        s->head = n->next;
        if (!s->head)
            s->tail = NULL;
        node_release(t, s, n);
    }
}

/* Moves `next` up to `to` (<= the end of what was seen): holes on the way
 * become gaps, buffered data is delivered. */
static void advance_to(struct tcpr *t, struct conn *c, enum tcpr_dir d, uint64_t to, int64_t ts)
{
    struct dstate *s = &c->d[d];
    while (s->next < to) {
        struct node *n = s->head;
        uint64_t stop = n && n->off < to ? n->off : to;
        emit(t, c, d, NULL, stop - s->next, ts);
        drain(t, c, d);
    }
}

/* Gives up every hole of a direction (closing): buffered data is delivered,
 * missing bytes up to a known FIN become gaps. */
static void flush_dir(struct tcpr *t, struct conn *c, enum tcpr_dir d, int64_t ts)
{
    struct dstate *s = &c->d[d];
    while (s->head) {
        emit(t, c, d, NULL, s->head->off > s->next ? s->head->off - s->next : 0, ts);
        drain(t, c, d);
    }
    if (s->have_fin && s->next < s->fin_off)
        emit(t, c, d, NULL, s->fin_off - s->next, ts);
}

/* Delivers an in-order piece (off == next), interleaved with buffered nodes
 * that cover parts of it (those were first, so they win). */
static void deliver_in_order(struct tcpr *t, struct conn *c, enum tcpr_dir d, uint64_t off,
                             uint64_t len, const uint8_t *data, int64_t ts)
{
    struct dstate *s = &c->d[d];
    uint64_t end = off + len, sent = 0;
    while (s->next < end) {
        struct node *n = s->head;
        uint64_t stop = n && n->off < end ? n->off : end;
        if (stop > s->next) {
            sent += stop - s->next;
            emit(t, c, d, adv(data, s->next - off), stop - s->next, ts);
        }
        if (stop == end)
            break;
        drain(t, c, d);
    }
    t->st.retrans_bytes += len - sent;
    drain(t, c, d);
}

static struct node *node_new(struct tcpr *t, struct dstate *s, uint64_t off, uint64_t len,
                             const uint8_t *data, int64_t ts)
{
    size_t bytes = data ? (size_t)len : 0;
    struct node *n = malloc(sizeof *n + bytes);
    if (!n) {
        t->st.oom++;
        return NULL;
    }
    n->next = NULL;
    n->off = off;
    n->len = len;
    n->cost = sizeof *n + bytes;
    n->ts = ts;
    n->hole = data == NULL;
    if (bytes)
        memcpy(n->data, data, bytes);
    s->buffered += n->cost;
    t->st.buffered += n->cost;
    if (t->st.buffered > t->st.buffered_peak)
        t->st.buffered_peak = t->st.buffered;
    return n;
}

/* Buffers the parts of an out-of-order piece (off > next) that no node
 * holds yet. Returns 0 (stored, or nothing new), or -1 if that would exceed
 * a buffer limit (nothing stored). */
static int store(struct tcpr *t, struct conn *c, enum tcpr_dir d, uint64_t off, uint64_t len,
                 const uint8_t *data, int64_t ts)
{
    struct dstate *s = &c->d[d];
    uint64_t end = off + len;
    int append = !s->tail || off >= s->tail->off + s->tail->len;
    uint64_t nbytes = 0, nnodes = 0;
    if (append) {
        nbytes = len;
        nnodes = 1;
    } else {
        uint64_t cur = off;
        for (struct node *n = s->head; n && n->off < end && cur < end; n = n->next) {
            uint64_t nend = n->off + n->len;
            if (nend <= cur)
                continue;
            if (n->off > cur) {
                nbytes += n->off - cur;
                nnodes++;
            }
            cur = nend;
        }
        if (cur < end) {
            nbytes += end - cur;
            nnodes++;
        }
    }
    if (!nbytes) {
        t->st.retrans_bytes += len;
        return 0;
    }
    uint64_t cost = (data ? nbytes : 0) + nnodes * sizeof(struct node);
    if (s->buffered + cost > t->cfg.max_buffer || t->st.buffered + cost > t->cfg.max_total_buffer)
        return -1;
    t->st.ooo_segments++;
    t->st.retrans_bytes += len - nbytes;
    struct node **pp = append && s->tail ? &s->tail->next : &s->head;
    uint64_t cur = off;
    while (cur < end) {
        struct node *n = *pp;
        if (n && n->off + n->len <= cur) {
            pp = &n->next;
            continue;
        }
        uint64_t stop = n && n->off < end ? n->off : end;
        if (stop > cur) {
            struct node *m = node_new(t, s, cur, stop - cur, adv(data, cur - off), ts);
            if (m) { /* on failure the bytes stay a hole */
                m->next = n;
                *pp = m;
                if (!n)
                    s->tail = m;
                pp = &m->next;
            }
        }
        if (!n || n->off >= end)
            break;
        cur = n->off + n->len;
        pp = &n->next;
    }
    return 0;
}

/* Places one piece of a direction's stream: [off, off + len), bytes `data`
 * (NULL: known missing). */
static void place(struct tcpr *t, struct conn *c, enum tcpr_dir d, uint64_t off, uint64_t len,
                  const uint8_t *data, int64_t ts)
{
    struct dstate *s = &c->d[d];
    for (;;) {
        uint64_t end = off + len;
        if (s->have_fin && end > s->fin_off) {
            uint64_t from = off > s->fin_off ? off : s->fin_off;
            t->st.beyond_fin_bytes += end - from;
            len -= end - from;
            end = from;
            if (!len)
                return;
        }
        if (end <= s->next) {
            t->st.retrans_bytes += len;
            return;
        }
        if (off < s->next) {
            uint64_t k = s->next - off;
            t->st.retrans_bytes += k;
            data = adv(data, k);
            off = s->next;
            len -= k;
        }
        if (end > s->seen_end)
            s->seen_end = end;
        if (off == s->next) {
            deliver_in_order(t, c, d, off, len, data, ts);
            return;
        }
        if (store(t, c, d, off, len, data, ts) == 0)
            return;
        /* Over a limit: give up the oldest hole (or, with nothing
         * buffered, the hole before this piece) and try again. */
        t->st.overflows++;
        if (s->head) {
            emit(t, c, d, NULL, s->head->off - s->next, ts);
            drain(t, c, d);
        } else {
            emit(t, c, d, NULL, off - s->next, ts);
        }
    }
}

/* Records a direction's FIN at offset `fo` (first FIN wins) and drops what
 * was buffered beyond it. */
static void set_fin(struct tcpr *t, struct dstate *s, uint64_t fo)
{
    if (s->have_fin || fo < s->next)
        return;
    s->have_fin = 1;
    s->fin_off = fo;
    s->seen_end = fo;
    struct node **pp = &s->head, *last = NULL;
    while (*pp && (*pp)->off + (*pp)->len <= fo) {
        last = *pp;
        pp = &(*pp)->next;
    }
    if (*pp && (*pp)->off < fo) { /* straddles the FIN: shorten */
        struct node *n = *pp;
        t->st.beyond_fin_bytes += n->off + n->len - fo;
        n->len = fo - n->off;
        last = n;
        pp = &n->next;
    }
    struct node *n = *pp, *nx;
    for (; n; n = nx) {
        nx = n->next;
        t->st.beyond_fin_bytes += n->len;
        node_release(t, s, n);
    }
    *pp = NULL;
    s->tail = last;
}

/* The peer acknowledged up to sequence number `ack` of direction d: holes
 * below it (and below the end of what was seen) will never be filled. */
static void ack_advance(struct tcpr *t, struct conn *c, enum tcpr_dir d, uint32_t ack, int64_t ts)
{
    struct dstate *s = &c->d[d];
    if (!s->have_base)
        return;
    int32_t delta = (int32_t)(ack - (s->base + (uint32_t)s->next));
    if (delta <= 0 || delta > MAX_AHEAD)
        return;
    uint64_t to = s->next + (uint64_t)delta;
    if (to > s->seen_end)
        to = s->seen_end;
    if (to > s->next)
        advance_to(t, c, d, to, ts);
}

/* ---- connections ---- */

static int dir_done(const struct dstate *s)
{
    return s->have_fin && s->next >= s->fin_off;
}

/* Closes a live connection: flushes both directions, calls on_close; FIN
 * and RST leave a tombstone, other reasons free the entry. */
static void conn_close(struct tcpr *t, struct conn *c, enum tcpr_close why, int64_t ts)
{
    flush_dir(t, c, TCPR_C2S, ts);
    flush_dir(t, c, TCPR_S2C, ts);
    t->st.closed[why]++;
    if (t->cb.on_close)
        t->cb.on_close(t->cb.ctx, &c->pub, why, ts);
    c->pub.user = NULL;
    if (why == TCPR_CLOSE_FIN || why == TCPR_CLOSE_RST) {
        c->closed = 1;
        dstate_clear(t, &c->d[0]);
        dstate_clear(t, &c->d[1]);
    } else {
        conn_destroy(t, c);
    }
}

/* Removes the least recently active entry (closing it if live). */
static void evict_one(struct tcpr *t, enum tcpr_close why, int64_t ts)
{
    struct conn *c = t->lru_tail;
    if (!c)
        return;
    if (c->closed)
        conn_destroy(t, c);
    else
        conn_close(t, c, why, ts);
}

static int known_port(const struct tcpr *t, uint16_t p)
{
    for (size_t i = 0; i < t->cfg.nserver_ports; i++)
        if (t->ports[i] == p)
            return 1;
    return 0;
}

/* 1 if the segment's sender is the client of a connection it opens. */
static int sender_is_client(const struct tcpr *t, const struct tcpr_seg *s)
{
    if (s->flags & TCPR_SYN)
        return !(s->flags & TCPR_ACK);
    int sk = known_port(t, s->src_port), dk = known_port(t, s->dst_port);
    if (sk != dk)
        return dk;
    int sl = s->src_port < 1024, dl = s->dst_port < 1024;
    if (sl != dl)
        return dl;
    return 1;
}

static struct conn *conn_open(struct tcpr *t, uint64_t h, const struct tcpr_seg *s)
{
    while (t->st.conns >= t->cfg.max_conns && t->lru_tail)
        evict_one(t, TCPR_CLOSE_EVICT, s->ts_ns);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        t->st.oom++;
        return NULL;
    }
    int cl = sender_is_client(t, s);
    c->pub.id = t->next_id++;
    c->pub.ip[cl ? 0 : 1] = s->src_ip;
    c->pub.port[cl ? 0 : 1] = s->src_port;
    c->pub.ip[cl ? 1 : 0] = s->dst_ip;
    c->pub.port[cl ? 1 : 0] = s->dst_port;
    c->pub.handshake = (s->flags & TCPR_SYN) != 0;
    c->pub.first_ts = c->pub.last_ts = s->ts_ns;
    c->hash = h;
    struct conn **b = &t->buckets[h & (t->nbuckets - 1)];
    c->hnext = *b;
    *b = c;
    lru_push(t, c);
    t->st.conns++;
    t->st.opened++;
    grow(t);
    if (t->cb.on_open)
        t->cb.on_open(t->cb.ctx, &c->pub, s->ts_ns);
    return c;
}

/* A pure SYN on a live connection: 1 if it belongs to it (the client's
 * first or a retransmitted SYN), 0 if it opens a new connection. */
static int syn_belongs(const struct conn *c, enum tcpr_dir d, uint32_t seq)
{
    const struct dstate *cs = &c->d[TCPR_C2S];
    if (d != TCPR_C2S)
        return 0;
    if (cs->have_isn)
        return cs->isn == seq;
    return !cs->have_base;
}

int tcpr_feed(struct tcpr *t, const struct tcpr_seg *seg)
{
    if (!t || !seg)
        return -1;
    t->st.segments++;
    int64_t ts = seg->ts_ns;
    if (t->cfg.idle_timeout_ns > 0)
        tcpr_expire(t, ts);
    uint8_t fl = seg->flags;
    int syn = fl & TCPR_SYN, pure_syn = syn && !(fl & TCPR_ACK);
    uint32_t cap = seg->payload ? seg->payload_len : 0;
    uint64_t wire = seg->wire_len > cap ? seg->wire_len : cap;

    uint64_t h = key_hash(t, seg->src_ip, seg->src_port, seg->dst_ip, seg->dst_port);
    struct conn *c = lookup(t, h, seg);
    if (c && c->closed) {
        const struct dstate *cs = &c->d[TCPR_C2S];
        /* a retransmission of the closed connection's own SYN is late too */
        if (!pure_syn || (dir_of(c, seg) == TCPR_C2S && cs->have_isn && cs->isn == seg->seq)) {
            t->st.late_segments++;
            lru_unlink(t, c);
            lru_push(t, c);
            c->pub.last_ts = ts;
            return 0;
        }
        conn_destroy(t, c);
        c = NULL;
    } else if (c && pure_syn && !syn_belongs(c, dir_of(c, seg), seg->seq)) {
        conn_close(t, c, TCPR_CLOSE_REUSE, ts);
        c = NULL;
    }
    if (!c && !(c = conn_open(t, h, seg)))
        return 0;

    enum tcpr_dir d = dir_of(c, seg);
    struct dstate *s = &c->d[d];
    lru_unlink(t, c);
    lru_push(t, c);
    c->pub.last_ts = ts;
    c->pub.segments[d]++;

    if (fl & TCPR_RST) {
        t->st.rst_bytes += wire;
        conn_close(t, c, TCPR_CLOSE_RST, ts);
        return 0;
    }
    /* What this side acknowledges tells which of the peer's holes are lost. */
    if (fl & TCPR_ACK)
        ack_advance(t, c, (enum tcpr_dir)!d, seg->ack, ts);

    uint32_t start = seg->seq;
    if (syn) {
        start++;
        if (!s->have_isn && !s->have_base) {
            s->have_isn = 1;
            s->isn = seg->seq;
            s->have_base = 1;
            s->base = start;
            if ((d == TCPR_C2S) == !(fl & TCPR_ACK))
                c->pub.handshake = 1;
        }
    }
    if (!s->have_base) {
        if (!wire && !(fl & TCPR_FIN))
            return 0; /* a pure ACK places nothing */
        s->have_base = 1;
        s->base = start;
    }
    int32_t delta = (int32_t)(start - (s->base + (uint32_t)s->next));
    if (delta > MAX_AHEAD) {
        t->st.out_of_window++;
        return 0;
    }
    int64_t off = (int64_t)s->next + delta;
    if (fl & TCPR_FIN) {
        int64_t fo = off + (int64_t)wire;
        if (fo >= 0)
            set_fin(t, s, (uint64_t)fo);
    }
    if (wire) {
        const uint8_t *data = seg->payload;
        uint64_t w = wire, k = cap;
        if (off < 0) { /* starts before the stream did */
            uint64_t skip = (uint64_t)-off;
            if (skip >= w) {
                t->st.retrans_bytes += w;
                w = 0;
            } else {
                t->st.retrans_bytes += skip;
                data = skip < k ? data + skip : NULL;
                k = skip < k ? k - skip : 0;
                w -= skip;
            }
            off = 0;
        }
        if (k)
            place(t, c, d, (uint64_t)off, k, data, ts);
        if (w > k)
            place(t, c, d, (uint64_t)off + k, w - k, NULL, ts);
    }
    if (dir_done(&c->d[0]) && dir_done(&c->d[1]))
        conn_close(t, c, TCPR_CLOSE_FIN, ts);
    return 0;
}

void tcpr_expire(struct tcpr *t, int64_t now_ns)
{
    if (!t || t->cfg.idle_timeout_ns <= 0)
        return;
    struct conn *c;
    while ((c = t->lru_tail) && now_ns > c->pub.last_ts &&
           (uint64_t)now_ns - (uint64_t)c->pub.last_ts > (uint64_t)t->cfg.idle_timeout_ns)
        evict_one(t, TCPR_CLOSE_TIMEOUT, now_ns);
}

void tcpr_finish(struct tcpr *t, int64_t ts_ns)
{
    if (!t)
        return;
    while (t->lru_tail)
        evict_one(t, TCPR_CLOSE_END, ts_ns);
}

const struct tcpr_stats *tcpr_stats(const struct tcpr *t)
{
    return &t->st;
}

struct tcpr *tcpr_new(const struct tcpr_config *cfg, const struct tcpr_callbacks *cb,
                      struct err *e)
{
    struct tcpr *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(e, "tcp reassembly: out of memory");
        return NULL;
    }
    if (cfg)
        t->cfg = *cfg;
    if (cb)
        t->cb = *cb;
    if (!t->cfg.max_conns)
        t->cfg.max_conns = DEF_MAX_CONNS;
    if (!t->cfg.max_buffer)
        t->cfg.max_buffer = DEF_MAX_BUFFER;
    if (!t->cfg.max_total_buffer)
        t->cfg.max_total_buffer = DEF_MAX_TOTAL;
    if (!t->cfg.hash_seed)
        t->cfg.hash_seed = 0x9e3779b97f4a7c15ULL;
    static const uint16_t def_ports[] = {502};
    const uint16_t *ports = t->cfg.server_ports ? t->cfg.server_ports : def_ports;
    size_t np = t->cfg.server_ports ? t->cfg.nserver_ports : 1;
    t->ports = malloc((np ? np : 1) * sizeof *t->ports);
    t->max_buckets = MIN_BUCKETS;
    while (t->max_buckets < t->cfg.max_conns && t->max_buckets < ((size_t)1 << 30))
        t->max_buckets *= 2;
    t->nbuckets = MIN_BUCKETS;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->ports || !t->buckets) {
        free(t->ports);
        free(t->buckets);
        free(t);
        err_set(e, "tcp reassembly: out of memory");
        return NULL;
    }
    if (np)
        memcpy(t->ports, ports, np * sizeof *t->ports);
    t->cfg.server_ports = t->ports;
    t->cfg.nserver_ports = np;
    return t;
}

void tcpr_free(struct tcpr *t)
{
    if (!t)
        return;
    while (t->lru_tail)
        conn_destroy(t, t->lru_tail);
    free(t->buckets);
    free(t->ports);
    free(t);
}
