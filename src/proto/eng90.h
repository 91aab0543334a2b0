/* eng90.h — the PLC engineering protocol carried in Modbus function code 90,
 * modelled on Schneider's UMAS: a pure codec, no I/O.
 *
 * Engineering work (identify the PLC, reserve it, upload and download the
 * program in blocks, start and stop it, read diagnostics) travels inside
 * ordinary Modbus/TCP frames, so it crosses every link, in fast mode too,
 * and the tap and the IDS see it as a real engineering workstation's
 * traffic would be seen. Layout (docs/engineering.md):
 *
 *   request PDU:   5A | session | code | data...
 *   response PDU:  5A | session | FE | data...          (success)
 *                  5A | session | FD | error | text...  (refusal)
 *
 * `session` is the reservation byte TAKE_RESERVATION returns (0 before one
 * is held; reads need none). Multi-byte integers are big-endian. A request
 * the codec cannot read (too short, inconsistent lengths, an unknown code)
 * is answered by the server with a Modbus exception, not with FD.
 */
#ifndef PROTO_ENG90_H
#define PROTO_ENG90_H

#include <stddef.h>
#include <stdint.h>

#define ENG90_FC 0x5A
#define ENG90_OK 0xFE
#define ENG90_ERROR 0xFD
#define ENG90_MAX_BLOCK 240   /* program bytes per transfer block */
#define ENG90_MAX_TEXT 200    /* names, messages */
#define ENG90_SIG_LEN 64      /* Ed25519 detached signature */

/* ORDER: request codes (UMAS numbering where UMAS has the function). */
enum eng90_code {
    ENG90_READ_ID = 0x01,          /* -> PLC name, mode, keyswitch, flags */
    ENG90_READ_PROJECT = 0x02,     /* -> program name, size, SHA-256, downloads */
    ENG90_READ_DIAG = 0x03,        /* -> mode, fault, scan statistics */
    ENG90_TAKE_RESERVATION = 0x10, /* owner, password -> session byte */
    ENG90_RELEASE_RESERVATION = 0x11,
    ENG90_KEEP_ALIVE = 0x12,
    ENG90_INIT_UPLOAD = 0x30,      /* PLC -> workstation: -> program size */
    ENG90_UPLOAD_BLOCK = 0x31,     /* offset, length -> bytes */
    ENG90_END_UPLOAD = 0x32,
    ENG90_INIT_DOWNLOAD = 0x33,    /* workstation -> PLC: size, SHA-256, name */
    ENG90_DOWNLOAD_BLOCK = 0x34,   /* offset, bytes */
    ENG90_END_DOWNLOAD = 0x35,     /* optional signature: verify and install */
    ENG90_START = 0x40,            /* -> RUN */
    ENG90_STOP = 0x41,             /* -> STOP */
    ENG90_RESTART = 0x42,          /* warm or cold */
};

/* Refusal codes (after FD). */
enum eng90_error {
    ENG90_E_SESSION = 0x01,    /* no reservation, or not this session */
    ENG90_E_RESERVED = 0x02,   /* another session holds the PLC */
    ENG90_E_PASSWORD = 0x03,
    ENG90_E_KEYSWITCH = 0x04,  /* the key position forbids it */
    ENG90_E_STATE = 0x05,      /* not now (no download in progress, no program ...) */
    ENG90_E_RANGE = 0x06,      /* offset or length outside the transfer */
    ENG90_E_HASH = 0x07,       /* the program's SHA-256 differs from the declared one */
    ENG90_E_SIGNATURE = 0x08,  /* a signature is required, or it does not verify */
    ENG90_E_COMPILE = 0x09,    /* the program does not compile (text: the first error) */
    ENG90_E_TOO_BIG = 0x0A,
};

const char *eng90_code_name(uint8_t code);
const char *eng90_error_name(uint8_t err);

/* A request, decoded or to encode. Pointers point into the PDU (decoding)
 * or to the caller's data (encoding). */
struct eng90_req {
    uint8_t session;
    uint8_t code;
    union {
        struct { const uint8_t *owner; uint8_t owner_len; const uint8_t *password;
                 uint8_t password_len; } reserve;          /* TAKE_RESERVATION */
        struct { uint32_t offset; uint8_t len; } upload;   /* UPLOAD_BLOCK */
        struct { uint32_t size; const uint8_t *sha256; const uint8_t *name;
                 uint8_t name_len; } init_dl;              /* INIT_DOWNLOAD */
        struct { uint32_t offset; const uint8_t *data; uint8_t len; } block; /* DOWNLOAD_BLOCK */
        struct { const uint8_t *sig; uint8_t sig_len; } end_dl; /* END_DOWNLOAD: 0 or 64 */
        struct { uint8_t cold; } restart;
    } u;
};

/* Decodes a request PDU (starting at 0x5A). Returns 0, or the Modbus
 * exception to answer with: 01 for an unknown code, 03 for a malformed
 * request. */
int eng90_req_decode(const uint8_t *pdu, size_t len, struct eng90_req *out);

/* Encodes a request into out (at least MB_MAX_PDU = 253 bytes). Returns its
 * length, or -1 if a field is too long. */
int eng90_req_encode(const struct eng90_req *r, uint8_t *out, size_t cap);

/* A response. For ENG90_OK, `data` is the code's payload (layouts below);
 * for ENG90_ERROR, `error` and the text. */
struct eng90_rsp {
    uint8_t session;
    uint8_t status;          /* ENG90_OK or ENG90_ERROR */
    uint8_t error;
    const uint8_t *data;     /* payload after FE, or text after the error */
    size_t len;
};

/* Decodes a response PDU. Returns 0 or -1 (not an FC 90 response). */
int eng90_rsp_decode(const uint8_t *pdu, size_t len, struct eng90_rsp *out);

/* Builds a success response with `len` payload bytes (copied; may be 0)
 * into out; returns its length. */
int eng90_rsp_ok(uint8_t session, const void *payload, size_t len, uint8_t *out, size_t cap);
/* Builds a refusal with a message (truncated to ENG90_MAX_TEXT). */
int eng90_rsp_error(uint8_t session, uint8_t error, const char *text, uint8_t *out, size_t cap);

/* Payload layouts of successful responses (all big-endian):
 *   READ_ID:       mode(1) key(1) flags(1: bit0 password set, bit1 signature
 *                  required, bit2 reserved by someone) name_len(1) name
 *   READ_PROJECT:  sha256(32) size(4) downloads(4) name_len(1) name
 *                  (size 0 and a zero hash: no program)
 *   READ_DIAG:     mode(1) fault_kind(1) scans(8) last_scan_ns(8)
 *                  max_scan_ns(8) instructions(8) msg_len(1) msg
 *   TAKE_RESERVATION: session(1)
 *   INIT_UPLOAD:   size(4)
 *   UPLOAD_BLOCK:  offset(4) bytes
 *   END_DOWNLOAD:  sha256(32) of the installed program
 *   others:        nothing
 * Modes: 0 STOP, 1 RUN, 2 PROGRAM, 3 FAULT; keys: 0 RUN, 1 PROGRAM, 2 REMOTE. */

static inline uint32_t eng90_get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void eng90_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint64_t eng90_get64(const uint8_t *p)
{
    return ((uint64_t)eng90_get32(p) << 32) | eng90_get32(p + 4);
}
static inline void eng90_put64(uint8_t *p, uint64_t v)
{
    eng90_put32(p, (uint32_t)(v >> 32));
    eng90_put32(p + 4, (uint32_t)v);
}

#endif
