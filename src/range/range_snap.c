/* range_snap.c — a range's snapshot: one file (core/snap.h) holding
 * everything a new process needs to continue from the same instant.
 *
 * Section "range" (this file): format tag, the plant file's path and text,
 * the --set overrides, the seed, the instant, per device its program text
 * and alarm states, the injects and the labels. Then each module's own
 * sections: "plant" (sim/plant_snap.c), "dev/NAME/plc" and
 * "dev/NAME/modbus" (devices/plc_device.c), "hmi/NAME" (devices/hmi.c).
 * What is not saved: connections (a restored range has none; clients
 * reconnect, outside ones too), bytes in flight on them, engineering
 * sessions, this process's counters, the tap's state (a restored range
 * starts a new pcap).
 */
#include <stdlib.h>
#include <string.h>

#include "range/range_int.h"

#define RANGE_SNAP_TAG "icsrange-range-2"

int range_snap_save(struct range *r, const char *path, struct err *e)
{
    struct snapw *w = snapw_new();
    if (!w)
        return err_set(e, "out of memory");
    snapw_section(w, "range");
    snapw_str(w, RANGE_SNAP_TAG);
    snapw_str(w, r->plant_path);
    snapw_bytes(w, r->plant_text, r->plant_len);
    snapw_u64(w, r->o.seed);
    snapw_i64(w, sched_now(r->s));
    snapw_u32(w, (uint32_t)r->nsets);
    for (size_t i = 0; i < r->nsets; i++)
        snapw_str(w, r->sets[i]);
    snapw_u32(w, (uint32_t)r->spec.ndev);
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        snapw_str(w, d->name);
        snapw_u8(w, (uint8_t)d->kind);
        if (d->plc) {
            size_t len = 0;
            const char *text = plc_program_text(plc_device_plc(d->plc), &len);
            snapw_bytes(w, text ? text : "", text ? len : 0);
        } else {
            snapw_bytes(w, "", 0);
        }
        snapw_u32(w, (uint32_t)d->nalarms);
        for (size_t k = 0; k < d->nalarms; k++)
            snapw_u8(w, (uint8_t)d->alarms[k].last);
        /* the engineering password a random setting drew: a trainee who
         * learned it keeps it across a restore */
        snapw_str(w, d->password_mode == 0 ? d->password : NULL);
    }
    snapw_u32(w, (uint32_t)r->ninjects);
    for (size_t i = 0; i < r->ninjects; i++) {
        snapw_i64(w, r->injects[i].when);
        snapw_str(w, r->injects[i].text);
    }
    snapw_u32(w, (uint32_t)r->nlabels);
    for (size_t i = 0; i < r->nlabels; i++) {
        snapw_i64(w, r->labels[i].from);
        snapw_i64(w, r->labels[i].to);
        snapw_str(w, r->labels[i].technique);
        snapw_str(w, r->labels[i].text);
    }
    plant_snap_save(r->plant, w);
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        char sec[96];
        if (d->plc) {
            snprintf(sec, sizeof sec, "dev/%s", d->name);
            plc_device_snap_save(d->plc, w, sec);
        } else if (d->hmi) {
            snprintf(sec, sizeof sec, "hmi/%s", d->name);
            hmi_snap_save(d->hmi, w, sec);
        }
    }
    int rc = snapw_save_file(w, path, e);
    snapw_free(w);
    return rc;
}

int range_snap_open(const char *path, struct range_saved *s, struct err *e)
{
    struct snapr *rd = snapr_load_file(path, e);
    if (!rd) {
        memset(s, 0, sizeof *s);
        return -1;
    }
    return range_snap_read(rd, s, e);
}

int range_snap_read(struct snapr *rd, struct range_saved *s, struct err *e)
{
    memset(s, 0, sizeof *s);
    s->rd = rd;
    if (snapr_section(rd, "range", e) != 0)
        goto fail;
    const char *tag = snapr_str(rd);
    if (!tag || strcmp(tag, RANGE_SNAP_TAG) != 0) {
        snapr_fail(rd, "not a range snapshot of this version (%s)", tag ? tag : "no tag");
        goto check;
    }
    s->plant_path = snapr_str(rd);
    s->plant_text = (const char *)snapr_bytes(rd, &s->plant_len);
    s->seed = snapr_u64(rd);
    s->t = snapr_i64(rd);
    if (s->t < 0 || s->t >= VT_NEVER)
        snapr_fail(rd, "instant out of range");
    uint32_t n = snapr_u32(rd);
    if (n > 4096)
        snapr_fail(rd, "%u plant settings", n);
    else {
        s->sets = calloc(n + 1, sizeof *s->sets);
        if (!s->sets) {
            err_set(e, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            s->sets[i] = snapr_str(rd);
            if (!s->sets[i])
                snapr_fail(rd, "setting %u missing", i);
        }
        s->nsets = n;
    }
    n = snapr_u32(rd);
    if (n > RANGE_MAX_DEVICES)
        snapr_fail(rd, "%u devices", n);
    for (uint32_t i = 0; i < n && i < RANGE_MAX_DEVICES; i++) {
        struct range_saved_dev *d = &s->dev[i];
        d->name = snapr_str(rd);
        (void)snapr_u8(rd);
        d->program = (const char *)snapr_bytes(rd, &d->program_len);
        d->nalarms = snapr_u32(rd);
        if (d->nalarms > RANGE_MAX_ALARMS) {
            snapr_fail(rd, "%u alarms", d->nalarms);
            break;
        }
        for (uint32_t k = 0; k < d->nalarms; k++)
            d->alarm_last[k] = snapr_u8(rd);
        d->password = snapr_str(rd);
        if (d->password && (!d->password[0] || strlen(d->password) > 64))
            snapr_fail(rd, "device %u: a password of %zu bytes", i, strlen(d->password));
        s->ndev++;
    }
    n = snapr_u32(rd);
    if (n > 100000)
        snapr_fail(rd, "%u injects", n);
    else {
        s->inject_when = calloc(n ? n : 1, sizeof *s->inject_when);
        s->inject_text = calloc(n ? n : 1, sizeof *s->inject_text);
        if (!s->inject_when || !s->inject_text) {
            err_set(e, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            s->inject_when[i] = snapr_i64(rd);
            s->inject_text[i] = snapr_str(rd);
            if (!s->inject_text[i])
                snapr_fail(rd, "inject %u has no command", i);
        }
        s->ninjects = n;
    }
    n = snapr_u32(rd);
    if (n > 100000)
        snapr_fail(rd, "%u labels", n);
    else {
        s->labels = calloc(n ? n : 1, sizeof *s->labels);
        if (!s->labels) {
            err_set(e, "out of memory");
            goto fail;
        }
        for (uint32_t i = 0; i < n; i++) {
            s->labels[i].from = snapr_i64(rd);
            s->labels[i].to = snapr_i64(rd);
            s->labels[i].technique = snapr_str(rd);
            s->labels[i].text = snapr_str(rd);
            if (!s->labels[i].technique)
                snapr_fail(rd, "label %u has no technique", i);
        }
        s->nlabels = n;
    }
    if (!s->plant_path || !s->plant_text)
        snapr_fail(rd, "no plant file");
    if (snapr_left(rd) != 0)
        snapr_fail(rd, "%zu bytes left unread", snapr_left(rd));
check:
    if (snapr_ok(rd, e) != 0)
        goto fail;
    return 0;
fail:
    range_snap_close(s);
    return -1;
}

void range_snap_close(struct range_saved *s)
{
    snapr_free(s->rd);
    free(s->sets);
    free(s->inject_when);
    free(s->inject_text);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

const char *range_snap_password(const struct range_saved *s, const char *device)
{
    for (size_t i = 0; i < s->ndev; i++)
        if (s->dev[i].name && strcmp(s->dev[i].name, device) == 0)
            return s->dev[i].password;
    return NULL;
}

const char *range_snap_program(void *ctx, const char *device, size_t *len)
{
    const struct range_saved *s = ctx;
    for (size_t i = 0; i < s->ndev; i++)
        if (s->dev[i].name && strcmp(s->dev[i].name, device) == 0 && s->dev[i].program) {
            *len = s->dev[i].program_len;
            return s->dev[i].program;
        }
    return NULL;
}

int range_snap_restore(struct range *r, struct range_saved *s, struct err *e)
{
    for (size_t i = 0; i < r->spec.ndev; i++) {
        struct range_dev *d = &r->spec.dev[i];
        char sec[96];
        if (d->plc) {
            snprintf(sec, sizeof sec, "dev/%s", d->name);
            if (plc_device_snap_load(d->plc, s->rd, sec, e) != 0)
                return -1;
        } else if (d->hmi) {
            snprintf(sec, sizeof sec, "hmi/%s", d->name);
            if (hmi_snap_load(d->hmi, s->rd, sec, e) != 0)
                return -1;
        }
        for (size_t k = 0; k < s->ndev; k++)
            if (s->dev[k].name && strcmp(s->dev[k].name, d->name) == 0 &&
                s->dev[k].nalarms == d->nalarms)
                for (size_t a = 0; a < d->nalarms; a++)
                    d->alarms[a].last = s->dev[k].alarm_last[a] != 0;
    }
    for (size_t i = 0; i < s->nlabels; i++)
        if (range_add_label(r, s->labels[i].from, s->labels[i].to, s->labels[i].technique,
                            s->labels[i].text, e) != 0)
            return -1;
    for (size_t i = 0; i < s->ninjects; i++)
        if (range_add_inject(r, s->inject_when[i], s->inject_text[i], e) != 0)
            return err_prefix(e, "the snapshot's inject '%s'", s->inject_text[i]);
    return 0;
}
