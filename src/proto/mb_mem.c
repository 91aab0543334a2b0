/* mb_mem.c — in-memory Modbus tables and their map file (see mb_mem.h). */
#include "proto/mb_mem.h"

#include <stdlib.h>
#include <string.h>

struct mb_mem *mb_mem_new(size_t coils, size_t discrete, size_t holding, size_t input)
{
    if (coils > 65536 || discrete > 65536 || holding > 65536 || input > 65536)
        return NULL;
    struct mb_mem *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->size[MB_COILS] = coils;
    m->size[MB_DISCRETE_INPUTS] = discrete;
    m->size[MB_HOLDING_REGISTERS] = holding;
    m->size[MB_INPUT_REGISTERS] = input;
    m->bits[0] = calloc(coils ? coils : 1, 1);
    m->bits[1] = calloc(discrete ? discrete : 1, 1);
    m->regs[0] = calloc(holding ? holding : 1, sizeof(uint16_t));
    m->regs[1] = calloc(input ? input : 1, sizeof(uint16_t));
    if (!m->bits[0] || !m->bits[1] || !m->regs[0] || !m->regs[1]) {
        mb_mem_free(m);
        return NULL;
    }
    return m;
}

void mb_mem_free(struct mb_mem *m)
{
    if (!m)
        return;
    free(m->bits[0]);
    free(m->bits[1]);
    free(m->regs[0]);
    free(m->regs[1]);
    free(m);
}

static int in_range(const struct mb_mem *m, enum mb_table t, uint16_t addr, uint16_t qty)
{
    return (size_t)addr + qty <= m->size[t];
}

static int mem_read_bits(void *ctx, enum mb_table t, uint16_t addr, uint16_t qty, uint8_t *bits)
{
    struct mb_mem *m = ctx;
    if (!in_range(m, t, addr, qty))
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    const uint8_t *src = m->bits[t == MB_COILS ? 0 : 1] + addr;
    for (unsigned i = 0; i < qty; i++)
        if (src[i])
            bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
    return 0;
}

static int mem_write_bits(void *ctx, uint16_t addr, uint16_t qty, const uint8_t *bits)
{
    struct mb_mem *m = ctx;
    if (!in_range(m, MB_COILS, addr, qty))
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    for (unsigned i = 0; i < qty; i++)
        m->bits[0][addr + i] = (uint8_t)mb_get_bit(bits, i);
    m->writes++;
    return 0;
}

static int mem_read_regs(void *ctx, enum mb_table t, uint16_t addr, uint16_t qty, uint16_t *regs)
{
    struct mb_mem *m = ctx;
    if (!in_range(m, t, addr, qty))
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(regs, m->regs[t == MB_HOLDING_REGISTERS ? 0 : 1] + addr, qty * sizeof *regs);
    return 0;
}

static int mem_write_regs(void *ctx, uint16_t addr, uint16_t qty, const uint16_t *regs)
{
    struct mb_mem *m = ctx;
    if (!in_range(m, MB_HOLDING_REGISTERS, addr, qty))
        return MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(m->regs[0] + addr, regs, qty * sizeof *regs);
    m->writes++;
    return 0;
}

const struct mb_map_ops mb_mem_ops = {mem_read_bits, mem_write_bits, mem_read_regs, mem_write_regs};

/* ---- the map file ---- */

static const char *const table_names[4] = {"coils", "discrete_inputs", "holding_registers",
                                           "input_registers"};

/* values: {ADDR: V | [V, V, ...]} */
static int load_values(struct cfg *c, cfg_node vals, struct mb_mem *m, enum mb_table t,
                       struct err *e)
{
    if (cfg_kind(c, vals) != CFG_MAP)
        return cfg_error(c, vals, e, "%s: values: a mapping of address: value (or list)",
                         table_names[t]);
    int bits = t == MB_COILS || t == MB_DISCRETE_INPUTS;
    for (size_t i = 0; i < cfg_len(c, vals); i++) {
        cfg_node k = cfg_key_at(c, vals, i), v = cfg_value_at(c, vals, i);
        const char *ks = cfg_scalar(c, k);
        char *end;
        long addr = ks ? strtol(ks, &end, 0) : -1;
        if (!ks || *end || addr < 0 || (size_t)addr >= m->size[t])
            return cfg_error(c, k, e, "%s: address '%s' is outside 0..%zu", table_names[t],
                             ks ? ks : "?", m->size[t] ? m->size[t] - 1 : 0);
        size_t n = cfg_kind(c, v) == CFG_SEQ ? cfg_len(c, v) : 1;
        for (size_t j = 0; j < n; j++) {
            cfg_node it = cfg_kind(c, v) == CFG_SEQ ? cfg_item(c, v, j) : v;
            const char *vs = cfg_scalar(c, it);
            long x = vs ? strtol(vs, &end, 0) : -1;
            int ok = vs && !*end;
            if (bits && vs && (strcmp(vs, "true") == 0 || strcmp(vs, "on") == 0)) {
                x = 1;
                ok = 1;
            } else if (bits && vs && (strcmp(vs, "false") == 0 || strcmp(vs, "off") == 0)) {
                x = 0;
                ok = 1;
            }
            if (!ok || x < (bits ? 0 : -32768) || x > (bits ? 1 : 65535))
                return cfg_error(c, it, e, "%s: '%s' is not a %s", table_names[t],
                                 vs ? vs : "a list", bits ? "bit (0/1)" : "16-bit value");
            if ((size_t)addr + j >= m->size[t])
                return cfg_error(c, it, e, "%s: the list runs past the table's end",
                                 table_names[t]);
            if (bits)
                m->bits[t == MB_COILS ? 0 : 1][addr + j] = (uint8_t)x;
            else
                m->regs[t == MB_HOLDING_REGISTERS ? 0 : 1][addr + j] = (uint16_t)x;
        }
    }
    return 0;
}

static int load_map(const char *path, struct mb_mapfile *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    mb_server_config_default(&out->cfg);
    size_t size[4] = {10000, 10000, 10000, 10000};
    if (!path) {
        out->mem = mb_mem_new(size[0], size[1], size[2], size[3]);
        return out->mem ? 0 : err_set(e, "out of memory");
    }
    struct cfg *c = cfg_load_file(path, e);
    if (!c)
        return -1;
    out->doc = c;
    cfg_node root = cfg_root(c);
    if (cfg_kind(c, root) != CFG_MAP)
        return cfg_error(c, root, e, "a map file is a mapping (tables:, identity: ...)");
    cfg_node tables = cfg_get(c, root, "tables");
    if (tables && cfg_kind(c, tables) != CFG_MAP)
        return cfg_error(c, tables, e, "tables: a mapping of coils, discrete_inputs, "
                                       "holding_registers, input_registers");
    for (int t = 0; t < 4; t++) {
        cfg_node tn = tables ? cfg_get(c, tables, table_names[t]) : 0;
        if (!tn)
            continue;
        long long sz;
        int r = cfg_get_int(c, tn, "size", 0, 0, 65536, &sz, e);
        if (r < 0)
            return -1;
        if (r == 0)
            size[t] = (size_t)sz;
    }
    out->mem = mb_mem_new(size[0], size[1], size[2], size[3]);
    if (!out->mem)
        return err_set(e, "out of memory");
    for (int t = 0; t < 4; t++) {
        cfg_node tn = tables ? cfg_get(c, tables, table_names[t]) : 0;
        if (!tn)
            continue;
        cfg_node vals = cfg_get(c, tn, "values");
        if (vals && load_values(c, vals, out->mem, (enum mb_table)t, e) != 0)
            return -1;
        static const char *const tk[] = {NULL};
        if (cfg_check_keys(c, tn, table_names[t], tk, e) != 0)
            return -1;
    }
    if (tables && cfg_check_keys(c, tables, "tables", NULL, e) != 0)
        return -1;
    /* identity */
    cfg_node id = cfg_get(c, root, "identity");
    if (id) {
        struct { const char *key; const char **dst; } f[] = {
            {"vendor_name", &out->cfg.vendor_name}, {"product_code", &out->cfg.product_code},
            {"revision", &out->cfg.revision}, {"vendor_url", &out->cfg.vendor_url},
            {"product_name", &out->cfg.product_name}, {"model_name", &out->cfg.model_name},
            {"user_app_name", &out->cfg.user_app_name},
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
            if (cfg_get_str(c, id, f[i].key, 0, f[i].dst, e) < 0)
                return -1;
        cfg_node ex = cfg_get(c, id, "extended");
        if (ex) {
            if (cfg_kind(c, ex) != CFG_MAP)
                return cfg_error(c, ex, e, "extended: a mapping of object id (0x80-0xFF): text");
            for (size_t i = 0; i < cfg_len(c, ex) && i < 128; i++) {
                const char *ks = cfg_scalar(c, cfg_key_at(c, ex, i));
                const char *vs = cfg_scalar(c, cfg_value_at(c, ex, i));
                char *end;
                long oid = ks ? strtol(ks, &end, 0) : -1;
                if (!ks || *end || oid < 0x80 || oid > 0xFF || !vs)
                    return cfg_error(c, cfg_key_at(c, ex, i), e,
                                     "extended objects have ids 0x80-0xFF and text values");
                out->extra[out->cfg.n_extra++] = (struct mb_devid_extra){(uint8_t)oid, vs};
            }
            out->cfg.extra = out->extra;
        }
        if (cfg_check_keys(c, id, "identity", NULL, e) != 0)
            return -1;
    }
    const char *sid = NULL;
    if (cfg_get_str(c, root, "server_id", 0, &sid, e) < 0 ||
        cfg_get_str(c, root, "server_id_additional", 0, &out->cfg.server_id_additional, e) < 0 ||
        cfg_get_bool(c, root, "running", 0, &out->cfg.running, e) < 0)
        return -1;
    if (sid) {
        out->cfg.server_id = (const uint8_t *)sid;
        out->cfg.server_id_len = strlen(sid);
    }
    cfg_node units = cfg_get(c, root, "units");
    if (units) {
        if (cfg_kind(c, units) != CFG_SEQ || cfg_len(c, units) == 0 || cfg_len(c, units) > 256)
            return cfg_error(c, units, e, "units: a list of unit ids (0-255)");
        for (size_t i = 0; i < cfg_len(c, units); i++) {
            const char *us = cfg_scalar(c, cfg_item(c, units, i));
            char *end;
            long u = us ? strtol(us, &end, 0) : -1;
            if (!us || *end || u < 0 || u > 255)
                return cfg_error(c, cfg_item(c, units, i), e, "units: %s is not 0-255",
                                 us ? us : "?");
            out->units[i] = (uint8_t)u;
        }
        out->cfg.unit_ids = out->units;
        out->cfg.n_unit_ids = cfg_len(c, units);
    }
    cfg_node lim = cfg_get(c, root, "limits");
    if (lim) {
        long long v;
        int r = cfg_get_int(c, lim, "max_connections", 0, -1, 100000, &v, e);
        if (r < 0)
            return -1;
        if (r == 0)
            out->cfg.max_connections = (int)v;
        if ((r = cfg_get_duration(c, lim, "idle_timeout", 0, &out->cfg.idle_timeout, e)) < 0)
            return -1;
        if ((r = cfg_get_int(c, lim, "output_cap", 0, 1024, 1 << 30, &v, e)) < 0)
            return -1;
        if (r == 0)
            out->cfg.output_cap = (size_t)v;
        double rate = 0;
        if ((r = cfg_get_qty(c, lim, "requests_per_second", 0, DIM_RATIO, "1", &rate, e)) < 0)
            return -1;
        if (rate < 0)
            return cfg_error(c, cfg_get(c, lim, "requests_per_second"), e, "must be >= 0");
        out->cfg.budget_rate = rate;
        double burst = 0;
        if ((r = cfg_get_qty(c, lim, "burst", 0, DIM_RATIO, "1", &burst, e)) < 0)
            return -1;
        out->cfg.budget_burst = burst;
        if (cfg_check_keys(c, lim, "limits", NULL, e) != 0)
            return -1;
    }
    if (cfg_check_keys(c, root, "the map file", NULL, e) != 0)
        return -1;
    return 0;
}

int mb_mapfile_load(const char *path, struct mb_mapfile *out, struct err *e)
{
    if (load_map(path, out, e) != 0) {
        mb_mapfile_free(out);
        return -1;
    }
    return 0;
}

void mb_mapfile_free(struct mb_mapfile *m)
{
    mb_mem_free(m->mem);
    cfg_free(m->doc);
    memset(m, 0, sizeof *m);
}
