/* plc_device.h — a PLC in the range: a soft PLC (plc/runtime.h), its field
 * I/O bound to the plant's wiring for this device's name, its Modbus/TCP
 * server (the OpenPLC map over its process image) with the engineering
 * access of function code 90, and its keyswitch.
 *
 * Remote I/O devices, when configured, are polled as OpenPLC polls its
 * slave devices (plc/remote_io.h): their values enter and leave the image
 * at %IX100.0 / %QX100.0 / %IW100 / %QW100 with the field I/O.
 *
 * Field I/O, at each scan: every %I point wired to this device in the
 * plant file is read from the plant (a transmitter's raw counts, a
 * switch's state) into the image; after the scan every %Q point drives its
 * actuator input, raw counts scaled to the input's range as the wiring
 * says. The plant sees the PLC only through these terminals; everyone else
 * (HMI, engineering workstation, attacker) only through Modbus.
 *
 * Ownership: plc_device_new() returns a device freed with
 * plc_device_free(); the plant, net and scheduler must outlive it.
 */
#ifndef DEVICES_PLC_DEVICE_H
#define DEVICES_PLC_DEVICE_H

#include <stddef.h>

#include "core/err.h"
#include "core/snap.h"
#include "net/link.h"
#include "plc/engineering.h"
#include "plc/remote_io.h"
#include "plc/runtime.h"
#include "proto/mb_server.h"
#include "sim/plant.h"

struct plc_device_config {
    const char *name;                 /* its name in the plant's wiring */
    struct plc_config plc;            /* .name defaults to `name` */
    struct plc_eng_config eng;
    struct mb_server_config server;
    struct net_addr listen[4];        /* Modbus server addresses */
    size_t nlisten;
    const struct rio_device_cfg *remote; /* remote I/O the PLC polls as master */
    size_t nremote;
};
/* Defaults for every part. */
void plc_device_config_default(struct plc_device_config *c, const char *name);

struct plc_device;

/* A PLC device on `net` wired to `plant` (may be NULL: no field I/O).
 * Returns NULL with a message (an address in use ...). */
struct plc_device *plc_device_new(struct plant *plant, struct net *net,
                                  const struct plc_device_config *c, struct err *e);
void plc_device_free(struct plc_device *d);

struct plc *plc_device_plc(struct plc_device *d);
struct mb_server *plc_device_server(struct plc_device *d);
const char *plc_device_name(const struct plc_device *d);
/* The remote I/O master (NULL without remote devices). */
struct rio *plc_device_rio(struct plc_device *d);
/* How many wiring points this device has (inputs + outputs). */
size_t plc_device_nwires(const struct plc_device *d);

/* Called after the outputs of every scan were driven (and when they go
 * off at a stop), with the image: the range checks alarm and trip bits
 * here, so none is missed between two samples. */
typedef void (*plc_device_outputs_fn)(void *ctx, struct plc_device *d,
                                      const struct plc_image *im, vtime_t now);
void plc_device_set_outputs_observer(struct plc_device *d, plc_device_outputs_fn fn, void *ctx);

/* Snapshots: the PLC (program, memory, image, mode, keyswitch, phase) and
 * its server's protocol state, in sections "PREFIX/plc" and
 * "PREFIX/modbus". Engineering sessions are not saved: they belong to
 * connections, which a restored range does not have. */
void plc_device_snap_save(const struct plc_device *d, struct snapw *w, const char *prefix);
int plc_device_snap_load(struct plc_device *d, struct snapr *r, const char *prefix,
                         struct err *e);

#endif
