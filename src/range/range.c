/* range.c — assembles a range from a plant file and runs it: the plant, the
 * PLC and SIS devices, the HMI's polling client, the net (sockets or
 * in-memory wires) with its tap, the recorder (CSV and historian), injects,
 * labels and the control socket.
 *
 * This file owns the range's life: what is built in which order, what each
 * module reports into the historian (events), and how real-time and fast
 * runs proceed. The plant file's range sections are read in range_cfg.c,
 * snapshots in range_snap.c, control requests in range_ctl.c.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/csv.h"
#include "core/log.h"
#include "core/version.h"
#include "range/range_int.h"

void range_opts_default(struct range_opts *o)
{
    memset(o, 0, sizeof *o);
    o->plant_path = "plants/waterworks.yaml";
    o->instance = 1;
    o->seed = 1;
    o->speed = 1;
}

void range_log(struct range *r, int level, const char *fmt, ...)
{
    (void)r;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_msg((enum log_level)level, "range", "%s", msg);
}

/* ---- historian events ---- */

static void event(struct range *r, vtime_t t, const char *kind, const char *device,
                  const char *source, const char *text, const char *details)
{
    if (!r->hist || r->write_failed)
        return;
    struct hist_event ev = {t, kind, device, source, text, details};
    if (hist_event(r->hist, &ev, &r->write_err) < 0)
        r->write_failed = 1;
}

static const char *table_name(uint8_t fc)
{
    switch (fc) {
    case 5: case 15: return "coil";
    default: return "holding register";
    }
}

/* Every request a PLC's server handled: writes (and refused writes) become
 * events with their source. */
static void on_request(void *ctx, const struct mb_request_info *info, const uint8_t *req,
                       size_t req_len, const uint8_t *rsp, size_t rsp_len)
{
    struct range_dev *d = ctx;
    struct range *r = d->r;
    if (req_len < 1)
        return;
    uint8_t fc = req[0];
    if (fc != 5 && fc != 6 && fc != 15 && fc != 16 && fc != 22 && fc != 23)
        return;
    char src[32], text[256], details[512];
    net_addr_format(info->peer, src, sizeof src);
    uint16_t a = req_len >= 3 ? (uint16_t)(req[1] << 8 | req[2]) : 0;
    uint16_t v = req_len >= 5 ? (uint16_t)(req[3] << 8 | req[4]) : 0;
    if (fc == 23)
        a = req_len >= 7 ? (uint16_t)(req[5] << 8 | req[6]) : 0;
    if (fc == 5) {
        snprintf(text, sizeof text, "FC 5 write coil %u = %s", a, v == 0xFF00 ? "ON" : "OFF");
        snprintf(details, sizeof details, "{\"fc\":5,\"address\":%u,\"values\":[%d]}", a,
                 v == 0xFF00);
    } else if (fc == 6) {
        snprintf(text, sizeof text, "FC 6 write holding register %u = %u", a, v);
        snprintf(details, sizeof details, "{\"fc\":6,\"address\":%u,\"values\":[%u]}", a, v);
    } else if (fc == 22) {
        uint16_t orm = req_len >= 7 ? (uint16_t)(req[5] << 8 | req[6]) : 0;
        snprintf(text, sizeof text, "FC 22 mask write holding register %u and=0x%04x or=0x%04x",
                 a, v, orm);
        snprintf(details, sizeof details,
                 "{\"fc\":22,\"address\":%u,\"and\":%u,\"or\":%u}", a, v, orm);
    } else {
        uint16_t n = fc == 23 ? (req_len >= 9 ? (uint16_t)(req[7] << 8 | req[8]) : 0) : v;
        size_t off = fc == 23 ? 10 : 6;
        int len = snprintf(details, sizeof details, "{\"fc\":%u,\"address\":%u,\"values\":[", fc, a);
        if (fc == 15) {
            for (unsigned i = 0; i < n && off + i / 8 < req_len && len < (int)sizeof details - 40; i++)
                len += snprintf(details + len, sizeof details - (size_t)len, "%s%d", i ? "," : "",
                                (req[off + i / 8] >> (i % 8)) & 1);
        } else {
            for (unsigned i = 0; i < n && off + 2 * i + 1 < req_len && len < (int)sizeof details - 40; i++)
                len += snprintf(details + len, sizeof details - (size_t)len, "%s%u", i ? "," : "",
                                (unsigned)(req[off + 2 * i] << 8 | req[off + 2 * i + 1]));
        }
        snprintf(details + len, sizeof details - (size_t)len, "]}");
        snprintf(text, sizeof text, "FC %u write %u %s%s from %u", fc, n, table_name(fc),
                 n == 1 ? "" : "s", a);
    }
    if (!rsp) {
        char t2[300];
        snprintf(t2, sizeof t2, "%s: no response (listen-only or unknown unit)", text);
        event(r, info->t, HIST_EV_REFUSED, d->name, src, t2, details);
    } else if (rsp_len >= 2 && (rsp[0] & 0x80)) {
        char t2[300];
        snprintf(t2, sizeof t2, "%s: refused with exception %02X", text, rsp[1]);
        event(r, info->t, HIST_EV_REFUSED, d->name, src, t2, details);
    } else {
        event(r, info->t, HIST_EV_NET_WRITE, d->name, src, text, details);
    }
}

static void on_plc_event(void *ctx, const struct plc_event *ev)
{
    struct range_dev *d = ctx;
    struct range *r = d->r;
    const char *kind = HIST_EV_NOTE;
    char details[160] = "";
    switch (ev->kind) {
    case PLC_EV_MODE: kind = HIST_EV_MODE; break;
    case PLC_EV_RESTART: kind = HIST_EV_MODE; break;
    case PLC_EV_KEY: kind = HIST_EV_KEYSWITCH; break;
    case PLC_EV_FAULT: kind = HIST_EV_FAULT; break;
    case PLC_EV_REFUSED: kind = HIST_EV_REFUSED; break;
    case PLC_EV_DOWNLOAD: {
        kind = HIST_EV_DOWNLOAD;
        char hex[65];
        if (ev->sha256)
            snprintf(details, sizeof details, "{\"sha256\":\"%s\",\"size\":%zu}",
                     plc_sha256_hex(ev->sha256, hex), ev->size);
        break;
    }
    }
    event(r, ev->t, kind, d->name, NULL, ev->text, details[0] ? details : NULL);
    range_log(r, LOGL_INFO, "%s: %s", d->name, ev->text ? ev->text : kind);
}

/* After every scan: alarm and trip bits, edge by edge. */
static void on_outputs(void *ctx, struct plc_device *pd, const struct plc_image *im, vtime_t now)
{
    struct range_dev *d = ctx;
    (void)pd;
    for (size_t i = 0; i < d->nalarms; i++) {
        struct range_alarm *a = &d->alarms[i];
        struct plc_slot slot;
        if (plc_image_slot((struct plc_image *)im, &a->addr, &slot) != 0)
            continue;
        int v = plc_slot_get(&slot) != 0;
        if (v == a->last)
            continue;
        a->last = v;
        char text[300];
        snprintf(text, sizeof text, "%s: %s", v ? "raised" : "cleared", a->text);
        event(d->r, now, a->trip && v ? HIST_EV_SIS_TRIP : HIST_EV_ALARM, d->name, NULL, text,
              NULL);
        range_log(d->r, v ? LOGL_WARN : LOGL_INFO, "%s: %s", d->name, text);
    }
}

static void on_server_log(void *ctx, int level, const char *msg)
{
    struct range_dev *d = ctx;
    range_log(d->r, level, "%s: %s", d->name, msg);
}

static void on_hmi_log(void *ctx, vtime_t t, const char *msg)
{
    struct range_dev *d = ctx;
    event(d->r, t, HIST_EV_NOTE, d->name, NULL, msg, NULL);
    range_log(d->r, LOGL_INFO, "%s: %s", d->name, msg);
}

/* ---- recording ---- */

static int attack_at(const struct range *r, vtime_t t)
{
    for (size_t i = 0; i < r->nlabels; i++)
        if (t >= r->labels[i].from && t < r->labels[i].to)
            return 1;
    return 0;
}

static void record_row(void *ctx, vtime_t now)
{
    struct range *r = ctx;
    if (now > r->end)
        return;
    for (size_t i = 0; i < r->ncols; i++)
        r->row[i] = plant_column_value(r->plant, i);
    if (r->csv) {
        char ts[48];
        vt_format_iso(plant_start_unix_ns(r->plant) + now, r->ts_decimals, ts, sizeof ts);
        csvw_str(r->csv, ts);
        for (size_t i = 0; i < r->ncols; i++)
            csvw_num(r->csv, r->row[i], r->decimals[i]);
        csvw_int(r->csv, attack_at(r, now));
        csvw_end_row(r->csv);
        if (!r->o.fast)
            csvw_flush(r->csv);
    }
    if (r->hist && !r->write_failed && hist_sample(r->hist, now, r->row, &r->write_err) != 0)
        r->write_failed = 1;
}

static void operator_write_done(void *ctx, const struct mb_result *res)
{
    struct range_inject *in = ctx;
    if (res->status != MB_CLIENT_OK || !res->pdu || (res->pdu[0] & 0x80))
        range_log(in->r, LOGL_WARN, "operator write %s: failed (%s)", in->text,
                  res->status != MB_CLIENT_OK ? "no answer" : "exception");
}

static void run_inject(void *ctx, vtime_t now)
{
    struct range_inject *in = ctx;
    struct range *r = in->r;
    in->task = -1;
    if (in->hmi >= 0) {
        struct range_dev *d = &r->spec.dev[in->hmi];
        struct err e;
        int rc = in->coil ? hmi_write_coil(d->hmi, in->target, in->addr, in->value != 0,
                                           operator_write_done, in, &e)
                          : hmi_write_register(d->hmi, in->target, in->addr, in->value,
                                               operator_write_done, in, &e);
        event(r, now, HIST_EV_COMMAND, d->name, NULL, in->text, NULL);
        if (rc != 0)
            range_log(r, LOGL_WARN, "operator write %s: %s", in->text, e.msg);
        else
            range_log(r, LOGL_INFO, "operator write: %s", in->text);
        return;
    }
    plant_cmd_apply(r->plant, &in->cmd);
    event(r, now, HIST_EV_FAULT, NULL, NULL, in->text, NULL);
    range_log(r, LOGL_INFO, "inject: %s", in->text);
}

/* "HMI.TARGET.hrN=V" or "HMI.TARGET.coilN=V": an operator's write through
 * the HMI, over the network. Returns 1 if `text` names an HMI (parsed into
 * in, or -1 with a message), 0 if it is not an operator write. */
static int parse_operator_write(struct range *r, const char *text, struct range_inject *in,
                                struct err *e)
{
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        size_t n = strlen(d->name);
        if (d->kind != RK_HMI || strncmp(text, d->name, n) != 0 || text[n] != '.')
            continue;
        const char *t = text + n + 1, *dot = strchr(t, '.');
        if (!dot)
            break;
        char target[64];
        if ((size_t)(dot - t) >= sizeof target)
            break;
        memcpy(target, t, (size_t)(dot - t));
        target[dot - t] = '\0';
        int ti = hmi_find(d->hmi, target);
        if (ti < 0)
            return err_set(e, "the HMI '%s' has no target '%s'", d->name, target);
        const char *reg = dot + 1;
        int coil;
        if (strncmp(reg, "hr", 2) == 0) {
            coil = 0;
            reg += 2;
        } else if (strncmp(reg, "coil", 4) == 0) {
            coil = 1;
            reg += 4;
        } else {
            break;
        }
        if (*reg < '0' || *reg > '9')
            break;
        char *end;
        errno = 0;
        unsigned long a = strtoul(reg, &end, 10);
        if (*end != '=')
            break;
        if (errno || a > 65535)
            return err_set(e, "the address is 0 to 65535");
        const char *vs = end + 1;
        int neg = *vs == '-';
        const char *digits = vs + neg;
        if (*digits < '0' || *digits > '9')
            return err_set(e, "the value '%s' is not a whole number", vs);
        long v = strtol(vs, &end, 10);
        if (*end)
            return err_set(e, "the value '%s' is not a whole number", vs);
        if (errno || v < (coil ? 0 : -32768) || v > (coil ? 1 : 65535))
            return err_set(e, "value out of range (%s)", coil ? "0 or 1" : "-32768 to 65535");
        in->hmi = (int)i;
        in->target = (size_t)ti;
        in->coil = coil;
        in->addr = (uint16_t)a;
        in->value = (uint16_t)v;
        return 1;
    }
    for (size_t i = 0; i < r->spec.ndev; i++) {
        size_t n = strlen(r->spec.dev[i].name);
        if (r->spec.dev[i].kind == RK_HMI && strncmp(text, r->spec.dev[i].name, n) == 0 &&
            text[n] == '.')
            return err_set(e, "an operator write is HMI.TARGET.hrN=VALUE or "
                           "HMI.TARGET.coilN=0|1 (%s.plc.hr1026=600)", r->spec.dev[i].name);
    }
    return 0;
}

int range_add_label(struct range *r, vtime_t from, vtime_t to, const char *technique,
                    const char *text, struct err *e)
{
    if (to <= from)
        return err_set(e, "label %s: its end must come after its start", technique);
    struct range_lab *nl = realloc(r->labels, (r->nlabels + 1) * sizeof *nl);
    if (!nl)
        return err_set(e, "out of memory");
    r->labels = nl;
    struct range_lab *l = &r->labels[r->nlabels];
    memset(l, 0, sizeof *l);
    l->from = from;
    l->to = to;
    l->technique = strdup(technique);
    l->text = text ? strdup(text) : NULL;
    if (!l->technique || (text && !l->text)) {
        free(l->technique);
        free(l->text);
        return err_set(e, "out of memory");
    }
    l->hist_id = 0;
    r->nlabels++;
    if (r->hist) {
        struct hist_label hl = {0, from, to, NULL, NULL, technique, text};
        int64_t id = hist_label(r->hist, &hl, e);
        if (id < 0) {
            r->nlabels--;
            free(l->technique);
            free(l->text);
            return -1;
        }
        l->hist_id = id;
    }
    return 0;
}

int range_label_start(struct range *r, const char *technique, const char *text, struct err *e)
{
    for (size_t i = 0; i < r->nlabels; i++)
        if (r->labels[i].to == VT_NEVER)
            return err_set(e, "label %s is still open: end it first", r->labels[i].technique);
    return range_add_label(r, range_now(r), VT_NEVER, technique, text, e);
}

int range_label_end(struct range *r, struct err *e)
{
    vtime_t now = range_now(r);
    for (size_t i = 0; i < r->nlabels; i++) {
        struct range_lab *l = &r->labels[i];
        if (l->to != VT_NEVER)
            continue;
        if (now <= l->from)
            return err_set(e, "label %s started at this instant; let time pass", l->technique);
        if (r->hist && l->hist_id > 0 && hist_label_end(r->hist, l->hist_id, now, e) != 0)
            return -1;
        l->to = now;
        return 0;
    }
    return err_set(e, "no open label");
}

/* ---- building ---- */

/* Whether this process may bind `port` on loopback. */
static int can_bind(uint16_t port)
{
    if (port >= 1024 || geteuid() == 0)
        return 1;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
    int start = 1024;
    if (f) {
        if (fscanf(f, "%d", &start) != 1)
            start = 1024;
        fclose(f);
    }
    return port >= start;
}

static int build_plc(struct range *r, struct range_dev *d, struct err *e)
{
    struct plc_device_config c;
    plc_device_config_default(&c, d->name);
    c.listen[0] = d->addr;
    c.nlisten = 1;
    c.plc.key = d->key;
    c.plc.has_key_input = d->has_key_input;
    c.plc.key_input = d->key_input;
    c.server.budget_rate = d->budget;
    c.server.max_connections = d->max_connections;
    c.server.vendor_name = d->vendor;
    c.server.product_code = d->product;
    c.server.product_name = d->product;
    c.server.running = 1;
    char pw[33];
    if (d->password_mode == 0) {
        const char *saved = r->saved ? range_snap_password(r->saved, d->name) : NULL;
        if (!d->password && saved) {
            d->password = strdup(saved);
            if (!d->password)
                return err_set(e, "out of memory");
        }
        if (!d->password) {
            unsigned char raw[8];
            randombytes_buf(raw, sizeof raw);
            sodium_bin2hex(pw, sizeof pw, raw, sizeof raw);
            d->password = strdup(pw);
            if (!d->password)
                return err_set(e, "out of memory");
        }
        c.eng.password = d->password;
    } else if (d->password_mode == 1) {
        c.eng.password = NULL;
    } else {
        c.eng.password = d->password;
    }
    d->plc = plc_device_new(r->plant, r->net, &c, e);
    if (!d->plc)
        return err_prefix(e, "device %s", d->name);
    struct plc *p = plc_device_plc(d->plc);
    struct st_diags diags;
    st_diags_init(&diags);
    int rc = plc_install(p, d->program_path, d->program_text, d->program_len, "range", &diags, e);
    st_diags_clear(&diags);
    if (rc != 0)
        return -1;
    if (!r->saved && plc_set_mode(p, PLC_RUN, "range start", e) != 0)
        return err_prefix(e, "device %s", d->name);
    plc_set_observer(p, on_plc_event, d);
    mb_server_set_observer(plc_device_server(d->plc), on_request, d);
    mb_server_set_log(plc_device_server(d->plc), on_server_log, d);
    plc_device_set_outputs_observer(d->plc, on_outputs, d);
    return 0;
}

static int build_hmi(struct range *r, struct range_dev *d, struct err *e)
{
    struct hmi_target tg[RANGE_MAX_DEVICES];
    struct hmi_block blocks[RANGE_MAX_DEVICES][RANGE_MAX_BLOCKS * 4];
    size_t nt = 0;
    for (size_t i = 0; i < r->spec.ndev; i++) {
        size_t nb = 0;
        for (size_t k = 0; k < d->nreads; k++)
            if (d->reads[k].target == (int)i)
                blocks[nt][nb++] = d->reads[k].b;
        if (!nb)
            continue;
        tg[nt] = (struct hmi_target){r->spec.dev[i].name, r->spec.dev[i].addr, 1, blocks[nt], nb};
        nt++;
    }
    struct hmi_config c = {0};
    c.name = d->name;
    c.period = d->period;
    c.from = d->addr;
    c.from.port = 0;
    c.targets = tg;
    c.ntargets = nt;
    d->hmi = hmi_new(r->net, &c, on_hmi_log, d, e);
    return d->hmi ? 0 : err_prefix(e, "device %s", d->name);
}

static char *dirname_new(const char *path)
{
    char *tmp = strdup(path);
    if (!tmp)
        return NULL;
    char *dn = strdup(dirname(tmp));
    free(tmp);
    return dn;
}

static int open_recording(struct range *r, struct err *e)
{
    r->ncols = plant_ncolumns(r->plant);
    r->row = calloc(r->ncols ? r->ncols : 1, sizeof *r->row);
    r->decimals = calloc(r->ncols ? r->ncols : 1, sizeof *r->decimals);
    if (!r->row || !r->decimals)
        return err_set(e, "out of memory");
    vtime_t per = r->record_period;
    r->ts_decimals = per % VT_SEC == 0 ? 0 : per % VT_MS == 0 ? 3 : per % VT_US == 0 ? 6 : 9;
    for (size_t i = 0; i < r->ncols; i++)
        r->decimals[i] = plant_column_decimals(r->plant, i);
    if (r->o.csv_path) {
        r->csv = csvw_open(r->o.csv_path, e);
        if (!r->csv)
            return -1;
        csvw_str(r->csv, "timestamp");
        for (size_t i = 0; i < r->ncols; i++)
            csvw_str(r->csv, plant_column_name(r->plant, i));
        csvw_str(r->csv, "attack");
        csvw_end_row(r->csv);
        if (!r->o.fast)
            csvw_flush(r->csv);
    }
    if (r->o.db_path) {
        struct hist_column *cols = calloc(r->ncols ? r->ncols : 1, sizeof *cols);
        if (!cols)
            return err_set(e, "out of memory");
        for (size_t i = 0; i < r->ncols; i++)
            cols[i] = (struct hist_column){plant_column_name(r->plant, i),
                                           plant_column_unit(r->plant, i), r->decimals[i]};
        struct hist_options ho = {0};
        ho.commit_interval = r->o.fast ? 5.0 : 0.25;
        r->hist = hist_open(r->o.db_path, cols, r->ncols, &ho, e);
        free(cols);
        if (!r->hist)
            return -1;
        vtime_t first_t, last_t;
        int span = hist_sample_span(r->hist, &first_t, &last_t, e);
        if (span < 0)
            return -1;
        if (span == 1 && last_t >= (sched_now(r->s) + per - 1) / per * per) {
            char a[32], b[32];
            return err_set(e, "%s already holds samples up to %s; this run records from %s "
                           "(use a new file, or restore a later snapshot)", r->o.db_path,
                           vt_format_duration(last_t, a, sizeof a),
                           vt_format_duration(sched_now(r->s), b, sizeof b));
        }
        if (hist_meta_set(r->hist, HIST_META_PLANT, plant_name(r->plant), e) != 0 ||
            hist_meta_set_int(r->hist, HIST_META_START, plant_start_unix_ns(r->plant), e) != 0 ||
            hist_meta_set_int(r->hist, HIST_META_PERIOD, per, e) != 0 ||
            hist_meta_set_int(r->hist, HIST_META_SEED, (int64_t)r->o.seed, e) != 0)
            return -1;
    }
    vtime_t now = sched_now(r->s);
    vtime_t first = (now + per - 1) / per * per;
    r->record_task = sched_every(r->s, first, per, SCHED_PRIO_RECORD, record_row, r);
    return r->record_task < 0 ? err_set(e, "out of memory") : 0;
}

static int load_plant(struct range *r, const char *path, const char *text, size_t len,
                      const char *const *sets, size_t nsets, struct err *e)
{
    r->plant_path = strdup(path);
    r->plant_text = malloc(len + 1);
    if (!r->plant_path || !r->plant_text)
        return err_set(e, "out of memory");
    memcpy(r->plant_text, text, len);
    r->plant_text[len] = '\0';
    r->plant_len = len;
    unsigned char sha[32];
    crypto_hash_sha256(sha, (const unsigned char *)text, len);
    r->plant_sha256 = malloc(65);
    if (!r->plant_sha256)
        return err_set(e, "out of memory");
    sodium_bin2hex(r->plant_sha256, 65, sha, sizeof sha);
    r->cfg = cfg_load_buffer(path, r->plant_text, len, e);
    if (!r->cfg)
        return -1;
    r->sets = calloc(nsets ? nsets : 1, sizeof *r->sets);
    if (!r->sets)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < nsets; i++) {
        r->sets[i] = strdup(sets[i]);
        if (!r->sets[i])
            return err_set(e, "out of memory");
        r->nsets++;
        if (plant_cfg_set(r->cfg, sets[i], e) != 0)
            return -1;
    }
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    r->plant = plant_load(r->cfg, r->o.seed, foreign, e);
    return r->plant ? 0 : -1;
}

int range_add_inject(struct range *r, vtime_t when, const char *text, struct err *e)
{
    struct range_inject *ni = realloc(r->injects, (r->ninjects + 1) * sizeof *ni);
    if (!ni)
        return err_set(e, "out of memory");
    r->injects = ni;
    struct range_inject *in = &r->injects[r->ninjects];
    memset(in, 0, sizeof *in);
    in->task = -1;
    in->hmi = -1;
    in->when = when;
    int op = parse_operator_write(r, text, in, e);
    if (op < 0 || (op == 0 && plant_cmd_parse(r->plant, text, &in->cmd, e) != 0))
        return -1;
    in->text = strdup(text);
    if (!in->text)
        return err_set(e, "out of memory");
    in->r = r;
    r->ninjects++;
    return 0;
}

static int add_injects(struct range *r, const struct range_at *ats, size_t nats, struct err *e)
{
    for (size_t i = 0; i < nats; i++) {
        vtime_t when;
        if (plant_parse_when(r->plant, ats[i].when, &when, e) != 0 ||
            range_add_inject(r, when, ats[i].text, e) != 0)
            return err_prefix(e, "--at %s %s", ats[i].when, ats[i].text);
        if (r->restored_at != VT_NEVER && when <= r->restored_at)
            return err_set(e, "--at %s %s: the snapshot was taken later; an inject of a "
                           "restored range comes after its instant", ats[i].when, ats[i].text);
    }
    return 0;
}

static int schedule_injects(struct range *r, struct err *e)
{
    vtime_t now = sched_now(r->s);
    for (size_t i = 0; i < r->ninjects; i++) {
        struct range_inject *in = &r->injects[i];
        /* a restored range: injects at or before the snapshot have acted */
        if (r->restored_at != VT_NEVER && in->when <= now)
            continue;
        in->task = sched_at(r->s, in->when, SCHED_PRIO_COMMAND, run_inject, in);
        if (in->task < 0)
            return err_set(e, "out of memory");
    }
    return 0;
}

struct range *range_new(const struct range_opts *o, struct err *e)
{
    struct range *r = calloc(1, sizeof *r);
    if (!r) {
        err_set(e, "out of memory");
        return NULL;
    }
    r->o = *o;
    r->restored_at = VT_NEVER;
    r->end = o->duration > 0 ? o->duration : VT_NEVER;
    r->speed = o->speed > 0 ? o->speed : 1;
    r->record_task = -1;
    if (o->instance < 1 || o->instance > 254) {
        err_set(e, "--instance %d: 1 to 254 (devices live at 127.0.N.x)", o->instance);
        goto fail;
    }
    if (o->fast && r->end == VT_NEVER) {
        err_set(e, "--fast needs --duration (a fast run never waits, so it must end)");
        goto fail;
    }
    if (sodium_init() < 0) {
        err_set(e, "libsodium failed to initialise");
        goto fail;
    }
    struct range_saved saved;
    memset(&saved, 0, sizeof saved);
    char *base_dir = NULL;
    if (o->restore) {
        if (range_snap_open(o->restore, &saved, e) != 0)
            goto fail;
        r->saved = &saved;
        r->o.seed = saved.seed;
        if (load_plant(r, saved.plant_path, saved.plant_text, saved.plant_len, saved.sets,
                       saved.nsets, e) != 0)
            goto fail_saved;
        if (o->sets && o->sets[0]) {
            err_set(e, "--set with --restore: the snapshot's plant settings are kept");
            goto fail_saved;
        }
    } else {
        size_t len = 0;
        struct err fe;
        char *text = range_read_file_new(o->plant_path, &len, &fe);
        if (!text) {
            err_set(e, "%s: %s", o->plant_path, fe.msg);
            goto fail;
        }
        size_t nsets = 0;
        while (o->sets && o->sets[nsets])
            nsets++;
        int rc = load_plant(r, o->plant_path, text, len, o->sets, nsets, e);
        free(text);
        if (rc != 0)
            goto fail;
    }
    base_dir = dirname_new(r->plant_path);
    if (!base_dir) {
        err_set(e, "out of memory");
        goto fail_saved;
    }
    int rc = range_spec_load(&r->spec, r->cfg, r->plant, base_dir,
                             r->saved ? range_snap_program : NULL, r->saved, e);
    free(base_dir);
    if (rc != 0)
        goto fail_saved;
    r->record_period = o->record_period > 0 ? o->record_period : r->spec.record_period;
    r->s = sched_new();
    if (!r->s) {
        err_set(e, "out of memory");
        goto fail_saved;
    }
    if (r->saved) {
        sched_set_now(r->s, saved.t);
        r->restored_at = saved.t;
        if (snapr_has(saved.rd, "plant") && plant_snap_load(r->plant, saved.rd, e) != 0)
            goto fail_saved;
        if (r->end != VT_NEVER && r->end <= saved.t) {
            char a[32], b[32];
            err_set(e, "--duration %s: the snapshot was taken at %s; run to a later instant",
                    vt_format_duration(r->end, a, sizeof a), vt_format_duration(saved.t, b, sizeof b));
            goto fail_saved;
        }
    }
    if (plant_attach(r->plant, r->s, e) != 0)
        goto fail_saved;
    /* the net */
    if (o->fast) {
        struct net_mem_opts mo;
        net_mem_opts_default(&mo);
        mo.seed = r->o.seed;
        /* a device's stack sends each write in one segment up to the MSS,
         * as a real stack with Nagle off does for Modbus ADUs */
        mo.seg_min = TAPW_MSS;
        mo.seg_max = TAPW_MSS;
        r->net = net_mem_new(r->s, &mo, e);
        r->port = r->spec.port;
    } else {
        r->loop = rtloop_new(r->s, r->speed, e);
        if (!r->loop)
            goto fail_saved;
        r->net = net_socket_new(r->loop, e);
        r->port = can_bind(r->spec.port) ? r->spec.port : r->spec.fallback_port;
    }
    if (!r->net)
        goto fail_saved;
    if (o->pcap_path && !o->capture_iface) {
        struct tapw_opts to;
        tapw_opts_default(&to);
        to.seed = r->o.seed;
        to.flush = o->fast ? TAPW_FLUSH_FULL : TAPW_FLUSH_INTERVAL;
        r->tap = tapw_new(o->pcap_path, plant_start_unix_ns(r->plant), &to, e);
        if (!r->tap)
            goto fail_saved;
        net_set_tap(r->net, tapw_hooks(), r->tap);
        if (r->loop && tapw_watch(r->tap, r->loop, e) != 0)
            goto fail_saved;
    }
    if (o->capture_iface) {
        /* the real traffic to and from this instance's addresses, instead
         * of the tap's drawing */
        if (o->fast) {
            err_set(e, "--capture records real traffic: it needs real time, not --fast");
            goto fail_saved;
        }
        struct cap_opts co;
        cap_opts_default(&co);
        char filter[64];
        snprintf(filter, sizeof filter, "net 127.0.%d.0/24", o->instance);
        co.filter = filter;
        r->cap = cap_new(r->loop, o->capture_iface, o->pcap_path ? o->pcap_path : "capture.pcap",
                         &co, e);
        if (!r->cap)
            goto fail_saved;
    }
    /* devices: PLCs first (the HMI connects to them) */
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        d->r = r;
        d->addr.ip = 0x7f000000u | (uint32_t)o->instance << 8 | (uint32_t)d->host;
        d->addr.port = r->port;
    }
    for (size_t i = 0; i < r->spec.ndev; i++)
        if (r->spec.dev[i].kind != RK_HMI && build_plc(r, &r->spec.dev[i], e) != 0)
            goto fail_saved;
    for (size_t i = 0; i < r->spec.ndev; i++)
        if (r->spec.dev[i].kind == RK_HMI && build_hmi(r, &r->spec.dev[i], e) != 0)
            goto fail_saved;
    if (open_recording(r, e) != 0)
        goto fail_saved;
    if (r->saved) {
        if (range_snap_restore(r, &saved, e) != 0)
            goto fail_saved;
    }
    for (size_t i = 0; i < o->nlabels; i++)
        if (range_add_label(r, o->labels[i].from, o->labels[i].to, o->labels[i].technique,
                            o->labels[i].text, e) != 0)
            goto fail_saved;
    if (add_injects(r, o->ats, o->nats, e) != 0 || schedule_injects(r, e) != 0)
        goto fail_saved;
    if (r->saved) {
        range_snap_close(&saved);
        r->saved = NULL;
    }
    r->steps_at_start = plant_steps(r->plant);
    /* the control socket: real time only (a fast run never waits) */
    if (!o->fast && !(o->ctl_path && !o->ctl_path[0])) {
        char path[256];
        const char *cp = o->ctl_path;
        if (!cp) {
            if (ctl_default_path(o->instance, path, sizeof path) != 0) {
                err_set(e, "the control socket's path is too long");
                goto fail;
            }
            cp = path;
        }
        r->ctl = ctl_server_new(rtloop_uv(r->loop), cp, range_ctl_handle, r, e);
        if (!r->ctl)
            goto fail;
    }
    if (r->hist) {
        char text[300];
        if (r->restored_at != VT_NEVER)
            snprintf(text, sizeof text, "range restored from %s (%s)", o->restore,
                     o->fast ? "fast" : "real time");
        else
            snprintf(text, sizeof text, "range started (%s, seed %llu)",
                     o->fast ? "fast" : "real time", (unsigned long long)r->o.seed);
        event(r, sched_now(r->s), HIST_EV_NOTE, NULL, NULL, text, NULL);
        if (hist_commit(r->hist, e) != 0)
            goto fail;
    }
    return r;
fail_saved:
    if (r->saved) {
        range_snap_close(&saved);
        r->saved = NULL;
    }
fail:
    range_free(r);
    return NULL;
}

static const char *kind_name(enum range_kind k)
{
    return k == RK_PLC ? "PLC" : k == RK_SIS ? "SIS" : "HMI";
}

/* The device name of an HMI's target t. */
static const char *target_name(const struct range *r, const struct range_dev *hmi, size_t t)
{
    for (size_t j = 0; j < r->spec.ndev; j++)
        if (r->spec.dev[j].kind != RK_HMI && hmi_find(hmi->hmi, r->spec.dev[j].name) == (int)t)
            return r->spec.dev[j].name;
    return "?";
}

/* {name, kind, address[, program_sha256]}: what status and meta say of
 * every device. */
static json_t *device_json(const struct range_dev *d)
{
    json_t *dj = json_object();
    char a[32];
    json_object_set_new(dj, "name", json_string(d->name));
    json_object_set_new(dj, "kind", json_string(kind_name(d->kind)));
    if (d->plc) {
        net_addr_format(&d->addr, a, sizeof a);
        json_object_set_new(dj, "address", json_string(a));
        char hex[65];
        const uint8_t *sha = plc_program_sha256(plc_device_plc(d->plc));
        json_object_set_new(dj, "program_sha256",
                            sha ? json_string(plc_sha256_hex(sha, hex)) : json_null());
    } else {
        net_ip_format(d->addr.ip, a, sizeof a);
        json_object_set_new(dj, "address", json_string(a));
    }
    return dj;
}

/* ---- counters ---- */

static void fc_counts(json_t *o, const uint64_t *by_fc)
{
    for (int fc = 0; fc < 256; fc++)
        if (by_fc[fc]) {
            char k[8];
            snprintf(k, sizeof k, "%d", fc);
            json_object_set_new(o, k, json_integer((json_int_t)by_fc[fc]));
        }
}

/* {"servers": {DEV: {FC: n}}, "clients": {"HMI->DEV": {FC: n}}} */
static json_t *counters_json(struct range *r)
{
    json_t *servers = json_object(), *clients = json_object();
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        if (d->plc) {
            json_t *o = json_object();
            fc_counts(o, mb_server_stats(plc_device_server(d->plc))->by_fc);
            json_object_set_new(servers, d->name, o);
        } else if (d->hmi) {
            for (size_t t = 0; t < hmi_ntargets(d->hmi); t++) {
                char k[160];
                snprintf(k, sizeof k, "%s->%s", d->name, target_name(r, d, t));
                json_t *o = json_object();
                fc_counts(o, hmi_client_stats(d->hmi, t)->by_fc);
                json_object_set_new(clients, k, o);
            }
        }
    }
    json_t *c = json_object();
    json_object_set_new(c, "servers", servers);
    json_object_set_new(c, "clients", clients);
    return c;
}

static void store_counters(struct range *r)
{
    if (!r->hist || r->write_failed)
        return;
    json_t *c = counters_json(r);
    const char *side;
    json_t *group;
    json_object_foreach(c, side, group) {
        const char *who;
        json_t *fcs;
        json_object_foreach(group, who, fcs) {
            const char *fc;
            json_t *n;
            json_object_foreach(fcs, fc, n) {
                char key[256];
                snprintf(key, sizeof key, "%s.%s.fc%s", side, who, fc);
                if (hist_counter_set(r->hist, key, json_integer_value(n), &r->write_err) != 0)
                    r->write_failed = 1;
            }
        }
    }
    json_decref(c);
}

/* ---- running ---- */

static volatile sig_atomic_t fast_interrupted;

static void on_fast_signal(int sig)
{
    (void)sig;
    fast_interrupted = 1;
}

static void on_poll_timer(uv_timer_t *t)
{
    struct range *r = t->data;
    if (r->hist && !r->write_failed && hist_poll(r->hist, &r->write_err) != 0)
        r->write_failed = 1;
    if (r->write_failed)
        rtloop_stop(r->loop);
}

static void on_pause_at(void *ctx)
{
    struct range *r = ctx;
    r->paused = 1;
    range_log(r, LOGL_INFO, "paused at the requested instant");
}

static void on_snapshot_at(void *ctx)
{
    struct range *r = ctx;
    struct err e;
    if (range_snapshot(r, r->o.snapshot_at_file, &e) != 0) {
        range_log(r, LOGL_ERROR, "snapshot: %s", e.msg);
    }
    if (!r->paused)
        rtloop_set_speed(r->loop, r->speed);
    if (r->o.pause_at > r->o.snapshot_at)
        rtloop_pause_at(r->loop, r->o.pause_at, on_pause_at, r);
}


static int run_fast(struct range *r)
{
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_fast_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    fast_interrupted = 0;
    int snap_done = !r->o.snapshot_at_file || r->o.snapshot_at <= sched_now(r->s);
    while (sched_now(r->s) < r->end && !fast_interrupted && !r->stop && !r->write_failed) {
        vtime_t next = sched_now(r->s) + 60 * VT_SEC;
        if (next > r->end)
            next = r->end;
        if (!snap_done && next >= r->o.snapshot_at) {
            next = r->o.snapshot_at;
            sched_run_until(r->s, next);
            snap_done = 1;
            struct err se;
            if (range_snapshot(r, r->o.snapshot_at_file, &se) != 0) {
                r->write_failed = 1;
                r->write_err = se;
            }
            continue;
        }
        sched_run_until(r->s, next);
        if (r->o.progress)
            r->o.progress(r->o.progress_ctx, sched_now(r->s), r->end);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return fast_interrupted ? 1 : 0;
}

static int run_real(struct range *r)
{
    uv_timer_init(rtloop_uv(r->loop), &r->poll_timer);
    r->poll_timer.data = r;
    r->poll_timer_on = 1;
    uv_timer_start(&r->poll_timer, on_poll_timer, 200, 200);
    if (r->o.start_paused) {
        r->paused = 1;
        rtloop_set_speed(r->loop, 0);
    }
    if (r->o.snapshot_at_file && r->o.snapshot_at > sched_now(r->s))
        rtloop_pause_at(r->loop, r->o.snapshot_at, on_snapshot_at, r);
    else if (r->o.pause_at > sched_now(r->s))
        rtloop_pause_at(r->loop, r->o.pause_at, on_pause_at, r);
    return rtloop_run(r->loop, r->end);
}

/* Real time, at the end: the clock stops, the HMI closes its connections
 * with FIN and the PLCs answer with theirs, as when an operator station
 * shuts down, so the pcap ends with closed conversations. Waits at most
 * 200 ms of wall time for the PLCs to see the HMI's connections close. */
static void close_gracefully(struct range *r)
{
    rtloop_set_speed(r->loop, 0);
    size_t before = 0, hmi_conns = 0;
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        if (d->plc)
            before += mb_server_nconnections(plc_device_server(d->plc));
        if (d->hmi) {
            hmi_conns += hmi_nconnected(d->hmi);
            hmi_stop(d->hmi);
        }
    }
    if (hmi_conns > before)
        hmi_conns = before;
    for (int i = 0; i < 200; i++) {
        uv_run(rtloop_uv(r->loop), UV_RUN_NOWAIT);
        size_t now_open = 0;
        for (size_t k = 0; k < r->spec.ndev; k++)
            if (r->spec.dev[k].plc)
                now_open += mb_server_nconnections(plc_device_server(r->spec.dev[k].plc));
        if (now_open + hmi_conns <= before)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

int range_run(struct range *r, struct err *e)
{
    int rc = r->o.fast ? run_fast(r) : run_real(r);
    if (!r->o.fast)
        close_gracefully(r); /* also before a ctl restore: the old recording ends cleanly */
    store_counters(r);
    if (r->hist && !r->write_failed && hist_commit(r->hist, &r->write_err) != 0)
        r->write_failed = 1;
    if (r->csv) {
        struct csvw *w = r->csv;
        r->csv = NULL;
        if (csvw_close(w, e) != 0)
            return err_prefix(e, "%s", r->o.csv_path);
    }
    if (r->tap) {
        tapw_settle(r->tap, sched_now(r->s));
        if (tapw_flush(r->tap, e) != 0)
            return -1;
    }
    if (r->write_failed) {
        *e = r->write_err;
        return -1;
    }
    return rc ? 1 : 0;
}

void range_set_speed(struct range *r, double speed)
{
    if (speed > 0)
        r->speed = speed;
    if (r->loop && !r->paused)
        rtloop_set_speed(r->loop, r->speed);
}

void range_request_stop(struct range *r)
{
    r->stop = 1;
    if (r->loop)
        rtloop_stop(r->loop);
}

const char *range_restart_requested(const struct range *r)
{
    return r->restart_path;
}

vtime_t range_now(const struct range *r)
{
    return sched_now(r->s);
}

int64_t range_start_unix_ns(const struct range *r)
{
    return plant_start_unix_ns(r->plant);
}

uint64_t range_physics_steps(const struct range *r)
{
    return plant_steps(r->plant) - r->steps_at_start;
}

int range_snapshot(struct range *r, const char *path, struct err *e)
{
    store_counters(r);
    if (r->hist && !r->write_failed && hist_commit(r->hist, e) != 0)
        return -1;
    if (range_snap_save(r, path, e) != 0)
        return -1;
    char t[40];
    vt_format_iso(plant_start_unix_ns(r->plant) + sched_now(r->s), 3, t, sizeof t);
    char text[600];
    snprintf(text, sizeof text, "snapshot %s at %s", path, t);
    event(r, sched_now(r->s), HIST_EV_NOTE, NULL, NULL, text, NULL);
    range_log(r, LOGL_INFO, "%s", text);
    return 0;
}

/* ---- reporting ---- */


void range_print_table(const struct range *r, FILE *f)
{
    fprintf(f, "%-10s %-5s %-21s %s\n", "device", "kind", "address", "protocol");
    for (size_t i = 0; i < r->spec.ndev; i++) {
        const struct range_dev *d = &r->spec.dev[i];
        char a[32];
        if (d->kind == RK_HMI) {
            net_ip_format(d->addr.ip, a, sizeof a);
            fprintf(f, "%-10s %-5s %-21s Modbus/TCP client, polls every %gs\n", d->name,
                    kind_name(d->kind), a, vt_to_sec(d->period));
        } else {
            net_addr_format(&d->addr, a, sizeof a);
            fprintf(f, "%-10s %-5s %-21s Modbus/TCP server, engineering FC 90\n", d->name,
                    kind_name(d->kind), a);
        }
    }
    if (r->ctl)
        fprintf(f, "control: icsrange ctl --instance %d status   (%s)\n", r->o.instance,
                ctl_server_path(r->ctl));
    if (r->port != r->spec.port)
        fprintf(f, "note: port %u needs privileges here; the PLCs listen on %u "
                "(network.fallback_port)\n", r->spec.port, r->port);
}

const char *range_first_address(struct range *r)
{
    static char buf[32];
    buf[0] = '\0';
    for (size_t i = 0; i < r->spec.ndev; i++)
        if (r->spec.dev[i].plc) {
            net_addr_format(&r->spec.dev[i].addr, buf, sizeof buf);
            break;
        }
    return buf;
}

json_t *range_status(struct range *r)
{
    json_t *o = json_object();
    vtime_t now = sched_now(r->s);
    char t[40];
    vt_format_iso(plant_start_unix_ns(r->plant) + now, 3, t, sizeof t);
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "t_s", json_real(vt_to_sec(now)));
    json_object_set_new(o, "plant", json_string(plant_name(r->plant)));
    json_object_set_new(o, "instance", json_integer(r->o.instance));
    json_object_set_new(o, "mode", json_string(r->o.fast ? "fast" : "real-time"));
    json_object_set_new(o, "paused", json_boolean(r->paused));
    json_object_set_new(o, "speed", json_real(r->speed));
    json_object_set_new(o, "seed", json_integer((json_int_t)r->o.seed));
    json_object_set_new(o, "physics_steps", json_integer((json_int_t)range_physics_steps(r)));
    if (r->restored_at != VT_NEVER)
        json_object_set_new(o, "restored_at_s", json_real(vt_to_sec(r->restored_at)));
    json_t *devs = json_array();
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        json_t *dj = device_json(d);
        if (d->plc) {
            struct plc *p = plc_device_plc(d->plc);
            json_object_set_new(dj, "plc_mode", json_string(plc_mode_name(plc_mode(p))));
            json_object_set_new(dj, "keyswitch", json_string(plc_key_name(plc_key(p))));
            if (d->password)
                json_object_set_new(dj, "engineering_password", json_string(d->password));
            const struct mb_server_stats *st = mb_server_stats(plc_device_server(d->plc));
            json_object_set_new(dj, "connections", json_integer((json_int_t)mb_server_nconnections(plc_device_server(d->plc))));
            json_object_set_new(dj, "busy", json_integer((json_int_t)st->busy));
            json_t *fc = json_object();
            fc_counts(fc, st->by_fc);
            json_object_set_new(dj, "transactions", fc);
        } else if (d->hmi) {
            json_t *views = json_object();
            for (size_t tg = 0; tg < hmi_ntargets(d->hmi); tg++) {
                const struct hmi_view *v = hmi_target_view(d->hmi, tg);
                json_t *vj = json_object();
                json_object_set_new(vj, "fresh", json_boolean(v->fresh));
                json_object_set_new(vj, "polls", json_integer((json_int_t)v->polls));
                json_object_set_new(vj, "complete", json_integer((json_int_t)v->complete));
                json_object_set_new(vj, "failed", json_integer((json_int_t)v->failed));
                json_object_set_new(vj, "last_error", json_string(v->last_error));
                json_t *fc = json_object();
                fc_counts(fc, hmi_client_stats(d->hmi, tg)->by_fc);
                json_object_set_new(vj, "transactions", fc);
                json_object_set_new(views, target_name(r, d, tg), vj);
            }
            json_object_set_new(dj, "views", views);
        }
        json_array_append_new(devs, dj);
    }
    json_object_set_new(o, "devices", devs);
    json_t *m = json_object();
    size_t nm = plant_metrics(r->plant, NULL, 0);
    struct plant_metric *pm = calloc(nm ? nm : 1, sizeof *pm);
    if (pm) {
        plant_metrics(r->plant, pm, nm);
        for (size_t i = 0; i < nm; i++)
            json_object_set_new(m, pm[i].name, json_real(pm[i].value));
        free(pm);
    }
    json_object_set_new(o, "metrics", m);
    json_t *labs = json_array();
    for (size_t i = 0; i < r->nlabels; i++) {
        json_t *l = json_object();
        json_object_set_new(l, "technique", json_string(r->labels[i].technique));
        json_object_set_new(l, "from_s", json_real(vt_to_sec(r->labels[i].from)));
        json_object_set_new(l, "to_s", r->labels[i].to == VT_NEVER ? json_null()
                                                              : json_real(vt_to_sec(r->labels[i].to)));
        json_array_append_new(labs, l);
    }
    json_object_set_new(o, "labels", labs);
    return o;
}

json_t *range_meta(struct range *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "icsrange_version", json_string(ICSRANGE_VERSION));
    json_t *libs = json_object();
    json_object_set_new(libs, "sqlite", json_string(hist_sqlite_version()));
    json_object_set_new(libs, "libpcap", json_string(tapw_libpcap_version()));
    json_object_set_new(libs, "libuv", json_string(uv_version_string()));
    json_object_set_new(libs, "jansson", json_string(JANSSON_VERSION));
    json_object_set_new(libs, "libsodium", json_string(sodium_version_string()));
    json_object_set_new(o, "library_versions", libs);
    json_object_set_new(o, "plant", json_string(plant_name(r->plant)));
    json_object_set_new(o, "plant_file", json_string(r->plant_path));
    json_object_set_new(o, "plant_sha256", json_string(r->plant_sha256));
    json_t *sets = json_array();
    for (size_t i = 0; i < r->nsets; i++)
        json_array_append_new(sets, json_string(r->sets[i]));
    json_object_set_new(o, "sets", sets);
    json_object_set_new(o, "seed", json_integer((json_int_t)r->o.seed));
    char t[40];
    vt_format_iso(plant_start_unix_ns(r->plant), 0, t, sizeof t);
    json_object_set_new(o, "start", json_string(t));
    json_object_set_new(o, "duration_s", json_real(vt_to_sec(sched_now(r->s))));
    json_object_set_new(o, "sample_period_s", json_real(vt_to_sec(r->record_period)));
    json_object_set_new(o, "physics_dt_s", json_real(vt_to_sec(plant_dt(r->plant))));
    json_t *tags = json_array();
    for (size_t i = 0; i < plant_ncolumns(r->plant); i++) {
        json_t *tg = json_object();
        json_object_set_new(tg, "column", json_string(plant_column_name(r->plant, i)));
        const char *u = plant_column_unit(r->plant, i);
        json_object_set_new(tg, "unit", json_string(u ? u : ""));
        json_object_set_new(tg, "decimals", json_integer(plant_column_decimals(r->plant, i)));
        json_array_append_new(tags, tg);
    }
    json_object_set_new(o, "columns", tags);
    json_t *devs = json_array();
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        json_t *dj = device_json(d);
        if (d->plc)
            json_object_set_new(dj, "program", json_string(d->program_path));
        else
            json_object_set_new(dj, "poll_period_s", json_real(vt_to_sec(d->period)));
        json_array_append_new(devs, dj);
    }
    json_object_set_new(o, "devices", devs);
    json_object_set_new(o, "transactions", counters_json(r));
    if (r->tap) {
        const struct tapw_stats *ts = tapw_stats(r->tap);
        json_t *tj = json_object();
        json_object_set_new(tj, "frames", json_integer((json_int_t)ts->frames));
        json_object_set_new(tj, "bytes", json_integer((json_int_t)ts->bytes));
        json_object_set_new(tj, "connections", json_integer((json_int_t)ts->connections));
        json_object_set_new(o, "pcap", tj);
    }
    json_object_set_new(o, "labels", json_integer((json_int_t)r->nlabels));
    json_t *inj = json_array();
    for (size_t i = 0; i < r->ninjects; i++) {
        json_t *ij = json_object();
        json_object_set_new(ij, "t_s", json_real(vt_to_sec(r->injects[i].when)));
        json_object_set_new(ij, "command", json_string(r->injects[i].text));
        json_array_append_new(inj, ij);
    }
    json_object_set_new(o, "injects", inj);
    return o;
}

void range_free(struct range *r)
{
    if (!r)
        return;
    if (r->ctl)
        ctl_server_free(r->ctl);
    for (size_t i = 0; i < r->spec.ndev; i++) {
        hmi_free(r->spec.dev[i].hmi);
        r->spec.dev[i].hmi = NULL;
    }
    for (size_t i = 0; i < r->spec.ndev; i++) {
        plc_device_free(r->spec.dev[i].plc);
        r->spec.dev[i].plc = NULL;
    }
    if (r->net)
        net_free(r->net);
    if (r->tap)
        tapw_free(r->tap);
    if (r->cap)
        cap_free(r->cap);
    if (r->poll_timer_on) {
        uv_timer_stop(&r->poll_timer);
        uv_close((uv_handle_t *)&r->poll_timer, NULL);
        uv_run(rtloop_uv(r->loop), UV_RUN_NOWAIT);
    }
    if (r->loop)
        rtloop_free(r->loop);
    if (r->hist) {
        struct err e;
        if (hist_close(r->hist, &e) != 0)
            log_msg(LOGL_ERROR, "range", "historian: %s", e.msg);
    }
    if (r->csv)
        csvw_close(r->csv, NULL);
    plant_free(r->plant);
    sched_free(r->s);
    cfg_free(r->cfg);
    range_spec_free(&r->spec);
    for (size_t i = 0; i < r->ninjects; i++)
        free(r->injects[i].text);
    free(r->injects);
    for (size_t i = 0; i < r->nlabels; i++) {
        free(r->labels[i].technique);
        free(r->labels[i].text);
    }
    free(r->labels);
    for (size_t i = 0; i < r->nsets; i++)
        free(r->sets[i]);
    free(r->sets);
    free(r->row);
    free(r->decimals);
    free(r->plant_path);
    free(r->plant_text);
    free(r->plant_sha256);
    free(r->restart_path);
    free(r);
}
