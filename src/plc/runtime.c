/* runtime.c — the soft PLC: program, image, scan cycle, modes (runtime.h). */
#include "plc/runtime.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A located variable bound to its place in the image. */
struct binding {
    struct plc_slot slot;
    size_t offset;   /* in VM memory */
    size_t bytes;    /* 0 for a bit */
    char area;
};

struct scan_task {
    struct plc *p;
    size_t task;
    int id;
};

struct plc {
    struct sched *s;
    struct plc_config cfg;
    char *name;
    /* the program */
    struct st_image *img;
    struct st_vm *vm;
    char *prog_name;
    char *text;
    size_t text_len;
    uint8_t sha[32];
    struct scan_task *tasks;
    size_t ntasks;
    struct binding *loc;
    size_t nloc;
    struct plc_slot key_slot;
    int has_key_slot;
    /* state */
    struct plc_image image;
    enum plc_mode mode;
    enum plc_key key;
    struct plc_io_hooks io;
    void *io_ctx;
    plc_observe_fn observe;
    void *observe_ctx;
    struct plc_stats stats;
    struct st_fault fault;
};

static const char *mode_names[] = {"STOP", "RUN", "PROGRAM", "FAULT"};
static const char *key_names[] = {"RUN", "PROGRAM", "REMOTE"};

const char *plc_mode_name(enum plc_mode m)
{
    return (unsigned)m < 4 ? mode_names[m] : "?";
}

const char *plc_key_name(enum plc_key k)
{
    return (unsigned)k < 3 ? key_names[k] : "?";
}

int plc_key_parse(const char *s, enum plc_key *out)
{
    for (int i = 0; i < 3; i++)
        if (strcasecmp(s, key_names[i]) == 0) {
            *out = (enum plc_key)i;
            return 0;
        }
    return -1;
}

void plc_config_default(struct plc_config *c)
{
    memset(c, 0, sizeof *c);
    c->name = "plc";
    c->default_interval = 20 * VT_MS;
    c->watchdog = 100 * VT_MS;
    c->instruction_cost = 10;
    c->on_stop = PLC_OUTPUTS_OFF;
    c->key = PLC_KEY_RUN;
}

static void emit(struct plc *p, enum plc_event_kind kind, const uint8_t *sha, size_t size,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void emit(struct plc *p, enum plc_event_kind kind, const uint8_t *sha, size_t size,
                 const char *fmt, ...)
{
    if (!p->observe)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct plc_event ev = {kind, sched_now(p->s), text, sha, size};
    p->observe(p->observe_ctx, &ev);
}

char *plc_sha256_hex(const uint8_t *sha, char *buf)
{
    for (int i = 0; i < 32; i++)
        snprintf(buf + 2 * i, 3, "%02x", sha[i]);
    buf[64] = '\0';
    return buf;
}

struct plc *plc_new(struct sched *s, const struct plc_config *cfg, struct err *e)
{
    if (sodium_init() < 0) {
        err_set(e, "libsodium cannot initialise");
        return NULL;
    }
    struct plc *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(e, "out of memory");
        return NULL;
    }
    p->s = s;
    struct plc_config d;
    plc_config_default(&d);
    p->cfg = cfg ? *cfg : d;
    if (p->cfg.default_interval <= 0)
        p->cfg.default_interval = d.default_interval;
    if (p->cfg.watchdog <= 0)
        p->cfg.watchdog = d.watchdog;
    if (p->cfg.instruction_cost <= 0)
        p->cfg.instruction_cost = d.instruction_cost;
    p->name = strdup(p->cfg.name ? p->cfg.name : "plc");
    if (!p->name) {
        free(p);
        err_set(e, "out of memory");
        return NULL;
    }
    p->cfg.name = p->name;
    p->key = p->cfg.key;
    p->mode = PLC_STOP;
    if (p->cfg.has_key_input) {
        if (plc_image_slot(&p->image, &p->cfg.key_input, &p->key_slot) != 0 ||
            p->cfg.key_input.area != 'I') {
            char a[24];
            err_set(e, "%s: the keyswitch input %s is not an input of the image", p->name,
                    locaddr_format(&p->cfg.key_input, a, sizeof a));
            plc_free(p);
            return NULL;
        }
        p->has_key_slot = 1;
    }
    return p;
}

static void drop_program(struct plc *p)
{
    for (size_t i = 0; i < p->ntasks; i++)
        sched_cancel(p->s, p->tasks[i].id);
    free(p->tasks);
    p->tasks = NULL;
    p->ntasks = 0;
    free(p->loc);
    p->loc = NULL;
    p->nloc = 0;
    st_vm_free(p->vm);
    p->vm = NULL;
    st_image_free(p->img);
    p->img = NULL;
    free(p->prog_name);
    p->prog_name = NULL;
    free(p->text);
    p->text = NULL;
    p->text_len = 0;
}

void plc_free(struct plc *p)
{
    if (!p)
        return;
    drop_program(p);
    free(p->name);
    free(p);
}

/* ---- the scan ---- */

static void outputs_off(struct plc *p)
{
    memset(p->image.qx, 0, sizeof p->image.qx);
    memset(p->image.qw, 0, sizeof p->image.qw);
    if (p->io.write_outputs)
        p->io.write_outputs(p->io_ctx, &p->image, sched_now(p->s));
}

/* A located variable's bytes: fixed sizes, so each copy is one load and
 * one store (this runs for every variable twice a scan). */
static inline void copy_sized(void *dst, const void *src, size_t n)
{
    switch (n) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, n); break;
    }
}

static void copy_in(struct plc *p)
{
    uint8_t *mem = st_vm_memory(p->vm);
    for (size_t i = 0; i < p->nloc; i++) {
        const struct binding *b = &p->loc[i];
        if (b->bytes)
            copy_sized(mem + b->offset, b->slot.p, b->bytes);
        else
            mem[b->offset] = (uint8_t)((*(const uint8_t *)b->slot.p >> b->slot.bit) & 1);
    }
}

static void copy_out(struct plc *p)
{
    const uint8_t *mem = st_vm_memory(p->vm);
    for (size_t i = 0; i < p->nloc; i++) {
        const struct binding *b = &p->loc[i];
        if (b->area == 'I')
            continue;
        if (b->bytes) {
            copy_sized(b->slot.p, mem + b->offset, b->bytes);
        } else {
            uint8_t *byte = b->slot.p, mask = (uint8_t)(1u << b->slot.bit);
            *byte = mem[b->offset] ? (uint8_t)(*byte | mask) : (uint8_t)(*byte & ~mask);
        }
    }
}

static void scan(void *ctx, vtime_t now)
{
    struct scan_task *t = ctx;
    struct plc *p = t->p;
    if (p->mode != PLC_RUN || !p->vm)
        return;
    if (p->io.read_inputs)
        p->io.read_inputs(p->io_ctx, &p->image, now);
    if (p->has_key_slot)
        plc_slot_set(&p->key_slot, (uint64_t)p->key);
    copy_in(p);
    uint64_t budget = (uint64_t)(p->cfg.watchdog / p->cfg.instruction_cost);
    uint64_t executed = 0;
    struct st_fault f;
    int r = st_vm_run_task(p->vm, t->task, now, budget ? budget : 1, &executed, &f);
    p->stats.scans++;
    p->stats.instructions = executed;
    p->stats.last_scan = (vtime_t)executed * p->cfg.instruction_cost;
    if (p->stats.last_scan > p->stats.max_scan)
        p->stats.max_scan = p->stats.last_scan;
    if (r != 0) {
        p->fault = f;
        p->stats.faults++;
        p->mode = PLC_FAULT;
        emit(p, PLC_EV_FAULT, NULL, 0, "%s: fault: %s", p->name, f.msg);
        if (p->cfg.on_stop == PLC_OUTPUTS_OFF)
            outputs_off(p);
        return;
    }
    copy_out(p);
    if (p->io.write_outputs)
        p->io.write_outputs(p->io_ctx, &p->image, now);
}

/* ---- programs ---- */

int plc_install(struct plc *p, const char *name, const char *text, size_t len,
                const char *origin, struct st_diags *d, struct err *e)
{
    struct st_diags local;
    st_diags_init(&local);
    struct st_diags *dd = d ? d : &local;
    struct st_source src = {name, text, len};
    struct st_image *img = st_compile(&src, 1, dd);
    if (!img) {
        for (size_t i = 0; i < dd->n; i++)
            if (dd->v[i].severity == ST_ERROR) {
                err_set(e, "%s:%d:%d: %s", dd->v[i].file, dd->v[i].line, dd->v[i].col,
                        dd->v[i].msg);
                break;
            }
        if (dd->errors == 0)
            err_set(e, "%s: does not compile", name);
        st_diags_clear(&local);
        return -1;
    }
    st_diags_clear(&local);
    /* bind every located variable to the image */
    size_t nl = st_image_nlocated(img);
    struct binding *loc = calloc(nl ? nl : 1, sizeof *loc);
    if (!loc) {
        st_image_free(img);
        return err_set(e, "out of memory");
    }
    for (size_t i = 0; i < nl; i++) {
        const struct st_located *sl = st_image_located(img, i);
        struct plc_slot slot;
        if (plc_image_slot(&p->image, &sl->addr, &slot) != 0) {
            char a[24];
            err_set(e, "%s: %s is located at %s, which this PLC does not have", name, sl->name,
                    locaddr_format(&sl->addr, a, sizeof a));
            free(loc);
            st_image_free(img);
            return -1;
        }
        loc[i].slot = slot;
        loc[i].offset = sl->offset;
        loc[i].bytes = slot.bits == 1 ? 0 : (size_t)slot.bits / 8;
        loc[i].area = sl->addr.area;
    }
    struct st_vm *vm = st_vm_new(img, e);
    if (!vm) {
        free(loc);
        st_image_free(img);
        return -1;
    }
    char *copy = malloc(len + 1);
    char *nm = strdup(name);
    size_t nt = st_image_ntasks(img);
    struct scan_task *tasks = calloc(nt ? nt : 1, sizeof *tasks);
    if (!copy || !nm || !tasks) {
        free(copy);
        free(nm);
        free(tasks);
        free(loc);
        st_vm_free(vm);
        st_image_free(img);
        return err_set(e, "out of memory");
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    drop_program(p);
    p->img = img;
    p->vm = vm;
    p->loc = loc;
    p->nloc = nl;
    p->text = copy;
    p->text_len = len;
    p->prog_name = nm;
    crypto_hash_sha256(p->sha, (const unsigned char *)text, len);
    p->tasks = tasks;
    p->ntasks = nt;
    /* the image starts from the program's initial values of its located
     * outputs and memory (mode AT %MW0 : INT := 2) */
    copy_out(p);
    vtime_t now = sched_now(p->s);
    for (size_t i = 0; i < nt; i++) {
        const struct st_task_info *ti = st_image_task(img, i);
        vtime_t iv = ti->interval > 0 ? ti->interval : p->cfg.default_interval;
        tasks[i] = (struct scan_task){p, i, -1};
        tasks[i].id = sched_every(p->s, now, iv, SCHED_PRIO_CONTROL, scan, &tasks[i]);
    }
    p->stats.downloads++;
    char hex[65];
    emit(p, PLC_EV_DOWNLOAD, p->sha, len, "%s: program %s installed (%zu bytes, sha256 %s)%s%s",
         p->name, name, len, plc_sha256_hex(p->sha, hex), origin ? " from " : "",
         origin ? origin : "");
    return 0;
}

int plc_install_file(struct plc *p, const char *path, struct st_diags *d, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, "%s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            if (cap >= (16u << 20)) {
                free(buf);
                fclose(f);
                return err_set(e, "%s: larger than 16 MiB", path);
            }
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            } else {
                buf = nb;
            }
        }
    }
    fclose(f);
    if (!buf)
        return err_set(e, "out of memory");
    int r = plc_install(p, path, buf, n, "file", d, e);
    free(buf);
    return r;
}

/* ---- modes ---- */

int plc_set_mode(struct plc *p, enum plc_mode m, const char *origin, struct err *e)
{
    if (m == PLC_RUN && !p->vm)
        return err_set(e, "%s: no program to run", p->name);
    if (m == PLC_FAULT)
        return err_set(e, "%s: FAULT is not a mode one sets", p->name);
    enum plc_mode old = p->mode;
    if (old == m)
        return 0;
    p->mode = m;
    p->stats.mode_changes++;
    if (old == PLC_FAULT)
        memset(&p->fault, 0, sizeof p->fault);
    if (m != PLC_RUN && p->cfg.on_stop == PLC_OUTPUTS_OFF)
        outputs_off(p);
    char from[160] = "";
    if (origin)
        snprintf(from, sizeof from, " (%s)", origin);
    emit(p, PLC_EV_MODE, NULL, 0, "%s: %s -> %s%s", p->name, plc_mode_name(old),
         plc_mode_name(m), from);
    return 0;
}

enum plc_mode plc_mode(const struct plc *p)
{
    return p->mode;
}

void plc_set_key(struct plc *p, enum plc_key k)
{
    if (p->key == k)
        return;
    enum plc_key old = p->key;
    p->key = k;
    emit(p, PLC_EV_KEY, NULL, 0, "%s: keyswitch %s -> %s", p->name, plc_key_name(old),
         plc_key_name(k));
}

enum plc_key plc_key(const struct plc *p)
{
    return p->key;
}

int plc_remote_allowed(const struct plc *p, char what)
{
    if (what == 'd')
        return p->key == PLC_KEY_PROGRAM;
    return p->key == PLC_KEY_PROGRAM || p->key == PLC_KEY_REMOTE;
}

int plc_restart(struct plc *p, int cold, struct err *e)
{
    if (!p->vm)
        return err_set(e, "%s: no program", p->name);
    st_vm_restart(p->vm, cold);
    copy_out(p);
    emit(p, PLC_EV_RESTART, NULL, 0, "%s: %s restart", p->name, cold ? "cold" : "warm");
    return 0;
}

void plc_note_event(struct plc *p, enum plc_event_kind kind, const char *text)
{
    emit(p, kind, NULL, 0, "%s", text);
}

void plc_set_io(struct plc *p, const struct plc_io_hooks *h, void *ctx)
{
    if (h)
        p->io = *h;
    else
        memset(&p->io, 0, sizeof p->io);
    p->io_ctx = ctx;
}

void plc_set_observer(struct plc *p, plc_observe_fn fn, void *ctx)
{
    p->observe = fn;
    p->observe_ctx = ctx;
}

struct plc_image *plc_image(struct plc *p)
{
    return &p->image;
}

struct st_vm *plc_vm(struct plc *p)
{
    return p->vm;
}

const char *plc_program_name(const struct plc *p)
{
    return p->prog_name;
}

const char *plc_program_text(const struct plc *p, size_t *len)
{
    if (len)
        *len = p->text_len;
    return p->text;
}

const uint8_t *plc_program_sha256(const struct plc *p)
{
    return p->text ? p->sha : NULL;
}

const struct plc_stats *plc_stats(const struct plc *p)
{
    return &p->stats;
}

const struct st_fault *plc_last_fault(const struct plc *p)
{
    return &p->fault;
}

const char *plc_name(const struct plc *p)
{
    return p->name;
}

/* ---- snapshots ---- */

void plc_snap_save(const struct plc *p, struct snapw *w, const char *section)
{
    snapw_section(w, section);
    snapw_str(w, p->name);
    snapw_u8(w, (uint8_t)p->mode);
    snapw_u8(w, (uint8_t)p->key);
    snapw_str(w, p->prog_name);
    snapw_bytes(w, p->text, p->text ? p->text_len : 0);
    snapw_bytes(w, &p->image, sizeof p->image);
    snapw_bytes(w, p->vm ? st_vm_memory(p->vm) : NULL, p->vm ? st_vm_memory_size(p->vm) : 0);
    snapw_u64(w, p->ntasks);
    for (size_t i = 0; i < p->ntasks; i++)
        snapw_i64(w, sched_task_next(p->s, p->tasks[i].id));
    snapw_bytes(w, &p->stats, sizeof p->stats);
    snapw_bytes(w, &p->fault, sizeof p->fault);
}

int plc_snap_load(struct plc *p, struct snapr *r, const char *section, struct err *e)
{
    if (snapr_section(r, section, e) != 0)
        return -1;
    const char *name = snapr_str(r);
    enum plc_mode mode = (enum plc_mode)snapr_u8(r);
    enum plc_key key = (enum plc_key)snapr_u8(r);
    const char *prog_name = snapr_str(r);
    size_t text_len;
    const uint8_t *text = snapr_bytes(r, &text_len);
    if (snapr_ok(r, e) != 0)
        return -1;
    if (!name || strcmp(name, p->name) != 0) {
        snapr_fail(r, "a snapshot of PLC '%s', this is '%s'", name ? name : "?", p->name);
        return snapr_ok(r, e);
    }
    if ((unsigned)mode > PLC_FAULT || (unsigned)key > PLC_KEY_REMOTE) {
        snapr_fail(r, "mode %u or keyswitch %u out of range", (unsigned)mode, (unsigned)key);
        return snapr_ok(r, e);
    }
    /* the program the snapshot ran, if it is not this one */
    plc_observe_fn obs = p->observe;
    p->observe = NULL; /* the restore is not an event */
    if (prog_name && text_len) {
        uint8_t sha[32];
        crypto_hash_sha256(sha, text, text_len);
        if (!p->text || memcmp(sha, p->sha, 32) != 0) {
            if (plc_install(p, prog_name, (const char *)text, text_len, "snapshot", NULL, e) !=
                0) {
                p->observe = obs;
                return err_prefix(e, "%s: the snapshot's program", p->name);
            }
            p->stats.downloads--; /* counted again from the snapshot below */
        }
    } else {
        drop_program(p);
    }
    p->observe = obs;
    snapr_bytes_into(r, &p->image, sizeof p->image);
    size_t msize;
    const uint8_t *mem = snapr_bytes(r, &msize);
    if (snapr_ok(r, e) != 0)
        return -1;
    if (p->vm) {
        if (msize != st_vm_memory_size(p->vm)) {
            snapr_fail(r, "VM memory of %zu bytes, the program needs %zu", msize,
                       st_vm_memory_size(p->vm));
            return snapr_ok(r, e);
        }
        memcpy(st_vm_memory(p->vm), mem, msize);
    }
    uint64_t nt = snapr_u64(r);
    if (snapr_ok(r, e) != 0)
        return -1;
    if (nt != p->ntasks) {
        snapr_fail(r, "%llu tasks, the program has %zu", (unsigned long long)nt, p->ntasks);
        return snapr_ok(r, e);
    }
    for (size_t i = 0; i < p->ntasks; i++) {
        vtime_t next = snapr_i64(r);
        const struct st_task_info *ti = st_image_task(p->img, i);
        vtime_t iv = ti->interval > 0 ? ti->interval : p->cfg.default_interval;
        if (next == VT_NEVER || next < sched_now(p->s))
            next = sched_now(p->s);
        sched_cancel(p->s, p->tasks[i].id);
        p->tasks[i].id = sched_every(p->s, next, iv, SCHED_PRIO_CONTROL, scan, &p->tasks[i]);
    }
    snapr_bytes_into(r, &p->stats, sizeof p->stats);
    snapr_bytes_into(r, &p->fault, sizeof p->fault);
    if (snapr_ok(r, e) != 0)
        return -1;
    if (snapr_left(r) != 0) {
        snapr_fail(r, "%zu bytes left unread", snapr_left(r));
        return snapr_ok(r, e);
    }
    /* the field already holds these outputs: the plant's own snapshot
     * restored its actuator inputs */
    p->mode = mode;
    p->key = key;
    return 0;
}
