/* mb_passive.c — the passive Modbus/TCP decoder (contract in mb_passive.h):
 * per connection and direction a framer and a resynchronisation hunt, per
 * connection a table of outstanding requests; the tcp_reasm adapter and the
 * whole-capture reader. */
#include "proto/mb_passive.h"

#include <stdlib.h>
#include <string.h>

#include "net/pcap_reader.h"

#define MAX_SERVER_PORTS 64
#define TABLE_START 4

/* A remembered request. */
struct slot {
    uint64_t seq;       /* arrival number; 0 = free */
    int64_t ts_ns;
    uint64_t pkt_no;
    struct mb_mbap h;
    int status;
    uint16_t pdu_len;
    uint8_t pdu[MB_MAX_PDU];
};

/* One direction of a connection. */
struct dir {
    struct mb_framer fr;
    int hunting;        /* 0, or the MBP_F_AFTER_* cause of the hunt */
    uint8_t hbuf[8];    /* hunt window */
    size_t hlen;
    uint64_t skipped;   /* bytes passed over by the current hunt */
    uint64_t skip_left; /* bytes of an ADU cut by a gap still to pass over */
    unsigned pending;   /* flags for the next ADU (RESYNC | cause) */
    uint64_t pend_skip;
    uint8_t tail[MB_MBAP_LEN]; /* the last bytes given to the framer */
    size_t tlen;
};

struct mbp_conn {
    struct mbp *p;
    struct mbp_conn *prev, *next;
    struct mbp_conn_info info;
    struct dir d[2];
    struct slot *slots;
    size_t cap, used;
    uint64_t seq;
    /* during a feed */
    enum tcpr_dir cur_dir;
    int64_t cur_ts;
};

struct mbp {
    struct mbp_config cfg;
    uint16_t ports[MAX_SERVER_PORTS];
    mbp_event_fn fn;
    void *ctx;
    struct mbp_stats st;
    uint64_t pkt_no;
    struct mbp_conn *conns; /* open connections */
    /* scratch for events */
    struct mb_req req, mreq;
    struct mb_rsp rsp;
};

const char *mbp_kind_name(enum mbp_kind k)
{
    switch (k) {
    case MBP_ADU:
        return "adu";
    case MBP_BAD_FRAME:
        return "bad frame";
    case MBP_UNANSWERED:
        return "unanswered";
    }
    return "?";
}

/* ---- the decoder ---- */

struct mbp *mbp_new(const struct mbp_config *cfg, mbp_event_fn fn, void *ctx, struct err *e)
{
    struct mbp_config c = {0};
    if (cfg)
        c = *cfg;
    if (c.nserver_ports > MAX_SERVER_PORTS) {
        err_set(e, "mb_passive: %zu server ports (at most %d)", c.nserver_ports,
                MAX_SERVER_PORTS);
        return NULL;
    }
    if (c.server_ports && c.nserver_ports == 0) {
        err_set(e, "mb_passive: an empty list of server ports");
        return NULL;
    }
    if (c.max_outstanding > MBP_MAX_OUTSTANDING) {
        err_set(e, "mb_passive: max_outstanding %zu (at most %d)", c.max_outstanding,
                MBP_MAX_OUTSTANDING);
        return NULL;
    }
    struct mbp *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(e, "mb_passive: out of memory");
        return NULL;
    }
    p->cfg = c;
    if (c.server_ports) {
        memcpy(p->ports, c.server_ports, c.nserver_ports * sizeof *p->ports);
    } else {
        p->ports[0] = MB_TCP_PORT;
        p->cfg.nserver_ports = 1;
    }
    p->cfg.server_ports = p->ports;
    if (!p->cfg.max_outstanding)
        p->cfg.max_outstanding = MBP_DEFAULT_MAX_OUTSTANDING;
    p->fn = fn;
    p->ctx = ctx;
    return p;
}

static void conn_release(struct mbp_conn *c)
{
    struct mbp *p = c->p;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->slots);
    free(c);
}

void mbp_free(struct mbp *p)
{
    if (!p)
        return;
    while (p->conns)
        conn_release(p->conns);
    free(p);
}

void mbp_set_frame(struct mbp *p, uint64_t pkt_no)
{
    p->pkt_no = pkt_no;
}

const struct mbp_stats *mbp_stats(const struct mbp *p)
{
    return &p->st;
}

static void emit(struct mbp *p, const struct mbp_event *ev)
{
    if (p->fn)
        p->fn(p->ctx, ev);
}

/* ---- connections ---- */

static void dir_hunt(struct dir *s, unsigned cause)
{
    mb_framer_init(&s->fr);
    s->hunting = (int)cause;
    s->skip_left = 0;
    s->hlen = 0;
    s->skipped = 0;
    s->tlen = 0;
}

struct mbp_conn *mbp_conn_open(struct mbp *p, const struct mbp_conn_info *info, struct err *e)
{
    struct mbp_conn *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(e, "mb_passive: out of memory");
        return NULL;
    }
    c->p = p;
    if (info)
        c->info = *info;
    for (int k = 0; k < 2; k++) {
        mb_framer_init(&c->d[k].fr);
        if (c->info.midstream)
            dir_hunt(&c->d[k], MBP_F_MIDSTREAM);
    }
    c->next = p->conns;
    if (p->conns)
        p->conns->prev = c;
    p->conns = c;
    p->st.conns++;
    return c;
}

/* An event about a remembered request (UNANSWERED), decoded again. */
static void emit_unanswered(struct mbp_conn *c, struct slot *s, unsigned flag)
{
    struct mbp *p = c->p;
    struct mbp_event ev = {0};
    ev.kind = MBP_UNANSWERED;
    ev.conn = &c->info;
    ev.dir = TCPR_C2S;
    ev.ts_ns = s->ts_ns;
    ev.pkt_no = s->pkt_no;
    ev.flags = flag;
    ev.h = s->h;
    ev.fc_byte = s->pdu[0];
    ev.fc = s->pdu[0] & 0x7F;
    ev.pdu = s->pdu;
    ev.pdu_len = s->pdu_len;
    ev.status = mb_req_decode(s->pdu, s->pdu_len, p->cfg.accept_unknown, &p->mreq);
    ev.req = &p->mreq;
    ev.check = MBP_CHECK_NONE;
    s->seq = 0;
    c->used--;
    emit(p, &ev);
}

/* The oldest remembered request, optionally of one transaction id. */
static struct slot *oldest(struct mbp_conn *c, int tid)
{
    struct slot *best = NULL;
    for (size_t i = 0; i < c->cap; i++) {
        struct slot *s = &c->slots[i];
        if (s->seq && (tid < 0 || s->h.tid == tid) && (!best || s->seq < best->seq))
            best = s;
    }
    return best;
}

/* Remembers a request; gives up the oldest when the table is full. */
static void remember(struct mbp_conn *c, const struct mb_mbap *h, int status,
                     const uint8_t *pdu, size_t len, int64_t ts, uint64_t pkt_no)
{
    struct mbp *p = c->p;
    if (c->used == c->cap && c->cap < p->cfg.max_outstanding) {
        size_t n = c->cap ? 2 * c->cap : TABLE_START;
        if (n > p->cfg.max_outstanding)
            n = p->cfg.max_outstanding;
        struct slot *ns = realloc(c->slots, n * sizeof *ns);
        if (ns) {
            for (size_t i = c->cap; i < n; i++)
                ns[i].seq = 0;
            c->slots = ns;
            c->cap = n;
        } else {
            p->st.oom++;
        }
    }
    if (c->cap == 0)
        return; /* not even the first table could be allocated */
    if (c->used == c->cap) {
        p->st.evicted++;
        emit_unanswered(c, oldest(c, -1), MBP_F_EVICTED);
    }
    struct slot *s = NULL;
    for (size_t i = 0; i < c->cap && !s; i++)
        if (!c->slots[i].seq)
            s = &c->slots[i];
    if (!ALWAYS(s))
        return;
    s->seq = ++c->seq;
    s->ts_ns = ts;
    s->pkt_no = pkt_no;
    s->h = *h;
    s->status = status;
    s->pdu_len = (uint16_t)len;
    memcpy(s->pdu, pdu, len);
    c->used++;
}

/* The framer's callback: one complete ADU of the direction being fed. */
static int on_adu(void *ctx, const struct mb_mbap *h, const uint8_t *pdu, size_t len)
{
    struct mbp_conn *c = ctx;
    struct mbp *p = c->p;
    enum tcpr_dir d = c->cur_dir;
    struct dir *s = &c->d[d];
    struct mbp_event ev = {0};
    ev.kind = MBP_ADU;
    ev.conn = &c->info;
    ev.dir = d;
    ev.ts_ns = c->cur_ts;
    ev.pkt_no = p->pkt_no;
    ev.flags = s->pending;
    ev.skipped = s->pend_skip;
    s->pending = 0;
    s->pend_skip = 0;
    ev.h = *h;
    ev.fc_byte = pdu[0];
    ev.fc = pdu[0] & 0x7F;
    ev.pdu = pdu;
    ev.pdu_len = len;
    ev.check = MBP_CHECK_NONE;
    p->st.adus[d]++;
    if (d == TCPR_C2S) {
        ev.status = mb_req_decode(pdu, len, p->cfg.accept_unknown, &p->req);
        ev.req = &p->req;
        if (ev.status != MB_OK)
            p->st.malformed[d]++;
        emit(p, &ev);
        remember(c, h, ev.status, pdu, len, ev.ts_ns, ev.pkt_no);
        return 0;
    }
    ev.status = mb_rsp_decode(pdu, len, p->cfg.accept_unknown, &p->rsp);
    ev.rsp = &p->rsp;
    if (ev.status != MB_OK)
        p->st.malformed[d]++;
    struct slot *m = c->used ? oldest(c, h->tid) : NULL;
    struct mbp_request mr;
    if (m) {
        mr.h = m->h;
        mr.pdu = m->pdu;
        mr.pdu_len = m->pdu_len;
        mr.ts_ns = m->ts_ns;
        mr.pkt_no = m->pkt_no;
        mr.status = mb_req_decode(m->pdu, m->pdu_len, p->cfg.accept_unknown, &p->mreq);
        mr.req = &p->mreq;
        ev.match = &mr;
        if (mr.status == MB_OK && ev.status == MB_OK)
            ev.check = mb_rsp_check(&p->mreq, &p->rsp);
        p->st.matched++;
    } else {
        p->st.unmatched++;
    }
    emit(p, &ev);
    if (m) {
        m->seq = 0;
        c->used--;
    }
    return 0;
}

/* Keeps the last MB_MBAP_LEN bytes given to the framer. */
static void tail_add(struct dir *s, const uint8_t *data, size_t n)
{
    if (n >= MB_MBAP_LEN) {
        memcpy(s->tail, data + n - MB_MBAP_LEN, MB_MBAP_LEN);
        s->tlen = MB_MBAP_LEN;
        return;
    }
    size_t keep = s->tlen + n > MB_MBAP_LEN ? MB_MBAP_LEN - n : s->tlen;
    memmove(s->tail, s->tail + s->tlen - keep, keep);
    memcpy(s->tail + keep, data, n);
    s->tlen = keep + n;
}

/* Whether 8 bytes make a header the hunt accepts (see the header). */
static int plausible(const uint8_t *b, enum tcpr_dir d)
{
    uint16_t pid = mb_get16(b + 2), len = mb_get16(b + 4);
    uint8_t fc = b[7];
    if (pid != 0 || len < MB_MIN_LENGTH || len > MB_MAX_LENGTH)
        return 0;
    if (fc >= 1 && fc <= 0x7F)
        return 1;
    return d == TCPR_S2C && fc >= 0x81 && len == 3;
}

/* Gives bytes to the framer (the direction is synchronised); on a bad
 * header reports it and starts a hunt with the rest of its bytes.
 * Returns the bytes of data consumed. */
static size_t frame_some(struct mbp_conn *c, enum tcpr_dir d, const uint8_t *data, size_t len)
{
    struct mbp *p = c->p;
    struct dir *s = &c->d[d];
    size_t used = 0;
    int rc = mb_framer_feed(&s->fr, data, len, on_adu, c, &used);
    if (rc != MB_BAD_PROTOCOL && rc != MB_BAD_LENGTH) {
        tail_add(s, data, used);
        return used;
    }
    /* the bad header: the last 7 bytes consumed */
    tail_add(s, data, used);
    uint8_t hdr[MB_MBAP_LEN];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr + MB_MBAP_LEN - s->tlen, s->tail, s->tlen);
    struct mbp_event ev = {0};
    ev.kind = MBP_BAD_FRAME;
    ev.conn = &c->info;
    ev.dir = d;
    ev.ts_ns = c->cur_ts;
    ev.pkt_no = p->pkt_no;
    ev.h.tid = mb_get16(hdr);
    ev.h.pid = mb_get16(hdr + 2);
    ev.h.len = mb_get16(hdr + 4);
    ev.h.unit = hdr[6];
    ev.status = rc;
    ev.check = MBP_CHECK_NONE;
    p->st.bad_frames[d]++;
    s->pending = 0;
    s->pend_skip = 0;
    dir_hunt(s, MBP_F_AFTER_BAD);
    /* the header's bytes after its first are scanned again */
    memcpy(s->hbuf, hdr + 1, MB_MBAP_LEN - 1);
    s->hlen = MB_MBAP_LEN - 1;
    s->skipped = 1;
    p->st.skipped[d]++;
    emit(p, &ev);
    return used;
}

/* Slides the hunt window over data; returns the bytes consumed. When a
 * plausible header is found, the hunt ends and the header's 8 bytes are
 * given to the framer. */
static size_t hunt_some(struct mbp_conn *c, enum tcpr_dir d, const uint8_t *data, size_t len)
{
    struct mbp *p = c->p;
    struct dir *s = &c->d[d];
    size_t i = 0;
    while (i < len) {
        s->hbuf[s->hlen++] = data[i++];
        if (s->hlen < 8)
            continue;
        if (plausible(s->hbuf, d)) {
            s->pending = MBP_F_RESYNC | (unsigned)s->hunting;
            s->pend_skip = s->skipped;
            p->st.resyncs[d]++;
            s->hunting = 0;
            s->hlen = 0;
            s->skipped = 0;
            uint8_t h[8];
            memcpy(h, s->hbuf, 8);
            size_t used = frame_some(c, d, h, 8); /* a plausible header frames */
            (void)used;
            return i;
        }
        memmove(s->hbuf, s->hbuf + 1, 7);
        s->hlen = 7;
        s->skipped++;
        p->st.skipped[d]++;
    }
    return i;
}

void mbp_conn_feed(struct mbp_conn *c, enum tcpr_dir d, const uint8_t *data, size_t len,
                   int64_t ts_ns)
{
    if (!c || (d != TCPR_C2S && d != TCPR_S2C))
        return;
    c->cur_dir = d;
    c->cur_ts = ts_ns;
    struct dir *s = &c->d[d];
    while (len > 0) {
        size_t n;
        if (s->skip_left) {
            n = s->skip_left < len ? (size_t)s->skip_left : len;
            s->skip_left -= n;
            s->pend_skip += n;
            c->p->st.skipped[d] += n;
        } else if (s->hunting) {
            n = hunt_some(c, d, data, len);
        } else {
            n = frame_some(c, d, data, len);
        }
        data += n;
        len -= n;
    }
}

/* Drops what a direction was gathering (a partial ADU, a hunt window). */
static void dir_drop(struct mbp *p, struct dir *s, enum tcpr_dir d)
{
    p->st.cut_bytes[d] += s->fr.have;
    p->st.skipped[d] += s->hlen;
    s->hlen = 0;
}

void mbp_conn_gap(struct mbp_conn *c, enum tcpr_dir d, uint64_t missing, int64_t ts_ns)
{
    if (!c || (d != TCPR_C2S && d != TCPR_S2C))
        return;
    struct mbp *p = c->p;
    struct dir *s = &c->d[d];
    p->st.gaps[d]++;
    if (s->skip_left && missing <= s->skip_left) {
        /* still inside the ADU cut by an earlier gap: its end is known */
        s->skip_left -= missing;
        return;
    }
    if (!s->hunting && !s->skip_left && s->fr.have >= MB_MBAP_LEN) {
        /* The gap cuts an ADU whose header is in (the framer gathers from
         * the ADU's first byte): if the gap ends inside or at the end of
         * it, the next header is right after it. */
        uint64_t rest = MB_MBAP_LEN - 1 + (uint64_t)mb_get16(s->fr.buf + 4) - s->fr.have;
        if (missing <= rest) {
            p->st.cut_bytes[d] += s->fr.have;
            mb_framer_init(&s->fr);
            s->tlen = 0;
            s->skip_left = rest - missing;
            s->pending = MBP_F_AFTER_GAP;
            s->pend_skip = 0;
            return;
        }
    }
    dir_drop(p, s, d);
    s->pending = 0;
    s->pend_skip = 0;
    dir_hunt(s, MBP_F_AFTER_GAP);
}

void mbp_conn_close(struct mbp_conn *c, int64_t ts_ns)
{
    if (!c)
        return;
    struct mbp *p = c->p;
    for (int k = 0; k < 2; k++)
        dir_drop(p, &c->d[k], (enum tcpr_dir)k);
    struct slot *s;
    while (c->used && (s = oldest(c, -1)) != NULL) {
        p->st.unanswered++;
        emit_unanswered(c, s, MBP_F_CLOSED);
    }
    conn_release(c);
}

/* ---- the reassembler adapter ---- */

static int is_server_port(const struct mbp *p, uint16_t port)
{
    for (size_t i = 0; i < p->cfg.nserver_ports; i++)
        if (p->ports[i] == port)
            return 1;
    return 0;
}

/* conn->user: our connection, whose orientation may be the reverse of the
 * reassembler's (info.swapped). */
static void ad_open(void *ctx, struct tcpr_conn *tc, int64_t ts)
{
    struct mbp *p = ctx;
    int srv0 = is_server_port(p, tc->port[TCPR_C2S]), srv1 = is_server_port(p, tc->port[TCPR_S2C]);
    tc->user = NULL;
    if (!srv0 && !srv1) {
        p->st.ignored_conns++;
        return;
    }
    int swap = srv0 && !srv1;
    struct mbp_conn_info info = {0};
    info.id = tc->id;
    for (int k = 0; k < 2; k++) {
        info.ip[k] = tc->ip[swap ? 1 - k : k];
        info.port[k] = tc->port[swap ? 1 - k : k];
    }
    info.midstream = !tc->handshake;
    info.swapped = swap;
    struct mbp_conn *c = mbp_conn_open(p, &info, NULL);
    if (!c) {
        p->st.oom++;
        return;
    }
    tc->user = c;
}

static enum tcpr_dir ad_dir(const struct mbp_conn *c, enum tcpr_dir d)
{
    return c->info.swapped ? (enum tcpr_dir)(1 - d) : d;
}

static void ad_data(void *ctx, struct tcpr_conn *tc, enum tcpr_dir d, const uint8_t *data,
                    size_t len, int64_t ts)
{
    struct mbp_conn *c = tc->user;
    if (c)
        mbp_conn_feed(c, ad_dir(c, d), data, len, ts);
}

static void ad_gap(void *ctx, struct tcpr_conn *tc, enum tcpr_dir d, uint64_t missing,
                   int64_t ts)
{
    struct mbp_conn *c = tc->user;
    if (c)
        mbp_conn_gap(c, ad_dir(c, d), missing, ts);
}

static void ad_close(void *ctx, struct tcpr_conn *tc, enum tcpr_close why, int64_t ts)
{
    struct mbp_conn *c = tc->user;
    tc->user = NULL;
    mbp_conn_close(c, ts);
}

void mbp_tcpr_callbacks(struct mbp *p, struct tcpr_callbacks *cb)
{
    memset(cb, 0, sizeof *cb);
    cb->ctx = p;
    cb->on_open = ad_open;
    cb->on_data = ad_data;
    cb->on_gap = ad_gap;
    cb->on_close = ad_close;
}

/* ---- a whole capture ---- */

int mbp_read_pcap(const char *path, const struct mbp_config *cfg, mbp_event_fn fn, void *ctx,
                  struct mbp_stats *st, struct err *e)
{
    struct mbp *p = mbp_new(cfg, fn, ctx, e);
    if (!p)
        return -1;
    struct pcapr *r = pcapr_open(path, e);
    if (!r) {
        mbp_free(p);
        return -1;
    }
    struct tcpr_callbacks cb;
    mbp_tcpr_callbacks(p, &cb);
    struct tcpr_config tc = {0};
    tc.server_ports = p->ports;
    tc.nserver_ports = p->cfg.nserver_ports;
    struct tcpr *t = tcpr_new(&tc, &cb, e);
    if (!t) {
        pcapr_close(r);
        mbp_free(p);
        return -1;
    }
    struct pcapr_pkt pkt;
    int rc;
    while ((rc = pcapr_next(r, &pkt, e)) > 0) {
        if (pkt.kind != PCAPR_TCP)
            continue;
        mbp_set_frame(p, pkt.pkt_no);
        tcpr_feed(t, &pkt.tcp);
    }
    mbp_set_frame(p, 0);
    tcpr_finish(t, pcapr_last_ts(r));
    if (st)
        *st = p->st;
    tcpr_free(t);
    pcapr_close(r);
    mbp_free(p);
    return rc < 0 ? -1 : 0;
}
