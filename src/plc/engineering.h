/* engineering.h — a PLC's engineering access over Modbus function code 90
 * (the protocol of proto/eng90.h; docs/engineering.md).
 *
 * One reservation at a time (a session byte, expiring after inactivity),
 * optionally behind a password; program upload (anyone may read the
 * logic), download in blocks checked against the SHA-256 declared first
 * and, when the PLC is configured so, an Ed25519 signature (libsodium) by
 * the holder of the configured key; start, stop, restart; identification
 * and diagnostics. The keyswitch decides (plc_remote_allowed): downloads
 * only in PROGRAM, mode changes in PROGRAM or REMOTE. Every download and
 * every refusal is reported through the PLC's observer.
 *
 * Weak settings exist only as configuration (a PLC without a password, or
 * with a vendor default one): scenarios switch them on.
 */
#ifndef PLC_ENGINEERING_H
#define PLC_ENGINEERING_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "plc/runtime.h"
#include "proto/mb_server.h"

#define PLC_ENG_DEFAULT_PASSWORD "password" /* the vendor default a weak PLC keeps */

struct plc_eng_config {
    const char *password;          /* NULL: no password (a weak setting) */
    int require_signature;         /* downloads must be signed with public_key */
    uint8_t public_key[32];        /* Ed25519 */
    vtime_t reservation_timeout;   /* [30 s] of inactivity */
    size_t max_program;            /* bytes [1 MiB] */
};
void plc_eng_config_default(struct plc_eng_config *c);

struct plc_eng;

struct plc_eng *plc_eng_new(struct plc *p, struct sched *s, const struct plc_eng_config *c,
                            struct err *e);
void plc_eng_free(struct plc_eng *g);

/* Installs the FC 90 handler on a server. */
int plc_eng_attach(struct plc_eng *g, struct mb_server *srv);

/* The handler (mb_handler_fn): for the server, fuzzing and tests. */
int plc_eng_handle(void *ctx, const struct mb_request_info *info, const uint8_t *pdu, size_t len,
                   uint8_t *out);

#endif
