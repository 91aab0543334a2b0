/* remote_io.h — a PLC as Modbus master of remote I/O devices, with
 * OpenPLC's slave-device mapping.
 *
 * Each remote device is polled at its own period over a link (mb_client):
 * its discrete inputs, input registers and holding registers to read are
 * copied into the PLC's image, its coils and holding registers to write are
 * sent from it. Areas are laid out in the image as OpenPLC lays them out,
 * device after device in configuration order:
 *     discrete inputs            -> %IX100.0, %IX100.1 ...
 *     coils                      <- %QX100.0 ...
 *     input registers, then holding registers read -> %IW100 ...
 *     holding registers written  <- %QW100 ...
 * The scan sees the last values polled (inputs are copied in before each
 * scan; outputs taken after it and written at the next poll).
 *
 * Loss of communication: after `fail_after` polls in a row without an
 * answer the device is lost (an event); its inputs then either hold their
 * last values or take their fail-safe value (0 unless configured). When
 * it answers again it is back (an event).
 */
#ifndef PLC_REMOTE_IO_H
#define PLC_REMOTE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "net/link.h"
#include "plc/image.h"

enum rio_on_loss { RIO_HOLD = 0, RIO_FAILSAFE };

struct rio_area {
    uint16_t start;   /* address in the remote device */
    uint16_t count;
};

struct rio_device_cfg {
    const char *name;
    struct net_addr addr;
    uint8_t unit;
    vtime_t period;            /* [100 ms] */
    vtime_t timeout;           /* per request [500 ms] */
    int fail_after;            /* [3] polls without answer */
    enum rio_on_loss on_loss;
    uint16_t failsafe_word;    /* value of lost registers in RIO_FAILSAFE [0] */
    int failsafe_bit;          /* value of lost bits [0] */
    struct rio_area discrete_inputs, coils, input_registers, holding_read, holding_write;
};

struct rio;

/* A master on `net` polling `n` devices; `now` events go to `log` (may be
 * NULL). Areas beyond the image (%IX/%QX byte 1023, word 1023) are
 * refused. Returns NULL with a message. */
typedef void (*rio_log_fn)(void *ctx, const char *msg);
struct rio *rio_new(struct net *net, const struct rio_device_cfg *devs, size_t n, rio_log_fn log,
                    void *log_ctx, struct err *e);
void rio_free(struct rio *r);

/* Before a scan: the last polled inputs into the image. */
void rio_inputs(struct rio *r, struct plc_image *im);
/* After a scan: the outputs to write at the next polls. */
void rio_outputs(struct rio *r, const struct plc_image *im);

/* 1 while device i is lost. */
int rio_lost(const struct rio *r, size_t i);
/* Completed polls of device i. */
uint64_t rio_polls(const struct rio *r, size_t i);

#endif
