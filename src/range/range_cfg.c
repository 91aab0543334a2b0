/* range_cfg.c — the range's sections of a plant file: `devices`, `network`
 * and `historian` (docs/range.md), read into a struct range_spec with every
 * error at its file:line:column.
 *
 * This file owns what a device may say and the checks across devices: one
 * address per device, a program for every PLC, the HMI reading only PLCs
 * that exist, and every name the plant's wiring uses being a PLC.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range/range_int.h"

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Reads a whole file into a new NUL-terminated buffer. */
static char *read_file_new(const char *path, size_t *len, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, "%s", strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 8192;
            if (nc > (64u << 20)) {
                err_set(e, "larger than 64 MiB");
                goto fail;
            }
            char *nb = realloc(buf, nc);
            if (!nb) {
                err_set(e, "out of memory");
                goto fail;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        err_set(e, "%s", strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

char *range_read_file_new(const char *path, size_t *len, struct err *e)
{
    return read_file_new(path, len, e);
}

static int parse_table(const char *s, enum mb_table *t)
{
    static const struct {
        const char *name;
        enum mb_table t;
    } names[] = {
        {"coils", MB_COILS},
        {"discrete_inputs", MB_DISCRETE_INPUTS},
        {"input_registers", MB_INPUT_REGISTERS},
        {"holding_registers", MB_HOLDING_REGISTERS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *t = names[i].t;
            return 0;
        }
    return -1;
}

/* "START-END" (inclusive) or "N" into a block. */
static int parse_block(struct cfg *c, cfg_node n, enum mb_table t, struct hmi_block *b,
                       struct err *e)
{
    const char *s = cfg_scalar(c, n);
    if (!s)
        return cfg_error(c, n, e, "a block is \"START-END\" or an address");
    char *end;
    errno = 0;
    unsigned long a = strtoul(s, &end, 10), z = a;
    if (end == s)
        goto bad;
    if (*end == '-') {
        const char *p = end + 1;
        z = strtoul(p, &end, 10);
        if (end == p)
            goto bad;
    }
    if (*end || errno || a > 65535 || z > 65535 || z < a)
        goto bad;
    unsigned long count = z - a + 1;
    unsigned long max = (t == MB_COILS || t == MB_DISCRETE_INPUTS) ? 2000 : 125;
    if (count > max)
        return cfg_error(c, n, e, "block '%s' has %lu addresses; one request reads at most %lu",
                         s, count, max);
    b->table = t;
    b->start = (uint16_t)a;
    b->count = (uint16_t)count;
    return 0;
bad:
    return cfg_error(c, n, e, "block '%s': expected \"START-END\" (inclusive) or one address, "
                     "0 to 65535", s);
}

static int find_dev(const struct range_spec *sp, const char *name)
{
    for (size_t i = 0; i < sp->ndev; i++)
        if (strcmp(sp->dev[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int load_alarms(struct cfg *c, cfg_node m, struct range_dev *d, struct err *e)
{
    cfg_node al = cfg_get(c, m, "alarms");
    if (!al)
        return 0;
    if (cfg_kind(c, al) != CFG_MAP)
        return cfg_error(c, al, e, "devices.%s.alarms: a map of \"%%QX...\": text", d->name);
    for (size_t i = 0; i < cfg_len(c, al); i++) {
        cfg_node k = cfg_key_at(c, al, i), v = cfg_value_at(c, al, i);
        if (d->nalarms == RANGE_MAX_ALARMS)
            return cfg_error(c, k, e, "at most %d alarms per device", RANGE_MAX_ALARMS);
        struct range_alarm *a = &d->alarms[d->nalarms];
        struct err le;
        if (locaddr_parse(cfg_scalar(c, k), &a->addr, &le) != 0)
            return cfg_error(c, k, e, "devices.%s.alarms: %s", d->name, le.msg);
        if (locaddr_bits(&a->addr) != 1 || a->addr.area == 'M')
            return cfg_error(c, k, e, "devices.%s.alarms: '%s' is not a bit of %%I or %%Q",
                             d->name, cfg_scalar(c, k));
        const char *text = NULL;
        int trip = 0;
        if (cfg_kind(c, v) == CFG_MAP) {
            if (cfg_get_str(c, v, "text", 1, &text, e) != 0 ||
                cfg_get_bool(c, v, "trip", 0, &trip, e) < 0 ||
                cfg_check_keys(c, v, "an alarm", NULL, e) != 0)
                return -1;
        } else {
            text = cfg_scalar(c, v);
            if (!text)
                return cfg_error(c, v, e, "devices.%s.alarms: the alarm's text", d->name);
        }
        a->text = strdup(text);
        if (!a->text)
            return err_set(e, "out of memory");
        a->trip = trip;
        d->nalarms++;
    }
    return 0;
}

static int load_plc(struct range_spec *sp, struct cfg *c, cfg_node m, struct range_dev *d,
                    const char *base_dir, range_program_fn programs_from, void *ctx,
                    struct err *e)
{
    const char *prog = NULL, *key = NULL, *key_input = NULL, *password = NULL;
    const char *vendor = NULL, *product = NULL;
    if (cfg_get_str(c, m, "program", 1, &prog, e) != 0)
        return -1;
    cfg_node pn = cfg_get(c, m, "program");
    if (prog[0] == '/' || !base_dir || !base_dir[0]) {
        d->program_path = strdup(prog);
    } else {
        size_t n = strlen(base_dir) + strlen(prog) + 2;
        d->program_path = malloc(n);
        if (d->program_path)
            snprintf(d->program_path, n, "%s/%s", base_dir, prog);
    }
    if (!d->program_path)
        return err_set(e, "out of memory");
    if (programs_from) {
        size_t len = 0;
        const char *text = programs_from(ctx, d->name, &len);
        if (!text)
            return cfg_error(c, pn, e, "devices.%s.program: the snapshot has no program for '%s'",
                             d->name, d->name);
        d->program_text = malloc(len + 1);
        if (!d->program_text)
            return err_set(e, "out of memory");
        memcpy(d->program_text, text, len);
        d->program_text[len] = '\0';
        d->program_len = len;
    } else {
        struct err fe;
        d->program_text = read_file_new(d->program_path, &d->program_len, &fe);
        if (!d->program_text)
            return cfg_error(c, pn, e, "devices.%s.program: cannot read '%s': %s", d->name,
                             d->program_path, fe.msg);
    }
    d->key = PLC_KEY_RUN;
    if (cfg_get_str(c, m, "keyswitch", 0, &key, e) < 0)
        return -1;
    if (key && plc_key_parse(key, &d->key) != 0)
        return cfg_error(c, cfg_get(c, m, "keyswitch"), e,
                         "devices.%s.keyswitch: '%s' (run, program or remote)", d->name, key);
    if (cfg_get_str(c, m, "key_input", 0, &key_input, e) < 0)
        return -1;
    if (key_input) {
        struct err le;
        if (locaddr_parse(key_input, &d->key_input, &le) != 0 || d->key_input.size != 'W' ||
            d->key_input.area != 'I')
            return cfg_error(c, cfg_get(c, m, "key_input"), e,
                             "devices.%s.key_input: '%s' is not an input word (%%IWn)", d->name,
                             key_input);
        d->has_key_input = 1;
    }
    d->password_mode = 0;
    if (cfg_get_str(c, m, "password", 0, &password, e) < 0)
        return -1;
    if (password) {
        if (strcmp(password, "random") == 0) {
            d->password_mode = 0;
        } else if (strcmp(password, "none") == 0) {
            d->password_mode = 1;
        } else {
            d->password_mode = 3;
            d->password = strdup(password);
            if (!d->password)
                return err_set(e, "out of memory");
        }
    }
    long long budget = 0;
    if (cfg_get_int(c, m, "budget", 0, 0, 1000000, &budget, e) < 0)
        return -1;
    d->budget = (double)budget;
    long long maxc = 16;
    if (cfg_get_int(c, m, "max_connections", 0, 1, 1024, &maxc, e) < 0)
        return -1;
    d->max_connections = (int)maxc;
    if (cfg_get_str(c, m, "vendor", 0, &vendor, e) < 0 ||
        cfg_get_str(c, m, "product", 0, &product, e) < 0)
        return -1;
    d->vendor = dup_str(vendor);
    d->product = dup_str(product);
    if ((vendor && !d->vendor) || (product && !d->product))
        return err_set(e, "out of memory");
    (void)sp;
    return load_alarms(c, m, d, e);
}

/* The HMI's reads: { PLC: { coils: [..], holding_registers: [..] } }. The
 * targets are checked once every device is known. */
static int load_hmi(struct cfg *c, cfg_node m, struct range_dev *d, struct err *e)
{
    d->period = VT_SEC;
    if (cfg_get_duration(c, m, "period", 0, &d->period, e) < 0)
        return -1;
    if (d->period < 10 * VT_MS)
        return cfg_error(c, cfg_get(c, m, "period"), e, "devices.%s.period: at least 10 ms",
                         d->name);
    cfg_node reads = cfg_get(c, m, "reads");
    if (!reads)
        return cfg_missing(c, m, "reads", e, "devices.%s: missing 'reads' (what the HMI polls)",
                           d->name);
    if (cfg_kind(c, reads) != CFG_MAP)
        return cfg_error(c, reads, e, "devices.%s.reads: a map of PLC name to tables", d->name);
    return 0;
}

static int resolve_hmi(struct range_spec *sp, struct cfg *c, cfg_node m, struct range_dev *d,
                       struct err *e)
{
    cfg_node reads = cfg_get(c, m, "reads");
    for (size_t i = 0; i < cfg_len(c, reads); i++) {
        cfg_node k = cfg_key_at(c, reads, i), v = cfg_value_at(c, reads, i);
        const char *target = cfg_scalar(c, k);
        int t = target ? find_dev(sp, target) : -1;
        if (t < 0)
            return cfg_error(c, k, e, "devices.%s.reads: no device '%s'", d->name,
                             target ? target : "?");
        if (sp->dev[t].kind == RK_HMI)
            return cfg_error(c, k, e, "devices.%s.reads: '%s' is an HMI, not a PLC", d->name,
                             target);
        if (cfg_kind(c, v) != CFG_MAP)
            return cfg_error(c, v, e, "devices.%s.reads.%s: a map of table to blocks "
                             "(coils, discrete_inputs, input_registers, holding_registers)",
                             d->name, target);
        for (size_t j = 0; j < cfg_len(c, v); j++) {
            cfg_node tk = cfg_key_at(c, v, j), tv = cfg_value_at(c, v, j);
            enum mb_table table;
            if (!cfg_scalar(c, tk) || parse_table(cfg_scalar(c, tk), &table) != 0)
                return cfg_error(c, tk, e, "devices.%s.reads.%s: unknown table '%s' (coils, "
                                 "discrete_inputs, input_registers, holding_registers)",
                                 d->name, target, cfg_scalar(c, tk) ? cfg_scalar(c, tk) : "?");
            size_t nb = cfg_kind(c, tv) == CFG_SEQ ? cfg_len(c, tv) : 1;
            for (size_t b = 0; b < nb; b++) {
                cfg_node bn = cfg_kind(c, tv) == CFG_SEQ ? cfg_item(c, tv, b) : tv;
                if (d->nreads == sizeof d->reads / sizeof d->reads[0])
                    return cfg_error(c, bn, e, "devices.%s: at most %zu blocks", d->name,
                                     sizeof d->reads / sizeof d->reads[0]);
                struct range_read *rd = &d->reads[d->nreads];
                rd->target = t;
                if (parse_block(c, bn, table, &rd->b, e) != 0)
                    return -1;
                d->nreads++;
            }
        }
    }
    return 0;
}

int range_spec_load(struct range_spec *sp, struct cfg *c, const struct plant *p,
                    const char *base_dir, range_program_fn programs_from, void *ctx,
                    struct err *e)
{
    memset(sp, 0, sizeof *sp);
    sp->port = 502;
    sp->fallback_port = 5020;
    sp->record_period = VT_SEC;
    cfg_node root = cfg_root(c);
    cfg_node net = cfg_get(c, root, "network");
    if (net) {
        long long port = 502, fb = 5020;
        if (cfg_kind(c, net) != CFG_MAP)
            return cfg_error(c, net, e, "network: a map (modbus_port, fallback_port)");
        if (cfg_get_int(c, net, "modbus_port", 0, 1, 65535, &port, e) < 0 ||
            cfg_get_int(c, net, "fallback_port", 0, 1, 65535, &fb, e) < 0 ||
            cfg_check_keys(c, net, "network", NULL, e) != 0)
            return -1;
        sp->port = (uint16_t)port;
        sp->fallback_port = (uint16_t)fb;
    }
    cfg_node hist = cfg_get(c, root, "historian");
    if (hist) {
        if (cfg_kind(c, hist) != CFG_MAP)
            return cfg_error(c, hist, e, "historian: a map (period)");
        if (cfg_get_duration(c, hist, "period", 0, &sp->record_period, e) < 0 ||
            cfg_check_keys(c, hist, "historian", NULL, e) != 0)
            return -1;
        if (sp->record_period < VT_MS)
            return cfg_error(c, cfg_get(c, hist, "period"), e, "historian.period: at least 1 ms");
    }
    cfg_node devs = cfg_get(c, root, "devices");
    if (!devs)
        return cfg_error(c, root, e, "no 'devices' section: a range needs at least one PLC "
                         "(docs/range.md)");
    if (cfg_kind(c, devs) != CFG_MAP)
        return cfg_error(c, devs, e, "devices: a map of device name to its settings");
    int nplc = 0;
    for (size_t i = 0; i < cfg_len(c, devs); i++) {
        cfg_node k = cfg_key_at(c, devs, i), m = cfg_value_at(c, devs, i);
        const char *name = cfg_scalar(c, k);
        if (sp->ndev == RANGE_MAX_DEVICES)
            return cfg_error(c, k, e, "at most %d devices", RANGE_MAX_DEVICES);
        if (!name || !name[0] || strlen(name) > 63)
            return cfg_error(c, k, e, "devices: a device name is 1 to 63 characters");
        if (cfg_kind(c, m) != CFG_MAP)
            return cfg_error(c, m, e, "devices.%s: a map (kind, host, ...)", name);
        struct range_dev *d = &sp->dev[sp->ndev++];
        d->name = strdup(name);
        if (!d->name)
            return err_set(e, "out of memory");
        d->line = cfg_line(c, k);
        const char *kind = NULL;
        if (cfg_get_str(c, m, "kind", 1, &kind, e) != 0)
            return -1;
        if (strcmp(kind, "plc") == 0)
            d->kind = RK_PLC;
        else if (strcmp(kind, "sis") == 0)
            d->kind = RK_SIS;
        else if (strcmp(kind, "hmi") == 0)
            d->kind = RK_HMI;
        else
            return cfg_error(c, cfg_get(c, m, "kind"), e,
                             "devices.%s.kind: '%s' (plc, sis or hmi)", name, kind);
        long long host = 0;
        if (cfg_get_int(c, m, "host", 1, 1, 254, &host, e) != 0)
            return -1;
        d->host = (int)host;
        for (size_t j = 0; j + 1 < sp->ndev; j++)
            if (sp->dev[j].host == d->host)
                return cfg_error(c, cfg_get(c, m, "host"), e,
                                 "devices.%s.host: %d is already the address of %s (line %d)",
                                 name, d->host, sp->dev[j].name, sp->dev[j].line);
        int rc = d->kind == RK_HMI ? load_hmi(c, m, d, e)
                                   : load_plc(sp, c, m, d, base_dir, programs_from, ctx, e);
        if (rc != 0)
            return -1;
        if (d->kind != RK_HMI)
            nplc++;
    }
    if (nplc == 0)
        return cfg_error(c, devs, e, "devices: no PLC (kind: plc or sis)");
    for (size_t i = 0; i < sp->ndev; i++) {
        cfg_node m = cfg_get(c, devs, sp->dev[i].name);
        if (sp->dev[i].kind == RK_HMI && resolve_hmi(sp, c, m, &sp->dev[i], e) != 0)
            return -1;
        static const char *const plc_keys[] = {"kind", "host", "program", "keyswitch",
                                               "key_input", "password", "budget",
                                               "max_connections", "vendor", "product",
                                               "alarms", NULL};
        static const char *const hmi_keys[] = {"kind", "host", "period", "reads", NULL};
        char what[96];
        snprintf(what, sizeof what, "device '%s'", sp->dev[i].name);
        if (cfg_check_keys(c, m, what, sp->dev[i].kind == RK_HMI ? hmi_keys : plc_keys, e) != 0)
            return -1;
    }
    /* every device the wiring names is a PLC of this file */
    cfg_node wiring = cfg_get(c, root, "wiring");
    for (size_t i = 0; wiring && i < cfg_len(c, wiring); i++) {
        cfg_node k = cfg_key_at(c, wiring, i);
        const char *name = cfg_scalar(c, k);
        int t = name ? find_dev(sp, name) : -1;
        if (t < 0)
            return cfg_error(c, k, e, "wiring: no device '%s' in 'devices'", name ? name : "?");
        if (sp->dev[t].kind == RK_HMI)
            return cfg_error(c, k, e, "wiring: '%s' is an HMI; only PLCs have field I/O", name);
    }
    (void)p;
    return 0;
}

void range_spec_free(struct range_spec *sp)
{
    for (size_t i = 0; i < sp->ndev; i++) {
        struct range_dev *d = &sp->dev[i];
        free(d->name);
        free(d->program_path);
        free(d->program_text);
        free(d->password);
        free(d->vendor);
        free(d->product);
        for (size_t j = 0; j < d->nalarms; j++)
            free(d->alarms[j].text);
    }
    memset(sp, 0, sizeof *sp);
}
