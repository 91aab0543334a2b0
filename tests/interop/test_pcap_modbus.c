/* test_pcap_modbus.c — the passive Modbus/TCP decoder (src/proto/mb_passive,
 * through mbp_read_pcap: pcap_reader + tcp_reasm + mb_passive) against
 * Wireshark's Modbus/TCP dissector (tshark, default preferences) on every
 * $ICSRANGE_SHARED/data/pcaps/ (every .pcap file).
 *
 * What is compared
 * ----------------
 * tshark: one line per frame with TCP payload,
 *     tshark -r FILE -n -T fields -E separator=/t -E occurrence=a
 *            -e frame.number -e ip.src -e tcp.srcport -e ip.dst -e tcp.dstport
 *            -e mbtcp.trans_id -e modbus.func_code -e _ws.malformed
 *            -e tcp.analysis.retransmission -e tcp.analysis.out_of_order
 *            -Y "tcp.len > 0"
 * A frame that holds several PDUs prints several comma-separated values per
 * field, in order; the i-th transaction id goes with the i-th function code.
 * A PDU reassembled from several segments is listed once, in the frame that
 * completed it. The direction is tshark's: to port 502 is a query (to
 * server), from 502 a response (to client). modbus.func_code is printed
 * without the exception bit (the dissector masks it with 0x7F and marks the
 * exception separately): exceptions count under their function code, and
 * our side counts mbp_event.fc (the same mask).
 *
 * Ours: every MBP_ADU event (well-formed or malformed), its direction, and
 * the frame that delivered its last byte (mbp_event.pkt_no: mbp_read_pcap
 * sets the frame number before feeding each frame's segment to the
 * reassembler, so the frame is the one whose segment completed the ADU,
 * also for bytes held out of order). Directions agree because the decoder
 * takes the side on port 502 as the server, as tshark does, even when that
 * side sent the SYN (..._part1.pcap, stream 5).
 *
 * The two lists are matched PDU by PDU on (client address and port, server
 * address and port, direction, transaction id, function code): first the
 * pairs in the same frame, then the rest in frame order. Required:
 *   1. every PDU tshark finds has its ADU in ours;
 *   2. a pair in different frames is allowed only when our frame is one
 *      tshark flags as a retransmission or out of order (see R below: the
 *      hole filler that delivered out-of-order bytes tshark had dissected
 *      where they arrived);
 *   3. every ADU of ours without a tshark PDU is explained by R or B below;
 *   4. per direction and function code: tshark's count = ours - R - B, and
 *      the totals of R and B are exactly the ones listed below per file
 *      (so a change in either program is noticed); on the other files
 *      R = B = 0, i.e. the counts are simply equal;
 *   5. every frame tshark marks malformed (_ws.malformed; only Modbus is
 *      dissected on port 502) is a frame in which we report a malformed ADU
 *      or an MBAP header that cannot be framed. Frames we find malformed and
 *      tshark does not are printed (the codec checks more than the
 *      dissector: byte counts, exception length, quantities...).
 *
 * Why tshark and we differ, and only there:
 *   R. tshark (tcp.no_subdissector_on_error: TRUE by default) does not give a
 *      segment flagged as a retransmission or out of order to the Modbus
 *      dissector at all, even when it carries bytes never seen before. Our
 *      reassembler delivers every byte once, the first copy captured. In
 *      ModbusTCP__mb2.pcap: frame 1131 resends 12 bytes and adds 48 new
 *      ones (4 FC 4 requests); frame 3674 fills the 13-byte hole before
 *      frame 3008 (1 FC 4 response; the 4 of frame 3008 are paired with
 *      ours delivered in 3674); frame 13176 is flagged a retransmission but
 *      its original was never captured (the peer ACKs an unseen segment;
 *      1 FC 4 and 1 FC 2 response). R = 7 ADUs.
 *   B. After an MBAP header that cannot be framed, tshark either waits for
 *      the announced length (an impossible one, e.g. 34820, swallows the
 *      rest of the stream) or, when the header opened a TCP reassembly that
 *      it then rejects, drops those bytes; we report the header and hunt
 *      byte by byte for the next plausible one (mb_passive.h). In
 *      ModbusTCP__modbus_test_data_part1.pcap stream 5 the device answers
 *      FC 42 with 3 bytes beyond the MBAP length, twice: tshark rejects
 *      the 3 bytes + frame 113 as one PDU (protocol id 0x2300), we report
 *      that header and find the complete FC 42 response 3 bytes later in
 *      frame 113. B = 1 ADU.
 *
 * With holes: each capture is also decoded with every 37th frame that
 * carries TCP payload deleted (editcap), which makes the reassembler report
 * gaps mid-stream. No tshark there: the decoder on the full capture is the
 * reference, and every ADU decoded from the damaged copy must be one of the
 * full capture's (same connection, direction, transaction id and function
 * code byte, as multisets): a gap may lose ADUs, never invent one by
 * resynchronising on a wrong header.
 *
 * Known differences that none of these captures shows (the test would fail
 * and name the PDUs if one appeared): tshark frames a second or later PDU
 * of a segment by its length alone, whatever its protocol id, where we
 * report a bad header and hunt; and tshark ignores a segment that starts a
 * PDU with fewer than 8 bytes (never asking TCP to reassemble it), where we
 * frame across segments.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/mb_passive.h"
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

/* Expected explained differences per file (see the top); files not listed
 * must have none. */
static const struct {
    const char *file;
    unsigned r, b;
} expected[] = {
    {"ModbusTCP__mb2.pcap", 7, 0},
    {"ModbusTCP__modbus_test_data_part1.pcap", 0, 1},
};

/* One PDU, from either side. */
struct pdu {
    uint32_t cip, sip;
    uint16_t cport, sport;
    uint8_t dir, fc;
    uint16_t tid;
    uint64_t frame;
    size_t seq;      /* position in its list */
    int peer;        /* matched: 1 */
    int after_bad;   /* ours: a bad header came before in its direction */
    int status;      /* ours */
};

struct list {
    struct pdu *v;
    size_t n, cap;
};

static void push(struct list *l, const struct pdu *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n] = *p;
    l->v[l->n].seq = l->n;
    l->n++;
}

/* A growable bitmap indexed by frame number. */
struct bits {
    uint8_t *b;
    size_t n;
};

static void bit_set(struct bits *s, uint64_t i)
{
    if (i >= s->n) {
        size_t n = (size_t)i + 1024;
        s->b = realloc(s->b, n);
        assert_non_null(s->b);
        memset(s->b + s->n, 0, n - s->n);
        s->n = n;
    }
    s->b[i] = 1;
}

static int bit_get(const struct bits *s, uint64_t i)
{
    return i < s->n && s->b[i];
}

/* ---- tshark's view ---- */

struct tview {
    struct list pdus;
    struct bits flagged;   /* retransmission or out of order */
    struct bits malformed;
    uint64_t frames;
};

static uint32_t ip_of(const char *s)
{
    char b[64];
    size_t n = strcspn(s, ",");
    if (n >= sizeof b)
        fail_msg("tshark gave an address '%s'", s);
    memcpy(b, s, n);
    b[n] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, b, &a) != 1)
        fail_msg("tshark gave an address '%s'", s);
    return ntohl(a.s_addr);
}

static char *next_field(char **p)
{
    char *f = *p, *tab = strchr(f, '\t');
    if (tab) {
        *tab = '\0';
        *p = tab + 1;
    } else {
        *p = f + strlen(f);
    }
    return f;
}

static void tshark_view(const char *file, struct tview *v)
{
    memset(v, 0, sizeof *v);
    const char *argv[] = {"tshark", "-r", file, "-n", "-T", "fields", "-E", "separator=/t",
                          "-E", "occurrence=a", "-e", "frame.number", "-e", "ip.src", "-e",
                          "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e",
                          "mbtcp.trans_id", "-e", "modbus.func_code", "-e", "_ws.malformed",
                          "-e", "tcp.analysis.retransmission", "-e",
                          "tcp.analysis.out_of_order", "-Y", "tcp.len > 0", NULL};
    struct tu_run r = tu_exec(argv);
    if (r.status != 0)
        fail_msg("tshark -r %s: exit %d: %s", file, r.status, r.err);
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *p = line, *f[10];
        for (int i = 0; i < 10; i++)
            f[i] = next_field(&p);
        uint64_t frame = strtoull(f[0], NULL, 10);
        v->frames++;
        uint16_t sp = (uint16_t)atoi(f[2]), dp = (uint16_t)atoi(f[4]);
        if (sp != MB_TCP_PORT && dp != MB_TCP_PORT)
            continue; /* not Modbus for tshark either */
        if (sp == MB_TCP_PORT && dp == MB_TCP_PORT)
            fail_msg("frame %llu: port 502 on both sides", (unsigned long long)frame);
        if (f[8][0] || f[9][0])
            bit_set(&v->flagged, frame);
        if (f[7][0])
            bit_set(&v->malformed, frame);
        struct pdu x = {0};
        x.frame = frame;
        x.dir = dp == MB_TCP_PORT ? TCPR_C2S : TCPR_S2C;
        uint32_t src = ip_of(f[1]), dst = ip_of(f[3]);
        x.cip = x.dir == TCPR_C2S ? src : dst;
        x.sip = x.dir == TCPR_C2S ? dst : src;
        x.cport = x.dir == TCPR_C2S ? sp : dp;
        x.sport = x.dir == TCPR_C2S ? dp : sp;
        /* the PDUs of the frame: parallel comma-separated lists */
        char *ts = f[5], *fs = f[6];
        while (*ts || *fs) {
            if (!*ts || !*fs)
                fail_msg("frame %llu: %s transaction ids for function codes %s",
                         (unsigned long long)frame, f[5], f[6]);
            char *te, *fe;
            x.tid = (uint16_t)strtoul(ts, &te, 10);
            x.fc = (uint8_t)strtoul(fs, &fe, 10);
            push(&v->pdus, &x);
            ts = *te == ',' ? te + 1 : te;
            fs = *fe == ',' ? fe + 1 : fe;
        }
    }
    tu_run_free(&r);
}

/* ---- ours ---- */

struct oview {
    struct list pdus;
    struct bits malformed;
    struct bits bad;       /* [conn id * 2 + dir]: a bad header was seen */
    uint64_t bad_frames;
    struct mbp_stats st;
};

static void on_event(void *ctx, const struct mbp_event *ev)
{
    struct oview *o = ctx;
    uint64_t slot = ev->conn->id * 2 + (uint64_t)ev->dir;
    if (ev->kind == MBP_BAD_FRAME) {
        bit_set(&o->bad, slot);
        bit_set(&o->malformed, ev->pkt_no);
        o->bad_frames++;
        return;
    }
    if (ev->kind != MBP_ADU)
        return;
    struct pdu x = {0};
    x.cip = ev->conn->ip[TCPR_C2S];
    x.sip = ev->conn->ip[TCPR_S2C];
    x.cport = ev->conn->port[TCPR_C2S];
    x.sport = ev->conn->port[TCPR_S2C];
    x.dir = (uint8_t)ev->dir;
    x.fc = ev->fc;
    x.tid = ev->h.tid;
    x.frame = ev->pkt_no;
    x.after_bad = bit_get(&o->bad, slot);
    x.status = ev->status;
    push(&o->pdus, &x);
    if (ev->status != MB_OK)
        bit_set(&o->malformed, ev->pkt_no);
}

static void our_view(const char *file, struct oview *o)
{
    memset(o, 0, sizeof *o);
    struct err e;
    if (mbp_read_pcap(file, NULL, on_event, o, &o->st, &e) != 0)
        fail_msg("%s", e.msg);
}

/* ---- matching ---- */

static int key_cmp(const struct pdu *a, const struct pdu *b)
{
#define CMP(f)                     \
    if (a->f != b->f)              \
        return a->f < b->f ? -1 : 1;
    CMP(cip)
    CMP(sip)
    CMP(cport)
    CMP(sport)
    CMP(dir)
    CMP(tid)
    CMP(fc)
#undef CMP
    return 0;
}

static int pdu_cmp(const void *x, const void *y)
{
    const struct pdu *a = x, *b = y;
    int k = key_cmp(a, b);
    if (k)
        return k;
    if (a->frame != b->frame)
        return a->frame < b->frame ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static const char *pdu_str(const struct pdu *p)
{
    static char b[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(b[k], sizeof b[k], "frame %llu %s %08x:%u %s %08x:%u tid %u fc %u",
             (unsigned long long)p->frame, p->dir == TCPR_C2S ? "request" : "response", p->cip,
             p->cport, p->dir == TCPR_C2S ? "->" : "<-", p->sip, p->sport, p->tid, p->fc);
    return b[k];
}

/* Pairs one key group: same frame first, then in frame order. Returns the
 * number of pairs in different frames that are not explained. */
static unsigned pair_group(struct pdu *t, size_t nt, struct pdu *o, size_t no,
                           const struct tview *tv)
{
    size_t i = 0, j = 0;
    while (i < nt && j < no) {
        if (t[i].frame == o[j].frame) {
            t[i++].peer = 1;
            o[j++].peer = 1;
        } else if (t[i].frame < o[j].frame) {
            i++;
        } else {
            j++;
        }
    }
    unsigned bad = 0;
    i = j = 0;
    for (;;) {
        while (i < nt && t[i].peer)
            i++;
        while (j < no && o[j].peer)
            j++;
        if (i >= nt || j >= no)
            break;
        t[i].peer = o[j].peer = 2;
        if (!bit_get(&tv->flagged, o[j].frame)) {
            print_message("  paired in different frames, not explained: tshark %s, ours %s\n",
                          pdu_str(&t[i]), pdu_str(&o[j]));
            bad++;
        }
    }
    return bad;
}

/* Per direction and function code: [dir][fc]. */
struct table {
    unsigned t[2][128], o[2][128], r[2][128], b[2][128];
};

static void compare(const char *file)
{
    const char *name = strrchr(file, '/') + 1;
    struct tview tv;
    struct oview ov;
    tshark_view(file, &tv);
    our_view(file, &ov);
    qsort(tv.pdus.v, tv.pdus.n, sizeof *tv.pdus.v, pdu_cmp);
    qsort(ov.pdus.v, ov.pdus.n, sizeof *ov.pdus.v, pdu_cmp);

    unsigned unexplained = 0, missing = 0;
    size_t i = 0, j = 0;
    while (i < tv.pdus.n || j < ov.pdus.n) {
        int k = i >= tv.pdus.n ? 1 : j >= ov.pdus.n ? -1 : key_cmp(&tv.pdus.v[i], &ov.pdus.v[j]);
        size_t i2 = i, j2 = j;
        if (k <= 0)
            while (i2 < tv.pdus.n && key_cmp(&tv.pdus.v[i2], &tv.pdus.v[i]) == 0)
                i2++;
        if (k >= 0)
            while (j2 < ov.pdus.n && key_cmp(&ov.pdus.v[j2], &ov.pdus.v[j]) == 0)
                j2++;
        unexplained += pair_group(tv.pdus.v + i, i2 - i, ov.pdus.v + j, j2 - j, &tv);
        i = i2;
        j = j2;
    }

    struct table *tb = calloc(1, sizeof *tb);
    assert_non_null(tb);
    unsigned r_tot = 0, b_tot = 0;
    for (i = 0; i < tv.pdus.n; i++) {
        const struct pdu *p = &tv.pdus.v[i];
        tb->t[p->dir][p->fc & 0x7F]++;
        if (!p->peer) {
            print_message("  tshark finds a PDU we do not: %s\n", pdu_str(p));
            missing++;
        }
    }
    for (j = 0; j < ov.pdus.n; j++) {
        const struct pdu *p = &ov.pdus.v[j];
        tb->o[p->dir][p->fc]++;
        if (p->peer)
            continue;
        if (bit_get(&tv.flagged, p->frame)) {
            tb->r[p->dir][p->fc]++;
            r_tot++;
            print_message("  R: ours only, in a frame tshark flags and does not dissect: %s\n",
                          pdu_str(p));
        } else if (p->after_bad) {
            tb->b[p->dir][p->fc]++;
            b_tot++;
            print_message("  B: ours only, after a bad MBAP header: %s\n", pdu_str(p));
        } else {
            print_message("  ours only, not explained: %s (%s)\n", pdu_str(p),
                          mb_status_name(p->status));
            unexplained++;
        }
    }

    /* the table */
    print_message("%s: %llu data frames; %zu PDUs by tshark, %zu ADUs by us (R %u, B %u)\n",
                  name, (unsigned long long)tv.frames, tv.pdus.n, ov.pdus.n, r_tot, b_tot);
    /* rows where both sides agree without R or B, compactly as "fc:count";
     * the others in full */
    int count_bad = 0;
    for (int d = 0; d < 2; d++) {
        char line[2048];
        size_t ll = 0;
        for (int fc = 0; fc < 128; fc++)
            if (tb->o[d][fc] && tb->t[d][fc] == tb->o[d][fc] && ll < sizeof line - 16)
                ll += (size_t)snprintf(line + ll, sizeof line - ll, " %d:%u", fc, tb->o[d][fc]);
        print_message("  %s, fc:count equal on both sides:%s\n", d ? "to client" : "to server",
                      ll ? line : " none");
        for (int fc = 0; fc < 128; fc++) {
            if (tb->t[d][fc] == tb->o[d][fc])
                continue;
            int ok = tb->t[d][fc] == tb->o[d][fc] - tb->r[d][fc] - tb->b[d][fc];
            count_bad += !ok;
            print_message("  %s fc %d: tshark %u, ours %u = tshark + R %u + B %u%s\n",
                          d ? "to client" : "to server", fc, tb->t[d][fc], tb->o[d][fc],
                          tb->r[d][fc], tb->b[d][fc], ok ? "" : "   <-- NOT EQUAL");
        }
    }

    /* malformed frames */
    unsigned t_mal = 0, mal_missing = 0, o_only = 0;
    for (size_t f = 0; f < tv.malformed.n; f++)
        if (tv.malformed.b[f]) {
            t_mal++;
            if (!bit_get(&ov.malformed, f)) {
                print_message("  tshark marks frame %zu malformed, we report nothing wrong\n", f);
                mal_missing++;
            }
        }
    char list[512] = "";
    size_t ll = 0;
    for (size_t f = 0; f < ov.malformed.n; f++)
        if (ov.malformed.b[f] && !bit_get(&tv.malformed, f)) {
            o_only++;
            if (ll < sizeof list - 40)
                ll += (size_t)snprintf(list + ll, sizeof list - ll, " %zu", f);
        }
    char tlist[256] = "";
    ll = 0;
    for (size_t f = 0; f < tv.malformed.n; f++)
        if (tv.malformed.b[f] && ll < sizeof tlist - 24)
            ll += (size_t)snprintf(tlist + ll, sizeof tlist - ll, " %zu", f);
    print_message("  malformed frames: tshark %u (%s), all found by us: %s; ours only %u (%s%s); "
                  "bad MBAP headers %llu\n",
                  t_mal, t_mal ? tlist + 1 : "none", mal_missing ? "NO" : "yes", o_only,
                  o_only ? list + 1 : "none", o_only > 20 ? " ..." : "",
                  (unsigned long long)ov.bad_frames);

    unsigned want_r = 0, want_b = 0;
    for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++)
        if (strcmp(expected[k].file, name) == 0) {
            want_r = expected[k].r;
            want_b = expected[k].b;
        }
    int ok = missing == 0 && unexplained == 0 && count_bad == 0 && mal_missing == 0 &&
             r_tot == want_r && b_tot == want_b;
    free(tb);
    free(tv.pdus.v);
    free(tv.flagged.b);
    free(tv.malformed.b);
    free(ov.pdus.v);
    free(ov.malformed.b);
    free(ov.bad.b);
    if (!ok)
        fail_msg("%s: %u tshark PDUs missing, %u of ours unexplained, %d counts differ, %u "
                 "malformed frames missed; R %u (expected %u), B %u (expected %u)",
                 name, missing, unexplained, count_bad, mal_missing, r_tot, want_r, b_tot,
                 want_b);
}

static void real_capture(void **state)
{
    if (!in_path("tshark"))
        TU_SKIP("tshark not found in PATH (install the tshark package)");
    compare(*state);
}

/* Holes: our ADUs as keys (fc = the function code byte, frame unused). */
static void key_event(void *ctx, const struct mbp_event *ev)
{
    if (ev->kind != MBP_ADU)
        return;
    struct oview *o = ctx;
    struct pdu x = {0};
    x.cip = ev->conn->ip[TCPR_C2S];
    x.sip = ev->conn->ip[TCPR_S2C];
    x.cport = ev->conn->port[TCPR_C2S];
    x.sport = ev->conn->port[TCPR_S2C];
    x.dir = (uint8_t)ev->dir;
    x.fc = ev->fc_byte;
    x.tid = ev->h.tid;
    push(&o->pdus, &x);
}

static void real_capture_holes(void **state)
{
    if (!in_path("tshark"))
        TU_SKIP("tshark not found in PATH (install the tshark package)");
    if (!in_path("editcap"))
        TU_SKIP("editcap not found in PATH (install wireshark-common)");
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
    struct oview full, holed;
    memset(&full, 0, sizeof full);
    memset(&holed, 0, sizeof holed);
    struct err e;
    if (mbp_read_pcap(file, NULL, key_event, &full, &full.st, &e) != 0 ||
        mbp_read_pcap(out, NULL, key_event, &holed, &holed.st, &e) != 0)
        fail_msg("%s", e.msg);
    qsort(full.pdus.v, full.pdus.n, sizeof *full.pdus.v, pdu_cmp);
    qsort(holed.pdus.v, holed.pdus.n, sizeof *holed.pdus.v, pdu_cmp);
    /* holed must be a sub-multiset of full */
    size_t i = 0, j = 0, invented = 0;
    while (j < holed.pdus.n) {
        int c = i < full.pdus.n ? key_cmp(&full.pdus.v[i], &holed.pdus.v[j]) : 1;
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            i++;
        } else {
            if (invented++ < 10)
                print_message("  invented: %s\n", pdu_str(&holed.pdus.v[j]));
            j++;
        }
    }
    const struct mbp_stats *h = &holed.st;
    print_message("%s minus %zu segments: %zu ADUs of %zu; gaps %llu/%llu, resyncs %llu/%llu, "
                  "skipped %llu/%llu bytes, cut %llu/%llu, bad headers %llu/%llu (to server/to "
                  "client); invented %zu\n",
                  strrchr(file, '/') + 1, n - 3, holed.pdus.n, full.pdus.n,
                  (unsigned long long)h->gaps[0], (unsigned long long)h->gaps[1],
                  (unsigned long long)h->resyncs[0], (unsigned long long)h->resyncs[1],
                  (unsigned long long)h->skipped[0], (unsigned long long)h->skipped[1],
                  (unsigned long long)h->cut_bytes[0], (unsigned long long)h->cut_bytes[1],
                  (unsigned long long)h->bad_frames[0], (unsigned long long)h->bad_frames[1],
                  invented);
    assert_true(h->gaps[0] + h->gaps[1] > 0);
    assert_int_equal(invented, 0);
    free(full.pdus.v);
    free(holed.pdus.v);
    tu_run_free(&ed);
    tu_run_free(&r);
    free(args);
}

static void no_captures(void **state)
{
    (void)state;
    TU_SKIP("no shared captures: $ICSRANGE_SHARED/data/pcaps/*.pcap not found");
}

int main(void)
{
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
    struct CMUnitTest *tests = calloc(2 * nf + 1, sizeof *tests);
    char **names = calloc(nf + 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        const char *base = strrchr(files[i], '/') + 1;
        names[i] = malloc(strlen(base) + 16);
        sprintf(names[i], "%s with holes", base);
        tests[n++] = (struct CMUnitTest){base, real_capture, NULL, NULL, files[i]};
        tests[n++] = (struct CMUnitTest){names[i], real_capture_holes, NULL, NULL, files[i]};
    }
    if (!nf)
        tests[n++] = (struct CMUnitTest){"shared captures", no_captures, NULL, NULL, NULL};
    int rc = _cmocka_run_group_tests("pcap modbus", tests, n, NULL, NULL);
    for (size_t i = 0; i < nf; i++) {
        free(files[i]);
        free(names[i]);
    }
    free(names);
    free(files);
    free(tests);
    return rc;
}
