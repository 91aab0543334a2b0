/* eng90.c — the FC 90 engineering protocol codec (see eng90.h). */
#include "proto/eng90.h"

#include <string.h>

#include "proto/modbus.h"

/* memcpy that accepts an empty copy from a NULL pointer (a field of length 0). */
static inline void copy_bytes(void *dst, const void *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
}

const char *eng90_code_name(uint8_t code)
{
    switch (code) {
    case ENG90_READ_ID: return "read id";
    case ENG90_READ_PROJECT: return "read project";
    case ENG90_READ_DIAG: return "read diagnostics";
    case ENG90_TAKE_RESERVATION: return "take reservation";
    case ENG90_RELEASE_RESERVATION: return "release reservation";
    case ENG90_KEEP_ALIVE: return "keep alive";
    case ENG90_INIT_UPLOAD: return "initialise upload";
    case ENG90_UPLOAD_BLOCK: return "upload block";
    case ENG90_END_UPLOAD: return "end upload";
    case ENG90_INIT_DOWNLOAD: return "initialise download";
    case ENG90_DOWNLOAD_BLOCK: return "download block";
    case ENG90_END_DOWNLOAD: return "end download";
    case ENG90_START: return "start";
    case ENG90_STOP: return "stop";
    case ENG90_RESTART: return "restart";
    default: return NULL;
    }
}

const char *eng90_error_name(uint8_t err)
{
    switch (err) {
    case ENG90_E_SESSION: return "no reservation";
    case ENG90_E_RESERVED: return "reserved by another session";
    case ENG90_E_PASSWORD: return "wrong password";
    case ENG90_E_KEYSWITCH: return "refused by the keyswitch";
    case ENG90_E_STATE: return "not in this state";
    case ENG90_E_RANGE: return "out of range";
    case ENG90_E_HASH: return "SHA-256 mismatch";
    case ENG90_E_SIGNATURE: return "signature required or invalid";
    case ENG90_E_COMPILE: return "program does not compile";
    case ENG90_E_TOO_BIG: return "program too big";
    default: return "unknown error";
    }
}

int eng90_req_decode(const uint8_t *pdu, size_t len, struct eng90_req *out)
{
    memset(out, 0, sizeof *out);
    if (len < 3 || pdu[0] != ENG90_FC)
        return MB_EX_ILLEGAL_DATA_VALUE;
    out->session = pdu[1];
    out->code = pdu[2];
    const uint8_t *d = pdu + 3;
    size_t n = len - 3;
    switch (out->code) {
    case ENG90_READ_ID:
    case ENG90_READ_PROJECT:
    case ENG90_READ_DIAG:
    case ENG90_RELEASE_RESERVATION:
    case ENG90_KEEP_ALIVE:
    case ENG90_INIT_UPLOAD:
    case ENG90_END_UPLOAD:
    case ENG90_START:
    case ENG90_STOP:
        return n == 0 ? 0 : MB_EX_ILLEGAL_DATA_VALUE;
    case ENG90_TAKE_RESERVATION: {
        if (n < 2 || (size_t)d[0] + 2 > n)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.reserve.owner_len = d[0];
        out->u.reserve.owner = d + 1;
        size_t at = 1 + d[0];
        if ((size_t)d[at] + at + 1 != n)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.reserve.password_len = d[at];
        out->u.reserve.password = d + at + 1;
        return 0;
    }
    case ENG90_UPLOAD_BLOCK:
        if (n != 5 || d[4] == 0 || d[4] > ENG90_MAX_BLOCK)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.upload.offset = eng90_get32(d);
        out->u.upload.len = d[4];
        return 0;
    case ENG90_INIT_DOWNLOAD:
        if (n < 37 || (size_t)d[36] + 37 != n)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.init_dl.size = eng90_get32(d);
        out->u.init_dl.sha256 = d + 4;
        out->u.init_dl.name_len = d[36];
        out->u.init_dl.name = d + 37;
        return 0;
    case ENG90_DOWNLOAD_BLOCK:
        if (n < 5 || n - 4 > ENG90_MAX_BLOCK)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.block.offset = eng90_get32(d);
        out->u.block.data = d + 4;
        out->u.block.len = (uint8_t)(n - 4);
        return 0;
    case ENG90_END_DOWNLOAD:
        if (n < 1 || (d[0] != 0 && d[0] != ENG90_SIG_LEN) || (size_t)d[0] + 1 != n)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.end_dl.sig_len = d[0];
        out->u.end_dl.sig = d + 1;
        return 0;
    case ENG90_RESTART:
        if (n != 1 || d[0] > 1)
            return MB_EX_ILLEGAL_DATA_VALUE;
        out->u.restart.cold = d[0];
        return 0;
    default:
        return MB_EX_ILLEGAL_FUNCTION;
    }
}

int eng90_req_encode(const struct eng90_req *r, uint8_t *out, size_t cap)
{
    if (cap < MB_MAX_PDU)
        return -1;
    out[0] = ENG90_FC;
    out[1] = r->session;
    out[2] = r->code;
    size_t n = 3;
    switch (r->code) {
    case ENG90_TAKE_RESERVATION:
        if (3 + 2 + (size_t)r->u.reserve.owner_len + r->u.reserve.password_len > MB_MAX_PDU)
            return -1;
        out[n++] = r->u.reserve.owner_len;
        copy_bytes(out + n, r->u.reserve.owner, r->u.reserve.owner_len);
        n += r->u.reserve.owner_len;
        out[n++] = r->u.reserve.password_len;
        copy_bytes(out + n, r->u.reserve.password, r->u.reserve.password_len);
        n += r->u.reserve.password_len;
        break;
    case ENG90_UPLOAD_BLOCK:
        eng90_put32(out + n, r->u.upload.offset);
        out[n + 4] = r->u.upload.len;
        n += 5;
        break;
    case ENG90_INIT_DOWNLOAD:
        if (3 + 37 + (size_t)r->u.init_dl.name_len > MB_MAX_PDU)
            return -1;
        eng90_put32(out + n, r->u.init_dl.size);
        copy_bytes(out + n + 4, r->u.init_dl.sha256, 32);
        out[n + 36] = r->u.init_dl.name_len;
        copy_bytes(out + n + 37, r->u.init_dl.name, r->u.init_dl.name_len);
        n += 37 + r->u.init_dl.name_len;
        break;
    case ENG90_DOWNLOAD_BLOCK:
        if (r->u.block.len > ENG90_MAX_BLOCK)
            return -1;
        eng90_put32(out + n, r->u.block.offset);
        copy_bytes(out + n + 4, r->u.block.data, r->u.block.len);
        n += 4 + r->u.block.len;
        break;
    case ENG90_END_DOWNLOAD:
        if (r->u.end_dl.sig_len != 0 && r->u.end_dl.sig_len != ENG90_SIG_LEN)
            return -1;
        out[n++] = r->u.end_dl.sig_len;
        copy_bytes(out + n, r->u.end_dl.sig, r->u.end_dl.sig_len);
        n += r->u.end_dl.sig_len;
        break;
    case ENG90_RESTART:
        out[n++] = r->u.restart.cold ? 1 : 0;
        break;
    default:
        break;
    }
    return (int)n;
}

int eng90_rsp_decode(const uint8_t *pdu, size_t len, struct eng90_rsp *out)
{
    memset(out, 0, sizeof *out);
    if (len < 3 || pdu[0] != ENG90_FC || (pdu[2] != ENG90_OK && pdu[2] != ENG90_ERROR))
        return -1;
    out->session = pdu[1];
    out->status = pdu[2];
    if (out->status == ENG90_ERROR) {
        if (len < 4)
            return -1;
        out->error = pdu[3];
        out->data = pdu + 4;
        out->len = len - 4;
    } else {
        out->data = pdu + 3;
        out->len = len - 3;
    }
    return 0;
}

int eng90_rsp_ok(uint8_t session, const void *payload, size_t len, uint8_t *out, size_t cap)
{
    if (3 + len > cap || 3 + len > MB_MAX_PDU)
        len = (cap < MB_MAX_PDU ? cap : MB_MAX_PDU) - 3;
    out[0] = ENG90_FC;
    out[1] = session;
    out[2] = ENG90_OK;
    if (len)
        copy_bytes(out + 3, payload, len);
    return (int)(3 + len);
}

int eng90_rsp_error(uint8_t session, uint8_t error, const char *text, uint8_t *out, size_t cap)
{
    size_t n = text ? strlen(text) : 0;
    if (n > ENG90_MAX_TEXT)
        n = ENG90_MAX_TEXT;
    if (4 + n > cap)
        n = cap > 4 ? cap - 4 : 0;
    out[0] = ENG90_FC;
    out[1] = session;
    out[2] = ENG90_ERROR;
    out[3] = error;
    if (n)
        copy_bytes(out + 4, text, n);
    return (int)(4 + n);
}
