/* test_snap.c — the snapshot container (core/snap): every value type
 * round-trips bit for bit, sections are found by name in any order, and a
 * damaged file (any byte changed, any length cut, a missing section, reads
 * past a section's end) is refused with a message; a file is written
 * atomically, leaving no temporary file behind. */
#include <dirent.h>
#include <float.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/snap.h"
#include "testutil.h"

/* A snapshot with two sections and every type, in memory; caller frees. */
static uint8_t *sample(size_t *n)
{
    struct snapw *w = snapw_new();
    assert_non_null(w);
    snapw_section(w, "alpha");
    snapw_u8(w, 0);
    snapw_u8(w, 255);
    snapw_u32(w, 0xdeadbeef);
    snapw_u64(w, UINT64_MAX);
    snapw_i64(w, INT64_MIN);
    snapw_i64(w, -1);
    snapw_f64(w, -0.0);
    snapw_f64(w, DBL_MIN / 4); /* subnormal */
    snapw_f64(w, -INFINITY);
    uint64_t payload = 0x7ff8000000001234ull; /* a NaN with a payload */
    double nan_p;
    memcpy(&nan_p, &payload, sizeof nan_p);
    snapw_f64(w, nan_p);
    snapw_f64(w, 0.1);
    snapw_section(w, "beta/2");
    snapw_bytes(w, NULL, 0);
    snapw_bytes(w, "\0\1\2\3", 4);
    snapw_str(w, NULL);
    snapw_str(w, "");
    snapw_str(w, "héllo, plant");
    const uint8_t *d = snapw_data(w, n);
    assert_non_null(d);
    uint8_t *copy = malloc(*n);
    memcpy(copy, d, *n);
    snapw_free(w);
    return copy;
}

static int same_f64(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void every_type_round_trips(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = sample(&n);
    struct err e;
    struct snapr *r = snapr_load_mem(d, n, &e);
    if (!r)
        fail_msg("%s", e.msg);
    assert_true(snapr_has(r, "alpha"));
    assert_true(snapr_has(r, "beta/2"));
    assert_false(snapr_has(r, "beta"));
    /* sections are found in any order */
    assert_int_equal(snapr_section(r, "beta/2", &e), 0);
    size_t len;
    const uint8_t *b = snapr_bytes(r, &len);
    assert_int_equal(len, 0);
    (void)b;
    uint8_t four[4];
    snapr_bytes_into(r, four, 4);
    assert_memory_equal(four, "\0\1\2\3", 4);
    assert_null(snapr_str(r));
    assert_string_equal(snapr_str(r), "");
    assert_string_equal(snapr_str(r), "héllo, plant");
    assert_int_equal(snapr_left(r), 0);
    assert_int_equal(snapr_ok(r, &e), 0);

    assert_int_equal(snapr_section(r, "alpha", &e), 0);
    assert_int_equal(snapr_u8(r), 0);
    assert_int_equal(snapr_u8(r), 255);
    assert_true(snapr_u32(r) == 0xdeadbeef);
    assert_true(snapr_u64(r) == UINT64_MAX);
    assert_true(snapr_i64(r) == INT64_MIN);
    assert_true(snapr_i64(r) == -1);
    assert_true(same_f64(snapr_f64(r), -0.0));
    assert_true(same_f64(snapr_f64(r), DBL_MIN / 4));
    assert_true(same_f64(snapr_f64(r), -INFINITY));
    uint64_t payload = 0x7ff8000000001234ull, got;
    double v = snapr_f64(r);
    memcpy(&got, &v, sizeof got);
    assert_true(got == payload);
    assert_true(same_f64(snapr_f64(r), 0.1));
    assert_int_equal(snapr_left(r), 0);
    assert_int_equal(snapr_ok(r, &e), 0);
    /* a section read twice gives the same values */
    assert_int_equal(snapr_section(r, "alpha", &e), 0);
    assert_int_equal(snapr_u8(r), 0);
    assert_int_equal(snapr_u8(r), 255);
    snapr_free(r);
    free(d);
}

/* Integers are little-endian whatever the host: the bytes are fixed. */
static void layout_is_little_endian(void **state)
{
    (void)state;
    struct snapw *w = snapw_new();
    snapw_section(w, "x");
    snapw_u32(w, 0x01020304);
    size_t n;
    const uint8_t *d = snapw_data(w, &n);
    assert_non_null(d);
    /* "ICSRSNAP", version 1, 1 section, u16 1, "x", u64 4, body, hash */
    assert_int_equal(n, 8 + 4 + 4 + 2 + 1 + 8 + 4 + 32);
    assert_memory_equal(d, "ICSRSNAP\1\0\0\0\1\0\0\0\1\0x\4\0\0\0\0\0\0\0\4\3\2\1", 31);
    snapw_free(w);
}

/* An empty snapshot (no sections) is valid. */
static void empty_snapshot(void **state)
{
    (void)state;
    struct snapw *w = snapw_new();
    size_t n;
    const uint8_t *d = snapw_data(w, &n);
    struct err e;
    struct snapr *r = snapr_load_mem(d, n, &e);
    assert_non_null(r);
    assert_false(snapr_has(r, "plant"));
    assert_int_equal(snapr_left(r), 0);
    snapr_free(r);
    snapw_free(w);
}

/* snapw_data() may be called mid-section and writing go on: the section
 * then holds every value (its length is not frozen by the first call). */
static void data_then_more_values(void **state)
{
    (void)state;
    struct snapw *w = snapw_new();
    snapw_section(w, "s");
    snapw_u32(w, 7);
    size_t n;
    assert_non_null(snapw_data(w, &n));
    snapw_u32(w, 8);
    snapw_section(w, "t");
    snapw_u8(w, 9);
    const uint8_t *d = snapw_data(w, &n);
    struct err e;
    struct snapr *r = snapr_load_mem(d, n, &e);
    if (!r)
        fail_msg("%s", e.msg);
    assert_int_equal(snapr_section(r, "s", &e), 0);
    assert_int_equal(snapr_u32(r), 7);
    assert_int_equal(snapr_u32(r), 8);
    assert_int_equal(snapr_left(r), 0);
    assert_int_equal(snapr_section(r, "t", &e), 0);
    assert_int_equal(snapr_u8(r), 9);
    assert_int_equal(snapr_ok(r, &e), 0);
    snapr_free(r);
    snapw_free(w);
}

static void checksum_mismatch_detected(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = sample(&n);
    struct err e;
    /* every byte, the checksum's own included */
    for (size_t i = 0; i < n; i++) {
        d[i] ^= 0x01;
        struct snapr *r = snapr_load_mem(d, n, &e);
        if (r)
            fail_msg("byte %zu of %zu flipped and the snapshot was accepted", i, n);
        d[i] ^= 0x01;
    }
    /* a body byte: the checksum says so */
    d[40] ^= 0x80;
    assert_null(snapr_load_mem(d, n, &e));
    TU_CONTAINS(e.msg, "checksum mismatch");
    d[40] ^= 0x80;
    /* the magic, the version */
    d[0] = 'X';
    assert_null(snapr_load_mem(d, n, &e));
    TU_CONTAINS(e.msg, "not an icsrange snapshot");
    d[0] = 'I';
    d[8] = 2;
    assert_null(snapr_load_mem(d, n, &e));
    TU_CONTAINS(e.msg, "snapshot format 2");
    d[8] = 1;
    struct snapr *r = snapr_load_mem(d, n, &e);
    assert_non_null(r);
    snapr_free(r);
    free(d);
}

static void truncated_refused(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = sample(&n);
    struct err e;
    for (size_t cut = 0; cut < n; cut++) {
        struct snapr *r = snapr_load_mem(d, cut, &e);
        if (r)
            fail_msg("a snapshot cut to %zu of %zu bytes was accepted", cut, n);
    }
    /* bytes appended are refused too */
    uint8_t *more = malloc(n + 1);
    memcpy(more, d, n);
    more[n] = 0;
    assert_null(snapr_load_mem(more, n + 1, &e));
    free(more);
    /* and a truncated file names the file */
    const char *path = tu_tmp("cut.snap");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(d, 1, n / 2, f);
    fclose(f);
    assert_null(snapr_load_file(path, &e));
    TU_CONTAINS(e.msg, path);
    TU_CONTAINS(e.msg, "checksum");
    assert_null(snapr_load_file(tu_tmp("absent.snap"), &e));
    TU_CONTAINS(e.msg, "absent.snap");
    free(d);
}

/* A missing section, reading past a section's end, a byte run of the
 * wrong length, a module's own check: sticky errors naming the section. */
static void unknown_section_and_sticky_errors(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = sample(&n);
    struct err e;
    struct snapr *r = snapr_load_mem(d, n, &e);
    assert_int_equal(snapr_section(r, "gamma", &e), -1);
    TU_CONTAINS(e.msg, "no section 'gamma'");
    assert_int_equal(snapr_ok(r, &e), -1);
    TU_CONTAINS(e.msg, "gamma");
    snapr_free(r);

    r = snapr_load_mem(d, n, &e);
    assert_int_equal(snapr_section(r, "beta/2", &e), 0);
    uint8_t three[3];
    snapr_bytes_into(r, three, 3); /* the first run is empty */
    assert_int_equal(snapr_ok(r, &e), -1);
    TU_CONTAINS(e.msg, "section beta/2");
    TU_CONTAINS(e.msg, "0 bytes where 3");
    snapr_free(r);

    r = snapr_load_mem(d, n, &e);
    assert_int_equal(snapr_section(r, "alpha", &e), 0);
    for (int i = 0; i < 20; i++)
        (void)snapr_u64(r);
    /* after the error every read gives 0 */
    assert_int_equal(snapr_u8(r), 0);
    assert_int_equal(snapr_ok(r, &e), -1);
    TU_CONTAINS(e.msg, "snapshot: section alpha: ends early");
    snapr_free(r);

    r = snapr_load_mem(d, n, &e);
    assert_int_equal(snapr_section(r, "alpha", &e), 0);
    snapr_fail(r, "%d tanks, the plant has %d", 3, 2);
    snapr_fail(r, "a second error is not kept");
    assert_int_equal(snapr_ok(r, &e), -1);
    TU_CONTAINS(e.msg, "section alpha: 3 tanks, the plant has 2");
    snapr_free(r);

    /* a read before any section */
    r = snapr_load_mem(d, n, &e);
    (void)snapr_u32(r);
    assert_int_equal(snapr_ok(r, &e), -1);
    TU_CONTAINS(e.msg, "outside a section");
    snapr_free(r);
    free(d);
}

/* A section table that does not add up, under a right checksum (as a
 * hand-made file would have): refused by the table's own checks. */
static void rehash(uint8_t *d, size_t n)
{
    crypto_generichash(d + n - 32, 32, d, n - 32, NULL, 0);
}

static void damaged_section_table(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = sample(&n);
    struct err e;
    struct {
        size_t at;
        uint8_t v;
    } bad[] = {
        {12, 3},    /* three sections, two present */
        {12, 1},    /* one section, bytes left over */
        {12, 0xff}, /* a huge count */
        {15, 0x7f},
        {16, 0xff}, /* first name's length past the end */
        {17, 0xff},
        {23, 0xff}, /* first body's length past the end */
        {30, 0x80},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *f = malloc(n);
        memcpy(f, d, n);
        f[bad[i].at] = bad[i].v;
        rehash(f, n);
        struct snapr *r = snapr_load_mem(f, n, &e);
        if (r)
            fail_msg("damage %zu accepted", i);
        TU_CONTAINS(e.msg, "damaged snapshot");
        free(f);
    }
    /* the same bytes rehashed unchanged are fine */
    rehash(d, n);
    struct snapr *r = snapr_load_mem(d, n, &e);
    assert_non_null(r);
    snapr_free(r);
    free(d);
}

/* The file is written under a temporary name and renamed: after a save
 * the folder holds the file alone, an old file is replaced whole, and a
 * save that cannot be made leaves nothing. */
static void atomic_save_leaves_no_temp_file(void **state)
{
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmp("savedir.XXXXXX"));
    assert_non_null(mkdtemp(dir)); /* fresh even when TEST_TMP is reused */
    char path[1100];
    snprintf(path, sizeof path, "%s/range.snap", dir);
    struct err e;
    for (int round = 0; round < 2; round++) {
        struct snapw *w = snapw_new();
        snapw_section(w, "plant");
        snapw_u32(w, (uint32_t)round);
        if (snapw_save_file(w, path, &e) != 0)
            fail_msg("%s", e.msg);
        snapw_free(w);
        DIR *dd = opendir(dir);
        assert_non_null(dd);
        int files = 0;
        struct dirent *de;
        while ((de = readdir(dd)))
            if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                files++;
                assert_string_equal(de->d_name, "range.snap");
            }
        closedir(dd);
        assert_int_equal(files, 1);
        struct snapr *r = snapr_load_file(path, &e);
        if (!r)
            fail_msg("%s", e.msg);
        assert_int_equal(snapr_section(r, "plant", &e), 0);
        assert_int_equal(snapr_u32(r), round);
        snapr_free(r);
    }
    /* into a folder that does not exist */
    char bad[1200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.snap", dir);
    struct snapw *w = snapw_new();
    snapw_section(w, "plant");
    assert_int_equal(snapw_save_file(w, bad, &e), -1);
    TU_CONTAINS(e.msg, "x.snap");
    snapw_free(w);
    /* over a folder (the rename fails): the temporary file is removed */
    char sub[1200];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    char inner[1300];
    snprintf(inner, sizeof inner, "%s/f", sub);
    FILE *f = fopen(inner, "w");
    fclose(f);
    w = snapw_new();
    assert_int_equal(snapw_save_file(w, sub, &e), -1);
    snapw_free(w);
    DIR *dd = opendir(dir);
    int files = 0;
    struct dirent *de;
    while ((de = readdir(dd)))
        if (de->d_name[0] != '.')
            files++;
    closedir(dd);
    assert_int_equal(files, 2); /* range.snap and sub: no temporary */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_round_trips),
        cmocka_unit_test(layout_is_little_endian),
        cmocka_unit_test(empty_snapshot),
        cmocka_unit_test(data_then_more_values),
        cmocka_unit_test(checksum_mismatch_detected),
        cmocka_unit_test(truncated_refused),
        cmocka_unit_test(unknown_section_and_sticky_errors),
        cmocka_unit_test(damaged_section_table),
        cmocka_unit_test(atomic_save_leaves_no_temp_file),
    };
    return cmocka_run_group_tests_name("snap", tests, NULL, NULL);
}
