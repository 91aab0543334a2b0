/* mb_mem.h — an in-memory Modbus device: four tables of fixed size, and
 * the map file that describes one (tables, initial values, identity,
 * limits) for `icsrange modbus serve --map FILE.yaml`.
 *
 * Addresses outside a table's size answer exception 02. Ownership:
 * mb_mem_new/mb_mapfile_load allocate; mb_mem_free/mb_mapfile_free release.
 */
#ifndef PROTO_MB_MEM_H
#define PROTO_MB_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "core/cfg.h"
#include "core/err.h"
#include "proto/mb_server.h"

struct mb_mem {
    uint8_t *bits[2];    /* coils, discrete inputs: one byte per bit */
    uint16_t *regs[2];   /* holding, input registers */
    size_t size[4];      /* per enum mb_table */
    uint64_t writes;     /* write operations served */
};

/* Tables of the given sizes (0-65536 each), zeroed. NULL if out of memory. */
struct mb_mem *mb_mem_new(size_t coils, size_t discrete, size_t holding, size_t input);
void mb_mem_free(struct mb_mem *m);

/* The hooks for mb_server_new (ctx: the struct mb_mem). */
extern const struct mb_map_ops mb_mem_ops;

/* A map file loaded: the device and the server configuration it asks for.
 * The configuration's strings point into the loaded file (kept here). */
struct mb_mapfile {
    struct mb_mem *mem;
    struct mb_server_config cfg;
    struct cfg *doc;
    uint8_t units[256];
    struct mb_devid_extra extra[128];
};

/* Loads a map file (docs/modbus-serve.md); path NULL gives the default
 * device (10000 of each table, zeroed, units 0/1/255). Returns 0 or -1 with
 * "file:line:col: message" (then nothing is left to free). */
int mb_mapfile_load(const char *path, struct mb_mapfile *out, struct err *e);
void mb_mapfile_free(struct mb_mapfile *m);

#endif
