/* fuzz_snap.c — libFuzzer harness for restoring a plant from a snapshot
 * file it did not write: the input bytes are a snapshot file (core/snap.h)
 * read with the snapr API, and its section "plant" is restored into the
 * waterworks (plants/waterworks.yaml under $ICSRANGE_ROOT, or the current
 * folder: make fuzz runs from the repository root).
 *
 * A mutated file almost never keeps its checksum, so each input is read
 * twice: as it is (the checksum path), then with its last 32 bytes
 * replaced by the right checksum, so that the section table and the
 * plant's own checks see the mutations. Checked beyond "no crash, no
 * leak, no hang":
 *   - a refused restore leaves the plant untouched (its own snapshot is
 *     byte for byte the one before);
 *   - an accepted one saves back to the very bytes of the input's section;
 *   - a plant restored from it attaches at the snapshot's instant and
 *     runs one virtual second of physics and samples.
 * One plant, loaded once, takes every restore (a plant is restored any
 * number of times before its attach); the runs use a fresh one each.
 *
 * The seeds in fuzz/corpus/fuzz_snap/ are waterworks snapshots written by
 * the library: unattached, at 0, mid-run with faults and a dosing pipe of
 * many segments, at an instant between physics steps.
 */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/sched.h"
#include "core/snap.h"
#include "sim/plant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg *cfg;
static struct plant *plant; /* takes every restore; never attached */

static void setup(void)
{
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    const char *root = getenv("ICSRANGE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/plants/waterworks.yaml", root ? root : ".");
    struct err e;
    cfg = cfg_load_file(path, &e);
    if (cfg)
        plant = plant_load(cfg, 1, foreign, &e);
    if (!plant) {
        fprintf(stderr, "fuzz_snap: %s (run from the repository root or set ICSRANGE_ROOT)\n",
                e.msg);
        abort();
    }
}

/* The plant's own snapshot; caller frees. */
static uint8_t *save(const struct plant *p, size_t *n)
{
    struct snapw *w = snapw_new();
    if (!w)
        abort();
    plant_snap_save(p, w);
    const uint8_t *d = snapw_data(w, n);
    uint8_t *copy = d ? malloc(*n) : NULL;
    if (!copy)
        abort();
    memcpy(copy, d, *n);
    snapw_free(w);
    return copy;
}

/* The raw bytes of section "plant", read byte by byte; caller frees. */
static uint8_t *plant_body(struct snapr *r, size_t *n)
{
    struct err e;
    if (snapr_section(r, "plant", &e) != 0)
        abort();
    *n = snapr_left(r);
    uint8_t *b = malloc(*n ? *n : 1);
    if (!b)
        abort();
    for (size_t i = 0; i < *n; i++)
        b[i] = snapr_u8(r);
    if (snapr_ok(r, &e) != 0)
        abort();
    return b;
}

/* The snapshot's instant, from an accepted section (1 if it has times). */
static int instant(struct snapr *r, vtime_t *at)
{
    struct err e;
    if (snapr_section(r, "plant", &e) != 0)
        abort();
    (void)snapr_str(r);
    uint32_t n = snapr_u32(r);
    (void)snapr_i64(r);
    for (uint32_t i = 0; i < n; i++) {
        (void)snapr_str(r);
        (void)snapr_str(r);
    }
    int has = snapr_u8(r);
    *at = has ? snapr_i64(r) : 0;
    if (snapr_ok(r, &e) != 0)
        abort();
    return has;
}

/* A fresh plant restored from r, attached at the snapshot's instant, run
 * for a virtual second. */
static void run_restored(struct snapr *r)
{
    static const char *const foreign[] = {"devices", "network", "historian", NULL};
    struct err e;
    vtime_t at;
    instant(r, &at);
    struct plant *p = plant_load(cfg, 1, foreign, &e);
    struct sched *s = sched_new();
    if (!p || !s)
        abort();
    if (plant_snap_load(p, r, &e) != 0) {
        fprintf(stderr, "fuzz_snap: accepted once, refused then: %s\n", e.msg);
        abort();
    }
    sched_set_now(s, at);
    if (plant_attach(p, s, &e) != 0) {
        fprintf(stderr, "fuzz_snap: restored but not attached: %s\n", e.msg);
        abort();
    }
    sched_run_until(s, at + VT_SEC);
    for (size_t i = 0; i < plant_ncolumns(p); i++)
        (void)plant_column_value(p, i);
    struct plant_metric m[64];
    (void)plant_metrics(p, m, 64);
    sched_free(s);
    plant_free(p);
}

static void restore(const uint8_t *data, size_t size)
{
    struct err e;
    struct snapr *r = snapr_load_mem(data, size, &e);
    if (!r)
        return;
    size_t nb;
    uint8_t *before = save(plant, &nb);
    if (plant_snap_load(plant, r, &e) != 0) {
        size_t na;
        uint8_t *after = save(plant, &na);
        if (na != nb || memcmp(before, after, na) != 0) {
            fprintf(stderr, "fuzz_snap: refused (%s) but the plant changed\n", e.msg);
            abort();
        }
        free(after);
    } else {
        size_t ni, ns;
        uint8_t *in = plant_body(r, &ni);
        uint8_t *saved = save(plant, &ns);
        struct snapr *rs = snapr_load_mem(saved, ns, &e);
        if (!rs)
            abort();
        uint8_t *out = plant_body(rs, &ns);
        if (ni != ns || memcmp(in, out, ni) != 0) {
            fprintf(stderr, "fuzz_snap: accepted, saved back to other bytes\n");
            abort();
        }
        free(in);
        free(out);
        free(saved);
        snapr_free(rs);
        run_restored(r);
    }
    free(before);
    snapr_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!plant)
        setup();
    restore(data, size);
    if (size >= 32) {
        uint8_t *fixed = malloc(size);
        if (!fixed)
            return 0;
        memcpy(fixed, data, size);
        crypto_generichash(fixed + size - 32, 32, fixed, size - 32, NULL, 0);
        restore(fixed, size);
        free(fixed);
    }
    return 0;
}
