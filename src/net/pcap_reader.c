/* pcap_reader.c — capture files through libpcap, frames down to TCP
 * segments (see pcap_reader.h). Every read of a header field is preceded by
 * a check against the captured length; nothing here allocates per packet. */
#include "net/pcap_reader.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif

#define MAX_VLAN_TAGS 8

struct pcapr {
    pcap_t *p;
    char *name;
    int dlt;
    int failed;
    int64_t last_ts;
    struct pcapr_stats st;
};

const char *pcapr_kind_name(enum pcapr_kind k)
{
    static const char *const names[PCAPR_NKINDS] = {
        "tcp", "udp", "other-ip", "fragment", "not-ipv4", "truncated", "malformed"};
    return (unsigned)k < PCAPR_NKINDS ? names[k] : "?";
}

int pcapr_dlt_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_NULL:
    case DLT_LOOP:
        return 1;
    default:
        return 0;
    }
}

/* ---- decoding ---- */

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Headers end before they should: cut by the snap length, or a frame
 * shorter than its own headers. */
static int too_short(struct pcapr_pkt *o, const char *what)
{
    o->kind = o->cut ? PCAPR_TRUNCATED : PCAPR_MALFORMED;
    o->why = what;
    return 0;
}

static int malformed(struct pcapr_pkt *o, const char *what)
{
    o->kind = PCAPR_MALFORMED;
    o->why = what;
    return 0;
}

/* TCP inside an IPv4 datagram: `cap` bytes captured of `wire` after the IP
 * header. */
static int decode_tcp(struct pcapr_pkt *o, const uint8_t *h, size_t cap, size_t wire)
{
    if (wire < 20)
        return malformed(o, "IPv4 total length leaves no room for the TCP header");
    if (cap < 20)
        return too_short(o, "TCP header cut");
    size_t doff = (size_t)(h[12] >> 4) * 4;
    if (doff < 20)
        return malformed(o, "TCP data offset below 5");
    if (wire < doff)
        return malformed(o, "TCP data offset beyond the IPv4 total length");
    if (cap < doff)
        return too_short(o, "TCP options cut");
    struct tcpr_seg *s = &o->tcp;
    s->ts_ns = o->ts_ns;
    s->pkt_no = o->pkt_no;
    s->src_ip = o->src_ip;
    s->dst_ip = o->dst_ip;
    s->src_port = (uint16_t)be16(h);
    s->dst_port = (uint16_t)be16(h + 2);
    s->seq = be32(h + 4);
    s->ack = be32(h + 8);
    s->flags = h[13] & 0x3f;
    s->window = (uint16_t)be16(h + 14);
    s->payload = h + doff;
    s->payload_len = (uint32_t)(cap - doff);
    s->wire_len = (uint32_t)(wire - doff);
    if (s->payload_len < s->wire_len)
        o->why = "TCP payload cut by the snap length";
    o->kind = PCAPR_TCP;
    return 0;
}

/* An IPv4 datagram of which `cap` bytes were captured; `extra` more were
 * on the wire but not captured. */
static int decode_ipv4(struct pcapr_pkt *o, const uint8_t *ip, size_t cap, size_t extra)
{
    if (cap < 20)
        return too_short(o, "IPv4 header cut");
    if (ip[0] >> 4 != 4)
        return malformed(o, "IP version is not 4");
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    if (ihl < 20)
        return malformed(o, "IPv4 header length below 5");
    if (cap < ihl)
        return too_short(o, "IPv4 options cut");
    o->src_ip = be32(ip + 12);
    o->dst_ip = be32(ip + 16);
    o->ip_proto = ip[9];
    size_t tot = be16(ip + 2);
    if (tot == 0) /* segmentation offload: the frame tells the length */
        tot = cap + extra;
    if (tot < ihl)
        return malformed(o, "IPv4 total length below the header length");
    if (tot > cap + extra)
        return malformed(o, "IPv4 total length beyond the frame");
    if (be16(ip + 6) & 0x3fff) { /* more fragments, or an offset */
        o->kind = PCAPR_FRAGMENT;
        return 0;
    }
    size_t got = cap < tot ? cap : tot; /* bytes beyond tot are padding */
    switch (ip[9]) {
    case 6:
        return decode_tcp(o, ip + ihl, got - ihl, tot - ihl);
    case 17:
        o->kind = PCAPR_UDP;
        return 0;
    default:
        o->kind = PCAPR_OTHER_IP;
        return 0;
    }
}

int pcapr_decode(int dlt, const uint8_t *f, uint32_t caplen, uint32_t len, uint64_t pkt_no,
                 int64_t ts_ns, struct pcapr_pkt *o)
{
    memset(o, 0, sizeof *o);
    o->pkt_no = pkt_no;
    o->ts_ns = ts_ns;
    o->caplen = caplen;
    o->len = len;
    o->frame = f;
    o->cut = caplen < len;
    size_t n = f ? caplen : 0, extra = len > caplen ? len - caplen : 0, p;
    unsigned et;
    switch (dlt) {
    case DLT_EN10MB:
        if (n < 14)
            return too_short(o, "Ethernet header cut");
        et = be16(f + 12);
        p = 14;
        break;
    case DLT_LINUX_SLL:
        if (n < 16)
            return too_short(o, "Linux cooked header cut");
        et = be16(f + 14);
        p = 16;
        break;
    case DLT_LINUX_SLL2:
        if (n < 20)
            return too_short(o, "Linux cooked v2 header cut");
        et = be16(f);
        p = 20;
        break;
    case DLT_RAW:
    case DLT_IPV4:
        if (n < 1)
            return too_short(o, "empty frame");
        if (f[0] >> 4 != 4) {
            o->kind = PCAPR_NOT_IPV4;
            return 0;
        }
        return decode_ipv4(o, f, n, extra);
    case DLT_NULL:
    case DLT_LOOP: {
        if (n < 4)
            return too_short(o, "loopback header cut");
        /* address family in the capturing host's order (NULL) or network
         * order (LOOP); AF_INET is 2 everywhere */
        uint32_t fam = be32(f), swapped = __builtin_bswap32(fam);
        if (fam != 2 && swapped != 2) {
            o->kind = PCAPR_NOT_IPV4;
            return 0;
        }
        return decode_ipv4(o, f + 4, n - 4, extra);
    }
    default:
        o->kind = PCAPR_NOT_IPV4;
        o->why = "unsupported link type";
        return -1;
    }
    for (int tags = 0; et == 0x8100 || et == 0x88a8 || et == 0x9100; tags++) {
        if (tags == MAX_VLAN_TAGS)
            return malformed(o, "more than 8 VLAN tags");
        if (n < p + 4)
            return too_short(o, "VLAN tag cut");
        et = be16(f + p + 2);
        p += 4;
    }
    if (et != 0x0800) {
        o->kind = PCAPR_NOT_IPV4;
        return 0;
    }
    return decode_ipv4(o, f + p, n - p, extra);
}

/* ---- files ---- */

static struct pcapr *wrap(pcap_t *p, const char *name, struct err *e)
{
    int dlt = pcap_datalink(p);
    if (!pcapr_dlt_supported(dlt)) {
        const char *dn = pcap_datalink_val_to_name(dlt);
        err_set(e, "%s: link-layer type %d (%s) not supported", name, dlt, dn ? dn : "unknown");
        pcap_close(p);
        return NULL;
    }
    struct pcapr *r = calloc(1, sizeof *r);
    char *nm = strdup(name);
    if (!r || !nm) {
        free(r);
        free(nm);
        pcap_close(p);
        err_set(e, "%s: out of memory", name);
        return NULL;
    }
    r->p = p;
    r->name = nm;
    r->dlt = dlt;
    return r;
}

struct pcapr *pcapr_open(const char *path, struct err *e)
{
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (!p) {
        err_set(e, "%s: %s", path, eb);
        return NULL;
    }
    return wrap(p, path, e);
}

struct pcapr *pcapr_open_stream(FILE *f, const char *name, struct err *e)
{
    if (!name)
        name = "(stream)";
    if (!f) {
        err_set(e, "%s: no stream", name);
        return NULL;
    }
    char eb[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (!p) {
        fclose(f);
        err_set(e, "%s: %s", name, eb);
        return NULL;
    }
    return wrap(p, name, e);
}

static int64_t ts_of(const struct pcap_pkthdr *h)
{
    int64_t ns;
    if (__builtin_mul_overflow((int64_t)h->ts.tv_sec, (int64_t)1000000000, &ns) ||
        __builtin_add_overflow(ns, (int64_t)h->ts.tv_usec, &ns))
        return h->ts.tv_sec < 0 ? INT64_MIN : INT64_MAX;
    return ns;
}

int pcapr_next(struct pcapr *r, struct pcapr_pkt *out, struct err *e)
{
    if (r->failed)
        return 0;
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(r->p, &h, &data);
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    if (rc != 1) {
        r->failed = 1;
        err_set(e, "%s: packet %llu: %s", r->name, (unsigned long long)r->st.packets + 1,
                rc == PCAP_ERROR ? pcap_geterr(r->p) : "unexpected result from libpcap");
        return -1;
    }
    r->st.packets++;
    r->last_ts = ts_of(h);
    pcapr_decode(r->dlt, data, h->caplen, h->len, r->st.packets, r->last_ts, out);
    r->st.kinds[out->kind]++;
    r->st.cut += out->cut != 0;
    if (out->kind == PCAPR_TCP) {
        r->st.payload_bytes += out->tcp.wire_len;
        r->st.partial_payload += out->tcp.payload_len < out->tcp.wire_len;
    }
    return 1;
}

int pcapr_feed_all(struct pcapr *r, struct tcpr *t, struct err *e)
{
    struct pcapr_pkt pkt;
    int rc;
    while ((rc = pcapr_next(r, &pkt, e)) > 0)
        if (pkt.kind == PCAPR_TCP)
            tcpr_feed(t, &pkt.tcp);
    return rc;
}

const struct pcapr_stats *pcapr_stats(const struct pcapr *r)
{
    return &r->st;
}

int pcapr_linktype(const struct pcapr *r)
{
    return r->dlt;
}

int64_t pcapr_last_ts(const struct pcapr *r)
{
    return r->last_ts;
}

void pcapr_close(struct pcapr *r)
{
    if (!r)
        return;
    pcap_close(r->p);
    free(r->name);
    free(r);
}
