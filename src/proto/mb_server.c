/* mb_server.c — the Modbus/TCP server (see mb_server.h).
 *
 * Per connection: a framer cuts the byte stream into ADUs; each ADU goes
 * through handle_adu(): listen-only, unit routing, the comms budget, then
 * the dispatch table (extension handlers first, else the built-in handler
 * for the function code, after the codec has checked the request), and the
 * response is written to the link. The built-in handlers are the table
 * `builtins` below: one function per function code.
 */
#include "proto/mb_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/version.h"

struct route {
    const struct mb_map_ops *ops;
    void *ctx;
    int on;
};

struct conn {
    struct mb_server *s;
    struct link *l;
    struct mb_framer fr;
    vtime_t last;
    struct conn *prev, *next;
    int closing;
    int refused; /* over the connection limit: closed at once */
};

struct devid_obj {
    uint8_t len;
    int present;
    char *value;
};

/* FC 8 counters, cleared by 08/0A and by a restart. */
struct diag_counters {
    uint16_t bus_msgs, bus_comm_err, bus_exceptions, server_msgs, no_rsp, nak, busy, overrun;
};

struct handler {
    mb_handler_fn fn;
    void *ctx;
};

struct mb_server {
    struct net *net;
    struct sched *sched;
    struct mb_server_config cfg;
    struct route units[256];
    struct listener **listeners;
    size_t nlisteners;
    struct conn *conns;
    size_t nconns;
    struct handler handlers[256];
    mb_observe_fn observe;
    void *observe_ctx;
    mb_log_fn log;
    void *log_ctx;
    struct mb_server_stats stats;
    struct diag_counters diag;
    int listen_only;
    double tokens;
    vtime_t tokens_t;
    int sweep_task;
    struct devid_obj objects[256];
    uint8_t conformity;
    uint8_t server_id[251];
    size_t server_id_len;
};

static void slog(struct mb_server *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void slog(struct mb_server *s, int level, const char *fmt, ...)
{
    if (!s->log)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->log(s->log_ctx, level, msg);
}

void mb_server_config_default(struct mb_server_config *c)
{
    memset(c, 0, sizeof *c);
    c->vendor_name = "icsrange";
    c->product_code = "icsrange";
    c->revision = ICSRANGE_VERSION;
    c->running = 1;
    c->max_connections = 16;
    c->idle_timeout = 60 * VT_SEC;
    c->output_cap = 65536;
}

/* ---- built-in function handlers ----
 * Each gets a request the codec has checked (quantities, byte counts,
 * address ranges) and writes the response PDU into out. Returns its
 * length, 0 for no response, or -exception. */

typedef int (*builtin_fn)(struct mb_server *s, const struct route *r, const struct mb_req *q,
                          const uint8_t *pdu, size_t len, uint8_t *out);

static int fc_read_bits(struct mb_server *s, const struct route *r, const struct mb_req *q,
                        const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->read_bits)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    enum mb_table t = q->fc == MB_FC_READ_COILS ? MB_COILS : MB_DISCRETE_INPUTS;
    size_t nbytes = (q->u.read.qty + 7u) / 8u;
    memset(out + 2, 0, nbytes);
    int ex = r->ops->read_bits(r->ctx, t, q->u.read.addr, q->u.read.qty, out + 2);
    if (ex)
        return -ex;
    out[0] = q->fc;
    out[1] = (uint8_t)nbytes;
    return (int)(2 + nbytes);
}

static int fc_read_regs(struct mb_server *s, const struct route *r, const struct mb_req *q,
                        const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->read_regs)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    enum mb_table t = q->fc == MB_FC_READ_HOLDING_REGISTERS ? MB_HOLDING_REGISTERS
                                                            : MB_INPUT_REGISTERS;
    uint16_t regs[MB_MAX_READ_REGISTERS];
    int ex = r->ops->read_regs(r->ctx, t, q->u.read.addr, q->u.read.qty, regs);
    if (ex)
        return -ex;
    out[0] = q->fc;
    out[1] = (uint8_t)(2 * q->u.read.qty);
    for (unsigned i = 0; i < q->u.read.qty; i++)
        mb_put16(out + 2 + 2 * i, regs[i]);
    return 2 + 2 * q->u.read.qty;
}

static int fc_write_coil(struct mb_server *s, const struct route *r, const struct mb_req *q,
                         const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->write_bits)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    uint8_t bit = q->u.write1.value == MB_COIL_ON;
    int ex = r->ops->write_bits(r->ctx, q->u.write1.addr, 1, &bit);
    if (ex)
        return -ex;
    out[0] = q->fc;
    mb_put16(out + 1, q->u.write1.addr);
    mb_put16(out + 3, q->u.write1.value);
    return 5;
}

static int fc_write_register(struct mb_server *s, const struct route *r, const struct mb_req *q,
                             const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->write_regs)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    uint16_t v = q->u.write1.value;
    int ex = r->ops->write_regs(r->ctx, q->u.write1.addr, 1, &v);
    if (ex)
        return -ex;
    out[0] = q->fc;
    mb_put16(out + 1, q->u.write1.addr);
    mb_put16(out + 3, v);
    return 5;
}

static int fc_write_coils(struct mb_server *s, const struct route *r, const struct mb_req *q,
                          const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->write_bits)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    int ex = r->ops->write_bits(r->ctx, q->u.writen.addr, q->u.writen.qty, q->u.writen.data);
    if (ex)
        return -ex;
    out[0] = q->fc;
    mb_put16(out + 1, q->u.writen.addr);
    mb_put16(out + 3, q->u.writen.qty);
    return 5;
}

static int fc_write_registers(struct mb_server *s, const struct route *r, const struct mb_req *q,
                              const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->write_regs)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    uint16_t regs[MB_MAX_WRITE_REGISTERS];
    for (unsigned i = 0; i < q->u.writen.qty; i++)
        regs[i] = mb_get16(q->u.writen.data + 2 * i);
    int ex = r->ops->write_regs(r->ctx, q->u.writen.addr, q->u.writen.qty, regs);
    if (ex)
        return -ex;
    out[0] = q->fc;
    mb_put16(out + 1, q->u.writen.addr);
    mb_put16(out + 3, q->u.writen.qty);
    return 5;
}

static int fc_mask_write(struct mb_server *s, const struct route *r, const struct mb_req *q,
                         const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->read_regs || !r->ops->write_regs)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    uint16_t v;
    int ex = r->ops->read_regs(r->ctx, MB_HOLDING_REGISTERS, q->u.mask.addr, 1, &v);
    if (ex)
        return -ex;
    v = (uint16_t)((v & q->u.mask.and_mask) | (q->u.mask.or_mask & ~q->u.mask.and_mask));
    ex = r->ops->write_regs(r->ctx, q->u.mask.addr, 1, &v);
    if (ex)
        return -ex;
    out[0] = q->fc;
    mb_put16(out + 1, q->u.mask.addr);
    mb_put16(out + 3, q->u.mask.and_mask);
    mb_put16(out + 5, q->u.mask.or_mask);
    return 7;
}

static int fc_read_write(struct mb_server *s, const struct route *r, const struct mb_req *q,
                         const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)s;
    if (!r->ops->read_regs || !r->ops->write_regs)
        return -MB_EX_ILLEGAL_DATA_ADDRESS;
    uint16_t regs[MB_MAX_READ_REGISTERS];
    /* Both ranges are checked before anything is written: the read range
     * by reading it (reads have no side effects), the write range by the
     * write itself, which writes nothing when it fails. */
    int ex = r->ops->read_regs(r->ctx, MB_HOLDING_REGISTERS, q->u.rw.raddr, q->u.rw.rqty, regs);
    if (ex)
        return -ex;
    for (unsigned i = 0; i < q->u.rw.wqty; i++)
        regs[i] = mb_get16(q->u.rw.data + 2 * i);
    /* the write happens before the read */
    ex = r->ops->write_regs(r->ctx, q->u.rw.waddr, q->u.rw.wqty, regs);
    if (ex)
        return -ex;
    ex = r->ops->read_regs(r->ctx, MB_HOLDING_REGISTERS, q->u.rw.raddr, q->u.rw.rqty, regs);
    if (ex)
        return -ex;
    out[0] = q->fc;
    out[1] = (uint8_t)(2 * q->u.rw.rqty);
    for (unsigned i = 0; i < q->u.rw.rqty; i++)
        mb_put16(out + 2 + 2 * i, regs[i]);
    return 2 + 2 * q->u.rw.rqty;
}

static void clear_diag(struct mb_server *s)
{
    memset(&s->diag, 0, sizeof s->diag);
}

static int fc_diagnostics(struct mb_server *s, const struct route *r, const struct mb_req *q,
                          const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)r;
    uint16_t sub = q->u.diag.sub;
    uint16_t data = q->u.diag.ndata >= 2 ? mb_get16(q->u.diag.data) : 0;
    int value = -1; /* a counter to return, or -1 to echo */
    switch (sub) {
    case MB_DIAG_RETURN_QUERY_DATA:
        break;
    case MB_DIAG_RESTART_COMMS:
        if (q->u.diag.ndata != 2 || (data != 0x0000 && data != 0xFF00))
            return -MB_EX_ILLEGAL_DATA_VALUE;
        clear_diag(s);
        break; /* echo, then the port "restarts" (nothing more to do over TCP) */
    case MB_DIAG_RETURN_DIAG_REGISTER:
        if (q->u.diag.ndata != 2 || data != 0)
            return -MB_EX_ILLEGAL_DATA_VALUE;
        value = 0;
        break;
    case MB_DIAG_FORCE_LISTEN_ONLY:
        if (q->u.diag.ndata != 2 || data != 0)
            return -MB_EX_ILLEGAL_DATA_VALUE;
        s->listen_only = 1;
        slog(s, 1, "forced into listen-only mode (FC 8/04)");
        return 0; /* no response */
    case MB_DIAG_CLEAR_COUNTERS:
        if (q->u.diag.ndata != 2 || data != 0)
            return -MB_EX_ILLEGAL_DATA_VALUE;
        clear_diag(s);
        break;
    case MB_DIAG_BUS_MESSAGE_COUNT: value = s->diag.bus_msgs; break;
    case MB_DIAG_BUS_COMM_ERROR_COUNT: value = s->diag.bus_comm_err; break;
    case MB_DIAG_BUS_EXCEPTION_COUNT: value = s->diag.bus_exceptions; break;
    case MB_DIAG_SERVER_MESSAGE_COUNT: value = s->diag.server_msgs; break;
    case MB_DIAG_SERVER_NO_RESPONSE_COUNT: value = s->diag.no_rsp; break;
    case MB_DIAG_SERVER_NAK_COUNT: value = s->diag.nak; break;
    case MB_DIAG_SERVER_BUSY_COUNT: value = s->diag.busy; break;
    case MB_DIAG_BUS_CHAR_OVERRUN_COUNT: value = s->diag.overrun; break;
    default:
        return -MB_EX_ILLEGAL_FUNCTION; /* sub-function not supported */
    }
    if (value >= 0 && (q->u.diag.ndata != 2 || data != 0))
        return -MB_EX_ILLEGAL_DATA_VALUE;
    out[0] = q->fc;
    mb_put16(out + 1, sub);
    if (value >= 0) {
        mb_put16(out + 3, (uint16_t)value);
        return 5;
    }
    memcpy(out + 3, q->u.diag.data, q->u.diag.ndata);
    return 3 + q->u.diag.ndata;
}

static int fc_server_id(struct mb_server *s, const struct route *r, const struct mb_req *q,
                        const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)r;
    if (q->u.raw.ndata != 0)
        return -MB_EX_ILLEGAL_DATA_VALUE;
    out[0] = MB_FC_REPORT_SERVER_ID;
    memcpy(out + 2, s->server_id, s->server_id_len);
    out[1] = (uint8_t)s->server_id_len;
    return (int)(2 + s->server_id_len);
}

/* FC 43 / MEI 14: read device identification. */
static int fc_encapsulated(struct mb_server *s, const struct route *r, const struct mb_req *q,
                           const uint8_t *pdu, size_t len, uint8_t *out)
{
    (void)r;
    if (len < 2 || pdu[1] != MB_MEI_DEVICE_ID)
        return -MB_EX_ILLEGAL_FUNCTION; /* another MEI type: not supported */
    uint8_t code = q->u.devid.code, id = q->u.devid.object;
    out[0] = MB_FC_ENCAPSULATED;
    out[1] = MB_MEI_DEVICE_ID;
    out[2] = code;
    out[3] = s->conformity;
    out[4] = 0x00; /* more follows */
    out[5] = 0x00; /* next object id */
    out[6] = 0;    /* number of objects */
    size_t n = 7;
    if (code == MB_DEVID_INDIVIDUAL) {
        const struct devid_obj *o = &s->objects[id];
        if (!o->present)
            return -MB_EX_ILLEGAL_DATA_ADDRESS;
        out[n++] = id;
        out[n++] = o->len;
        memcpy(out + n, o->value, o->len);
        n += o->len;
        out[6] = 1;
        return (int)n;
    }
    unsigned last = code == MB_DEVID_BASIC ? 0x02 : code == MB_DEVID_REGULAR ? 0x7F : 0xFF;
    if (id > last || !s->objects[id].present)
        id = 0; /* an unknown start restarts at the first object */
    for (unsigned k = id; k <= last; k++) {
        const struct devid_obj *o = &s->objects[k];
        if (!o->present)
            continue;
        if (n + 2 + o->len > MB_MAX_PDU) {
            out[4] = 0xFF;
            out[5] = (uint8_t)k;
            break;
        }
        out[n++] = (uint8_t)k;
        out[n++] = o->len;
        memcpy(out + n, o->value, o->len);
        n += o->len;
        out[6]++;
    }
    return (int)n;
}

/* ORDER: the dispatch table of built-in function codes. */
static const struct {
    uint8_t fc;
    builtin_fn fn;
} builtins[] = {
    {MB_FC_READ_COILS, fc_read_bits},
    {MB_FC_READ_DISCRETE_INPUTS, fc_read_bits},
    {MB_FC_READ_HOLDING_REGISTERS, fc_read_regs},
    {MB_FC_READ_INPUT_REGISTERS, fc_read_regs},
    {MB_FC_WRITE_SINGLE_COIL, fc_write_coil},
    {MB_FC_WRITE_SINGLE_REGISTER, fc_write_register},
    {MB_FC_DIAGNOSTICS, fc_diagnostics},
    {MB_FC_WRITE_MULTIPLE_COILS, fc_write_coils},
    {MB_FC_WRITE_MULTIPLE_REGISTERS, fc_write_registers},
    {MB_FC_REPORT_SERVER_ID, fc_server_id},
    {MB_FC_MASK_WRITE_REGISTER, fc_mask_write},
    {MB_FC_READ_WRITE_REGISTERS, fc_read_write},
    {MB_FC_ENCAPSULATED, fc_encapsulated},
};
static builtin_fn builtin_of[256];

/* ---- the request path ---- */

static int budget_take(struct mb_server *s, vtime_t now)
{
    if (s->cfg.budget_rate <= 0)
        return 1;
    double dt = vt_to_sec(now - s->tokens_t);
    s->tokens_t = now;
    s->tokens += dt * s->cfg.budget_rate;
    if (s->tokens > s->cfg.budget_burst)
        s->tokens = s->cfg.budget_burst;
    if (s->tokens < 1.0)
        return 0;
    s->tokens -= 1.0;
    return 1;
}

static void conn_drop(struct conn *c, int reset)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (reset)
        link_reset(c->l);
    else
        link_close(c->l);
}

/* Sends a response PDU; returns 0, or 1 when the connection was reset at
 * the output cap (stop processing its frames). */
static int respond(struct conn *c, uint16_t tid, uint8_t unit, uint8_t *frame, size_t pdu_len)
{
    struct mb_server *s = c->s;
    /* the PDU is already at offset 7 */
    mb_mbap_write(frame, tid, 0, unit, pdu_len);
    link_write(c->l, frame, MB_MBAP_LEN + pdu_len);
    if (link_pending(c->l) > s->cfg.output_cap) {
        char a[32];
        s->stats.output_cap_resets++;
        slog(s, 1, "connection from %s reset: %zu bytes of responses unread (cap %zu)",
             net_addr_format(link_peer(c->l), a, sizeof a), link_pending(c->l),
             s->cfg.output_cap);
        conn_drop(c, 1);
        return 1;
    }
    return 0;
}

static int handle_adu(void *ctx, const struct mb_mbap *h, const uint8_t *pdu, size_t len)
{
    struct conn *c = ctx;
    struct mb_server *s = c->s;
    if (c->closing)
        return 1;
    vtime_t now = sched_now(s->sched);
    c->last = now;
    s->stats.frames++;
    s->diag.bus_msgs++;
    struct mb_request_info info = {link_id(c->l), link_peer(c->l), link_local(c->l), h->unit,
                                   h->tid, now};
    uint8_t frame[MB_MBAP_LEN + MB_MAX_PDU];
    uint8_t *out = frame + MB_MBAP_LEN;
    int n;
    uint8_t fc = pdu[0];

    if (s->listen_only) {
        /* only a restart brings the device back; it is not answered */
        if (fc == MB_FC_DIAGNOSTICS && len >= 3 && mb_get16(pdu + 1) == MB_DIAG_RESTART_COMMS) {
            s->listen_only = 0;
            clear_diag(s);
            slog(s, 2, "restart communications: listen-only mode ended");
        }
        s->stats.no_response++;
        s->diag.no_rsp++;
        if (s->observe)
            s->observe(s->observe_ctx, &info, pdu, len, NULL, 0);
        return 0;
    }
    const struct route *r = &s->units[h->unit];
    if (!r->on) {
        if (!s->cfg.gateway) {
            s->stats.no_response++;
            s->diag.no_rsp++;
            if (s->observe)
                s->observe(s->observe_ctx, &info, pdu, len, NULL, 0);
            return 0;
        }
        n = -MB_EX_GATEWAY_TARGET_FAILED;
    } else if (!budget_take(s, now)) {
        n = -MB_EX_SERVER_DEVICE_BUSY;
        s->stats.busy++;
        s->diag.busy++;
    } else if (s->handlers[fc].fn) {
        s->diag.server_msgs++;
        n = s->handlers[fc].fn(s->handlers[fc].ctx, &info, pdu, len, out);
    } else if (!builtin_of[fc]) {
        s->diag.server_msgs++;
        n = -MB_EX_ILLEGAL_FUNCTION;
    } else {
        s->diag.server_msgs++;
        struct mb_req q;
        int st = mb_req_decode(pdu, len, 1, &q);
        if (st != MB_OK)
            n = -(int)mb_status_exception(st);
        else
            n = builtin_of[fc](s, r, &q, pdu, len, out);
        if (n == 0 && fc != MB_FC_DIAGNOSTICS)
            n = -MB_EX_SERVER_DEVICE_FAILURE; /* a handler must answer */
    }
    if (n == 0) {
        s->stats.no_response++;
        s->diag.no_rsp++;
        if (s->observe)
            s->observe(s->observe_ctx, &info, pdu, len, NULL, 0);
        return 0;
    }
    if (n < 0) {
        n = mb_exception_encode(fc, (uint8_t)-n, out);
        s->stats.exceptions++;
        s->diag.bus_exceptions++;
    }
    s->stats.responses++;
    s->stats.by_fc[fc]++;
    if (s->observe)
        s->observe(s->observe_ctx, &info, pdu, len, out, (size_t)n);
    return respond(c, h->tid, h->unit, frame, (size_t)n);
}

/* ---- connections ---- */

static void conn_on_data(void *ctx, struct link *l, const uint8_t *data, size_t len)
{
    struct conn *c = ctx;
    (void)l;
    if (c->closing || c->refused)
        return;
    int r = mb_framer_feed(&c->fr, data, len, handle_adu, c, NULL);
    if (r == MB_BAD_PROTOCOL || r == MB_BAD_LENGTH) {
        char a[32];
        c->s->stats.dropped++;
        c->s->diag.bus_comm_err++;
        slog(c->s, 1, "connection from %s closed: %s in an MBAP header",
             net_addr_format(link_peer(c->l), a, sizeof a), mb_status_name(r));
        conn_drop(c, 0);
    }
}

static void conn_on_close(void *ctx, struct link *l, enum link_close_reason why)
{
    struct conn *c = ctx;
    struct mb_server *s = c->s;
    (void)l;
    (void)why;
    if (!c->refused) {
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        s->nconns--;
    }
    free(c);
}

static const struct link_handler conn_handler = {conn_on_data, conn_on_close, NULL};

static void on_accept(void *ctx, struct link *l)
{
    struct mb_server *s = ctx;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        link_reset(l);
        return;
    }
    c->s = s;
    c->l = l;
    c->last = sched_now(s->sched);
    mb_framer_init(&c->fr);
    link_set_handler(l, &conn_handler, c);
    if (s->cfg.max_connections >= 0 && s->nconns >= (size_t)s->cfg.max_connections) {
        char a[32];
        c->refused = 1;
        s->stats.refused++;
        slog(s, 1, "connection from %s closed: all %d connection slots in use",
             net_addr_format(link_peer(l), a, sizeof a), s->cfg.max_connections);
        c->closing = 1;
        link_close(l);
        return;
    }
    s->stats.connections++;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
}

static void sweep_idle(void *ctx, vtime_t now)
{
    struct mb_server *s = ctx;
    for (struct conn *c = s->conns; c; c = c->next) {
        if (!c->closing && now - c->last >= s->cfg.idle_timeout) {
            char a[32];
            s->stats.idle_closes++;
            slog(s, 2, "connection from %s closed after %.0f s idle",
                 net_addr_format(link_peer(c->l), a, sizeof a), vt_to_sec(now - c->last));
            conn_drop(c, 0);
        }
    }
}

/* ---- setup ---- */

static int set_object(struct mb_server *s, uint8_t id, const char *value, struct err *e)
{
    if (!value)
        return 0;
    size_t n = strlen(value);
    if (n > MB_MAX_PDU - 7 - 2)
        return err_set(e, "device identification object 0x%02X is %zu bytes; at most %d", id,
                       n, MB_MAX_PDU - 9);
    free(s->objects[id].value);
    s->objects[id].value = strdup(value);
    if (!s->objects[id].value)
        return err_set(e, "out of memory");
    s->objects[id].len = (uint8_t)n;
    s->objects[id].present = 1;
    return 0;
}

struct mb_server *mb_server_new(struct net *n, const struct mb_server_config *cfg,
                                const struct mb_map_ops *map, void *map_ctx, struct err *e)
{
    if (!builtin_of[MB_FC_READ_COILS])
        for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
            builtin_of[builtins[i].fc] = builtins[i].fn;
    struct mb_server *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(e, "out of memory");
        return NULL;
    }
    s->net = n;
    s->sched = net_sched(n);
    struct mb_server_config d;
    mb_server_config_default(&d);
    s->cfg = cfg ? *cfg : d;
    if (!s->cfg.vendor_name)
        s->cfg.vendor_name = d.vendor_name;
    if (!s->cfg.product_code)
        s->cfg.product_code = d.product_code;
    if (!s->cfg.revision)
        s->cfg.revision = d.revision;
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = d.max_connections;
    if (s->cfg.idle_timeout == 0)
        s->cfg.idle_timeout = d.idle_timeout;
    if (s->cfg.output_cap == 0)
        s->cfg.output_cap = d.output_cap;
    if (s->cfg.budget_rate > 0 && s->cfg.budget_burst < 1)
        s->cfg.budget_burst = s->cfg.budget_rate > 1 ? s->cfg.budget_rate : 1;
    s->tokens = s->cfg.budget_burst;
    s->tokens_t = sched_now(s->sched);
    /* strings are not kept: objects and the server id are copied below */
    const char *std[7] = {s->cfg.vendor_name, s->cfg.product_code, s->cfg.revision,
                          s->cfg.vendor_url, s->cfg.product_name, s->cfg.model_name,
                          s->cfg.user_app_name};
    int regular = 0, extended = 0;
    for (uint8_t i = 0; i < 7; i++) {
        if (set_object(s, i, std[i], e) != 0)
            goto fail;
        regular |= i >= 3 && std[i];
    }
    for (size_t i = 0; i < s->cfg.n_extra; i++) {
        if (s->cfg.extra[i].id < 0x80) {
            err_set(e, "extended device identification objects have ids 0x80-0xFF, not 0x%02X",
                    s->cfg.extra[i].id);
            goto fail;
        }
        if (set_object(s, s->cfg.extra[i].id, s->cfg.extra[i].value, e) != 0)
            goto fail;
        extended = 1;
    }
    s->conformity = (uint8_t)(0x80 | (extended ? 0x03 : regular ? 0x02 : 0x01));
    /* FC 17: server id, run indicator, additional data */
    size_t add = s->cfg.server_id_additional ? strlen(s->cfg.server_id_additional) : 0;
    const uint8_t *sid = s->cfg.server_id;
    size_t sid_len = s->cfg.server_id_len;
    if (!sid) {
        sid = (const uint8_t *)s->cfg.product_code;
        sid_len = strlen(s->cfg.product_code);
    }
    if (sid_len + 1 + add > sizeof s->server_id) {
        err_set(e, "the server id and its additional data exceed %zu bytes", sizeof s->server_id);
        goto fail;
    }
    memcpy(s->server_id, sid, sid_len);
    s->server_id[sid_len] = s->cfg.running ? 0xFF : 0x00;
    if (add)
        memcpy(s->server_id + sid_len + 1, s->cfg.server_id_additional, add);
    s->server_id_len = sid_len + 1 + add;
    /* don't keep pointers to the caller's memory */
    s->cfg.vendor_name = s->cfg.product_code = s->cfg.revision = NULL;
    s->cfg.vendor_url = s->cfg.product_name = s->cfg.model_name = s->cfg.user_app_name = NULL;
    s->cfg.extra = NULL;
    s->cfg.server_id = NULL;
    s->cfg.server_id_additional = NULL;
    /* units */
    if (map && !s->cfg.gateway) {
        static const uint8_t def_units[] = {0, 1, 255};
        const uint8_t *u = s->cfg.n_unit_ids ? s->cfg.unit_ids : def_units;
        size_t nu = s->cfg.n_unit_ids ? s->cfg.n_unit_ids : 3;
        for (size_t i = 0; i < nu; i++)
            s->units[u[i]] = (struct route){map, map_ctx, 1};
    }
    s->cfg.unit_ids = NULL;
    s->sweep_task = -1;
    if (s->cfg.idle_timeout > 0) {
        vtime_t per = s->cfg.idle_timeout / 4;
        if (per < 10 * VT_MS)
            per = 10 * VT_MS;
        if (per > VT_SEC)
            per = VT_SEC;
        s->sweep_task = sched_every(s->sched, sched_now(s->sched) + per, per, SCHED_PRIO_NET,
                                    sweep_idle, s);
    }
    return s;
fail:
    mb_server_free(s);
    return NULL;
}

void mb_server_free(struct mb_server *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nlisteners; i++)
        listener_close(s->listeners[i]);
    free(s->listeners);
    /* connections: detach from their links and let the links go */
    while (s->conns) {
        struct conn *c = s->conns;
        s->conns = c->next;
        link_set_handler(c->l, NULL, NULL);
        if (!c->closing)
            link_reset(c->l);
        free(c);
    }
    if (s->sweep_task >= 0)
        sched_cancel(s->sched, s->sweep_task);
    for (int i = 0; i < 256; i++)
        free(s->objects[i].value);
    free(s);
}

int mb_server_listen(struct mb_server *s, const struct net_addr *addr, struct err *e)
{
    struct listener **ls = realloc(s->listeners, (s->nlisteners + 1) * sizeof *ls);
    if (!ls)
        return err_set(e, "out of memory");
    s->listeners = ls;
    struct listener *l = net_listen(s->net, addr, on_accept, s, e);
    if (!l)
        return -1;
    s->listeners[s->nlisteners++] = l;
    return 0;
}

const struct net_addr *mb_server_addr(const struct mb_server *s, size_t n)
{
    return n < s->nlisteners ? listener_addr(s->listeners[n]) : NULL;
}

int mb_server_route(struct mb_server *s, uint8_t unit, const struct mb_map_ops *map, void *ctx)
{
    s->units[unit] = (struct route){map, ctx, map != NULL};
    return 0;
}

int mb_server_set_handler(struct mb_server *s, uint8_t fc, mb_handler_fn fn, void *ctx)
{
    if (fc == 0 || fc >= 0x80)
        return -1;
    s->handlers[fc] = (struct handler){fn, ctx};
    return 0;
}

void mb_server_set_observer(struct mb_server *s, mb_observe_fn fn, void *ctx)
{
    s->observe = fn;
    s->observe_ctx = ctx;
}

void mb_server_set_log(struct mb_server *s, mb_log_fn fn, void *ctx)
{
    s->log = fn;
    s->log_ctx = ctx;
}

const struct mb_server_stats *mb_server_stats(const struct mb_server *s)
{
    return &s->stats;
}

size_t mb_server_nconnections(const struct mb_server *s)
{
    return s->nconns;
}

int mb_server_listen_only(const struct mb_server *s)
{
    return s->listen_only;
}

void mb_server_snap_save(const struct mb_server *s, struct snapw *w, const char *section)
{
    snapw_section(w, section);
    snapw_u8(w, (uint8_t)s->listen_only);
    snapw_f64(w, s->tokens);
    snapw_i64(w, s->tokens_t);
    uint16_t v[8] = {s->diag.bus_msgs,   s->diag.bus_comm_err, s->diag.bus_exceptions,
                     s->diag.server_msgs, s->diag.no_rsp,      s->diag.nak,
                     s->diag.busy,        s->diag.overrun};
    for (int i = 0; i < 8; i++)
        snapw_u32(w, v[i]);
}

int mb_server_snap_load(struct mb_server *s, struct snapr *r, const char *section,
                        struct err *e)
{
    if (snapr_section(r, section, e) != 0)
        return -1;
    int lo = snapr_u8(r) != 0;
    double tokens = snapr_f64(r);
    vtime_t tt = snapr_i64(r);
    uint16_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (uint16_t)snapr_u32(r);
    if (snapr_ok(r, e) != 0)
        return -1;
    if (snapr_left(r) != 0) {
        snapr_fail(r, "%zu bytes left unread", snapr_left(r));
        return snapr_ok(r, e);
    }
    s->listen_only = lo;
    s->tokens = tokens;
    s->tokens_t = tt;
    s->diag = (struct diag_counters){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
    return 0;
}
