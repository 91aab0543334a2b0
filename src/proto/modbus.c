/* modbus.c — the Modbus/TCP codec: the MBAP header and the framer, request
 * and response PDUs decoded, checked and encoded, names of codes and
 * statuses. Owns no state: every function works on the caller's buffers
 * and structs; the tables below are constant.
 *
 * The rules are those of the Modbus Application Protocol v1.1b3, collected
 * in docs/modbus.md with their sections. Decoders and encoders share one
 * check per rule, so an encoder refuses a struct with the status the
 * decoder gives the frame it would build.
 */
#include "proto/modbus.h"

#include <string.h>

/* ---- the function codes: one layout per group, one row per code ---- */

/* How a function code's PDUs are laid out. */
enum layout {
    L_NONE = 0,   /* not decoded here: u.raw when accepted */
    L_READ_BITS,  /* FC 1, 2:  req addr qty;            rsp count bits */
    L_READ_REGS,  /* FC 3, 4:  req addr qty;            rsp count regs */
    L_WRITE_COIL, /* FC 5:     addr value(FF00/0000);   rsp echo */
    L_WRITE_REG,  /* FC 6:     addr value;              rsp echo */
    L_DIAG,       /* FC 8:     sub data;                rsp sub data */
    L_WRITE_BITS, /* FC 15:    addr qty count bits;     rsp addr qty */
    L_WRITE_REGS, /* FC 16:    addr qty count regs;     rsp addr qty */
    L_SERVER_ID,  /* FC 17:    (nothing);               rsp count bytes */
    L_MASK,       /* FC 22:    addr and or;             rsp echo */
    L_READ_WRITE, /* FC 23:    raddr rqty waddr wqty count regs; rsp count regs */
    L_MEI,        /* FC 43:    mei ...;                 rsp mei ... */
};

struct fc_rule {
    const char *name;
    uint8_t layout;
    uint16_t max_qty; /* quantity limit; FC 23: the read quantity */
};

/* Every public function code of the specification (section 5.1); those
 * with a layout are decoded, the others are only named. */
static const struct fc_rule fc_rules[128] = {
    [0x01] = {"read coils", L_READ_BITS, MB_MAX_READ_BITS},
    [0x02] = {"read discrete inputs", L_READ_BITS, MB_MAX_READ_BITS},
    [0x03] = {"read holding registers", L_READ_REGS, MB_MAX_READ_REGISTERS},
    [0x04] = {"read input registers", L_READ_REGS, MB_MAX_READ_REGISTERS},
    [0x05] = {"write single coil", L_WRITE_COIL, 0},
    [0x06] = {"write single register", L_WRITE_REG, 0},
    [0x07] = {"read exception status", L_NONE, 0},
    [0x08] = {"diagnostics", L_DIAG, 0},
    [0x0B] = {"get comm event counter", L_NONE, 0},
    [0x0C] = {"get comm event log", L_NONE, 0},
    [0x0F] = {"write multiple coils", L_WRITE_BITS, MB_MAX_WRITE_BITS},
    [0x10] = {"write multiple registers", L_WRITE_REGS, MB_MAX_WRITE_REGISTERS},
    [0x11] = {"report server id", L_SERVER_ID, 0},
    [0x14] = {"read file record", L_NONE, 0},
    [0x15] = {"write file record", L_NONE, 0},
    [0x16] = {"mask write register", L_MASK, 0},
    [0x17] = {"read/write multiple registers", L_READ_WRITE, MB_MAX_READ_REGISTERS},
    [0x18] = {"read fifo queue", L_NONE, 0},
    [0x2B] = {"encapsulated interface transport", L_MEI, 0},
};

static const struct fc_rule *fc_rule_of(uint8_t fc)
{
    return fc < 128 && fc_rules[fc].name ? &fc_rules[fc] : NULL;
}

static int layout_of(uint8_t fc)
{
    const struct fc_rule *r = fc_rule_of(fc);
    return r ? r->layout : L_NONE;
}

/* ---- FC 8 sub-functions (section 6.8.1) ---- */

/* What a request's 2 data bytes must hold. */
enum diag_data { D_ANY, D_ZERO, D_RESTART, D_DELIMITER };
/* What the response carries. */
enum diag_reply { R_ECHO, R_VALUE, R_NONE };

struct diag_rule {
    uint16_t sub;
    uint8_t data;  /* enum diag_data */
    uint8_t reply; /* enum diag_reply */
    const char *name;
};

static const struct diag_rule diag_rules[] = {
    {MB_DIAG_RETURN_QUERY_DATA, D_ANY, R_ECHO, "return query data"},
    {MB_DIAG_RESTART_COMMS, D_RESTART, R_ECHO, "restart communications option"},
    {MB_DIAG_RETURN_DIAG_REGISTER, D_ZERO, R_VALUE, "return diagnostic register"},
    {MB_DIAG_CHANGE_ASCII_DELIMITER, D_DELIMITER, R_ECHO, "change ascii input delimiter"},
    {MB_DIAG_FORCE_LISTEN_ONLY, D_ZERO, R_NONE, "force listen only mode"},
    {MB_DIAG_CLEAR_COUNTERS, D_ZERO, R_ECHO, "clear counters and diagnostic register"},
    {MB_DIAG_BUS_MESSAGE_COUNT, D_ZERO, R_VALUE, "return bus message count"},
    {MB_DIAG_BUS_COMM_ERROR_COUNT, D_ZERO, R_VALUE, "return bus communication error count"},
    {MB_DIAG_BUS_EXCEPTION_COUNT, D_ZERO, R_VALUE, "return bus exception error count"},
    {MB_DIAG_SERVER_MESSAGE_COUNT, D_ZERO, R_VALUE, "return server message count"},
    {MB_DIAG_SERVER_NO_RESPONSE_COUNT, D_ZERO, R_VALUE, "return server no response count"},
    {MB_DIAG_SERVER_NAK_COUNT, D_ZERO, R_VALUE, "return server nak count"},
    {MB_DIAG_SERVER_BUSY_COUNT, D_ZERO, R_VALUE, "return server busy count"},
    {MB_DIAG_BUS_CHAR_OVERRUN_COUNT, D_ZERO, R_VALUE, "return bus character overrun count"},
    {MB_DIAG_CLEAR_OVERRUN, D_ZERO, R_ECHO, "clear overrun counter and flag"},
};

static const struct diag_rule *diag_rule_of(uint16_t sub)
{
    for (size_t i = 0; i < sizeof diag_rules / sizeof diag_rules[0]; i++)
        if (diag_rules[i].sub == sub)
            return &diag_rules[i];
    return NULL;
}

/* ---- names ---- */

/* ORDER enum mb_status: index = -status. */
static const char *const status_names[] = {
    "ok",
    "need more bytes",
    "protocol id not 0",
    "mbap length out of range",
    "pdu truncated",
    "trailing bytes after pdu",
    "quantity out of range",
    "byte count inconsistent",
    "address range past 65535",
    "coil value not ff00 or 0000",
    "unknown function code",
    "unknown sub-function",
    "value out of range",
    "malformed exception response",
    "frame too long",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == 1 - MB_TOO_LONG,
               "ORDER: one name per enum mb_status");

const char *mb_status_name(int status)
{
    if (status > 0 || status < MB_TOO_LONG)
        return "unknown status";
    return status_names[-status];
}

uint8_t mb_status_exception(int status)
{
    switch (status) {
    case MB_BAD_FUNCTION:
    case MB_BAD_SUBFUNCTION:
        return MB_EX_ILLEGAL_FUNCTION;
    case MB_BAD_QUANTITY:
    case MB_BAD_BYTE_COUNT:
    case MB_BAD_COIL_VALUE:
    case MB_BAD_VALUE:
    case MB_TRUNCATED:
    case MB_TRAILING:
        return MB_EX_ILLEGAL_DATA_VALUE;
    case MB_BAD_ADDRESS:
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    case MB_TOO_LONG:
        return MB_EX_SERVER_DEVICE_FAILURE;
    default:
        return MB_EX_NONE;
    }
}

const char *mb_fc_name(uint8_t fc)
{
    const struct fc_rule *r = fc_rule_of(fc);
    return r ? r->name : NULL;
}

const char *mb_diag_name(uint16_t sub)
{
    const struct diag_rule *d = diag_rule_of(sub);
    return d ? d->name : NULL;
}

const char *mb_exception_name(uint8_t code)
{
    switch (code) {
    case MB_EX_ILLEGAL_FUNCTION: return "illegal function";
    case MB_EX_ILLEGAL_DATA_ADDRESS: return "illegal data address";
    case MB_EX_ILLEGAL_DATA_VALUE: return "illegal data value";
    case MB_EX_SERVER_DEVICE_FAILURE: return "server device failure";
    case MB_EX_ACKNOWLEDGE: return "acknowledge";
    case MB_EX_SERVER_DEVICE_BUSY: return "server device busy";
    case MB_EX_MEMORY_PARITY_ERROR: return "memory parity error";
    case MB_EX_GATEWAY_PATH_UNAVAILABLE: return "gateway path unavailable";
    case MB_EX_GATEWAY_TARGET_FAILED: return "gateway target device failed to respond";
    default: return NULL;
    }
}

/* ---- MBAP and the framer ---- */

int mb_mbap_parse(const uint8_t *buf, size_t len, struct mb_mbap *out)
{
    if (len < MB_MBAP_LEN)
        return MB_NEED_MORE;
    out->tid = mb_get16(buf);
    out->pid = mb_get16(buf + 2);
    out->len = mb_get16(buf + 4);
    out->unit = buf[6];
    if (out->pid != 0)
        return MB_BAD_PROTOCOL;
    if (out->len < MB_MIN_LENGTH || out->len > MB_MAX_LENGTH)
        return MB_BAD_LENGTH;
    return MB_OK;
}

void mb_mbap_write(uint8_t *out, uint16_t tid, uint16_t pid, uint8_t unit, size_t pdu_len)
{
    mb_put16(out, tid);
    mb_put16(out + 2, pid);
    mb_put16(out + 4, (uint16_t)(pdu_len + 1));
    out[6] = unit;
}

size_t mb_adu_write(uint8_t *out, uint16_t tid, uint8_t unit, const uint8_t *pdu,
                    size_t pdu_len)
{
    memmove(out + MB_MBAP_LEN, pdu, pdu_len); /* first: pdu may overlap the header */
    mb_mbap_write(out, tid, 0, unit, pdu_len);
    return MB_MBAP_LEN + pdu_len;
}

void mb_framer_init(struct mb_framer *f)
{
    f->have = 0;
}

/* Bytes of the whole ADU whose (valid) header is h: the 6 bytes before
 * the length field's count, then the counted ones. */
static size_t adu_len(const struct mb_mbap *h)
{
    return MB_MBAP_LEN - 1 + (size_t)h->len;
}

/* Cuts the stream into ADUs. A frame that arrives whole while nothing is
 * buffered is handed over in place; a partial one is gathered in f->buf,
 * header first (checked as soon as its 7 bytes are in), then exactly the
 * bytes its length field announces, never more: the next frame's bytes
 * stay in the caller's data for the next round of the loop. On a bad
 * header the framer resets to empty and returns the error. */
int mb_framer_feed(struct mb_framer *f, const uint8_t *data, size_t len, mb_frame_fn fn,
                   void *ctx, size_t *used)
{
    size_t pos = 0;
    int rc = 0;
    struct mb_mbap h;

    while (pos < len) {
        if (f->have == 0) {
            int st = mb_mbap_parse(data + pos, len - pos, &h);
            if (st != MB_OK && st != MB_NEED_MORE) {
                pos += MB_MBAP_LEN;
                rc = st;
                break;
            }
            if (st == MB_OK && len - pos >= adu_len(&h)) {
                const uint8_t *adu = data + pos;
                pos += adu_len(&h);
                if (fn)
                    rc = fn(ctx, &h, adu + MB_MBAP_LEN, (size_t)h.len - 1);
                if (rc)
                    break;
                continue;
            }
        }
        /* gather: the header first, then the rest of the ADU */
        size_t want = MB_MBAP_LEN;
        if (f->have >= MB_MBAP_LEN)
            want = MB_MBAP_LEN - 1 + (size_t)mb_get16(f->buf + 4);
        size_t n = want - f->have;
        if (n > len - pos)
            n = len - pos;
        memcpy(f->buf + f->have, data + pos, n);
        f->have += n;
        pos += n;
        if (f->have < MB_MBAP_LEN)
            break; /* all consumed */
        int st = mb_mbap_parse(f->buf, f->have, &h);
        if (st != MB_OK) {
            f->have = 0;
            rc = st;
            break;
        }
        if (f->have == adu_len(&h)) {
            f->have = 0;
            if (fn)
                rc = fn(ctx, &h, f->buf + MB_MBAP_LEN, (size_t)h.len - 1);
            if (rc)
                break;
        }
    }
    if (used)
        *used = pos;
    return rc;
}

/* ---- the rules, shared by decoders and encoders ---- */

/* A PDU of exactly n bytes. */
static int exact_len(size_t len, size_t n)
{
    return len < n ? MB_TRUNCATED : len > n ? MB_TRAILING : MB_OK;
}

/* Quantity 1..max (sections 6.1-6.4, 6.11, 6.12, 6.17). */
static int check_qty(uint16_t qty, uint16_t max)
{
    return qty == 0 || qty > max ? MB_BAD_QUANTITY : MB_OK;
}

/* The items addr .. addr + qty - 1 all within 0..65535. */
static int check_range(uint16_t addr, uint16_t qty)
{
    return (uint32_t)addr + qty > 65536u ? MB_BAD_ADDRESS : MB_OK;
}

/* FC 1-4 request, FC 15/16 response: quantity, then address. */
static int check_read(uint16_t addr, uint16_t qty, uint16_t max)
{
    int st = check_qty(qty, max);
    return st ? st : check_range(addr, qty);
}

/* FC 5: 0xFF00 on, 0x0000 off, nothing else (section 6.5). */
static int check_coil(uint16_t value)
{
    return value == MB_COIL_ON || value == MB_COIL_OFF ? MB_OK : MB_BAD_COIL_VALUE;
}

/* Byte count of qty items: bits packed 8 to a byte, or registers. */
static unsigned count_for(int layout, unsigned qty)
{
    return layout == L_WRITE_BITS || layout == L_READ_BITS ? (qty + 7) / 8 : 2 * qty;
}

/* FC 15, 16 request: quantity, byte count against the quantity, then
 * against the `present` data bytes, then address. */
static int check_req_writen(const struct fc_rule *rule, uint16_t addr, uint16_t qty,
                            unsigned nbytes, size_t present)
{
    int st = check_qty(qty, rule->max_qty);
    if (st)
        return st;
    if (nbytes != count_for(rule->layout, qty) || present != nbytes)
        return MB_BAD_BYTE_COUNT;
    return check_range(addr, qty);
}

/* FC 23 request: both quantities, byte count (against the write quantity,
 * then the data present), then both address ranges (section 6.17). */
static int check_req_rw(uint16_t raddr, uint16_t rqty, uint16_t waddr, uint16_t wqty,
                        unsigned nbytes, size_t present)
{
    int st = check_qty(rqty, MB_MAX_READ_REGISTERS);
    if (!st)
        st = check_qty(wqty, MB_MAX_RW_WRITE_REGISTERS);
    if (st)
        return st;
    if (nbytes != 2u * wqty || present != nbytes)
        return MB_BAD_BYTE_COUNT;
    st = check_range(raddr, rqty);
    return st ? st : check_range(waddr, wqty);
}

/* FC 8 request data: any length for sub-function 0 (echo), exactly 2
 * bytes for every other; a known sub-function's data value as section
 * 6.8.1 gives it. Unknown sub-functions pass (the server decides). */
static int check_req_diag(uint16_t sub, size_t ndata, const uint8_t *data)
{
    if (sub == MB_DIAG_RETURN_QUERY_DATA)
        return MB_OK;
    if (ndata != 2)
        return ndata < 2 ? MB_TRUNCATED : MB_TRAILING;
    const struct diag_rule *d = diag_rule_of(sub);
    uint16_t v = mb_get16(data);
    if (!d)
        return MB_OK;
    switch (d->data) {
    case D_ZERO: return v == 0 ? MB_OK : MB_BAD_VALUE;
    case D_RESTART: return v == 0 || v == 0xFF00 ? MB_OK : MB_BAD_VALUE;
    case D_DELIMITER: return (v & 0xFF) == 0 ? MB_OK : MB_BAD_VALUE;
    default: return MB_OK;
    }
}

/* FC 8 response data: any length for sub-function 0, else 2 bytes. */
static int check_rsp_diag(uint16_t sub, size_t ndata)
{
    if (sub == MB_DIAG_RETURN_QUERY_DATA || ndata == 2)
        return MB_OK;
    return ndata < 2 ? MB_TRUNCATED : MB_TRAILING;
}

/* FC 43 with an MEI type other than 14, to be encoded: the raw data starts
 * with that MEI type. */
static int check_raw_mei(uint8_t mei, size_t ndata, const uint8_t *data)
{
    if (ndata < 1)
        return MB_TRUNCATED;
    if (!data)
        return MB_BAD_VALUE;
    return data[0] == mei ? MB_OK : MB_BAD_SUBFUNCTION;
}

static int check_devid_code(uint8_t code)
{
    return code >= MB_DEVID_BASIC && code <= MB_DEVID_INDIVIDUAL ? MB_OK : MB_BAD_VALUE;
}

/* FC 1-4, 23 response byte count (sections 6.1-6.4, 6.17): bits 1..250
 * (2000 bits), registers even, 2..250 (125 registers). */
static int check_rsp_count(int layout, unsigned nbytes)
{
    if (layout == L_READ_BITS)
        return nbytes >= 1 && nbytes <= (MB_MAX_READ_BITS + 7) / 8 ? MB_OK : MB_BAD_BYTE_COUNT;
    return nbytes >= 2 && nbytes <= 2 * MB_MAX_READ_REGISTERS && nbytes % 2 == 0
               ? MB_OK
               : MB_BAD_BYTE_COUNT;
}

/* FC 43/14 response fields before the objects (section 6.21): read code
 * 1-4; conformity 0x01-0x03, optionally | 0x80; more-follows 0x00 or 0xFF;
 * next object id 0 unless more follows; individual access (code 4): one
 * object, nothing follows; at most MB_DEVID_MAX_OBJECTS objects. */
static int check_rsp_devid(uint8_t code, uint8_t conformity, uint8_t more, uint8_t next,
                           uint8_t nobjects)
{
    uint8_t level = conformity & (uint8_t)~MB_DEVID_CONFORMITY_INDIVIDUAL;
    if (check_devid_code(code) || level < MB_DEVID_BASIC || level > MB_DEVID_EXTENDED)
        return MB_BAD_VALUE;
    if (more != 0x00 && more != 0xFF)
        return MB_BAD_VALUE;
    if (more == 0x00 && next != 0)
        return MB_BAD_VALUE;
    if (code == MB_DEVID_INDIVIDUAL && (more != 0x00 || nobjects != 1))
        return MB_BAD_VALUE;
    if (nobjects > MB_DEVID_MAX_OBJECTS)
        return MB_BAD_VALUE;
    return MB_OK;
}

/* ---- requests ---- */

/* Decodes the layout's fields in order: length of the fixed part, then the
 * shared checks above. See modbus.h for the order of checks. */
int mb_req_decode(const uint8_t *pdu, size_t len, int accept_unknown, struct mb_req *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1)
        return MB_TRUNCATED;
    uint8_t fc = pdu[0];
    out->fc = fc;
    const struct fc_rule *rule = fc_rule_of(fc);
    int layout = layout_of(fc);
    if (fc == 0 || fc >= 0x80 || (layout == L_NONE && !accept_unknown))
        return MB_BAD_FUNCTION;
    if (len > MB_MAX_PDU)
        return MB_TRAILING;
    int st;
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
        if ((st = exact_len(len, 5)))
            return st;
        out->u.read.addr = mb_get16(pdu + 1);
        out->u.read.qty = mb_get16(pdu + 3);
        return check_read(out->u.read.addr, out->u.read.qty, rule->max_qty);
    case L_WRITE_COIL:
    case L_WRITE_REG:
        if ((st = exact_len(len, 5)))
            return st;
        out->u.write1.addr = mb_get16(pdu + 1);
        out->u.write1.value = mb_get16(pdu + 3);
        return layout == L_WRITE_COIL ? check_coil(out->u.write1.value) : MB_OK;
    case L_DIAG:
        if (len < 3)
            return MB_TRUNCATED;
        out->u.diag.sub = mb_get16(pdu + 1);
        out->u.diag.ndata = (uint16_t)(len - 3);
        out->u.diag.data = pdu + 3;
        return check_req_diag(out->u.diag.sub, out->u.diag.ndata, out->u.diag.data);
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        if (len < 6)
            return MB_TRUNCATED;
        out->u.writen.addr = mb_get16(pdu + 1);
        out->u.writen.qty = mb_get16(pdu + 3);
        out->u.writen.nbytes = pdu[5];
        out->u.writen.data = pdu + 6;
        return check_req_writen(rule, out->u.writen.addr, out->u.writen.qty,
                                out->u.writen.nbytes, len - 6);
    case L_SERVER_ID:
        out->u.raw.ndata = 0;
        out->u.raw.data = pdu + 1;
        return exact_len(len, 1);
    case L_MASK:
        if ((st = exact_len(len, 7)))
            return st;
        out->u.mask.addr = mb_get16(pdu + 1);
        out->u.mask.and_mask = mb_get16(pdu + 3);
        out->u.mask.or_mask = mb_get16(pdu + 5);
        return MB_OK;
    case L_READ_WRITE:
        if (len < 10)
            return MB_TRUNCATED;
        out->u.rw.raddr = mb_get16(pdu + 1);
        out->u.rw.rqty = mb_get16(pdu + 3);
        out->u.rw.waddr = mb_get16(pdu + 5);
        out->u.rw.wqty = mb_get16(pdu + 7);
        out->u.rw.nbytes = pdu[9];
        out->u.rw.data = pdu + 10;
        return check_req_rw(out->u.rw.raddr, out->u.rw.rqty, out->u.rw.waddr, out->u.rw.wqty,
                            out->u.rw.nbytes, len - 10);
    case L_MEI:
        if (len < 2)
            return MB_TRUNCATED;
        out->mei = pdu[1];
        if (out->mei != MB_MEI_DEVICE_ID) {
            out->u.raw.ndata = (uint16_t)(len - 1);
            out->u.raw.data = pdu + 1;
            return MB_OK;
        }
        if ((st = exact_len(len, 4)))
            return st;
        out->u.devid.code = pdu[2];
        out->u.devid.object = pdu[3];
        return check_devid_code(out->u.devid.code);
    default: /* L_NONE, accepted */
        out->u.raw.ndata = (uint16_t)(len - 1);
        out->u.raw.data = pdu + 1;
        return MB_OK;
    }
}

/* The checks mb_req_decode makes, on a struct about to be encoded whose
 * byte count (FC 15, 16, 23) will be nbytes. */
static int check_req(const struct mb_req *r, unsigned nbytes)
{
    const struct fc_rule *rule = fc_rule_of(r->fc);
    int layout = layout_of(r->fc);
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
        return check_read(r->u.read.addr, r->u.read.qty, rule->max_qty);
    case L_WRITE_COIL:
        return check_coil(r->u.write1.value);
    case L_DIAG:
        return check_req_diag(r->u.diag.sub, r->u.diag.ndata, r->u.diag.data);
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        return check_req_writen(rule, r->u.writen.addr, r->u.writen.qty, nbytes, nbytes);
    case L_SERVER_ID:
        return r->u.raw.ndata ? MB_TRAILING : MB_OK;
    case L_READ_WRITE:
        return check_req_rw(r->u.rw.raddr, r->u.rw.rqty, r->u.rw.waddr, r->u.rw.wqty, nbytes,
                            nbytes);
    case L_MEI:
        if (r->mei == MB_MEI_DEVICE_ID)
            return check_devid_code(r->u.devid.code);
        return check_raw_mei(r->mei, r->u.raw.ndata, r->u.raw.data);
    case L_NONE:
        return r->fc == 0 || r->fc >= 0x80 ? MB_BAD_FUNCTION : MB_OK;
    default: /* L_WRITE_REG, L_MASK: every value is valid */
        return MB_OK;
    }
}

/* Checks the length n of what is about to be written: the specification's
 * limit unless raw, the buffer always. */
static int check_fit(size_t n, int raw, size_t cap)
{
    if ((!raw && n > MB_MAX_PDU) || n > cap || n > 0x7FFFFFFF)
        return MB_TOO_LONG;
    return MB_OK;
}

/* A data pointer must be there when a count says bytes follow. */
static int check_data(const uint8_t *data, size_t n)
{
    return n && !data ? MB_BAD_VALUE : MB_OK;
}

/* Sizes the PDU, checks the data pointer, the rules (unless raw) and the
 * room, then writes the fixed part and the data. */
int mb_req_encode(const struct mb_req *r, int flags, uint8_t *out, size_t cap)
{
    int raw = flags & MB_ENC_RAW;
    int layout = layout_of(r->fc);
    unsigned nbytes = 0; /* byte count field of FC 15, 16, 23 */
    int st;
    if (layout == L_WRITE_BITS || layout == L_WRITE_REGS) {
        nbytes = r->u.writen.nbytes;
        if (!nbytes && !raw)
            nbytes = count_for(layout, r->u.writen.qty);
    } else if (layout == L_READ_WRITE) {
        nbytes = r->u.rw.nbytes;
        if (!nbytes && !raw)
            nbytes = 2u * r->u.rw.wqty;
    }

    size_t n;
    const uint8_t *data = NULL;
    size_t ndata = 0;
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
    case L_WRITE_COIL:
    case L_WRITE_REG:
        n = 5;
        break;
    case L_DIAG:
        data = r->u.diag.data;
        ndata = r->u.diag.ndata;
        n = 3 + ndata;
        break;
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        data = r->u.writen.data;
        ndata = nbytes;
        n = 6 + ndata;
        break;
    case L_MASK:
        n = 7;
        break;
    case L_READ_WRITE:
        data = r->u.rw.data;
        ndata = nbytes;
        n = 10 + ndata;
        break;
    case L_MEI:
        if (r->mei == MB_MEI_DEVICE_ID) {
            n = 4;
            break;
        }
        data = r->u.raw.data; /* another MEI type: its byte starts the raw data */
        ndata = r->u.raw.ndata;
        n = 1 + ndata;
        break;
    default: /* L_NONE, L_SERVER_ID */
        data = r->u.raw.data;
        ndata = r->u.raw.ndata;
        n = 1 + ndata;
        break;
    }
    if ((st = check_data(data, ndata)) || (!raw && (st = check_req(r, nbytes))) ||
        (st = check_fit(n, raw, cap)))
        return st;

    out[0] = r->fc;
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
        mb_put16(out + 1, r->u.read.addr);
        mb_put16(out + 3, r->u.read.qty);
        break;
    case L_WRITE_COIL:
    case L_WRITE_REG:
        mb_put16(out + 1, r->u.write1.addr);
        mb_put16(out + 3, r->u.write1.value);
        break;
    case L_DIAG:
        mb_put16(out + 1, r->u.diag.sub);
        break;
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        mb_put16(out + 1, r->u.writen.addr);
        mb_put16(out + 3, r->u.writen.qty);
        out[5] = (uint8_t)nbytes;
        break;
    case L_MASK:
        mb_put16(out + 1, r->u.mask.addr);
        mb_put16(out + 3, r->u.mask.and_mask);
        mb_put16(out + 5, r->u.mask.or_mask);
        break;
    case L_READ_WRITE:
        mb_put16(out + 1, r->u.rw.raddr);
        mb_put16(out + 3, r->u.rw.rqty);
        mb_put16(out + 5, r->u.rw.waddr);
        mb_put16(out + 7, r->u.rw.wqty);
        out[9] = (uint8_t)nbytes;
        break;
    case L_MEI:
        if (r->mei == MB_MEI_DEVICE_ID) {
            out[1] = MB_MEI_DEVICE_ID;
            out[2] = r->u.devid.code;
            out[3] = r->u.devid.object;
        }
        break;
    default:
        break;
    }
    if (ndata)
        memcpy(out + n - ndata, data, ndata);
    return (int)n;
}

/* ---- responses ---- */

/* Decodes a response by its layout: the exception form first (any
 * function code 1-127), then the fixed part's length, then the shared
 * checks. */
int mb_rsp_decode(const uint8_t *pdu, size_t len, int accept_unknown, struct mb_rsp *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1)
        return MB_TRUNCATED;
    uint8_t fc = pdu[0] & 0x7F;
    out->fc = fc;
    if (fc == 0)
        return MB_BAD_FUNCTION;
    if (pdu[0] & 0x80) {
        int st = exact_len(len, 2);
        if (st)
            return st;
        out->exception = pdu[1];
        return out->exception ? MB_OK : MB_BAD_EXCEPTION;
    }
    const struct fc_rule *rule = fc_rule_of(fc);
    int layout = layout_of(fc);
    if (layout == L_NONE && !accept_unknown)
        return MB_BAD_FUNCTION;
    if (len > MB_MAX_PDU)
        return MB_TRAILING;
    int st;
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
    case L_READ_WRITE:
        if (len < 2)
            return MB_TRUNCATED;
        out->u.read.nbytes = pdu[1];
        out->u.read.data = pdu + 2;
        if ((st = check_rsp_count(layout, out->u.read.nbytes)))
            return st;
        return out->u.read.nbytes == len - 2 ? MB_OK : MB_BAD_BYTE_COUNT;
    case L_WRITE_COIL:
    case L_WRITE_REG:
        if ((st = exact_len(len, 5)))
            return st;
        out->u.write1.addr = mb_get16(pdu + 1);
        out->u.write1.value = mb_get16(pdu + 3);
        return layout == L_WRITE_COIL ? check_coil(out->u.write1.value) : MB_OK;
    case L_DIAG:
        if (len < 3)
            return MB_TRUNCATED;
        out->u.diag.sub = mb_get16(pdu + 1);
        out->u.diag.ndata = (uint16_t)(len - 3);
        out->u.diag.data = pdu + 3;
        return check_rsp_diag(out->u.diag.sub, out->u.diag.ndata);
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        if ((st = exact_len(len, 5)))
            return st;
        out->u.writen.addr = mb_get16(pdu + 1);
        out->u.writen.qty = mb_get16(pdu + 3);
        return check_read(out->u.writen.addr, out->u.writen.qty, rule->max_qty);
    case L_SERVER_ID:
        if (len < 2)
            return MB_TRUNCATED;
        out->u.server_id.nbytes = pdu[1];
        out->u.server_id.data = pdu + 2;
        return out->u.server_id.nbytes >= 1 && out->u.server_id.nbytes == len - 2
                   ? MB_OK
                   : MB_BAD_BYTE_COUNT;
    case L_MASK:
        if ((st = exact_len(len, 7)))
            return st;
        out->u.mask.addr = mb_get16(pdu + 1);
        out->u.mask.and_mask = mb_get16(pdu + 3);
        out->u.mask.or_mask = mb_get16(pdu + 5);
        return MB_OK;
    case L_MEI: {
        if (len < 2)
            return MB_TRUNCATED;
        out->mei = pdu[1];
        if (out->mei != MB_MEI_DEVICE_ID) {
            out->u.raw.ndata = (uint16_t)(len - 1);
            out->u.raw.data = pdu + 1;
            return MB_OK;
        }
        if (len < 7)
            return MB_TRUNCATED;
        out->u.devid.code = pdu[2];
        out->u.devid.conformity = pdu[3];
        out->u.devid.more = pdu[4];
        out->u.devid.next = pdu[5];
        out->u.devid.nobjects = pdu[6];
        if ((st = check_rsp_devid(pdu[2], pdu[3], pdu[4], pdu[5], pdu[6])))
            return st;
        size_t pos = 7;
        for (unsigned i = 0; i < pdu[6]; i++) {
            struct mb_devid_object *o = &out->u.devid.objects[i];
            if (len - pos < 2)
                return MB_TRUNCATED;
            o->id = pdu[pos];
            o->len = pdu[pos + 1];
            pos += 2;
            if (len - pos < o->len)
                return MB_TRUNCATED;
            o->value = pdu + pos;
            pos += o->len;
        }
        return pos == len ? MB_OK : MB_TRAILING;
    }
    default: /* L_NONE, accepted */
        out->u.raw.ndata = (uint16_t)(len - 1);
        out->u.raw.data = pdu + 1;
        return MB_OK;
    }
}

/* The checks mb_rsp_decode makes, on a struct about to be encoded. */
static int check_rsp(const struct mb_rsp *r)
{
    if (r->fc == 0 || r->fc >= 0x80)
        return MB_BAD_FUNCTION;
    if (r->exception)
        return MB_OK;
    const struct fc_rule *rule = fc_rule_of(r->fc);
    int layout = layout_of(r->fc);
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
    case L_READ_WRITE:
        return check_rsp_count(layout, r->u.read.nbytes);
    case L_WRITE_COIL:
        return check_coil(r->u.write1.value);
    case L_DIAG:
        return check_rsp_diag(r->u.diag.sub, r->u.diag.ndata);
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        return check_read(r->u.writen.addr, r->u.writen.qty, rule->max_qty);
    case L_SERVER_ID:
        return r->u.server_id.nbytes >= 1 ? MB_OK : MB_BAD_BYTE_COUNT;
    case L_MEI: {
        if (r->mei != MB_MEI_DEVICE_ID)
            return check_raw_mei(r->mei, r->u.raw.ndata, r->u.raw.data);
        return check_rsp_devid(r->u.devid.code, r->u.devid.conformity, r->u.devid.more,
                               r->u.devid.next, r->u.devid.nobjects);
    }
    default: /* L_WRITE_REG, L_MASK, L_NONE: every value is valid */
        return MB_OK;
    }
}

/* Writes a device identification response (its length checked already). */
static void write_devid(const struct mb_rsp *r, unsigned nobj, uint8_t *out)
{
    out[1] = MB_MEI_DEVICE_ID;
    out[2] = r->u.devid.code;
    out[3] = r->u.devid.conformity;
    out[4] = r->u.devid.more;
    out[5] = r->u.devid.next;
    out[6] = r->u.devid.nobjects;
    size_t pos = 7;
    for (unsigned i = 0; i < nobj; i++) {
        const struct mb_devid_object *o = &r->u.devid.objects[i];
        out[pos] = o->id;
        out[pos + 1] = o->len;
        if (o->len)
            memcpy(out + pos + 2, o->value, o->len);
        pos += 2 + (size_t)o->len;
    }
}

/* As mb_req_encode: size, pointers, rules unless raw, room, then bytes. */
int mb_rsp_encode(const struct mb_rsp *r, int flags, uint8_t *out, size_t cap)
{
    int raw = flags & MB_ENC_RAW;
    int st;
    if (r->exception) {
        if ((!raw && (st = check_rsp(r))) || (st = check_fit(2, raw, cap)))
            return st;
        return mb_exception_encode(r->fc, r->exception, out);
    }

    int layout = layout_of(r->fc);
    size_t n;
    const uint8_t *data = NULL;
    size_t ndata = 0;
    unsigned nobj = 0;
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
    case L_READ_WRITE:
        data = r->u.read.data;
        ndata = r->u.read.nbytes;
        n = 2 + ndata;
        break;
    case L_WRITE_COIL:
    case L_WRITE_REG:
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        n = 5;
        break;
    case L_DIAG:
        data = r->u.diag.data;
        ndata = r->u.diag.ndata;
        n = 3 + ndata;
        break;
    case L_SERVER_ID:
        data = r->u.server_id.data;
        ndata = r->u.server_id.nbytes;
        n = 2 + ndata;
        break;
    case L_MASK:
        n = 7;
        break;
    case L_MEI:
        if (r->mei == MB_MEI_DEVICE_ID) {
            nobj = r->u.devid.nobjects;
            if (nobj > MB_DEVID_MAX_OBJECTS)
                nobj = MB_DEVID_MAX_OBJECTS;
            n = 7;
            for (unsigned i = 0; i < nobj; i++) {
                const struct mb_devid_object *o = &r->u.devid.objects[i];
                if ((st = check_data(o->value, o->len)))
                    return st;
                n += 2 + (size_t)o->len;
            }
            break;
        }
        data = r->u.raw.data; /* another MEI type: its byte starts the raw data */
        ndata = r->u.raw.ndata;
        n = 1 + ndata;
        break;
    default: /* L_NONE */
        data = r->u.raw.data;
        ndata = r->u.raw.ndata;
        n = 1 + ndata;
        break;
    }
    if ((st = check_data(data, ndata)) || (!raw && (st = check_rsp(r))) ||
        (st = check_fit(n, raw, cap)))
        return st;

    out[0] = r->fc;
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
    case L_READ_WRITE:
        out[1] = r->u.read.nbytes;
        break;
    case L_WRITE_COIL:
    case L_WRITE_REG:
        mb_put16(out + 1, r->u.write1.addr);
        mb_put16(out + 3, r->u.write1.value);
        break;
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        mb_put16(out + 1, r->u.writen.addr);
        mb_put16(out + 3, r->u.writen.qty);
        break;
    case L_DIAG:
        mb_put16(out + 1, r->u.diag.sub);
        break;
    case L_SERVER_ID:
        out[1] = r->u.server_id.nbytes;
        break;
    case L_MASK:
        mb_put16(out + 1, r->u.mask.addr);
        mb_put16(out + 3, r->u.mask.and_mask);
        mb_put16(out + 5, r->u.mask.or_mask);
        break;
    case L_MEI:
        if (r->mei == MB_MEI_DEVICE_ID)
            write_devid(r, nobj, out);
        break;
    default:
        break;
    }
    if (ndata)
        memcpy(out + n - ndata, data, ndata);
    return (int)n;
}

int mb_exception_encode(uint8_t fc, uint8_t code, uint8_t *out)
{
    out[0] = (uint8_t)(fc | 0x80);
    out[1] = code;
    return 2;
}

/* Compares a response with its request: the function code (MB_BAD_FUNCTION;
 * an exception to the same code answers it), then per layout the byte
 * count for reads and every echoed field, each mismatch named by the
 * field's own status. */
int mb_rsp_check(const struct mb_req *req, const struct mb_rsp *rsp)
{
    if (rsp->fc != req->fc)
        return MB_BAD_FUNCTION;
    if (rsp->exception)
        return MB_OK;
    int layout = layout_of(req->fc);
    switch (layout) {
    case L_READ_BITS:
    case L_READ_REGS:
        return rsp->u.read.nbytes == count_for(layout, req->u.read.qty) ? MB_OK
                                                                        : MB_BAD_BYTE_COUNT;
    case L_READ_WRITE:
        return rsp->u.read.nbytes == 2u * req->u.rw.rqty ? MB_OK : MB_BAD_BYTE_COUNT;
    case L_WRITE_COIL:
    case L_WRITE_REG:
        if (rsp->u.write1.addr != req->u.write1.addr)
            return MB_BAD_ADDRESS;
        if (rsp->u.write1.value != req->u.write1.value)
            return layout == L_WRITE_COIL ? MB_BAD_COIL_VALUE : MB_BAD_VALUE;
        return MB_OK;
    case L_WRITE_BITS:
    case L_WRITE_REGS:
        if (rsp->u.writen.addr != req->u.writen.addr)
            return MB_BAD_ADDRESS;
        return rsp->u.writen.qty == req->u.writen.qty ? MB_OK : MB_BAD_QUANTITY;
    case L_MASK:
        if (rsp->u.mask.addr != req->u.mask.addr)
            return MB_BAD_ADDRESS;
        return rsp->u.mask.and_mask == req->u.mask.and_mask &&
                       rsp->u.mask.or_mask == req->u.mask.or_mask
                   ? MB_OK
                   : MB_BAD_VALUE;
    case L_DIAG: {
        if (rsp->u.diag.sub != req->u.diag.sub)
            return MB_BAD_SUBFUNCTION;
        const struct diag_rule *d = diag_rule_of(req->u.diag.sub);
        if (d && d->reply == R_NONE)
            return MB_BAD_VALUE; /* force listen only is never answered */
        if (d && d->reply == R_ECHO &&
            (rsp->u.diag.ndata != req->u.diag.ndata ||
             (req->u.diag.ndata &&
              memcmp(rsp->u.diag.data, req->u.diag.data, req->u.diag.ndata) != 0)))
            return MB_BAD_VALUE;
        return MB_OK;
    }
    case L_MEI: {
        if (rsp->mei != req->mei)
            return MB_BAD_SUBFUNCTION;
        if (req->mei != MB_MEI_DEVICE_ID)
            return MB_OK;
        uint8_t code = rsp->u.devid.code;
        if (req->u.devid.code == MB_DEVID_INDIVIDUAL)
            return code == MB_DEVID_INDIVIDUAL && rsp->u.devid.nobjects == 1 &&
                           rsp->u.devid.objects[0].id == req->u.devid.object
                       ? MB_OK
                       : MB_BAD_VALUE;
        /* stream access: the device answers at most at its own level */
        return code >= MB_DEVID_BASIC && code <= req->u.devid.code ? MB_OK : MB_BAD_VALUE;
    }
    default: /* L_SERVER_ID, L_NONE: nothing to compare */
        return MB_OK;
    }
}
