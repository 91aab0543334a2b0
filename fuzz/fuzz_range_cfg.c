/* fuzz_range_cfg.c — libFuzzer harness for the range's sections of a plant
 * file (devices, network, historian; src/range/range_cfg.c): YAML bytes
 * in, a device specification or an error out; never a crash, a hang or a
 * leak. Programs come from a callback (no file is read), so every device
 * that names one gets a small program text. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "range/range_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char program[] = "PROGRAM p\nVAR x : INT; END_VAR\nx := x + 1;\nEND_PROGRAM\n";

static const char *programs(void *ctx, const char *device, size_t *len)
{
    (void)ctx;
    (void)device;
    *len = sizeof program - 1;
    return program;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err e;
    struct cfg *c = cfg_load_buffer("fuzz.yaml", (const char *)data, size, &e);
    if (!c)
        return 0;
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    struct plant *p = plant_load(c, 1, foreign, &e);
    if (p) {
        struct range_spec sp;
        if (range_spec_load(&sp, c, p, "/nonexistent", programs, NULL, &e) == 0) {
            /* what a loaded spec promises: unique hosts, reads of PLCs */
            for (size_t i = 0; i < sp.ndev; i++) {
                for (size_t j = i + 1; j < sp.ndev; j++)
                    if (sp.dev[i].host == sp.dev[j].host)
                        __builtin_trap();
                for (size_t k = 0; k < sp.dev[i].nreads; k++)
                    if (sp.dev[sp.dev[i].reads[k].target].kind == RK_HMI)
                        __builtin_trap();
            }
        }
        range_spec_free(&sp);
        plant_free(p);
    }
    cfg_free(c);
    return 0;
}
