/* range_ctl.c — the range's answers to control requests (range/ctl.h):
 * status, pause, resume, speed, snapshot, restore, stop, label_start,
 * label_end. Runs in the loop's thread between scheduler events. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "range/range_int.h"

static json_t *fail(const char *fmt, const char *arg)
{
    char msg[600];
    snprintf(msg, sizeof msg, fmt, arg);
    return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *pause_range(struct range *r)
{
    if (r->loop) {
        rtloop_catch_up(r->loop);
        rtloop_set_speed(r->loop, 0);
    }
    r->paused = 1;
    return json_pack("{s:f}", "t_s", vt_to_sec(range_now(r)));
}

json_t *range_ctl_handle(void *ctx, json_t *req)
{
    struct range *r = ctx;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    struct err e;
    if (r->loop)
        rtloop_catch_up(r->loop);
    if (strcmp(cmd, "status") == 0)
        return range_status(r);
    if (strcmp(cmd, "pause") == 0)
        return pause_range(r);
    if (strcmp(cmd, "resume") == 0) {
        r->paused = 0;
        if (r->loop)
            rtloop_set_speed(r->loop, r->speed);
        return json_pack("{s:f}", "t_s", vt_to_sec(range_now(r)));
    }
    if (strcmp(cmd, "speed") == 0) {
        json_t *v = json_object_get(req, "speed");
        if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e6)
            return fail("speed: a number > 0 and <= 1000000 (%s)", "pause stops the clock");
        range_set_speed(r, json_number_value(v));
        return json_pack("{s:f}", "speed", r->speed);
    }
    if (strcmp(cmd, "snapshot") == 0 || strcmp(cmd, "restore") == 0) {
        const char *file = json_string_value(json_object_get(req, "file"));
        if (!file || !file[0])
            return fail("%s: needs \"file\"", cmd);
        if (cmd[0] == 's') {
            if (range_snapshot(r, file, &e) != 0)
                return fail("%s", e.msg);
            return json_pack("{s:s, s:f}", "file", file, "t_s", vt_to_sec(range_now(r)));
        }
        /* restore: check the file now, rebuild after the loop returns */
        struct range_saved s;
        if (range_snap_open(file, &s, &e) != 0)
            return fail("%s", e.msg);
        double t = vt_to_sec(s.t);
        vtime_t at = s.t;
        range_snap_close(&s);
        if (r->end != VT_NEVER && at >= r->end)
            return fail("restore: the snapshot was taken at or after this run's end (%s); "
                        "run without --duration to restore it", file);
        char *dup = strdup(file);
        if (!dup)
            return NULL;
        free(r->restart_path);
        r->restart_path = dup;
        range_request_stop(r);
        return json_pack("{s:s, s:f}", "file", file, "t_s", t);
    }
    if (strcmp(cmd, "stop") == 0) {
        range_request_stop(r);
        return json_pack("{s:f}", "t_s", vt_to_sec(range_now(r)));
    }
    if (strcmp(cmd, "label_start") == 0) {
        const char *tech = json_string_value(json_object_get(req, "technique"));
        const char *text = json_string_value(json_object_get(req, "text"));
        if (!tech)
            return fail("%s: needs \"technique\" (an ATT&CK for ICS id, T0836)", cmd);
        if (range_label_start(r, tech, text, &e) != 0)
            return fail("%s", e.msg);
        return json_pack("{s:f}", "t_s", vt_to_sec(range_now(r)));
    }
    if (strcmp(cmd, "label_end") == 0) {
        if (range_label_end(r, &e) != 0)
            return fail("%s", e.msg);
        return json_pack("{s:f}", "t_s", vt_to_sec(range_now(r)));
    }
    if (strcmp(cmd, "key") == 0) {
        const char *dev = json_string_value(json_object_get(req, "device"));
        const char *pos = json_string_value(json_object_get(req, "position"));
        enum plc_key k;
        if (!dev || !pos)
            return fail("%s: needs \"device\" and \"position\" (run, program, remote)", cmd);
        if (plc_key_parse(pos, &k) != 0)
            return fail("key: '%s' is not a position (run, program, remote)", pos);
        for (size_t i = 0; i < r->spec.ndev; i++)
            if (strcmp(r->spec.dev[i].name, dev) == 0 && r->spec.dev[i].plc) {
                plc_set_key(plc_device_plc(r->spec.dev[i].plc), k);
                return json_pack("{s:s, s:s}", "device", dev, "keyswitch", plc_key_name(k));
            }
        return fail("key: no PLC '%s' in this range", dev);
    }
    return fail("unknown command '%s' (status, pause, resume, speed, snapshot, restore, stop, "
                "label_start, label_end, key)", cmd);
}
