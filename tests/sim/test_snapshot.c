/* test_snapshot.c — a plant saved mid-run and restored into a freshly
 * loaded plant continues bit for bit: every column of the restored run
 * equals, as doubles compared byte for byte, the run that was never
 * interrupted. Snapshots are taken at an instant aligned with the physics
 * step and the sensor periods, and at one that is not (1234.567 s). The
 * refusals: another plant's snapshot, a damaged section (the plant left
 * untouched), an attached plant, a clock not at the snapshot's instant.
 *
 * Runs are driven in whole virtual seconds: after the events up to second
 * k have run, every column is recorded and the commands due at k applied,
 * in the same way in every run, so the runs can differ only through the
 * snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/sched.h"
#include "core/snap.h"
#include "sim/plant.h"
#include "testutil.h"

#define SEED 42

/* Keys of the plant file the range reads, not the plant. */
static const char *const range_keys[] = {"devices", "network", "historian", NULL};

/* ---- a scenario: a plant file, commands at whole seconds, a length ---- */

struct cmd_at {
    int64_t sec;
    const char *text;
};

struct scenario {
    const char *plant; /* relative to the source tree */
    const struct cmd_at *cmds; /* ends with a NULL text */
    int64_t nsec;      /* the run: [0, nsec] seconds */
};

/* Waterworks: demand on (diurnal, then unlimited for a while, then
 * diurnal again; unlimited at 1234.567 s), a drifting and a stuck
 * transmitter, a stuck switch, noise changed, valves moved shortly before
 * each snapshot instant (still travelling at it), and the dosing setpoint
 * changed every 5 s for the last minutes so the transport pipe holds
 * dozens of segments (its ring grows past its first 64) when the snapshot
 * is taken. Commands continue after the snapshot. */
static struct cmd_at waterworks_cmds[128];
static char waterworks_texts[128][64];

static const struct cmd_at *waterworks_script(void)
{
    static const struct cmd_at fixed[] = {
        {20, "LT-101.drift=2 mm/min"},
        {40, "LT-201.noise=4 mm"},
        {60, "LSL-101.fault=stuck"},
        {90, "AT-301.offset=0.2 pH"},
        {300, "intake=0"},
        {400, "P-101=90%"}, /* the sump runs dry at about 1220 s */
        {700, "consumers.demand=unlimited"},
        {760, "consumers.demand=diurnal"},
        {1199, "FV-102=70%"},
        {1230, "consumers.demand=unlimited"},
        {1233, "XV-101=closed"},
        {1236, "XV-101=open"},
        {1240, "FT-102.fault=stuck"},
        {1240, "consumers.demand=diurnal"},
        {1249, "FV-102=55%"},
        {1250, "P-101=off"},
        {1260, "FV-102=40%"},
        {1270, "LT-101.fault=dead"},
        {1280, "LSH-101.fault=on"},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        waterworks_cmds[n++] = fixed[i];
    for (int64_t s = 900, k = 0; s <= 1290 && n + 1 < 128; s += 5, k++) {
        snprintf(waterworks_texts[n], sizeof waterworks_texts[n], "dosing=%d mg/L",
                 (int)(80 + (k * 37) % 400));
        waterworks_cmds[n].sec = s;
        waterworks_cmds[n].text = waterworks_texts[n];
        n++;
    }
    waterworks_cmds[n] = (struct cmd_at){0, NULL};
    return waterworks_cmds;
}

static const struct cmd_at two_tanks_cmds[] = {
    {10, "LT-1.drift=1 cm/min"},
    {100, "P-1=80%"},
    {150, "V-2=30%"},
    {300, "LT-2.offset=2 cm"},
    {1199, "V-12=60%"},
    {1233, "P-1=20%"},
    {1249, "V-2=90%"},
    {1250, "V-12=60%"},
    {1270, "LT-1.fault=stuck"},
    {0, NULL},
};

/* ---- a plant in its scheduler ---- */

struct sim {
    struct cfg *cfg;
    struct plant *p;
    struct sched *s;
    const struct scenario *sc;
    size_t ncols;    /* plant columns, wired signals, then metrics */
    size_t nmetrics;
    struct plant_metric *m;
    double *rec;     /* (nsec + 1) rows of ncols + nmetrics */
    unsigned char *have; /* rows recorded */
};

static void sim_load(struct sim *x, const struct scenario *sc)
{
    memset(x, 0, sizeof *x);
    struct err e;
    x->sc = sc;
    x->cfg = cfg_load_file(tu_path(sc->plant), &e);
    if (!x->cfg)
        fail_msg("%s", e.msg);
    x->p = plant_load(x->cfg, SEED, range_keys, &e);
    if (!x->p)
        fail_msg("%s", e.msg);
    x->nmetrics = plant_metrics(x->p, NULL, 0);
    x->m = calloc(x->nmetrics, sizeof *x->m);
    assert_non_null(x->m);
    x->ncols = plant_ncolumns(x->p) + plant_nwires(x->p) + x->nmetrics;
    x->rec = calloc((size_t)(sc->nsec + 1) * x->ncols, sizeof *x->rec);
    x->have = calloc((size_t)sc->nsec + 1, 1);
    assert_non_null(x->rec);
    assert_non_null(x->have);
}

static void sim_free(struct sim *x)
{
    plant_free(x->p);
    sched_free(x->s);
    cfg_free(x->cfg);
    free(x->rec);
    free(x->have);
    free(x->m);
    memset(x, 0, sizeof *x);
}

/* Every column, every wired signal (a transmitter's raw counts) and every
 * metric (totals, maxima, damage: state the columns do not show). */
static void record(struct sim *x, int64_t sec)
{
    double *row = x->rec + (size_t)sec * x->ncols;
    size_t nc = plant_ncolumns(x->p), nw = plant_nwires(x->p);
    for (size_t i = 0; i < nc; i++)
        row[i] = plant_column_value(x->p, i);
    for (size_t i = 0; i < nw; i++)
        row[nc + i] = plant_port_read(x->p, &plant_wire_at(x->p, i)->port);
    nc += nw;
    assert_int_equal(plant_metrics(x->p, x->m, x->nmetrics), x->nmetrics);
    for (size_t i = 0; i < x->nmetrics; i++)
        row[nc + i] = x->m[i].value;
    x->have[sec] = 1;
}

static void name_of(const struct sim *x, size_t i, char *buf, size_t len)
{
    size_t nc = x->ncols - x->nmetrics, ncol = plant_ncolumns(x->p);
    if (i < ncol)
        snprintf(buf, len, "column %s", plant_column_name(x->p, i));
    else if (i < nc)
        snprintf(buf, len, "wire %zu", i - ncol);
    else
        snprintf(buf, len, "metric %s%s%s", x->m[i - nc].comp ? x->m[i - nc].comp : "",
                 x->m[i - nc].comp ? "." : "", x->m[i - nc].name);
}

static void commands_at(struct sim *x, int64_t sec)
{
    for (const struct cmd_at *c = x->sc->cmds; c->text; c++) {
        if (c->sec != sec)
            continue;
        struct plant_cmd cmd;
        struct err e;
        if (plant_cmd_parse(x->p, c->text, &cmd, &e) != 0)
            fail_msg("%s: %s", c->text, e.msg);
        plant_cmd_apply(x->p, &cmd);
    }
}

/* Attaches at `at` (0 for a fresh start; a restored plant's instant
 * otherwise). A fresh start records second 0 and applies its commands. */
static void sim_attach(struct sim *x, vtime_t at)
{
    struct err e;
    x->s = sched_new();
    assert_non_null(x->s);
    sched_set_now(x->s, at);
    if (plant_attach(x->p, x->s, &e) != 0)
        fail_msg("attach: %s", e.msg);
    if (at == 0) {
        record(x, 0);
        commands_at(x, 0);
    }
}

/* Runs from the clock's time to `to`, recording and commanding at every
 * whole second on the way. */
static void sim_run(struct sim *x, vtime_t to)
{
    vtime_t from = sched_now(x->s);
    for (int64_t sec = from / VT_SEC + 1; sec * VT_SEC <= to; sec++) {
        sched_run_until(x->s, sec * VT_SEC);
        record(x, sec);
        commands_at(x, sec);
    }
    sched_run_until(x->s, to);
    assert_true(sched_now(x->s) == to);
}

/* Fails naming the first column and second where b differs from a (bytes
 * of the doubles) over seconds [s0, s1]. */
static void same_rows(const struct sim *a, const struct sim *b, int64_t s0, int64_t s1,
                      const char *what)
{
    assert_int_equal(a->ncols, b->ncols);
    for (int64_t s = s0; s <= s1; s++) {
        if (!a->have[s] || !b->have[s])
            fail_msg("%s: second %lld not recorded", what, (long long)s);
        const double *ra = a->rec + (size_t)s * a->ncols, *rb = b->rec + (size_t)s * b->ncols;
        if (memcmp(ra, rb, a->ncols * sizeof *ra) == 0)
            continue;
        for (size_t i = 0; i < a->ncols; i++)
            if (memcmp(&ra[i], &rb[i], sizeof ra[i]) != 0) {
                char name[128];
                name_of(a, i, name, sizeof name);
                fail_msg("%s: %s at %lld s: %.17g, uninterrupted %.17g", what, name,
                         (long long)s, rb[i], ra[i]);
            }
    }
}

/* The bytes of a snapshot holding the plant's section alone; caller frees. */
static uint8_t *snap_bytes(const struct plant *p, size_t *len)
{
    struct snapw *w = snapw_new();
    assert_non_null(w);
    plant_snap_save(p, w);
    const uint8_t *d = snapw_data(w, len);
    assert_non_null(d);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, d, *len);
    snapw_free(w);
    return copy;
}

static int same_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* Loads a snapshot from memory into x's plant; returns plant_snap_load's
 * result with its message in e. */
static int restore_mem(struct sim *x, const uint8_t *d, size_t n, struct err *e)
{
    struct snapr *r = snapr_load_mem(d, n, e);
    if (!r)
        return -1;
    int rc = plant_snap_load(x->p, r, e);
    snapr_free(r);
    return rc;
}

/* Number of physics steps in (t0, t1] of a plant stepping at multiples of
 * dt (attached at 0). */
static uint64_t steps_between(vtime_t t0, vtime_t t1, vtime_t dt)
{
    return (uint64_t)(t1 / dt - t0 / dt);
}

/* The core property: A runs [0, N] uninterrupted; B runs to T and is
 * saved to a file; C, a fresh plant in a new scheduler, loads the file,
 * attaches at T and runs to N. C equals A after T, B (continued after its
 * save) equals A throughout, C re-saved before and after its attach gives
 * the original bytes, and the three end in the same state (their
 * snapshots at N are identical). */
static void continues_bit_exact(const struct scenario *sc, vtime_t T)
{
    vtime_t N = sc->nsec * VT_SEC;
    struct sim a, b, c;
    struct err e;

    sim_load(&a, sc);
    sim_attach(&a, 0);
    sim_run(&a, N);
    vtime_t dt = plant_dt(a.p);
    assert_true(plant_steps(a.p) == steps_between(0, N, dt));

    sim_load(&b, sc);
    sim_attach(&b, 0);
    sim_run(&b, T);
    size_t n;
    uint8_t *orig = snap_bytes(b.p, &n);
    struct snapw *w = snapw_new();
    plant_snap_save(b.p, w);
    const char *file = tu_tmp("plant.snap");
    if (snapw_save_file(w, file, &e) != 0)
        fail_msg("%s", e.msg);
    snapw_free(w);
    /* saving changes nothing: B continues like A */
    sim_run(&b, N);
    same_rows(&a, &b, 0, sc->nsec, "saved run");

    sim_load(&c, sc);
    struct snapr *r = snapr_load_file(file, &e);
    if (!r)
        fail_msg("%s", e.msg);
    if (plant_snap_load(c.p, r, &e) != 0)
        fail_msg("restore: %s", e.msg);
    snapr_free(r); /* the plant keeps nothing of the reader */
    size_t n2;
    uint8_t *again = snap_bytes(c.p, &n2);
    assert_true(same_bytes(orig, n, again, n2));
    free(again);
    sim_attach(&c, T);
    again = snap_bytes(c.p, &n2);
    assert_true(same_bytes(orig, n, again, n2));
    free(again);
    sim_run(&c, N);
    same_rows(&a, &c, T / VT_SEC + 1, sc->nsec, "restored run");
    /* the restored plant counts its steps from the restore */
    assert_true(plant_steps(c.p) == steps_between(T, N, dt));
    assert_true(plant_steps(b.p) == plant_steps(a.p));
    /* and at the end the whole state is the same: the snapshots at N of
     * the three runs are identical */
    uint8_t *end_a = snap_bytes(a.p, &n), *end_b = snap_bytes(b.p, &n2);
    assert_true(same_bytes(end_a, n, end_b, n2));
    free(end_b);
    end_b = snap_bytes(c.p, &n2);
    assert_true(same_bytes(end_a, n, end_b, n2));
    free(end_b);
    free(end_a);

    free(orig);
    sim_free(&a);
    sim_free(&b);
    sim_free(&c);
}

static struct scenario waterworks(void)
{
    return (struct scenario){"plants/waterworks.yaml", waterworks_script(), 1300};
}

static const struct scenario two_tanks = {"plants/two_tanks.yaml", two_tanks_cmds, 1300};

static void waterworks_aligned(void **state)
{
    (void)state;
    struct scenario sc = waterworks();
    /* a physics step, every 100 ms sample and the 1 s pH sample at 1200 s */
    continues_bit_exact(&sc, 1200 * VT_SEC);
}

static void waterworks_unaligned(void **state)
{
    (void)state;
    struct scenario sc = waterworks();
    continues_bit_exact(&sc, 1234 * VT_SEC + 567 * VT_MS);
}

static void two_tanks_aligned(void **state)
{
    (void)state;
    continues_bit_exact(&two_tanks, 1200 * VT_SEC);
}

static void two_tanks_unaligned(void **state)
{
    (void)state;
    continues_bit_exact(&two_tanks, 1234 * VT_SEC + 567 * VT_MS);
}

/* An instant 1 ns after a step and a sample: the next ones are nearly a
 * whole period away. */
static void waterworks_just_after_a_step(void **state)
{
    (void)state;
    struct scenario sc = waterworks();
    continues_bit_exact(&sc, 1250 * VT_SEC + 1);
}

/* A plant never attached has no times: restored, it starts afresh at its
 * attach, like the plant it was saved from. */
static void unattached_plant_starts_afresh(void **state)
{
    (void)state;
    struct scenario sc = {"plants/waterworks.yaml", waterworks_script(), 120};
    struct sim a, b, c;
    struct err e;
    sim_load(&a, &sc);
    sim_attach(&a, 0);
    sim_run(&a, sc.nsec * VT_SEC);
    sim_load(&b, &sc);
    size_t n;
    uint8_t *d = snap_bytes(b.p, &n);
    sim_load(&c, &sc);
    if (restore_mem(&c, d, n, &e) != 0)
        fail_msg("%s", e.msg);
    sim_attach(&c, 0);
    sim_run(&c, sc.nsec * VT_SEC);
    same_rows(&a, &c, 0, sc.nsec, "restored unattached plant");
    free(d);
    sim_free(&a);
    sim_free(&b);
    sim_free(&c);
}

/* ---- refusals ---- */

/* A waterworks snapshot at 60 s (with times, segments, faults). */
static uint8_t *waterworks_snapshot(size_t *n, vtime_t at)
{
    struct scenario sc = waterworks();
    struct sim b;
    sim_load(&b, &sc);
    sim_attach(&b, 0);
    sim_run(&b, at);
    uint8_t *d = snap_bytes(b.p, n);
    sim_free(&b);
    return d;
}

static void another_plants_snapshot_refused(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = waterworks_snapshot(&n, 60 * VT_SEC);
    struct sim t;
    struct err e;
    sim_load(&t, &two_tanks);
    assert_int_equal(restore_mem(&t, d, n, &e), -1);
    TU_CONTAINS(e.msg, "'waterworks'");
    TU_CONTAINS(e.msg, "'two_tanks'");
    TU_CONTAINS(e.msg, "section plant");
    sim_free(&t);

    /* the same plant name with a component renamed: the message names it */
    char *yaml = tu_read_file(tu_path("plants/waterworks.yaml"), NULL);
    assert_non_null(yaml);
    for (char *at = strstr(yaml, "LT-201"); at; at = strstr(at, "LT-201"))
        at[5] = '9'; /* LT-209, in the wiring too */
    const char *path = tu_write_tmp("ww-renamed.yaml", yaml);
    free(yaml);
    struct cfg *cfg = cfg_load_file(path, &e);
    assert_non_null(cfg);
    struct plant *p = plant_load(cfg, SEED, range_keys, &e);
    assert_non_null(p);
    struct snapr *r = snapr_load_mem(d, n, &e);
    assert_non_null(r);
    assert_int_equal(plant_snap_load(p, r, &e), -1);
    TU_CONTAINS(e.msg, "'LT-201'");
    TU_CONTAINS(e.msg, "'LT-209'");
    snapr_free(r);
    plant_free(p);

    /* the same plant stepping at another dt */
    cfg_free(cfg);
    cfg = cfg_load_file(tu_path("plants/waterworks.yaml"), &e);
    assert_non_null(cfg);
    if (cfg_override(cfg, cfg_root(cfg), "dt", "20 ms", "test", &e) != 0)
        fail_msg("%s", e.msg);
    p = plant_load(cfg, SEED, range_keys, &e);
    assert_non_null(p);
    r = snapr_load_mem(d, n, &e);
    assert_non_null(r);
    assert_int_equal(plant_snap_load(p, r, &e), -1);
    TU_CONTAINS(e.msg, "dt");
    snapr_free(r);
    plant_free(p);
    cfg_free(cfg);
    free(d);
}

/* A snapshot file holding one section "plant" with the given body (the
 * checksum right, so the plant's own checks are what refuses it). */
static uint8_t *with_body(const uint8_t *body, size_t n, size_t *len)
{
    struct snapw *w = snapw_new();
    assert_non_null(w);
    snapw_section(w, "plant");
    for (size_t i = 0; i < n; i++)
        snapw_u8(w, body[i]);
    const uint8_t *d = snapw_data(w, len);
    assert_non_null(d);
    uint8_t *copy = malloc(*len);
    memcpy(copy, d, *len);
    snapw_free(w);
    return copy;
}

/* The body of the plant section in a snapshot written by snap_bytes(): the
 * only section, after the 16-byte header, u16 name length, "plant" and
 * its u64 length. */
static const uint8_t *plant_body(const uint8_t *d, size_t n, size_t *len)
{
    size_t at = 16 + 2 + 5 + 8;
    assert_true(n > at + 32);
    assert_memory_equal(d + 18, "plant", 5);
    uint64_t bl = 0;
    for (int i = 0; i < 8; i++)
        bl |= (uint64_t)d[23 + i] << (8 * i);
    assert_true(bl == n - at - 32);
    *len = (size_t)bl;
    return d + at;
}

static void i64_at(uint8_t *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

/* Offsets of fields in a waterworks plant section, found by walking its
 * layout (see plant_snap.c): where the times begin and where the last
 * component (LSHH-201, a switch: u64 rng[4], i64 fault, state, healthy)
 * ends. */
static size_t times_offset(const uint8_t *body, size_t len)
{
    size_t at = 0;
    uint64_t sl = 0;
    for (int i = 0; i < 8; i++)
        sl |= (uint64_t)body[i] << (8 * i);
    at = 8 + (size_t)sl + 4 + 8; /* name, ncomps, dt */
    uint32_t nc = (uint32_t)(body[8 + sl] | body[9 + sl] << 8 | body[10 + sl] << 16 |
                             (uint32_t)body[11 + sl] << 24);
    for (uint32_t k = 0; k < 2 * nc; k++) {
        uint64_t l = 0;
        for (int i = 0; i < 8; i++)
            l |= (uint64_t)body[at + i] << (8 * i);
        at += 8 + (size_t)l;
    }
    assert_true(at < len);
    return at;
}

struct damage {
    const char *what;
    const char *expect; /* in the message */
};

/* Every way of damaging a section below is refused, and after all of them
 * the plant is still the freshly loaded one: its own snapshot is a fresh
 * plant's, and attached at 0 it runs exactly like a fresh plant. */
static void damaged_section_refused_plant_untouched(void **state)
{
    (void)state;
    size_t n, blen;
    uint8_t *d = waterworks_snapshot(&n, 1234 * VT_SEC + 567 * VT_MS);
    const uint8_t *body = plant_body(d, n, &blen);
    struct scenario sc = {"plants/waterworks.yaml", waterworks_script(), 120};
    struct sim x, fresh;
    struct err e;
    sim_load(&x, &sc);
    sim_load(&fresh, &sc);
    size_t nf;
    uint8_t *fresh_bytes = snap_bytes(fresh.p, &nf);

    /* the body as it is restores (into another plant: x must stay fresh) */
    {
        struct sim y;
        sim_load(&y, &sc);
        size_t len;
        uint8_t *f = with_body(body, blen, &len);
        if (restore_mem(&y, f, len, &e) != 0)
            fail_msg("%s", e.msg);
        free(f);
        sim_free(&y);
    }

    /* truncated at every length */
    for (size_t cut = 0; cut < blen; cut++) {
        size_t len;
        uint8_t *f = with_body(body, cut, &len);
        if (restore_mem(&x, f, len, &e) == 0)
            fail_msg("a plant section cut to %zu of %zu bytes was accepted", cut, blen);
        free(f);
    }
    TU_CONTAINS(e.msg, "ends early");
    /* a byte more */
    {
        uint8_t *b2 = malloc(blen + 1);
        memcpy(b2, body, blen);
        b2[blen] = 0;
        size_t len;
        uint8_t *f = with_body(b2, blen + 1, &len);
        assert_int_equal(restore_mem(&x, f, len, &e), -1);
        TU_CONTAINS(e.msg, "left unread");
        free(f);
        free(b2);
    }

    /* values out of range, each alone */
    size_t t = times_offset(body, blen);
    struct {
        size_t at;
        int kind; /* 0 u8, 1 i64, 2 f64 */
        int64_t v;
        const char *expect;
    } bad[] = {
        {t, 0, 2, "times flag"},
        {t + 1, 1, -1, "outside 0 .. a century"},               /* taken_at < 0 */
        {t + 9, 1, 1234 * VT_SEC, "does not follow"},           /* next step before */
        {t + 9, 1, 1240 * VT_SEC, "does not follow"},           /* next step a gap */
        {t + 17, 0, 7, "sensor sample groups"},                 /* ngroups */
        {t + 21, 1, 50 * VT_MS, "sample group 1"},              /* period */
        {t + 29, 1, 1200 * VT_SEC, "sample group 1"},           /* next in the past */
        {blen - 8, 1, 7, "LSHH-201: healthy is 7"},             /* the last value */
        {blen - 24, 1, 9, "LSHH-201: fault is 9"},
    };
    /* the consumer's demand knots: 4 groups of 16 bytes of times; the
     * totals; the components before it (rng and state) */
    size_t knots = t + 21 + 2 * 16 + 56 + (32 + 16) + (32 + 64) + (32 + 40) + (32 + 72) +
                   (32 + 64) + (32 + 40) + 32 + 32;
    int64_t t_prev = 0;
    for (int i = 0; i < 8; i++)
        t_prev |= (int64_t)((uint64_t)body[knots + i] << (8 * i));
    if (t_prev > 1234 * VT_SEC + 567 * VT_MS || t_prev < 1232 * VT_SEC)
        fail_msg("the layout of section plant changed: update this test (t_prev %lld)",
                 (long long)t_prev);
    struct {
        size_t at;
        int kind;
        int64_t v;
        const char *expect;
    } bad2[] = {
        {t + 1, 1, 200 * 366 * VT_DAY, "outside 0 .. a century"},
        {knots, 1, 0, "consumers: demand knots"},
        {knots, 1, t_prev + VT_SEC, "consumers: demand knots"},
        {knots + 8, 1, t_prev + 2 * VT_SEC, "consumers: demand knots"},
        {knots + 8, 1, INT64_MIN, "consumers: demand knots"},
    };
    for (size_t i = 0; i < sizeof bad2 / sizeof bad2[0]; i++) {
        uint8_t *b2 = malloc(blen);
        memcpy(b2, body, blen);
        i64_at(b2 + bad2[i].at, bad2[i].v);
        size_t len;
        uint8_t *f = with_body(b2, blen, &len);
        if (restore_mem(&x, f, len, &e) == 0)
            fail_msg("damage %zu (%s) accepted", i, bad2[i].expect);
        TU_CONTAINS(e.msg, bad2[i].expect);
        free(f);
        free(b2);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *b2 = malloc(blen);
        memcpy(b2, body, blen);
        if (bad[i].kind == 0)
            b2[bad[i].at] = (uint8_t)bad[i].v;
        else
            i64_at(b2 + bad[i].at, bad[i].v);
        size_t len;
        uint8_t *f = with_body(b2, blen, &len);
        if (restore_mem(&x, f, len, &e) == 0)
            fail_msg("damage %zu (%s) accepted", i, bad[i].expect);
        TU_CONTAINS(e.msg, bad[i].expect);
        free(f);
        free(b2);
    }

    /* the plant is the fresh one */
    size_t nx;
    uint8_t *x_bytes = snap_bytes(x.p, &nx);
    assert_true(same_bytes(fresh_bytes, nf, x_bytes, nx));
    free(x_bytes);
    sim_attach(&x, 0);
    sim_run(&x, sc.nsec * VT_SEC);
    sim_attach(&fresh, 0);
    sim_run(&fresh, sc.nsec * VT_SEC);
    same_rows(&fresh, &x, 0, sc.nsec, "plant after refused snapshots");

    free(fresh_bytes);
    free(d);
    sim_free(&x);
    sim_free(&fresh);
}

/* Damage to the file itself is caught by the container before the plant
 * sees it: a flipped byte anywhere, a file cut short. */
static void damaged_file_refused(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = waterworks_snapshot(&n, 30 * VT_SEC);
    struct err e;
    for (size_t i = 0; i < n; i += 7) {
        d[i] ^= 0x10;
        struct snapr *r = snapr_load_mem(d, n, &e);
        if (r)
            fail_msg("a snapshot with byte %zu flipped was accepted", i);
        d[i] ^= 0x10;
    }
    struct snapr *r = snapr_load_mem(d, n - 1, &e);
    assert_null(r);
    TU_CONTAINS(e.msg, "checksum");
    /* and a snapshot without a plant section */
    struct snapw *w = snapw_new();
    snapw_section(w, "plc/plc");
    snapw_u8(w, 1);
    size_t len;
    const uint8_t *f = snapw_data(w, &len);
    struct sim x;
    struct scenario sc = {"plants/waterworks.yaml", waterworks_script(), 10};
    sim_load(&x, &sc);
    assert_int_equal(restore_mem(&x, f, len, &e), -1);
    TU_CONTAINS(e.msg, "no section 'plant'");
    snapw_free(w);
    sim_free(&x);
    free(d);
}

static void restore_into_attached_plant_refused(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = waterworks_snapshot(&n, 30 * VT_SEC);
    struct scenario sc = {"plants/waterworks.yaml", waterworks_script(), 60};
    struct sim x, fresh;
    struct err e;
    sim_load(&x, &sc);
    sim_attach(&x, 0);
    sim_run(&x, 10 * VT_SEC);
    assert_int_equal(restore_mem(&x, d, n, &e), -1);
    TU_CONTAINS(e.msg, "before plant_attach");
    /* and it goes on as if nothing was asked */
    sim_run(&x, sc.nsec * VT_SEC);
    sim_load(&fresh, &sc);
    sim_attach(&fresh, 0);
    sim_run(&fresh, sc.nsec * VT_SEC);
    same_rows(&fresh, &x, 0, sc.nsec, "plant after a refused restore");
    sim_free(&x);
    sim_free(&fresh);
    free(d);
}

static void attach_at_another_instant_refused(void **state)
{
    (void)state;
    vtime_t T = 30 * VT_SEC + 5 * VT_MS;
    size_t n;
    uint8_t *d = waterworks_snapshot(&n, T);
    struct scenario sc = {"plants/waterworks.yaml", waterworks_script(), 40};
    struct sim x;
    struct err e;
    sim_load(&x, &sc);
    if (restore_mem(&x, d, n, &e) != 0)
        fail_msg("%s", e.msg);
    struct sched *s = sched_new();
    assert_int_equal(plant_attach(x.p, s, &e), -1); /* clock at 0 */
    TU_CONTAINS(e.msg, "snapshot was taken at");
    sched_free(s);
    s = sched_new();
    sched_set_now(s, T + 1);
    assert_int_equal(plant_attach(x.p, s, &e), -1);
    TU_CONTAINS(e.msg, "sched_set_now");
    sched_free(s);
    /* at the right instant it attaches and runs like the original */
    sim_attach(&x, T);
    sim_run(&x, sc.nsec * VT_SEC);
    struct sim a;
    sim_load(&a, &sc);
    sim_attach(&a, 0);
    sim_run(&a, sc.nsec * VT_SEC);
    same_rows(&a, &x, 31, sc.nsec, "restored after refused attaches");
    sim_free(&a);
    sim_free(&x);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(waterworks_aligned),
        cmocka_unit_test(waterworks_unaligned),
        cmocka_unit_test(waterworks_just_after_a_step),
        cmocka_unit_test(two_tanks_aligned),
        cmocka_unit_test(two_tanks_unaligned),
        cmocka_unit_test(unattached_plant_starts_afresh),
        cmocka_unit_test(another_plants_snapshot_refused),
        cmocka_unit_test(damaged_section_refused_plant_untouched),
        cmocka_unit_test(damaged_file_refused),
        cmocka_unit_test(restore_into_attached_plant_refused),
        cmocka_unit_test(attach_at_another_instant_refused),
    };
    return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
