/* engineering.c — FC 90 engineering access on a PLC (see engineering.h). */
#include "plc/engineering.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "proto/eng90.h"

/* memcpy that accepts an empty copy from a NULL pointer (a field of length 0). */
static inline void copy_bytes(void *dst, const void *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
}

struct plc_eng {
    struct plc *plc;
    struct sched *s;
    struct plc_eng_config cfg;
    char *password;
    /* the reservation */
    uint8_t session;      /* 0: free */
    char owner[64];
    vtime_t last_use;
    uint8_t next_session;
    /* a download in progress */
    int downloading;
    uint32_t dl_size;
    uint8_t dl_sha[32];
    char dl_name[ENG90_MAX_TEXT + 1];
    struct buf dl;
    enum plc_mode mode_before;
};

void plc_eng_config_default(struct plc_eng_config *c)
{
    memset(c, 0, sizeof *c);
    c->reservation_timeout = 30 * VT_SEC;
    c->max_program = 1u << 20;
}

struct plc_eng *plc_eng_new(struct plc *p, struct sched *s, const struct plc_eng_config *c,
                            struct err *e)
{
    if (sodium_init() < 0) {
        err_set(e, "libsodium cannot initialise");
        return NULL;
    }
    struct plc_eng *g = calloc(1, sizeof *g);
    if (!g) {
        err_set(e, "out of memory");
        return NULL;
    }
    g->plc = p;
    g->s = s;
    plc_eng_config_default(&g->cfg);
    if (c)
        g->cfg = *c;
    if (g->cfg.reservation_timeout <= 0)
        g->cfg.reservation_timeout = 30 * VT_SEC;
    if (g->cfg.max_program == 0)
        g->cfg.max_program = 1u << 20;
    if (g->cfg.password) {
        g->password = strdup(g->cfg.password);
        if (!g->password) {
            free(g);
            err_set(e, "out of memory");
            return NULL;
        }
    }
    g->cfg.password = NULL;
    g->next_session = 0x41;
    return g;
}

void plc_eng_free(struct plc_eng *g)
{
    if (!g)
        return;
    buf_clear(&g->dl);
    free(g->password);
    free(g);
}

int plc_eng_attach(struct plc_eng *g, struct mb_server *srv)
{
    return mb_server_set_handler(srv, ENG90_FC, plc_eng_handle, g);
}

/* ---- helpers ---- */

static int refuse(struct plc_eng *g, const struct mb_request_info *info, uint8_t session,
                  uint8_t code, uint8_t err, const char *why, uint8_t *out)
{
    char text[ENG90_MAX_TEXT + 1];
    char peer[32];
    net_addr_format(info->peer, peer, sizeof peer);
    snprintf(text, sizeof text, "%s", why ? why : eng90_error_name(err));
    /* refusals are events: the IDS's ground truth and the historian see them */
    char evtext[400];
    snprintf(evtext, sizeof evtext, "%s: FC 90 %s from %s refused: %s", plc_name(g->plc),
             eng90_code_name(code) ? eng90_code_name(code) : "?", peer, text);
    plc_note_event(g->plc, PLC_EV_REFUSED, evtext);
    return eng90_rsp_error(session, err, text, out, MB_MAX_PDU);
}

static int session_ok(struct plc_eng *g, uint8_t session, vtime_t now)
{
    if (g->session && now - g->last_use > g->cfg.reservation_timeout) {
        g->session = 0; /* expired */
        if (g->downloading) {
            g->downloading = 0;
            buf_clear(&g->dl);
        }
    }
    return g->session != 0 && session == g->session;
}

static void origin_text(const struct mb_request_info *info, char *buf, size_t len)
{
    char peer[32];
    snprintf(buf, len, "FC 90 from %s", net_addr_format(info->peer, peer, sizeof peer));
}

/* ---- the handler ---- */

int plc_eng_handle(void *ctx, const struct mb_request_info *info, const uint8_t *pdu, size_t len,
                   uint8_t *out)
{
    struct plc_eng *g = ctx;
    struct eng90_req q;
    int ex = eng90_req_decode(pdu, len, &q);
    if (ex)
        return -ex;
    vtime_t now = info->t;
    uint8_t pay[MB_MAX_PDU];
    size_t n = 0;
    int held = session_ok(g, q.session, now);
    if (held)
        g->last_use = now;
    char origin[64];
    origin_text(info, origin, sizeof origin);
    struct err e;
    switch (q.code) {
    case ENG90_READ_ID: {
        const char *name = plc_name(g->plc);
        size_t nl = strlen(name) > ENG90_MAX_TEXT ? ENG90_MAX_TEXT : strlen(name);
        pay[n++] = (uint8_t)plc_mode(g->plc);
        pay[n++] = (uint8_t)plc_key(g->plc);
        pay[n++] = (uint8_t)((g->password ? 1 : 0) | (g->cfg.require_signature ? 2 : 0) |
                             (g->session ? 4 : 0));
        pay[n++] = (uint8_t)nl;
        copy_bytes(pay + n, name, nl);
        n += nl;
        break;
    }
    case ENG90_READ_PROJECT: {
        const uint8_t *sha = plc_program_sha256(g->plc);
        size_t size = 0;
        plc_program_text(g->plc, &size);
        const char *name = plc_program_name(g->plc);
        if (sha)
            copy_bytes(pay, sha, 32);
        else
            memset(pay, 0, 32);
        eng90_put32(pay + 32, (uint32_t)size);
        eng90_put32(pay + 36, (uint32_t)plc_stats(g->plc)->downloads);
        size_t nl = name ? strlen(name) : 0;
        if (nl > ENG90_MAX_TEXT)
            nl = ENG90_MAX_TEXT;
        pay[40] = (uint8_t)nl;
        copy_bytes(pay + 41, name ? name : "", nl);
        n = 41 + nl;
        break;
    }
    case ENG90_READ_DIAG: {
        const struct plc_stats *st = plc_stats(g->plc);
        const struct st_fault *f = plc_last_fault(g->plc);
        pay[n++] = (uint8_t)plc_mode(g->plc);
        pay[n++] = (uint8_t)f->kind;
        eng90_put64(pay + n, st->scans);
        eng90_put64(pay + n + 8, (uint64_t)st->last_scan);
        eng90_put64(pay + n + 16, (uint64_t)st->max_scan);
        eng90_put64(pay + n + 24, st->instructions);
        n += 32;
        size_t ml = strlen(f->msg) > ENG90_MAX_TEXT ? ENG90_MAX_TEXT : strlen(f->msg);
        pay[n++] = (uint8_t)ml;
        copy_bytes(pay + n, f->msg, ml);
        n += ml;
        break;
    }
    case ENG90_TAKE_RESERVATION: {
        if (g->session && !held && now - g->last_use <= g->cfg.reservation_timeout)
            return refuse(g, info, q.session, q.code, ENG90_E_RESERVED, NULL, out);
        if (g->password) {
            size_t pl = strlen(g->password);
            if (q.u.reserve.password_len != pl ||
                sodium_memcmp(q.u.reserve.password, g->password, pl) != 0)
                return refuse(g, info, q.session, q.code, ENG90_E_PASSWORD, NULL, out);
        }
        g->session = g->next_session;
        g->next_session = (uint8_t)(g->next_session == 0xFF ? 1 : g->next_session + 1);
        g->last_use = now;
        size_t ol = q.u.reserve.owner_len < sizeof g->owner ? q.u.reserve.owner_len
                                                            : sizeof g->owner - 1;
        copy_bytes(g->owner, q.u.reserve.owner, ol);
        g->owner[ol] = '\0';
        pay[n++] = g->session;
        return eng90_rsp_ok(g->session, pay, n, out, MB_MAX_PDU);
    }
    case ENG90_RELEASE_RESERVATION:
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        g->session = 0;
        if (g->downloading) {
            g->downloading = 0;
            buf_clear(&g->dl);
        }
        break;
    case ENG90_KEEP_ALIVE:
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        break;
    case ENG90_INIT_UPLOAD: {
        size_t size = 0;
        if (!plc_program_text(g->plc, &size))
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, "no program", out);
        eng90_put32(pay, (uint32_t)size);
        n = 4;
        break;
    }
    case ENG90_UPLOAD_BLOCK: {
        size_t size = 0;
        const char *text = plc_program_text(g->plc, &size);
        if (!text)
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, "no program", out);
        if (q.u.upload.offset > size)
            return refuse(g, info, q.session, q.code, ENG90_E_RANGE, NULL, out);
        size_t k = size - q.u.upload.offset;
        if (k > q.u.upload.len)
            k = q.u.upload.len;
        eng90_put32(pay, q.u.upload.offset);
        copy_bytes(pay + 4, text + q.u.upload.offset, k);
        n = 4 + k;
        break;
    }
    case ENG90_END_UPLOAD:
        break;
    case ENG90_INIT_DOWNLOAD: {
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        if (!plc_remote_allowed(g->plc, 'd'))
            return refuse(g, info, q.session, q.code, ENG90_E_KEYSWITCH,
                          "downloads need the keyswitch in PROGRAM", out);
        if (q.u.init_dl.size == 0 || q.u.init_dl.size > g->cfg.max_program)
            return refuse(g, info, q.session, q.code, ENG90_E_TOO_BIG, NULL, out);
        g->mode_before = plc_mode(g->plc);
        if (plc_set_mode(g->plc, PLC_PROGRAM, origin, &e) != 0)
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, e.msg, out);
        buf_clear(&g->dl);
        g->downloading = 1;
        g->dl_size = q.u.init_dl.size;
        copy_bytes(g->dl_sha, q.u.init_dl.sha256, 32);
        copy_bytes(g->dl_name, q.u.init_dl.name, q.u.init_dl.name_len);
        g->dl_name[q.u.init_dl.name_len] = '\0';
        if (!g->dl_name[0])
            snprintf(g->dl_name, sizeof g->dl_name, "downloaded.st");
        break;
    }
    case ENG90_DOWNLOAD_BLOCK:
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        if (!g->downloading)
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, "no download in progress",
                          out);
        if (q.u.block.offset != g->dl.len ||
            (size_t)q.u.block.offset + q.u.block.len > g->dl_size)
            return refuse(g, info, q.session, q.code, ENG90_E_RANGE,
                          "blocks go in order and within the declared size", out);
        if (buf_append(&g->dl, q.u.block.data, q.u.block.len) != 0)
            return -MB_EX_SERVER_DEVICE_FAILURE;
        break;
    case ENG90_END_DOWNLOAD: {
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        if (!g->downloading)
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, "no download in progress",
                          out);
        g->downloading = 0;
        struct buf prog = g->dl;
        buf_init(&g->dl);
        uint8_t sha[32];
        crypto_hash_sha256(sha, buf_peek(&prog), prog.len);
        int r;
        char why[300];
        if (prog.len != g->dl_size || sodium_memcmp(sha, g->dl_sha, 32) != 0) {
            snprintf(why, sizeof why, "received %zu of %u bytes, SHA-256 %s", prog.len,
                     g->dl_size, prog.len == g->dl_size ? "differs" : "not checked");
            r = refuse(g, info, q.session, q.code, ENG90_E_HASH, why, out);
        } else if (g->cfg.require_signature &&
                   (q.u.end_dl.sig_len != ENG90_SIG_LEN ||
                    crypto_sign_verify_detached(q.u.end_dl.sig, buf_peek(&prog), prog.len,
                                                g->cfg.public_key) != 0)) {
            r = refuse(g, info, q.session, q.code, ENG90_E_SIGNATURE,
                       q.u.end_dl.sig_len ? "the signature does not verify"
                                          : "this PLC accepts signed programs only",
                       out);
        } else if (plc_install(g->plc, g->dl_name, (const char *)buf_peek(&prog), prog.len,
                               origin, NULL, &e) != 0) {
            r = refuse(g, info, q.session, q.code, ENG90_E_COMPILE, e.msg, out);
        } else {
            r = eng90_rsp_ok(q.session, sha, 32, out, MB_MAX_PDU);
        }
        buf_clear(&prog);
        /* the CPU stays stopped after a download, installed or not */
        plc_set_mode(g->plc, PLC_STOP, origin, &e);
        return r;
    }
    case ENG90_START:
    case ENG90_STOP:
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        if (!plc_remote_allowed(g->plc, 'm'))
            return refuse(g, info, q.session, q.code, ENG90_E_KEYSWITCH,
                          "remote mode changes need the keyswitch in PROGRAM or REMOTE", out);
        if (plc_set_mode(g->plc, q.code == ENG90_START ? PLC_RUN : PLC_STOP, origin, &e) != 0)
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, e.msg, out);
        break;
    case ENG90_RESTART:
        if (!held)
            return refuse(g, info, q.session, q.code, ENG90_E_SESSION, NULL, out);
        if (!plc_remote_allowed(g->plc, 'm'))
            return refuse(g, info, q.session, q.code, ENG90_E_KEYSWITCH, NULL, out);
        if (plc_restart(g->plc, q.u.restart.cold, &e) != 0)
            return refuse(g, info, q.session, q.code, ENG90_E_STATE, e.msg, out);
        break;
    default:
        return -MB_EX_ILLEGAL_FUNCTION;
    }
    return eng90_rsp_ok(q.session, pay, n, out, MB_MAX_PDU);
}
