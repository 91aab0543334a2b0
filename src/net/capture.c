/* capture.c — live capture with libpcap, polled on libuv (see capture.h).
 *
 * The file goes through a stdio buffer of our own, larger than any record,
 * and is written out before a record that would not fit and after every
 * batch: records never reach the disk in pieces.
 */
#include "net/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 64 /* pcap_dispatch rounds per poll callback (a flood must not starve the loop) */

struct cap_poll {
    uv_poll_t poll;
    struct cap *c;
};

struct cap {
    char *iface, *path;
    pcap_t *p;
    pcap_dumper_t *dump;
    FILE *f;
    char *iobuf;
    size_t bufsize, unflushed;
    struct cap_poll *poll;
    struct cap_stats st;
    int failed;
    char why[512];
};

void cap_opts_default(struct cap_opts *o)
{
    o->filter = NULL;
    o->snaplen = 262144;
    o->promisc = 0;
    o->buffer_size = 0;
}

static void set_failed(struct cap *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_failed(struct cap *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}

static void flush_file(struct cap *c)
{
    if (!c->dump || c->unflushed == 0)
        return;
    errno = 0;
    if (pcap_dump_flush(c->dump) != 0 || ferror(c->f))
        set_failed(c, "%s: %s", c->path, errno ? strerror(errno) : "write error");
    c->unflushed = 0;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct cap *c = (struct cap *)user;
    size_t rec = 16 + h->caplen;
    if (c->unflushed + rec > c->bufsize)
        flush_file(c);
    pcap_dump((u_char *)c->dump, h, bytes);
    c->unflushed += rec;
    c->st.packets++;
    c->st.bytes += h->caplen;
}

/* Reads what is waiting (at most BATCH_MAX rounds); returns packets read
 * or -1 on a capture error. */
static long read_batch(struct cap *c)
{
    long total = 0;
    for (int i = 0; i < BATCH_MAX; i++) {
        int n = pcap_dispatch(c->p, -1, on_packet, (u_char *)c);
        if (n < 0) {
            set_failed(c, "%s: capture failed: %s", c->iface, pcap_geterr(c->p));
            total = -1;
            break;
        }
        if (n == 0)
            break;
        total += n;
    }
    flush_file(c);
    return c->failed ? -1 : total;
}

static void stop_polling(struct cap *c);

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct cap_poll *cp = h->data;
    struct cap *c = cp->c;
    (void)events;
    if (!c)
        return;
    if (status < 0) {
        set_failed(c, "%s: polling the capture failed: %s", c->iface, uv_strerror(status));
        stop_polling(c);
        return;
    }
    if (read_batch(c) < 0)
        stop_polling(c);
}

static void free_poll(uv_handle_t *h)
{
    free(h->data);
}

static void stop_polling(struct cap *c)
{
    if (!c->poll)
        return;
    c->poll->c = NULL;
    uv_close((uv_handle_t *)&c->poll->poll, free_poll);
    c->poll = NULL;
}

static int activate_error(struct cap *c, int rc, struct err *e)
{
    const char *detail = pcap_geterr(c->p);
    switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE: return err_set(e, "%s: no such device", c->iface);
    case PCAP_ERROR_PERM_DENIED:
        return err_set(e, "%s: permission denied: capturing needs root (or CAP_NET_RAW)",
                       c->iface);
    case PCAP_ERROR_PROMISC_PERM_DENIED:
        return err_set(e, "%s: permission denied for promiscuous mode", c->iface);
    case PCAP_ERROR_IFACE_NOT_UP: return err_set(e, "%s: interface is down", c->iface);
    case PCAP_ERROR_RFMON_NOTSUP:
        return err_set(e, "%s: monitor mode not supported", c->iface);
    default:
        return err_set(e, "%s: cannot capture: %s", c->iface,
                       detail && *detail ? detail : pcap_statustostr(rc));
    }
}

struct cap *cap_new(struct rtloop *loop, const char *iface, const char *path,
                    const struct cap_opts *o, struct err *e)
{
    struct cap_opts d;
    if (!o) {
        cap_opts_default(&d);
        o = &d;
    }
    int snaplen = o->snaplen > 0 ? o->snaplen : 262144;
    struct cap *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(e, "out of memory");
        return NULL;
    }
    c->iface = strdup(iface);
    c->path = strdup(path);
    c->bufsize = (size_t)snaplen + 16 + 65536;
    c->iobuf = malloc(c->bufsize);
    if (!c->iface || !c->path || !c->iobuf) {
        err_set(e, "out of memory");
        goto fail;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    c->p = pcap_create(iface, errbuf);
    if (!c->p) {
        err_set(e, "%s: cannot capture: %s", iface, errbuf);
        goto fail;
    }
    pcap_set_snaplen(c->p, snaplen);
    pcap_set_promisc(c->p, o->promisc ? 1 : 0);
    pcap_set_immediate_mode(c->p, 1);
    pcap_set_timeout(c->p, 10);
    if (o->buffer_size > 0)
        pcap_set_buffer_size(c->p, o->buffer_size);
    pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO); /* else microseconds */
    int rc = pcap_activate(c->p);
    if (rc < 0) {
        activate_error(c, rc, e);
        goto fail;
    }
    if (o->filter && *o->filter) {
        struct bpf_program prog;
        if (pcap_compile(c->p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            err_set(e, "bad capture filter '%s': %s", o->filter, pcap_geterr(c->p));
            goto fail;
        }
        rc = pcap_setfilter(c->p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            err_set(e, "%s: cannot set the filter '%s': %s", iface, o->filter,
                    pcap_geterr(c->p));
            goto fail;
        }
    }
    if (pcap_setnonblock(c->p, 1, errbuf) != 0) {
        err_set(e, "%s: cannot capture nonblocking: %s", iface, errbuf);
        goto fail;
    }
    int fd = pcap_get_selectable_fd(c->p);
    if (fd < 0) {
        err_set(e, "%s: the capture cannot be polled", iface);
        goto fail;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        err_set(e, "%s: %s", path, strerror(errno));
        goto fail;
    }
    setvbuf(f, c->iobuf, _IOFBF, c->bufsize);
    c->dump = pcap_dump_fopen(c->p, f); /* on failure libpcap closed f */
    if (!c->dump) {
        err_set(e, "%s: %s", path, pcap_geterr(c->p));
        goto fail;
    }
    c->f = f;
    c->unflushed = 24;
    flush_file(c);
    if (c->failed) {
        err_set(e, "%s", c->why);
        goto fail;
    }
    c->poll = calloc(1, sizeof *c->poll);
    if (!c->poll) {
        err_set(e, "out of memory");
        goto fail;
    }
    c->poll->c = c;
    rc = uv_poll_init(rtloop_uv(loop), &c->poll->poll, fd);
    if (rc != 0) {
        free(c->poll);
        c->poll = NULL;
        err_set(e, "%s: cannot poll the capture: %s", iface, uv_strerror(rc));
        goto fail;
    }
    c->poll->poll.data = c->poll;
    rc = uv_poll_start(&c->poll->poll, UV_READABLE, on_readable);
    if (rc != 0) {
        err_set(e, "%s: cannot poll the capture: %s", iface, uv_strerror(rc));
        goto fail;
    }
    return c;
fail:
    cap_free(c);
    return NULL;
}

long cap_drain(struct cap *c, struct err *e)
{
    if (c->failed)
        return err_set(e, "%s", c->why);
    long n = read_batch(c);
    if (n < 0) {
        stop_polling(c);
        return err_set(e, "%s", c->why);
    }
    return n;
}

void cap_stats(struct cap *c, struct cap_stats *out)
{
    struct pcap_stat ps;
    if (c->p && pcap_stats(c->p, &ps) == 0) {
        c->st.kernel_drops = ps.ps_drop;
        c->st.if_drops = ps.ps_ifdrop;
    }
    *out = c->st;
}

int cap_linktype(const struct cap *c)
{
    return pcap_datalink(c->p);
}

const char *cap_error(const struct cap *c)
{
    return c->failed ? c->why : NULL;
}

void cap_free(struct cap *c)
{
    if (!c)
        return;
    if (c->dump && !c->failed)
        read_batch(c);
    stop_polling(c); /* before pcap_close closes the descriptor */
    if (c->dump) {
        flush_file(c);
        pcap_dump_close(c->dump);
    }
    if (c->p)
        pcap_close(c->p);
    free(c->iobuf);
    free(c->iface);
    free(c->path);
    free(c);
}
