/* tap_pcap.c — the tap writer: net tap events in, a SPAN-port-like pcap
 * file out (see tap_pcap.h).
 *
 * State: a table of the connections the tap opened (keyed by link id),
 * each with the next sequence number of both sides; a set of host pairs
 * that have exchanged ARP; one IP id counter per host. Finished
 * connections (both FINs, or a RST) linger TAPW_LINGER of virtual time so
 * that segments still in flight when they ended are drawn right, then are
 * forgotten. Nothing here depends on the wall clock but when to flush.
 */
#include "net/tap_pcap.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAPW_LINGER (60 * VT_SEC)  /* finished connections are kept this long */
#define WSCALE 7
#define WIN_SYN 64240              /* SYN and SYN-ACK window (unscaled) */
#define WIN_EST 502                /* later windows: 502 << 7 = 64256 bytes */
#define ETH_MIN 60                 /* minimum Ethernet frame (without FCS) */
#define FRAME_MAX (14 + 20 + 60 + TAPW_MSS)

/* TCP flags (header byte 13) */
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct conn {
    uint64_t id;
    struct conn *hnext;      /* hash chain */
    struct conn *lnext;      /* linger list */
    vtime_t done_at;
    uint32_t ip[2];          /* [0] client, [1] server */
    uint16_t port[2];
    uint32_t nxt[2];         /* next sequence number each side sends */
    uint8_t fin[2];
    uint8_t reset;
    uint8_t lingering;
    uint8_t ack_owed[2];     /* side s owes the other side a delayed ACK */
    vtime_t ack_due[2];
};

/* A delayed ACK waiting for its time: FIFO, as every one is due delack
 * after the event that made it. */
struct owed {
    uint64_t id;
    vtime_t due;
    int side;
};

/* Open addressing, uint64 key -> uint16 value (hosts: IP id; pairs: unused). */
struct u64map {
    uint64_t *key;
    uint16_t *val;
    uint8_t *used;
    size_t cap, n;
};

struct watch {
    uv_timer_t timer;
    struct tapw *w;
};

struct tapw {
    char *path;
    int64_t start;
    struct tapw_opts o;
    pcap_t *pcap;
    pcap_dumper_t *dump;
    FILE *f;
    char *iobuf;
    size_t unflushed;        /* bytes in the stdio buffer */
    uint64_t last_flush_ms;  /* monotonic wall clock */
    int failed;
    char why[256];
    struct conn **tab;
    size_t tab_cap, nconns;
    struct conn *linger_head, *linger_tail;
    struct u64map hosts, pairs;
    struct watch *watch;
    struct owed *owed;       /* ring of delayed ACKs */
    size_t owed_cap, owed_head, owed_n;
    struct tapw_stats st;
    uint8_t frame[FRAME_MAX];
};

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort(); /* out of memory inside a tap hook: nothing sane to do */
    return p;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- small maps ---- */

static void map_init(struct u64map *m, size_t cap)
{
    m->cap = cap;
    m->n = 0;
    m->key = xcalloc(cap, sizeof *m->key);
    m->val = xcalloc(cap, sizeof *m->val);
    m->used = xcalloc(cap, 1);
}

static void map_clear(struct u64map *m)
{
    free(m->key);
    free(m->val);
    free(m->used);
    memset(m, 0, sizeof *m);
}

static size_t map_slot(const struct u64map *m, uint64_t k)
{
    size_t i = (size_t)mix64(k) & (m->cap - 1);
    while (m->used[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

/* The value of `k`, inserting it with `init` if absent (*added = 1). */
static uint16_t *map_get(struct u64map *m, uint64_t k, uint16_t init, int *added)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct u64map g;
        map_init(&g, m->cap * 2);
        for (size_t i = 0; i < m->cap; i++)
            if (m->used[i]) {
                size_t j = map_slot(&g, m->key[i]);
                g.used[j] = 1;
                g.key[j] = m->key[i];
                g.val[j] = m->val[i];
                g.n++;
            }
        map_clear(m);
        *m = g;
    }
    size_t i = map_slot(m, k);
    *added = !m->used[i];
    if (!m->used[i]) {
        m->used[i] = 1;
        m->key[i] = k;
        m->val[i] = init;
        m->n++;
    }
    return &m->val[i];
}

/* ---- connections ---- */

static size_t conn_bucket(const struct tapw *w, uint64_t id)
{
    return (size_t)mix64(id) & (w->tab_cap - 1);
}

static struct conn *conn_find(struct tapw *w, uint64_t id)
{
    for (struct conn *c = w->tab[conn_bucket(w, id)]; c; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

static void conn_insert(struct tapw *w, struct conn *c)
{
    if (w->nconns + 1 > w->tab_cap) {
        size_t old = w->tab_cap;
        struct conn **ot = w->tab;
        w->tab_cap *= 2;
        w->tab = xcalloc(w->tab_cap, sizeof *w->tab);
        for (size_t i = 0; i < old; i++)
            for (struct conn *x = ot[i], *nx; x; x = nx) {
                nx = x->hnext;
                size_t b = conn_bucket(w, x->id);
                x->hnext = w->tab[b];
                w->tab[b] = x;
            }
        free(ot);
    }
    size_t b = conn_bucket(w, c->id);
    c->hnext = w->tab[b];
    w->tab[b] = c;
    w->nconns++;
}

static void conn_remove(struct tapw *w, struct conn *c)
{
    for (struct conn **p = &w->tab[conn_bucket(w, c->id)]; *p; p = &(*p)->hnext)
        if (*p == c) {
            *p = c->hnext;
            w->nconns--;
            return;
        }
}

/* A finished connection starts lingering (once). */
static void conn_done(struct tapw *w, struct conn *c, vtime_t t)
{
    if (c->lingering)
        return;
    c->lingering = 1;
    c->done_at = t;
    c->lnext = NULL;
    if (w->linger_tail)
        w->linger_tail->lnext = c;
    else
        w->linger_head = c;
    w->linger_tail = c;
}

/* Forgets connections finished more than TAPW_LINGER before t (the list is
 * in order of time, as events are). */
static void purge(struct tapw *w, vtime_t t)
{
    while (w->linger_head && w->linger_head->done_at <= t - TAPW_LINGER) {
        struct conn *c = w->linger_head;
        w->linger_head = c->lnext;
        if (!w->linger_head)
            w->linger_tail = NULL;
        conn_remove(w, c);
        free(c);
    }
}

/* ---- output ---- */

static void fail(struct tapw *w, int errnum)
{
    if (!w->failed) {
        w->failed = 1;
        snprintf(w->why, sizeof w->why, "%s", errnum ? strerror(errnum) : "write error");
    }
}

static void do_flush(struct tapw *w)
{
    if (!w->dump)
        return;
    errno = 0;
    if (pcap_dump_flush(w->dump) != 0 || ferror(w->f))
        fail(w, errno);
    w->unflushed = 0;
    w->st.flushes++;
    if (w->o.flush == TAPW_FLUSH_INTERVAL)
        w->last_flush_ms = mono_ms();
}

/* Writes one frame of `len` bytes (padded to the Ethernet minimum) from
 * w->frame, stamped start + t. The stdio buffer is written out before a
 * record that would not fit, so it never reaches the disk in pieces. */
static void put_frame(struct tapw *w, size_t len, vtime_t t)
{
    if (len < ETH_MIN) {
        memset(w->frame + len, 0, ETH_MIN - len);
        len = ETH_MIN;
    }
    int64_t ts = w->start + t;
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof h);
    h.ts.tv_sec = (time_t)(ts / VT_SEC);
    h.ts.tv_usec = (suseconds_t)(ts % VT_SEC); /* nanoseconds: the handle is NANO */
    h.caplen = h.len = (bpf_u_int32)len;
    size_t rec = 16 + len;
    if (w->unflushed + rec > TAPW_BUFFER)
        do_flush(w);
    pcap_dump((u_char *)w->dump, &h, w->frame);
    w->unflushed += rec;
    w->st.frames++;
    w->st.bytes += len;
    if (w->o.flush == TAPW_FLUSH_FRAME)
        do_flush(w);
    else if (w->o.flush == TAPW_FLUSH_INTERVAL && mono_ms() - w->last_flush_ms >= w->o.flush_ms)
        do_flush(w);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void tapw_mac_of(uint32_t ip, uint8_t mac[6])
{
    mac[0] = 0x02;
    mac[1] = 0x00;
    put32(mac + 2, ip);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (; n > 1; n -= 2, p += 2)
        s += (uint32_t)p[0] << 8 | p[1];
    if (n)
        s += (uint32_t)p[0] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void eth_header(uint8_t *f, const uint8_t dst[6], uint32_t src_ip, uint16_t type)
{
    memcpy(f, dst, 6);
    tapw_mac_of(src_ip, f + 6);
    put16(f + 12, type);
}

/* ARP request from `a` for `b`, and b's reply. */
static void put_arp(struct tapw *w, uint32_t a, uint32_t b, vtime_t t)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    for (int op = 1; op <= 2; op++) {
        uint32_t from = op == 1 ? a : b, to = op == 1 ? b : a;
        uint8_t *f = w->frame, to_mac[6];
        tapw_mac_of(to, to_mac);
        eth_header(f, op == 1 ? bcast : to_mac, from, 0x0806);
        uint8_t *p = f + 14;
        put16(p, 1);           /* Ethernet */
        put16(p + 2, 0x0800);  /* IPv4 */
        p[4] = 6;
        p[5] = 4;
        put16(p + 6, (uint16_t)op);
        tapw_mac_of(from, p + 8);
        put32(p + 14, from);
        if (op == 1)
            memset(p + 18, 0, 6);
        else
            memcpy(p + 18, to_mac, 6);
        put32(p + 24, to);
        put_frame(w, 14 + 28, t);
    }
    w->st.arp_pairs++;
}

static uint16_t next_ipid(struct tapw *w, uint32_t ip)
{
    int added;
    uint16_t *id = map_get(&w->hosts, ip, (uint16_t)mix64(w->o.seed ^ 0x1dU ^ (uint64_t)ip << 8),
                           &added);
    return (*id)++;
}

/* One TCP segment from side `from` of `c`. */
static void put_tcp(struct tapw *w, const struct conn *c, int from, uint8_t flags, uint32_t seq,
                    uint32_t ack, uint16_t win, const uint8_t *opt, size_t optlen,
                    const uint8_t *data, size_t len, vtime_t t)
{
    uint32_t sip = c->ip[from], dip = c->ip[1 - from];
    uint8_t *f = w->frame, dmac[6];
    tapw_mac_of(dip, dmac);
    eth_header(f, dmac, sip, 0x0800);
    uint8_t *ip = f + 14, *tcp = ip + 20;
    size_t thl = 20 + optlen, tlen = thl + len;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(20 + tlen));
    put16(ip + 4, next_ipid(w, sip));
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = 6;
    put16(ip + 10, 0);
    put32(ip + 12, sip);
    put32(ip + 16, dip);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    put16(tcp, c->port[from]);
    put16(tcp + 2, c->port[1 - from]);
    put32(tcp + 4, seq);
    put32(tcp + 8, (flags & F_ACK) ? ack : 0);
    tcp[12] = (uint8_t)((thl / 4) << 4);
    tcp[13] = flags;
    put16(tcp + 14, win);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    if (optlen)
        memcpy(tcp + 20, opt, optlen);
    if (len)
        memcpy(tcp + thl, data, len);
    /* pseudo-header: addresses, protocol, TCP length */
    uint32_t s = sum16(ip + 12, 8, 0) + 6 + (uint32_t)tlen;
    put16(tcp + 16, fold(sum16(tcp, tlen, s)));
    put_frame(w, 14 + 20 + tlen, t);
}

/* A segment with the side's current numbers and the established window. */
static void put_seg(struct tapw *w, const struct conn *c, int from, uint8_t flags,
                    const uint8_t *data, size_t len, vtime_t t)
{
    put_tcp(w, c, from, flags, c->nxt[from], c->nxt[1 - from], WIN_EST, NULL, 0, data, len, t);
}

/* What a stack that no longer knows the connection answers to a segment
 * from side 1 - `to` that carried ACK: RST with seq = that ACK. */
static void put_rst_reply(struct tapw *w, const struct conn *c, int to, vtime_t t)
{
    put_tcp(w, c, to, F_RST, c->nxt[to], 0, 0, NULL, 0, NULL, 0, t);
}

/* ---- delayed ACKs ---- */

/* Writes the delayed ACKs due at or before t (the next event's time), each
 * stamped with its own due time, so frames stay in time order. */
static void pay_acks(struct tapw *w, vtime_t t)
{
    while (w->owed_n) {
        struct owed *o = &w->owed[w->owed_head];
        if (o->due > t)
            break;
        struct conn *c = conn_find(w, o->id);
        if (c && !c->reset && c->ack_owed[o->side] && c->ack_due[o->side] == o->due) {
            put_seg(w, c, o->side, F_ACK, NULL, 0, o->due);
            c->ack_owed[o->side] = 0;
        }
        w->owed_head = (w->owed_head + 1) % w->owed_cap;
        w->owed_n--;
    }
}

/* Side `side` of c owes an ACK from t on. */
static void owe_ack(struct tapw *w, struct conn *c, int side, vtime_t t)
{
    if (c->ack_owed[side])
        return; /* the first unacknowledged data sets the time */
    if (w->owed_n == w->owed_cap) {
        size_t nc = w->owed_cap ? w->owed_cap * 2 : 64;
        struct owed *no = xcalloc(nc, sizeof *no);
        for (size_t i = 0; i < w->owed_n; i++)
            no[i] = w->owed[(w->owed_head + i) % w->owed_cap];
        free(w->owed);
        w->owed = no;
        w->owed_cap = nc;
        w->owed_head = 0;
    }
    vtime_t due = t + w->o.delack;
    w->owed[(w->owed_head + w->owed_n) % w->owed_cap] = (struct owed){c->id, due, side};
    w->owed_n++;
    c->ack_owed[side] = 1;
    c->ack_due[side] = due;
}

/* ---- hooks ---- */

static void hk_open(void *ctx, uint64_t id, const struct net_addr *cl, const struct net_addr *sv,
                    vtime_t t)
{
    struct tapw *w = ctx;
    pay_acks(w, t);
    purge(w, t);
    if (conn_find(w, id)) {
        w->st.unknown_events++;
        return;
    }
    struct conn *c = xcalloc(1, sizeof *c);
    c->id = id;
    c->ip[0] = cl->ip;
    c->ip[1] = sv->ip;
    c->port[0] = cl->port;
    c->port[1] = sv->port;
    uint64_t tuple = mix64(((uint64_t)cl->ip << 32 | sv->ip) ^
                           mix64((uint64_t)cl->port << 16 | sv->port));
    uint64_t h = mix64(w->o.seed ^ tuple ^ mix64(w->st.connections));
    uint32_t isn[2] = {(uint32_t)h, (uint32_t)(h >> 32)};
    conn_insert(w, c);
    w->st.connections++;
    if (cl->ip != sv->ip) {
        uint64_t lo = cl->ip < sv->ip ? cl->ip : sv->ip, hi = cl->ip < sv->ip ? sv->ip : cl->ip;
        int added;
        map_get(&w->pairs, lo << 32 | hi, 0, &added);
        if (added)
            put_arp(w, cl->ip, sv->ip, t);
    }
    static const uint8_t opt[12] = {2, 4, TAPW_MSS >> 8, TAPW_MSS & 0xff, 1, 3, 3, WSCALE,
                                    1, 1, 4, 2};
    put_tcp(w, c, 0, F_SYN, isn[0], 0, WIN_SYN, opt, sizeof opt, NULL, 0, t);
    put_tcp(w, c, 1, F_SYN | F_ACK, isn[1], isn[0] + 1, WIN_SYN, opt, sizeof opt, NULL, 0, t);
    c->nxt[0] = isn[0] + 1;
    c->nxt[1] = isn[1] + 1;
    put_seg(w, c, 0, F_ACK, NULL, 0, t);
}

static void hk_data(void *ctx, uint64_t id, enum tap_dir dir, const uint8_t *data, size_t len,
                    vtime_t t)
{
    struct tapw *w = ctx;
    pay_acks(w, t);
    purge(w, t);
    struct conn *c = conn_find(w, id);
    int from = dir == TAP_TO_SERVER ? 0 : 1, to = 1 - from;
    if (!c || c->fin[from]) {
        w->st.unknown_events++;
        return;
    }
    if (len == 0)
        return;
    c->ack_owed[from] = 0; /* this data carries the acknowledgement */
    int dead_peer = c->reset; /* the receiver no longer knows the connection */
    size_t nseg = 0;
    for (size_t off = 0; off < len; off += TAPW_MSS) {
        size_t n = len - off < TAPW_MSS ? len - off : TAPW_MSS;
        int last = off + n == len;
        put_seg(w, c, from, last ? (F_PSH | F_ACK) : F_ACK, data + off, n, t);
        c->nxt[from] += (uint32_t)n;
        w->st.payload_bytes += n;
        nseg++;
        if (dead_peer) {
            put_rst_reply(w, c, to, t);
        } else if (nseg % 2 == 0) {
            put_seg(w, c, to, F_ACK, NULL, 0, t);
            c->ack_owed[to] = 0;
        } else if (last) {
            if (w->o.delack > 0) {
                owe_ack(w, c, to, t);
            } else {
                put_seg(w, c, to, F_ACK, NULL, 0, t);
            }
        }
    }
}

static void hk_close(void *ctx, uint64_t id, enum tap_dir dir, int reset, vtime_t t)
{
    struct tapw *w = ctx;
    pay_acks(w, t);
    purge(w, t);
    struct conn *c = conn_find(w, id);
    int from = dir == TAP_TO_SERVER ? 0 : 1, to = 1 - from;
    if (!c) {
        w->st.unknown_events++;
        return;
    }
    /* a FIN or RST carries the sender's acknowledgement; the FIN's ACK
     * carries the other side's */
    c->ack_owed[0] = c->ack_owed[1] = 0;
    if (reset) {
        w->st.resets++;
        put_seg(w, c, from, F_RST | F_ACK, NULL, 0, t);
        c->reset = 1;
        conn_done(w, c, t);
        return;
    }
    if (c->fin[from]) {
        w->st.unknown_events++;
        return;
    }
    w->st.fins++;
    put_seg(w, c, from, F_FIN | F_ACK, NULL, 0, t);
    c->nxt[from]++;
    c->fin[from] = 1;
    if (c->reset) {
        put_rst_reply(w, c, to, t);
        return;
    }
    put_seg(w, c, to, F_ACK, NULL, 0, t);
    if (c->fin[to])
        conn_done(w, c, t);
}

static const struct net_tap hooks = {hk_open, hk_data, hk_close};

const struct net_tap *tapw_hooks(void)
{
    return &hooks;
}

/* ---- the writer ---- */

void tapw_settle(struct tapw *w, vtime_t t)
{
    pay_acks(w, t);
}

const char *tapw_libpcap_version(void)
{
    return pcap_lib_version();
}

void tapw_opts_default(struct tapw_opts *o)
{
    o->seed = 1;
    o->flush = TAPW_FLUSH_FULL;
    o->flush_ms = 100;
    o->delack = 40 * VT_MS;
}

struct tapw *tapw_new(const char *path, int64_t start_unix_ns, const struct tapw_opts *o,
                      struct err *e)
{
    if (start_unix_ns < 0) {
        err_set(e, "%s: the start must not be before 1970", path);
        return NULL;
    }
    struct tapw *w = calloc(1, sizeof *w);
    if (!w) {
        err_set(e, "out of memory");
        return NULL;
    }
    if (o)
        w->o = *o;
    else
        tapw_opts_default(&w->o);
    if (w->o.flush_ms == 0)
        w->o.flush_ms = 100;
    w->start = start_unix_ns;
    w->path = strdup(path);
    w->iobuf = malloc(TAPW_BUFFER);
    w->tab_cap = 64;
    w->tab = calloc(w->tab_cap, sizeof *w->tab);
    if (!w->path || !w->iobuf || !w->tab) {
        err_set(e, "out of memory");
        goto fail;
    }
    map_init(&w->hosts, 64);
    map_init(&w->pairs, 64);
    w->pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (!w->pcap) {
        err_set(e, "%s: cannot create a pcap handle", path);
        goto fail;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        err_set(e, "%s: %s", path, strerror(errno));
        goto fail;
    }
    /* our buffer, of a known size: records are never split by stdio */
    setvbuf(f, w->iobuf, _IOFBF, TAPW_BUFFER);
    w->dump = pcap_dump_fopen(w->pcap, f); /* on failure libpcap closed f */
    if (!w->dump) {
        err_set(e, "%s: %s", path, pcap_geterr(w->pcap));
        goto fail;
    }
    w->f = f;
    w->last_flush_ms = mono_ms();
    do_flush(w);
    w->st.flushes = 0;
    if (w->failed) {
        err_set(e, "%s: %s", path, w->why);
        goto fail;
    }
    return w;
fail:
    tapw_free(w);
    return NULL;
}

int tapw_flush(struct tapw *w, struct err *e)
{
    do_flush(w);
    if (w->failed)
        return err_set(e, "%s: %s", w->path, w->why);
    return 0;
}

static void on_watch(uv_timer_t *t)
{
    struct watch *wt = t->data;
    if (wt->w && wt->w->unflushed > 0)
        do_flush(wt->w);
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

int tapw_watch(struct tapw *w, struct rtloop *loop, struct err *e)
{
    if (w->watch)
        return err_set(e, "%s: already watched", w->path);
    struct watch *wt = calloc(1, sizeof *wt);
    if (!wt)
        return err_set(e, "out of memory");
    wt->w = w;
    uv_timer_init(rtloop_uv(loop), &wt->timer);
    wt->timer.data = wt;
    uint64_t ms = w->o.flush == TAPW_FLUSH_INTERVAL ? w->o.flush_ms : 100;
    uv_timer_start(&wt->timer, on_watch, ms, ms);
    uv_unref((uv_handle_t *)&wt->timer);
    w->watch = wt;
    return 0;
}

const struct tapw_stats *tapw_stats(const struct tapw *w)
{
    return &w->st;
}

const char *tapw_path(const struct tapw *w)
{
    return w->path;
}

void tapw_free(struct tapw *w)
{
    if (!w)
        return;
    if (w->watch) {
        w->watch->w = NULL;
        uv_close((uv_handle_t *)&w->watch->timer, free_watch);
    }
    if (w->dump) {
        do_flush(w);
        pcap_dump_close(w->dump); /* closes the stream */
    }
    if (w->pcap)
        pcap_close(w->pcap);
    free(w->iobuf);
    for (size_t i = 0; w->tab && i < w->tab_cap; i++)
        for (struct conn *c = w->tab[i], *nx; c; c = nx) {
            nx = c->hnext;
            free(c);
        }
    free(w->tab);
    free(w->owed);
    map_clear(&w->hosts);
    map_clear(&w->pairs);
    free(w->path);
    free(w);
}
