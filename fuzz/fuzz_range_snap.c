/* fuzz_range_snap.c — libFuzzer harness for the range's section of a
 * snapshot (src/range/range_snap.c): snapshot bytes in, the saved plant
 * text, settings, devices, injects and labels or an error out; never a
 * crash, a hang or a leak. As in fuzz_snap, each input is also read with
 * its checksum corrected, so that mutations reach the section's own
 * checks. What is accepted is then used as range_new() uses it: the plant
 * text is parsed and each device's program looked up. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range/range_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_one(const uint8_t *data, size_t size)
{
    struct err e;
    struct snapr *rd = snapr_load_mem(data, size, &e);
    if (!rd)
        return;
    struct range_saved s;
    if (range_snap_read(rd, &s, &e) != 0)
        return;
    struct cfg *c = cfg_load_buffer(s.plant_path, s.plant_text, s.plant_len, &e);
    cfg_free(c);
    for (size_t i = 0; i < s.ndev; i++) {
        size_t len = 0;
        if (s.dev[i].name)
            (void)range_snap_program(&s, s.dev[i].name, &len);
    }
    for (size_t i = 0; i < s.nsets; i++)
        if (!s.sets[i])
            __builtin_trap();
    range_snap_close(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0)
        return 0;
    read_one(data, size);
    if (size > 32) {
        uint8_t *fixed = malloc(size);
        if (!fixed)
            return 0;
        memcpy(fixed, data, size);
        crypto_generichash(fixed + size - 32, 32, fixed, size - 32, NULL, 0);
        read_one(fixed, size);
        free(fixed);
    }
    return 0;
}
