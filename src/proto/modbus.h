/* modbus.h — the Modbus/TCP codec: pure bytes in, structs out, and back.
 *
 * One codec for everyone who speaks or reads Modbus: the server, the
 * client, the IDS (which decodes both directions of captured traffic
 * without knowing the requests) and the attack toolkit (which must be able
 * to build deliberately malformed frames). No I/O, no allocation, no global
 * state. References: Modbus Application Protocol v1.1b3 and the Modbus/TCP
 * implementation guide (facts collected in docs/modbus.md).
 *
 * Frame (ADU) = MBAP header (7 bytes, big-endian):
 *     transaction id (2) | protocol id (2, = 0) | length (2) | unit id (1)
 * then the PDU: function code (1) + data. `length` counts the unit id and
 * the PDU, so 2 <= length <= 254 (PDU at most 253 bytes, ADU at most 260).
 *
 * Decoding is zero-copy: pointers in the decoded structs point into the
 * caller's buffer and are valid as long as it is. Decoders check every
 * limit of the specification and say precisely which one a frame breaks
 * (enum mb_status); mb_status_exception() maps a request's problem to the
 * exception code a server answers with.
 *
 * Encoders check the same limits and refuse to build an invalid frame,
 * unless given MB_ENC_RAW, which builds exactly what the struct says (for
 * the attack toolkit and for tests of peers' error handling).
 */
#ifndef PROTO_MODBUS_H
#define PROTO_MODBUS_H

#include <stddef.h>
#include <stdint.h>

#define MB_MBAP_LEN 7
#define MB_MAX_PDU 253
#define MB_MAX_ADU (MB_MBAP_LEN + MB_MAX_PDU) /* 260 */
#define MB_MIN_LENGTH 2   /* MBAP length field: unit id + function code */
#define MB_MAX_LENGTH 254 /* unit id + 253 */
#define MB_TCP_PORT 502

/* Function codes. */
enum mb_fc {
    MB_FC_READ_COILS = 0x01,
    MB_FC_READ_DISCRETE_INPUTS = 0x02,
    MB_FC_READ_HOLDING_REGISTERS = 0x03,
    MB_FC_READ_INPUT_REGISTERS = 0x04,
    MB_FC_WRITE_SINGLE_COIL = 0x05,
    MB_FC_WRITE_SINGLE_REGISTER = 0x06,
    MB_FC_DIAGNOSTICS = 0x08,
    MB_FC_WRITE_MULTIPLE_COILS = 0x0F,
    MB_FC_WRITE_MULTIPLE_REGISTERS = 0x10,
    MB_FC_REPORT_SERVER_ID = 0x11,
    MB_FC_MASK_WRITE_REGISTER = 0x16,
    MB_FC_READ_WRITE_REGISTERS = 0x17,
    MB_FC_ENCAPSULATED = 0x2B, /* MEI transport; 0x0E = read device identification */
};

#define MB_MEI_DEVICE_ID 0x0E

/* Exception codes (response FC | 0x80, one byte code). */
enum mb_exception {
    MB_EX_NONE = 0x00,
    MB_EX_ILLEGAL_FUNCTION = 0x01,
    MB_EX_ILLEGAL_DATA_ADDRESS = 0x02,
    MB_EX_ILLEGAL_DATA_VALUE = 0x03,
    MB_EX_SERVER_DEVICE_FAILURE = 0x04,
    MB_EX_ACKNOWLEDGE = 0x05,
    MB_EX_SERVER_DEVICE_BUSY = 0x06,
    MB_EX_MEMORY_PARITY_ERROR = 0x08,
    MB_EX_GATEWAY_PATH_UNAVAILABLE = 0x0A,
    MB_EX_GATEWAY_TARGET_FAILED = 0x0B,
};

/* Diagnostics (FC 8) sub-functions. */
enum mb_diag {
    MB_DIAG_RETURN_QUERY_DATA = 0x0000,
    MB_DIAG_RESTART_COMMS = 0x0001,       /* data 0x0000 or 0xFF00 (clear log) */
    MB_DIAG_RETURN_DIAG_REGISTER = 0x0002,
    MB_DIAG_CHANGE_ASCII_DELIMITER = 0x0003, /* data: the character, then 0x00 */
    MB_DIAG_FORCE_LISTEN_ONLY = 0x0004,   /* data 0x0000; no response */
    MB_DIAG_CLEAR_COUNTERS = 0x000A,
    MB_DIAG_BUS_MESSAGE_COUNT = 0x000B,
    MB_DIAG_BUS_COMM_ERROR_COUNT = 0x000C,
    MB_DIAG_BUS_EXCEPTION_COUNT = 0x000D,
    MB_DIAG_SERVER_MESSAGE_COUNT = 0x000E,
    MB_DIAG_SERVER_NO_RESPONSE_COUNT = 0x000F,
    MB_DIAG_SERVER_NAK_COUNT = 0x0010,
    MB_DIAG_SERVER_BUSY_COUNT = 0x0011,
    MB_DIAG_BUS_CHAR_OVERRUN_COUNT = 0x0012,
    MB_DIAG_CLEAR_OVERRUN = 0x0014,       /* data 0x0000 */
};

/* Read device identification (FC 43 / MEI 14) read codes. */
enum mb_devid_code {
    MB_DEVID_BASIC = 1,      /* objects 0x00-0x02, stream access */
    MB_DEVID_REGULAR = 2,    /* objects 0x00-0x7F, stream access */
    MB_DEVID_EXTENDED = 3,   /* objects 0x00-0xFF, stream access */
    MB_DEVID_INDIVIDUAL = 4, /* one object */
};
/* Conformity level of a device identification response: 0x01-0x03 (the
 * highest category the device has), | 0x80 when it also answers
 * individual access (read code 4). */
#define MB_DEVID_CONFORMITY_INDIVIDUAL 0x80
#define MB_DEVID_MAX_OBJECTS 64 /* objects a decoded response may hold */

/* Limits of the specification. */
#define MB_MAX_READ_BITS 2000       /* FC 1, 2 */
#define MB_MAX_READ_REGISTERS 125   /* FC 3, 4, 23 read */
#define MB_MAX_WRITE_BITS 1968      /* FC 15 */
#define MB_MAX_WRITE_REGISTERS 123  /* FC 16 */
#define MB_MAX_RW_WRITE_REGISTERS 121 /* FC 23 write */
#define MB_COIL_ON 0xFF00
#define MB_COIL_OFF 0x0000

/* What a decoder found. 0 is success; the rest are negative, each names
 * one broken rule. ORDER: keep mb_status_name() in step. */
enum mb_status {
    MB_OK = 0,
    MB_NEED_MORE = -1,        /* a framer or MBAP parser needs more bytes */
    MB_BAD_PROTOCOL = -2,     /* MBAP protocol id != 0 */
    MB_BAD_LENGTH = -3,       /* MBAP length < 2 or > 254 */
    MB_TRUNCATED = -4,        /* PDU shorter than its function code requires */
    MB_TRAILING = -5,         /* PDU longer than its function code allows */
    MB_BAD_QUANTITY = -6,     /* quantity 0 or above the function's limit */
    MB_BAD_BYTE_COUNT = -7,   /* byte count inconsistent with quantity or PDU */
    MB_BAD_ADDRESS = -8,      /* address + quantity past 65536 */
    MB_BAD_COIL_VALUE = -9,   /* FC 5 value other than 0xFF00 / 0x0000 */
    MB_BAD_FUNCTION = -10,    /* function code this codec does not know (or
                                 0, or >= 0x80 in a request), or not the one asked */
    MB_BAD_SUBFUNCTION = -11, /* FC 8 sub-function or FC 43 MEI type unknown
                                 to a server, or not the one asked */
    MB_BAD_VALUE = -12,       /* another field out of range (read code, more-follows ...) */
    MB_BAD_EXCEPTION = -13,   /* exception response malformed */
    MB_TOO_LONG = -14,        /* encoding would exceed MB_MAX_PDU / the buffer */
};

/* A short name for a status ("quantity out of range"). */
const char *mb_status_name(int status);

/* The exception a server answers a request with, given the decoder's
 * status for it: MB_BAD_FUNCTION -> 01, MB_BAD_SUBFUNCTION -> 01,
 * MB_BAD_QUANTITY / MB_BAD_BYTE_COUNT / MB_BAD_COIL_VALUE / MB_BAD_VALUE /
 * MB_TRUNCATED / MB_TRAILING -> 03, MB_BAD_ADDRESS -> 02. MB_OK -> 0.
 * MB_TOO_LONG (the server could not encode its answer) -> 04. Every other
 * status (framing errors, malformed responses) -> 0: nothing to answer. */
uint8_t mb_status_exception(int status);

/* ---- MBAP ---- */

struct mb_mbap {
    uint16_t tid;   /* transaction id */
    uint16_t pid;   /* protocol id */
    uint16_t len;   /* length field */
    uint8_t unit;   /* unit id */
};

/* Reads the 7-byte header from buf. Returns MB_OK, MB_NEED_MORE (len < 7;
 * out untouched), MB_BAD_PROTOCOL (checked first) or MB_BAD_LENGTH (the
 * header is still filled in). */
int mb_mbap_parse(const uint8_t *buf, size_t len, struct mb_mbap *out);

/* Writes a header for a PDU of pdu_len bytes (length field = pdu_len + 1)
 * into out[0..6]. Any pid is written as given. */
void mb_mbap_write(uint8_t *out, uint16_t tid, uint16_t pid, uint8_t unit, size_t pdu_len);

/* ---- the framer: a resumable cutter of a byte stream into ADUs ----
 * Bytes arrive in any segmentation (one at a time, several frames at once);
 * the framer keeps what it has and calls `fn` once per complete ADU. */
struct mb_framer {
    uint8_t buf[MB_MAX_ADU];
    size_t have;
};

/* Called per ADU with its header and PDU (pdu_len = len field - 1, >= 1).
 * Returning non-zero stops mb_framer_feed() (which then returns that value). */
typedef int (*mb_frame_fn)(void *ctx, const struct mb_mbap *h, const uint8_t *pdu,
                           size_t pdu_len);

void mb_framer_init(struct mb_framer *f);

/* Feeds len bytes. Returns 0 when all were consumed, the callback's
 * non-zero value if it stopped (the frame it was given is consumed; feed
 * the rest again to go on), or MB_BAD_PROTOCOL / MB_BAD_LENGTH as soon as
 * the 7 bytes of a header that cannot be framed are in (the stream is then
 * unusable: a server drops the connection). After such an error the framer
 * is reset to empty, as after mb_framer_init(); bytes fed after it are
 * read as a new header. *used (may be NULL) receives the bytes consumed
 * (on an error, up to the bad header's last byte). The callback's pointers
 * are valid during the call only; it must not feed the same framer. */
int mb_framer_feed(struct mb_framer *f, const uint8_t *data, size_t len, mb_frame_fn fn,
                   void *ctx, size_t *used);

/* ---- requests ---- */

/* A decoded or to-be-encoded request PDU. Pointers point into the PDU
 * buffer (decoding) or to the caller's data (encoding). */
struct mb_req {
    uint8_t fc;
    uint8_t mei; /* FC 43 only: MEI type; MB_MEI_DEVICE_ID selects u.devid,
                    any other u.raw */
    union {
        /* FC 1, 2, 3, 4 */
        struct { uint16_t addr, qty; } read;
        /* FC 5 (value MB_COIL_ON / MB_COIL_OFF), FC 6 */
        struct { uint16_t addr, value; } write1;
        /* FC 15 (data = packed bits, LSB first), FC 16 (data = big-endian
         * registers); nbytes = the byte count field */
        struct { uint16_t addr, qty; uint8_t nbytes; const uint8_t *data; } writen;
        /* FC 8: sub-function and its data (usually 2 bytes) */
        struct { uint16_t sub; uint16_t ndata; const uint8_t *data; } diag;
        /* FC 22: result = (current AND and_mask) OR (or_mask AND NOT and_mask) */
        struct { uint16_t addr, and_mask, or_mask; } mask;
        /* FC 23: the write happens before the read */
        struct { uint16_t raddr, rqty, waddr, wqty; uint8_t nbytes; const uint8_t *data; } rw;
        /* FC 43 MEI 14 */
        struct { uint8_t code; uint8_t object; } devid;
        /* FC 17 (ndata 0), FC 43 with another MEI type (data from the MEI
         * byte on), and any other function code (data after the FC): what
         * an extension such as the PLC's engineering FC 90 decodes itself */
        struct { uint16_t ndata; const uint8_t *data; } raw;
    } u;
};

/* Decodes a request PDU (starting at the function code). Returns MB_OK or
 * the first broken rule. Unknown function codes decode as MB_OK with
 * u.raw set when `accept_unknown` is non-zero (a server with extensions),
 * else MB_BAD_FUNCTION; function code 0 and 0x80-0xFF are never valid in a
 * request (MB_BAD_FUNCTION). FC 8 sub-functions this codec does not know
 * decode as MB_OK (the server decides what it supports). Order of checks
 * follows the specification's state diagrams: function, then the PDU's
 * length for its function (MB_TRUNCATED / MB_TRAILING), quantity, byte
 * count (against the quantity, then against the bytes present) and other
 * values (all answered with 03), then address (02). On failure out->fc is
 * set (for the exception) with the fields read so far. docs/modbus.md has
 * the rules per function code. */
int mb_req_decode(const uint8_t *pdu, size_t len, int accept_unknown, struct mb_req *out);

/* ---- responses ---- */

/* One object of a device identification response (decoding). */
struct mb_devid_object {
    uint8_t id;
    uint8_t len;
    const uint8_t *value;
};

struct mb_rsp {
    uint8_t fc;        /* function code without the 0x80 bit */
    uint8_t exception; /* MB_EX_NONE, or the exception code (nothing else set) */
    uint8_t mei;       /* FC 43 only: as in struct mb_req */
    union {
        /* FC 1, 2, 3, 4, 23: byte count and data */
        struct { uint8_t nbytes; const uint8_t *data; } read;
        /* FC 5, 6: echo */
        struct { uint16_t addr, value; } write1;
        /* FC 15, 16 */
        struct { uint16_t addr, qty; } writen;
        /* FC 8: echo of sub-function and data */
        struct { uint16_t sub; uint16_t ndata; const uint8_t *data; } diag;
        /* FC 22: echo */
        struct { uint16_t addr, and_mask, or_mask; } mask;
        /* FC 17: byte count, then server id bytes, run indicator (0x00 off,
         * 0xFF on) and additional data: all nbytes of it in data */
        struct { uint8_t nbytes; const uint8_t *data; } server_id;
        /* FC 43 MEI 14. Decoding: objects point into the PDU (at most 64).
         * Encoding: `objects` lists nobjects objects to write. */
        struct {
            uint8_t code, conformity, more, next, nobjects;
            struct mb_devid_object objects[MB_DEVID_MAX_OBJECTS];
        } devid;
        /* other function codes (data after the FC), FC 43 with another
         * MEI type (data from the MEI byte on) */
        struct { uint16_t ndata; const uint8_t *data; } raw;
    } u;
};

/* Decodes a response PDU without knowing its request (what a passive
 * observer does): checks the byte count against the PDU length, the
 * exception form (any function code 1-127, exactly 2 bytes, code != 0),
 * the device-identification object list. Unknown function codes decode as
 * u.raw when accept_unknown. */
int mb_rsp_decode(const uint8_t *pdu, size_t len, int accept_unknown, struct mb_rsp *out);

/* Checks that a decoded response answers a decoded request: same function
 * code (or its exception), byte count = ceil(qty/8) or 2 qty, echoes equal.
 * Returns MB_OK or the rule broken: MB_BAD_FUNCTION (another function
 * code), MB_BAD_BYTE_COUNT, or for an echo that differs the status of its
 * field (MB_BAD_ADDRESS, MB_BAD_QUANTITY, MB_BAD_COIL_VALUE, MB_BAD_VALUE;
 * MB_BAD_SUBFUNCTION for the FC 8 sub-function or the FC 43 MEI type). A
 * normal response to FC 8 force-listen-only is MB_BAD_VALUE (none is
 * sent); FC 43/14 individual access must return the object asked, a
 * stream a read code no higher than the one asked. */
int mb_rsp_check(const struct mb_req *req, const struct mb_rsp *rsp);

/* ---- encoding ---- */

#define MB_ENC_RAW 1 /* build exactly what the struct says, limits unchecked */

/* Encodes a request PDU into out (cap bytes; MB_MAX_PDU suffices unless
 * MB_ENC_RAW builds something longer). Returns its length, or a negative
 * mb_status for a broken rule (no output): the status the decoder gives
 * the same frame, MB_TOO_LONG past MB_MAX_PDU or cap, MB_BAD_VALUE for a
 * NULL data pointer with a non-zero count. For FC 15/16/23 with nbytes 0,
 * the byte count is computed from qty; data must hold it. With MB_ENC_RAW
 * nbytes is written as given (0 included), followed by nbytes data bytes,
 * and only cap is checked. */
int mb_req_encode(const struct mb_req *r, int flags, uint8_t *out, size_t cap);

/* Encodes a response PDU (an exception when r->exception != 0). For device
 * identification, objects are written in order as given (the caller has
 * chosen them to fit; MB_TOO_LONG otherwise). Statuses as mb_req_encode;
 * with MB_ENC_RAW a devid count above MB_DEVID_MAX_OBJECTS is written as
 * given, followed by the 64 objects the struct holds. */
int mb_rsp_encode(const struct mb_rsp *r, int flags, uint8_t *out, size_t cap);

/* Writes an exception PDU (fc | 0x80, code) into out[0..1]; returns 2. */
int mb_exception_encode(uint8_t fc, uint8_t code, uint8_t *out);

/* Writes MBAP + PDU into out (at least MB_MBAP_LEN + pdu_len bytes);
 * returns the ADU length. pdu may already sit at out + MB_MBAP_LEN (a PDU
 * encoded in place). */
size_t mb_adu_write(uint8_t *out, uint16_t tid, uint8_t unit, const uint8_t *pdu,
                    size_t pdu_len);

/* ---- helpers ---- */

static inline uint16_t mb_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline void mb_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
/* Bit i of a packed bit field (LSB of byte 0 first). */
static inline int mb_get_bit(const uint8_t *bits, unsigned i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void mb_set_bit(uint8_t *bits, unsigned i, int v)
{
    if (v)
        bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
    else
        bits[i >> 3] = (uint8_t)(bits[i >> 3] & ~(1u << (i & 7)));
}

/* Name of a function code ("read holding registers"), or NULL. Every
 * public function code of the specification is named, decoded or not. */
const char *mb_fc_name(uint8_t fc);
/* Name of an FC 8 sub-function ("force listen only mode"), or NULL. */
const char *mb_diag_name(uint16_t sub);
/* Name of an exception code ("illegal data address"), or NULL. */
const char *mb_exception_name(uint8_t code);

#endif
