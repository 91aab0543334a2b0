/* test_pcap_reader.c — src/net/pcap_reader + tcp_reasm against tshark on
 * real captures (every .pcap file in $ICSRANGE_SHARED/data/pcaps), on the same captures
 * with segments deleted (editcap), and on synthetic files of every
 * supported link type; plus the reader's errors.
 *
 * What is compared, per TCP conversation and direction
 * -----------------------------------------------------
 * tshark numbers conversations (tcp.stream) the way the reassembler opens
 * connections: one per 4-tuple, a new one when a SYN reuses a closed
 * tuple. So the number of streams must equal the connections opened, and
 * they are matched by 4-tuple and rank among the streams of that tuple.
 *
 * The obvious figure, the sum of tcp.len over frames tshark does not flag
 * as retransmissions (tcp.analysis.retransmission, which includes fast and
 * spurious ones) or keep-alives, is NOT what a reassembler must deliver:
 * tshark flags a segment that starts below the highest sequence number
 * seen as a retransmission even when it also carries new bytes (a resent
 * segment extended by new data: mb2.pcap streams 0 and 15), and at the start
 * of a capture a keep-alive's byte is all there is of the stream (the
 * reassembler starts a mid-stream direction at its first segment; mb2
 * streams 44, 45, 71, 72, 74). The test therefore computes from tshark's own
 * per-frame fields (tcp.seq_raw, tcp.len, SYN, FIN, RST) for each direction:
 *   U = bytes of the sequence space covered by at least one frame's payload
 *       (the union of [seq, seq + len); SYN takes one number; RST frames are
 *       left out, since the payload of a RST is not stream data),
 *   H = bytes inside the direction's span (from the byte after the SYN, or
 *       the first payload byte seen, to the last byte or the FIN) that no
 *       frame carries: tshark's "previous segment not captured".
 * and requires delivered == U and gap bytes == H. The flag-based sum is
 * printed beside them, with the number of directions where it differs.
 * When frames are cut by the snap length, the reassembler reports the
 * uncaptured part of a payload as a gap while tcp.len counts it, so only
 * delivered + gap == U + H is required.
 *
 * The real captures have no hole, so each is also compared with every
 * 37th data-carrying frame deleted (editcap), which makes holes at FIN,
 * holes given up on acknowledgment and holes at the end of the capture.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/pcap_reader.h"
#include "net/tcp_reasm.h"
#include "testutil.h"

static int in_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char *dup = strdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(dup, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char full[1024];
        snprintf(full, sizeof full, "%s/%s", d, prog);
        found = access(full, X_OK) == 0;
    }
    free(dup);
    return found;
}

/* ---- tshark's view ---- */

struct ival {
    int64_t a, b;
};

struct tdir {
    int used;
    uint32_t ip;
    uint16_t port;
    uint64_t flag_sum;       /* tcp.len of frames not flagged retransmission/keep-alive */
    struct ival *iv;
    size_t n, cap;
    int have_last;
    int64_t last;            /* unwrapped sequence number of the previous frame */
    int have_span;
    int64_t lo, hi;
};

struct tstream {
    int used;
    uint32_t ip[2];          /* endpoints as first seen: sender, receiver */
    uint16_t port[2];
    struct tdir d[2];        /* by sender: d[k] sends from (ip[k], port[k]) */
};

struct tview {
    struct tstream *s;
    size_t ns;
    uint64_t frames, tcp_frames, cut_frames;
};

static int flag(const char *f)
{
    return strcmp(f, "1") == 0 || strcmp(f, "True") == 0;
}

static uint32_t ip_of(const char *s)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        fail_msg("tshark gave an address '%s'", s);
    return ntohl(a.s_addr);
}

static void tdir_add(struct tdir *d, uint32_t raw, uint32_t len, int syn, int fin, int rst,
                     int flagged)
{
    uint32_t start = raw + (syn ? 1 : 0);
    int64_t u = start;
    if (d->have_last)
        u = d->last + (int32_t)(start - (uint32_t)d->last);
    d->have_last = 1;
    d->last = u;
    if (!flagged)
        d->flag_sum += len;
    if (rst)
        return;
    if (len) {
        if (d->n == d->cap) {
            d->cap = d->cap ? 2 * d->cap : 64;
            d->iv = realloc(d->iv, d->cap * sizeof *d->iv);
        }
        d->iv[d->n++] = (struct ival){u, u + len};
    }
    if (len || syn || fin) {
        if (!d->have_span || u < d->lo)
            d->lo = u;
        if (!d->have_span || u + len > d->hi)
            d->hi = u + len;
        d->have_span = 1;
    }
}

static int ival_cmp(const void *x, const void *y)
{
    const struct ival *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* U and H of one direction (see the top of the file). */
static void tdir_result(struct tdir *d, uint64_t *u, uint64_t *h)
{
    if (d->n)
        qsort(d->iv, d->n, sizeof *d->iv, ival_cmp);
    uint64_t tot = 0;
    int64_t cur = INT64_MIN;
    for (size_t i = 0; i < d->n; i++) {
        int64_t a = d->iv[i].a > cur ? d->iv[i].a : cur;
        if (d->iv[i].b > a)
            tot += (uint64_t)(d->iv[i].b - a);
        if (d->iv[i].b > cur)
            cur = d->iv[i].b;
    }
    *u = tot;
    *h = d->have_span ? (uint64_t)(d->hi - d->lo) - tot : 0;
}

static char *next_field(char **p)
{
    char *f = *p, *bar = strchr(f, '|');
    if (bar) {
        *bar = '\0';
        *p = bar + 1;
    } else {
        *p = f + strlen(f);
    }
    return f;
}

static void tshark_view(const char *file, struct tview *v)
{
    memset(v, 0, sizeof *v);
    const char *argv[] = {"tshark", "-r", file, "-n", "-T", "fields", "-E", "separator=|",
                          "-E", "occurrence=f", "-e", "frame.cap_len", "-e", "frame.len",
                          "-e", "tcp.stream", "-e", "ip.src", "-e", "tcp.srcport", "-e",
                          "ip.dst", "-e", "tcp.dstport", "-e", "tcp.len", "-e", "tcp.seq_raw",
                          "-e", "tcp.flags.syn", "-e", "tcp.flags.fin", "-e",
                          "tcp.flags.reset", "-e", "tcp.analysis.retransmission", "-e",
                          "tcp.analysis.keep_alive", NULL};
    struct tu_run r = tu_exec(argv);
    if (r.status != 0)
        fail_msg("tshark -r %s: exit %d: %s", file, r.status, r.err);
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *p = line, *f[15];
        for (int i = 0; i < 15; i++)
            f[i] = next_field(&p);
        v->frames++;
        if (strtoul(f[0], NULL, 10) < strtoul(f[1], NULL, 10))
            v->cut_frames++;
        if (!f[2][0])
            continue;
        v->tcp_frames++;
        size_t id = strtoul(f[2], NULL, 10);
        if (id >= v->ns) {
            size_t n = id + 1;
            v->s = realloc(v->s, n * sizeof *v->s);
            memset(v->s + v->ns, 0, (n - v->ns) * sizeof *v->s);
            v->ns = n;
        }
        struct tstream *s = &v->s[id];
        uint32_t src = ip_of(f[3]), dst = ip_of(f[5]);
        uint16_t sp = (uint16_t)atoi(f[4]), dp = (uint16_t)atoi(f[6]);
        if (!s->used) {
            s->used = 1;
            s->ip[0] = src;
            s->port[0] = sp;
            s->ip[1] = dst;
            s->port[1] = dp;
        }
        int k = s->ip[0] == src && s->port[0] == sp ? 0 : 1;
        struct tdir *d = &s->d[k];
        d->used = 1;
        d->ip = src;
        d->port = sp;
        tdir_add(d, (uint32_t)strtoul(f[8], NULL, 10), (uint32_t)atoi(f[7]), flag(f[9]),
                 flag(f[10]), flag(f[11]), f[12][0] || f[13][0]);
    }
    tu_run_free(&r);
}

static void tview_free(struct tview *v)
{
    for (size_t i = 0; i < v->ns; i++)
        for (int k = 0; k < 2; k++)
            free(v->s[i].d[k].iv);
    free(v->s);
}

/* ---- ours ---- */

struct oconn {
    uint32_t ip[2];
    uint16_t port[2];
    uint64_t bytes[2], gap_bytes[2], cb_bytes[2], cb_gaps[2];
    int closed;
};

struct ours {
    struct oconn *c;
    size_t n;
    const struct pcapr_stats *ps;
    uint64_t packets, tcp;
};

static struct oconn *oc_at(struct ours *o, uint64_t id)
{
    if (id >= o->n) {
        size_t n = (size_t)id + 1;
        o->c = realloc(o->c, n * sizeof *o->c);
        memset(o->c + o->n, 0, (n - o->n) * sizeof *o->c);
        o->n = n;
    }
    return &o->c[id];
}

static void o_data(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, const uint8_t *data,
                   size_t len, int64_t ts)
{
    oc_at(ctx, c->id)->cb_bytes[d] += len;
}

static void o_gap(void *ctx, struct tcpr_conn *c, enum tcpr_dir d, uint64_t missing, int64_t ts)
{
    oc_at(ctx, c->id)->cb_gaps[d] += missing;
}

static void o_close(void *ctx, struct tcpr_conn *c, enum tcpr_close why, int64_t ts)
{
    struct oconn *k = oc_at(ctx, c->id);
    memcpy(k->ip, c->ip, sizeof k->ip);
    memcpy(k->port, c->port, sizeof k->port);
    memcpy(k->bytes, c->bytes, sizeof k->bytes);
    memcpy(k->gap_bytes, c->gap_bytes, sizeof k->gap_bytes);
    k->closed = 1;
}

static void our_view(const char *file, struct ours *o)
{
    memset(o, 0, sizeof *o);
    struct err e;
    struct pcapr *r = pcapr_open(file, &e);
    if (!r)
        fail_msg("%s", e.msg);
    struct tcpr_callbacks cb = {o, NULL, o_data, o_gap, o_close};
    struct tcpr *t = tcpr_new(NULL, &cb, &e);
    assert_non_null(t);
    if (pcapr_feed_all(r, t, &e) != 0)
        fail_msg("%s", e.msg);
    tcpr_finish(t, pcapr_last_ts(r));
    o->packets = pcapr_stats(r)->packets;
    o->tcp = pcapr_stats(r)->kinds[PCAPR_TCP];
    assert_int_equal(tcpr_stats(t)->opened, o->n);
    assert_int_equal(tcpr_stats(t)->buffered, 0);
    tcpr_free(t);
    pcapr_close(r);
}

/* ---- the comparison ---- */

static int same_pair(uint32_t a1, uint16_t p1, uint32_t b1, uint16_t q1, uint32_t a2, uint16_t p2,
                     uint32_t b2, uint16_t q2)
{
    return (a1 == a2 && p1 == p2 && b1 == b2 && q1 == q2) ||
           (a1 == b2 && p1 == q2 && b1 == a2 && q1 == p2);
}

static void compare(const char *file, const char *label)
{
    struct tview tv;
    struct ours o;
    tshark_view(file, &tv);
    our_view(file, &o);
    assert_int_equal(o.packets, tv.frames);
    assert_int_equal(o.tcp, tv.tcp_frames);
    size_t nstreams = 0;
    for (size_t i = 0; i < tv.ns; i++)
        nstreams += tv.s[i].used;
    if (nstreams != o.n)
        fail_msg("%s: tshark sees %zu TCP conversations, the reassembler %zu", label, nstreams,
                 o.n);
    uint64_t tot_u = 0, tot_h = 0, tot_flag = 0, tot_b = 0, tot_g = 0;
    int differ = 0;
    for (size_t i = 0; i < tv.ns; i++) {
        struct tstream *s = &tv.s[i];
        if (!s->used)
            continue;
        /* rank among the streams of this 4-tuple, and our connection of the same rank */
        int rank = 0;
        for (size_t j = 0; j < i; j++)
            rank += tv.s[j].used && same_pair(s->ip[0], s->port[0], s->ip[1], s->port[1],
                                              tv.s[j].ip[0], tv.s[j].port[0], tv.s[j].ip[1],
                                              tv.s[j].port[1]);
        struct oconn *c = NULL;
        for (size_t j = 0; j < o.n && !c; j++)
            if (same_pair(s->ip[0], s->port[0], s->ip[1], s->port[1], o.c[j].ip[0],
                          o.c[j].port[0], o.c[j].ip[1], o.c[j].port[1]) &&
                rank-- == 0)
                c = &o.c[j];
        if (!c)
            fail_msg("%s: tshark stream %zu has no connection", label, i);
        assert_true(c->closed);
        for (int k = 0; k < 2; k++) {
            struct tdir *d = &s->d[k];
            uint64_t u = 0, h = 0;
            if (d->used)
                tdir_result(d, &u, &h);
            int od = c->ip[0] == s->ip[k] && c->port[0] == s->port[k] ? 0 : 1;
            uint64_t b = c->bytes[od], g = c->gap_bytes[od];
            assert_int_equal(b, c->cb_bytes[od]);
            assert_int_equal(g, c->cb_gaps[od]);
            int ok = tv.cut_frames ? b + g == u + h : b == u && g == h;
            if (!ok)
                fail_msg("%s: stream %zu, from %08x:%u: delivered %llu + gap %llu, tshark "
                         "covers %llu + holes %llu (flag-based sum %llu)",
                         label, i, s->ip[k], s->port[k], (unsigned long long)b,
                         (unsigned long long)g, (unsigned long long)u, (unsigned long long)h,
                         (unsigned long long)(d->used ? d->flag_sum : 0));
            differ += d->used && d->flag_sum != u;
            tot_u += u;
            tot_h += h;
            tot_b += b;
            tot_g += g;
            tot_flag += d->used ? d->flag_sum : 0;
        }
    }
    print_message("%s: %llu frames, %zu conversations; delivered %llu bytes + %llu gap = tshark "
                  "%llu + %llu holes; flag-based sum %llu (differs in %d directions)\n",
                  label, (unsigned long long)tv.frames, nstreams, (unsigned long long)tot_b,
                  (unsigned long long)tot_g, (unsigned long long)tot_u,
                  (unsigned long long)tot_h, (unsigned long long)tot_flag, differ);
    free(o.c);
    tview_free(&tv);
}

static void need_tools(int editcap)
{
    if (!in_path("tshark"))
        TU_SKIP("tshark not found in PATH (install the tshark package)");
    if (editcap && !in_path("editcap"))
        TU_SKIP("editcap not found in PATH (install wireshark-common)");
}

/* One shared capture, as is. */
static void real_capture(void **state)
{
    need_tools(0);
    const char *file = *state;
    compare(file, strrchr(file, '/') + 1);
}

/* The same with every 37th frame that carries TCP payload deleted. */
static void real_capture_holes(void **state)
{
    need_tools(1);
    const char *file = *state;
    const char *argv[] = {"tshark", "-r", file, "-n", "-T", "fields", "-e", "frame.number",
                          "-Y", "tcp.len > 0", NULL};
    struct tu_run r = tu_exec(argv);
    assert_int_equal(r.status, 0);
    size_t cap = 64, n = 0;
    const char **args = malloc(cap * sizeof *args);
    const char *out = tu_tmp("holes.pcap");
    args[n++] = "editcap";
    args[n++] = file;
    args[n++] = out;
    char *save = NULL;
    int k = 0;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (++k % 37)
            continue;
        if (n + 2 >= cap)
            args = realloc(args, (cap *= 2) * sizeof *args);
        args[n++] = line;
    }
    args[n] = NULL;
    struct tu_run ed = tu_exec(args);
    if (ed.status != 0)
        fail_msg("editcap: %s", ed.err);
    char label[300];
    snprintf(label, sizeof label, "%s minus %zu segments", strrchr(file, '/') + 1, n - 3);
    compare(out, label);
    tu_run_free(&ed);
    tu_run_free(&r);
    free(args);
}

static void no_captures(void **state)
{
    (void)state;
    TU_SKIP("no shared captures: $ICSRANGE_SHARED/data/pcaps/*.pcap not found");
}

/* ---- synthetic files of every link type ---- */

struct synth {
    pcap_dumper_t *dump;
    int dlt;
    int64_t ts;
    int vlan;
};

static size_t ipv4_tcp(uint8_t *b, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
                       uint32_t seq, uint32_t ack, uint8_t flags, const char *pl, size_t plen,
                       uint16_t frag, uint8_t proto)
{
    size_t tot = 40 + plen;
    memset(b, 0, 40);
    b[0] = 0x45;
    b[2] = (uint8_t)(tot >> 8);
    b[3] = (uint8_t)tot;
    b[6] = (uint8_t)(frag >> 8);
    b[7] = (uint8_t)frag;
    b[8] = 64;
    b[9] = proto;
    uint32_t a[2] = {htonl(src), htonl(dst)};
    memcpy(b + 12, a, 8);
    uint16_t ports[2] = {htons(sp), htons(dp)};
    memcpy(b + 20, ports, 4);
    uint32_t sa[2] = {htonl(seq), htonl(ack)};
    memcpy(b + 24, sa, 8);
    b[32] = 5 << 4;
    b[33] = flags;
    b[34] = 0x20;
    memcpy(b + 40, pl, plen);
    return tot;
}

static void emit_frame(struct synth *s, const uint8_t *ip, size_t n, size_t cut)
{
    uint8_t f[2048];
    size_t h = 0;
    switch (s->dlt) {
    case DLT_EN10MB:
        memcpy(f, "\x00\x11\x22\x33\x44\x55\x00\x66\x77\x88\x99\xaa", 12);
        h = 12;
        if (s->vlan) {
            memcpy(f + h, "\x81\x00\x00\x07", 4);
            h += 4;
        }
        memcpy(f + h, "\x08\x00", 2);
        h += 2;
        break;
    case DLT_LINUX_SLL:
        memset(f, 0, 14);
        memcpy(f + 14, "\x08\x00", 2);
        h = 16;
        break;
    case DLT_NULL: {
        uint32_t fam = 2; /* host order */
        memcpy(f, &fam, 4);
        h = 4;
        break;
    }
    case DLT_LOOP:
        memcpy(f, "\x00\x00\x00\x02", 4);
        h = 4;
        break;
    default:
        break;
    }
    memcpy(f + h, ip, n);
    struct pcap_pkthdr ph;
    s->ts += 1234567;
    ph.ts.tv_sec = s->ts / 1000000000;
    ph.ts.tv_usec = s->ts % 1000000000; /* nanoseconds: the file is opened NANO */
    ph.len = (uint32_t)(h + n);
    ph.caplen = (uint32_t)(h + n - cut);
    pcap_dump((u_char *)s->dump, &ph, f);
}

/* S("bytes"): a string literal and its length, NULs included */
#define S(lit) lit, sizeof lit - 1

static void seg(struct synth *s, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
                uint32_t seq, uint32_t ack, uint8_t flags, const char *pl, size_t plen,
                size_t cut)
{
    uint8_t b[1600];
    size_t n = ipv4_tcp(b, src, dst, sp, dp, seq, ack, flags, pl, plen, 0, 6);
    emit_frame(s, b, n, cut);
}

/* Writes the same traffic in link type `dlt`; returns the file's path. */
static const char *synth_file(int dlt, int vlan, int cut)
{
    const char *path = tu_tmp("synth.pcap");
    pcap_t *p = pcap_open_dead_with_tstamp_precision(dlt, 65535, PCAP_TSTAMP_PRECISION_NANO);
    assert_non_null(p);
    struct synth s = {pcap_dump_open(p, path), dlt, 1700000000LL * 1000000000LL + 5, vlan};
    if (!s.dump)
        fail_msg("pcap_dump_open %s: %s", path, pcap_geterr(p));
    const uint32_t cl = 0xc0a80115, sv = 0xc0a80114, c2 = 0xc0a80116;
    const uint8_t A = TCPR_ACK, P = TCPR_PSH | TCPR_ACK;
    /* a whole connection: out of order, a retransmission, a partial overlap */
    seg(&s, cl, sv, 50000, 502, 1000, 0, TCPR_SYN, S(""), 0);
    seg(&s, sv, cl, 502, 50000, 9000, 1001, TCPR_SYN | A, S(""), 0);
    seg(&s, cl, sv, 50000, 502, 1001, 9001, A, S(""), 0);
    seg(&s, cl, sv, 50000, 502, 1013, 9001, P, S("\x00\x02\x00\x00\x00\x06\x01\x03"), 0);
    seg(&s, cl, sv, 50000, 502, 1001, 9001, P, S("\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a"), 0);
    seg(&s, cl, sv, 50000, 502, 1001, 9001, P, S("\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a"), 0);
    seg(&s, sv, cl, 502, 50000, 9001, 1021, P, S("\x00\x01\x00\x00\x00\x05\x01\x03\x02\x00\x2a"), 0);
    seg(&s, cl, sv, 50000, 502, 1017, 9012, P, S("\x00\x06\x01\x03\x00\x01\x00\x01"), 0);
    seg(&s, cl, sv, 50000, 502, 1029, 9012, TCPR_FIN | A, S(""), 0);
    seg(&s, sv, cl, 502, 50000, 9012, 1030, TCPR_FIN | A, S(""), 0);
    seg(&s, cl, sv, 50000, 502, 1030, 9013, A, S(""), 0);
    /* mid-stream, with a segment missing and acknowledged past */
    seg(&s, c2, sv, 41000, 502, 70000, 80000, P, S("abcdefghij"), 0);
    seg(&s, c2, sv, 41000, 502, 70020, 80000, P, S("uvwxyz0123"), 0);
    seg(&s, sv, c2, 502, 41000, 80000, 70030, P, S("response"), 0);
    if (cut) /* payload partly captured */
        seg(&s, c2, sv, 41000, 502, 70030, 80008, P, S("ABCDEFGHIJKLMNOPQRST"), 12);
    /* not TCP, or not decodable: UDP, a fragment, a RST-only exchange */
    uint8_t b[200];
    size_t n = ipv4_tcp(b, c2, sv, 5000, 53, 1, 2, A, "udpudpudp", 9, 0, 17);
    emit_frame(&s, b, n, 0);
    n = ipv4_tcp(b, c2, sv, 41001, 502, 1, 2, A, "fragment", 8, 0x2000, 6);
    emit_frame(&s, b, n, 0);
    seg(&s, c2, sv, 41002, 502, 5, 0, TCPR_SYN, S(""), 0);
    seg(&s, sv, c2, 502, 41002, 0, 6, TCPR_RST | A, S(""), 0);
    pcap_dump_close(s.dump);
    pcap_close(p);
    return path;
}

static void link_types(void **state)
{
    (void)state;
    need_tools(0);
    struct { int dlt, vlan, cut; const char *name; } kinds[] = {
        {DLT_EN10MB, 0, 0, "Ethernet"},         {DLT_EN10MB, 1, 0, "Ethernet + 802.1Q"},
        {DLT_EN10MB, 0, 1, "Ethernet, cut"},    {DLT_LINUX_SLL, 0, 0, "Linux cooked"},
        {DLT_RAW, 0, 0, "raw IPv4"},            {DLT_NULL, 0, 0, "BSD loopback (NULL)"},
        {DLT_LOOP, 0, 0, "OpenBSD loopback"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *f = synth_file(kinds[i].dlt, kinds[i].vlan, kinds[i].cut);
        compare(f, kinds[i].name);
        /* the reader's own view of the same file */
        struct err e;
        struct pcapr *r = pcapr_open(f, &e);
        assert_non_null(r);
        struct pcapr_pkt p;
        assert_int_equal(pcapr_next(r, &p, &e), 1);
        assert_int_equal(p.ts_ns, 1700000000LL * 1000000000LL + 5 + 1234567);
        assert_int_equal(p.kind, PCAPR_TCP);
        while (pcapr_next(r, &p, &e) == 1)
            ;
        const struct pcapr_stats *st = pcapr_stats(r);
        assert_int_equal(st->kinds[PCAPR_UDP], 1);
        assert_int_equal(st->kinds[PCAPR_FRAGMENT], 1);
        assert_int_equal(st->cut, (uint64_t)kinds[i].cut);
        assert_int_equal(st->partial_payload, (uint64_t)kinds[i].cut);
        assert_int_equal(pcapr_linktype(r), kinds[i].dlt);
        pcapr_close(r);
    }
}

/* ---- errors ---- */

static void errors(void **state)
{
    (void)state;
    struct err e;
    assert_null(pcapr_open("/nonexistent/x.pcap", &e));
    TU_CONTAINS(e.msg, "/nonexistent/x.pcap");
    const char *txt = tu_write_tmp("not.pcap", "this is not a capture file\n");
    assert_null(pcapr_open(txt, &e));
    TU_CONTAINS(e.msg, "not.pcap");
    /* an unsupported link type (802.11) */
    const char *wifi = tu_tmp("wifi.pcap");
    pcap_t *p = pcap_open_dead(DLT_IEEE802_11, 65535);
    pcap_dumper_t *d = pcap_dump_open(p, wifi);
    pcap_dump_close(d);
    pcap_close(p);
    assert_null(pcapr_open(wifi, &e));
    TU_CONTAINS(e.msg, "not supported");
    /* a file cut inside its third record: two packets, then an error
     * naming the file and the packet */
    const char *whole = synth_file(DLT_EN10MB, 0, 0);
    size_t len;
    char *bytes = tu_read_file(whole, &len);
    const char *cutf = tu_tmp("cut.pcap");
    size_t first2 = 24 + 2 * (16 + 54) + 16 + 20;
    FILE *f = fopen(cutf, "wb");
    fwrite(bytes, 1, first2, f);
    fclose(f);
    struct pcapr *r = pcapr_open(cutf, &e);
    assert_non_null(r);
    struct pcapr_pkt pk;
    assert_int_equal(pcapr_next(r, &pk, &e), 1);
    assert_int_equal(pcapr_next(r, &pk, &e), 1);
    assert_int_equal(pcapr_next(r, &pk, &e), -1);
    TU_CONTAINS(e.msg, "cut.pcap: packet 3");
    assert_int_equal(pcapr_next(r, &pk, &e), 0);
    pcapr_close(r);
    /* the same bytes through a memory stream */
    FILE *m = fmemopen(bytes, len, "rb");
    r = pcapr_open_stream(m, "memory", &e);
    assert_non_null(r);
    struct tcpr *t = tcpr_new(NULL, NULL, &e);
    assert_int_equal(pcapr_feed_all(r, t, &e), 0);
    assert_int_equal(tcpr_stats(t)->opened, 3);
    tcpr_finish(t, pcapr_last_ts(r));
    tcpr_free(t);
    pcapr_close(r);
    m = fmemopen(bytes, 10, "rb");
    assert_null(pcapr_open_stream(m, "short", &e)); /* closes m */
    TU_CONTAINS(e.msg, "short");
    free(bytes);
}

int main(void)
{
    struct CMUnitTest *tests = NULL;
    size_t n = 0;
    char **files = NULL;
    size_t nf = 0;
    const char *shared = tu_shared();
    if (shared) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/data/pcaps", shared);
        DIR *dp = opendir(dir);
        struct dirent *de;
        while (dp && (de = readdir(dp))) {
            size_t l = strlen(de->d_name);
            if (l > 5 && strcmp(de->d_name + l - 5, ".pcap") == 0) {
                files = realloc(files, (nf + 1) * sizeof *files);
                files[nf] = malloc(strlen(dir) + l + 2);
                sprintf(files[nf], "%s/%s", dir, de->d_name);
                nf++;
            }
        }
        if (dp)
            closedir(dp);
    }
    /* sorted, so the order of the cases is stable */
    for (size_t i = 1; i < nf; i++)
        for (size_t j = i; j > 0 && strcmp(files[j - 1], files[j]) > 0; j--) {
            char *x = files[j];
            files[j] = files[j - 1];
            files[j - 1] = x;
        }
    tests = calloc(2 * nf + 3, sizeof *tests);
    char **names = calloc(2 * nf + 1, sizeof *names);
    for (size_t i = 0; i < nf; i++) {
        const char *base = strrchr(files[i], '/') + 1;
        names[2 * i] = strdup(base);
        names[2 * i + 1] = malloc(strlen(base) + 16);
        sprintf(names[2 * i + 1], "%s with holes", base);
        tests[n++] = (struct CMUnitTest){names[2 * i], real_capture, NULL, NULL, files[i]};
        tests[n++] = (struct CMUnitTest){names[2 * i + 1], real_capture_holes, NULL, NULL, files[i]};
    }
    if (!nf)
        tests[n++] = (struct CMUnitTest){"shared captures", no_captures, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"link types", link_types, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"errors", errors, NULL, NULL, NULL};
    int rc = _cmocka_run_group_tests("pcap reader", tests, n, NULL, NULL);
    for (size_t i = 0; i < 2 * nf; i++)
        free(names[i]);
    for (size_t i = 0; i < nf; i++)
        free(files[i]);
    free(names);
    free(files);
    free(tests);
    return rc;
}
