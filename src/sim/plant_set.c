/* plant_set.c — what the command lines of `sim`, `run` and `dataset` share
 * about a plant: `--set TAG.PARAM=VALUE` overrides of the plant file, and
 * the instants `--at` accepts. */
#include <stdio.h>
#include <string.h>

#include "sim/plant.h"

int plant_cfg_set(struct cfg *c, const char *text, struct err *e)
{
    const char *eq = strchr(text, '=');
    const char *dot = strchr(text, '.');
    if (!eq || !dot || dot > eq || dot == text || eq == dot + 1)
        return err_set(e, "--set %s: expected TAG.PARAM=VALUE", text);
    char tag[64], param[64];
    size_t nt = (size_t)(dot - text), np = (size_t)(eq - dot - 1);
    if (nt >= sizeof tag || np >= sizeof param)
        return err_set(e, "--set %s: name too long", text);
    memcpy(tag, text, nt);
    tag[nt] = '\0';
    memcpy(param, dot + 1, np);
    param[np] = '\0';
    if (strcmp(param, "id") == 0 || strcmp(param, "type") == 0)
        return err_set(e, "--set %s: the id and type of a component cannot be overridden", text);
    cfg_node list = cfg_get(c, cfg_root(c), "components");
    for (size_t i = 0; i < cfg_len(c, list); i++) {
        cfg_node m = cfg_item(c, list, i);
        const char *id = cfg_scalar(c, cfg_get(c, m, "id"));
        if (id && strcmp(id, tag) == 0) {
            char origin[256];
            snprintf(origin, sizeof origin, "--set %s", text);
            return cfg_override(c, m, param, eq + 1, origin, e);
        }
    }
    return err_set(e, "--set %s: no component '%s' in %s", text, tag, cfg_name(c));
}

int plant_parse_when(const struct plant *p, const char *s, vtime_t *out, struct err *e)
{
    if (strchr(s, 'T') && strchr(s, '-')) {
        int64_t ns;
        if (vt_parse_iso(s, &ns, e) != 0)
            return -1;
        if (ns < plant_start_unix_ns(p))
            return err_set(e, "%s is before the plant's start", s);
        *out = ns - plant_start_unix_ns(p);
        return 0;
    }
    return vt_parse_duration(s, out, e);
}
