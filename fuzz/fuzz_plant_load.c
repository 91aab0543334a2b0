/* fuzz_plant_load.c — libFuzzer harness for the plant loader: YAML bytes
 * in, a plant or an error out; never a crash, a hang or a leak. A plant
 * that loads is attached and run for 100 physics steps, and its columns,
 * metrics, wiring and commands are exercised, so that whatever the loader
 * accepts is also safe to simulate. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/cfg.h"
#include "core/sched.h"
#include "sim/plant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    struct cfg *c = cfg_load_buffer("fuzz.yaml", (const char *)data, size, &e);
    if (!c)
        return 0;
    static const char *const foreign[] = {"devices", NULL};
    struct plant *p = plant_load(c, 1, foreign, &e);
    if (p) {
        struct sched *s = sched_new();
        if (s && plant_attach(p, s, &e) == 0) {
            sched_run_until(s, 100 * plant_dt(p));
            for (size_t i = 0; i < plant_ncolumns(p); i++)
                (void)plant_column_value(p, i);
            struct plant_metric m[64];
            (void)plant_metrics(p, m, 64);
            char line[256];
            plant_status_line(p, line, sizeof line);
            for (size_t i = 0; i < plant_nwires(p); i++) {
                const struct plant_wire *w = plant_wire_at(p, i);
                if (w->port.is_input)
                    plant_port_write(p, &w->port, 0.5);
                else
                    (void)plant_port_read(p, &w->port);
            }
            /* every component takes a few commands, good or bad */
            static const char *const cmds[] = {"=50%", "=open", "=11100", ".fault=stuck",
                                               ".drift=1 mm/min", ".run=off", ".permit=0",
                                               "=-1", ".demand=unlimited"};
            for (size_t i = 0; i < plant_ncomponents(p); i++)
                for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
                    char text[128];
                    snprintf(text, sizeof text, "%s%s", plant_comp_id(p, i), cmds[k]);
                    struct plant_cmd cmd;
                    if (plant_cmd_parse(p, text, &cmd, &e) == 0)
                        plant_cmd_apply(p, &cmd);
                }
            sched_run_until(s, 200 * plant_dt(p));
        }
        sched_free(s);
        plant_free(p);
    }
    cfg_free(c);
    return 0;
}
