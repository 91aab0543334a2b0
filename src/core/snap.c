/* snap.c — the snapshot container: sections of little-endian values in one
 * buffer, a BLAKE2b checksum (libsodium) at the end, atomic file writes. */
#include "core/snap.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'I', 'C', 'S', 'R', 'S', 'N', 'A', 'P'};
#define HASH_LEN 32

/* ---- writing ---- */

struct snapw {
    uint8_t *data;
    size_t len, cap;
    int oom;
    uint32_t nsections;
    size_t count_at;    /* where the section count lives */
    size_t body_len_at; /* the open section's length field, 0 if none */
};

static void put(struct snapw *w, const void *p, size_t n)
{
    if (w->oom)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *d = realloc(w->data, cap);
        if (!d) {
            w->oom = 1;
            return;
        }
        w->data = d;
        w->cap = cap;
    }
    if (n)
        memcpy(w->data + w->len, p, n);
    w->len += n;
}

static void le(uint8_t *out, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static void put_le(struct snapw *w, uint64_t v, int n)
{
    uint8_t b[8];
    le(b, v, n);
    put(w, b, (size_t)n);
}

struct snapw *snapw_new(void)
{
    struct snapw *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    put(w, magic, sizeof magic);
    put_le(w, SNAP_FORMAT_VERSION, 4);
    w->count_at = w->len;
    put_le(w, 0, 4);
    return w;
}

void snapw_free(struct snapw *w)
{
    if (!w)
        return;
    free(w->data);
    free(w);
}

/* Writes the open section's length so far; the section stays open (values
 * put after snapw_data() still belong to it). */
static void patch_section(struct snapw *w)
{
    if (w->body_len_at && !w->oom)
        le(w->data + w->body_len_at, w->len - w->body_len_at - 8, 8);
}

void snapw_section(struct snapw *w, const char *name)
{
    patch_section(w);
    w->body_len_at = 0;
    size_t n = strlen(name);
    put_le(w, n, 2);
    put(w, name, n);
    if (w->oom)
        return;
    w->body_len_at = w->len;
    put_le(w, 0, 8);
    w->nsections++;
}

void snapw_u8(struct snapw *w, uint8_t v) { put(w, &v, 1); }
void snapw_u32(struct snapw *w, uint32_t v) { put_le(w, v, 4); }
void snapw_u64(struct snapw *w, uint64_t v) { put_le(w, v, 8); }
void snapw_i64(struct snapw *w, int64_t v) { put_le(w, (uint64_t)v, 8); }

void snapw_f64(struct snapw *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_le(w, u, 8);
}

void snapw_bytes(struct snapw *w, const void *p, size_t n)
{
    put_le(w, n, 8);
    put(w, p, n);
}

void snapw_str(struct snapw *w, const char *s)
{
    if (!s) {
        put_le(w, UINT64_MAX, 8);
        return;
    }
    snapw_bytes(w, s, strlen(s));
}

const uint8_t *snapw_data(struct snapw *w, size_t *len)
{
    patch_section(w);
    if (w->oom)
        return NULL;
    /* the count and the checksum are rewritten each time */
    if (w->len >= w->count_at + 4)
        le(w->data + w->count_at, w->nsections, 4);
    uint8_t h[HASH_LEN];
    crypto_generichash(h, sizeof h, w->data, w->len, NULL, 0);
    put(w, h, sizeof h);
    if (w->oom)
        return NULL;
    w->len -= sizeof h; /* the hash stays past the end, out of the body */
    *len = w->len + sizeof h;
    return w->data;
}

int snapw_save_file(struct snapw *w, const char *path, struct err *e)
{
    size_t n;
    const uint8_t *d = snapw_data(w, &n);
    if (!d)
        return err_set(e, "snapshot %s: out of memory", path);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return err_set(e, "snapshot %s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return err_set(e, "snapshot %s: %s", path, strerror(errno));
    int ok = fwrite(d, 1, n, f) == n;
    ok = (fflush(f) == 0) && ok;
    ok = (fsync(fileno(f)) == 0) && ok;
    int err_no = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            err_no = errno;
        unlink(tmp);
        return err_set(e, "snapshot %s: %s", path, strerror(err_no));
    }
    return 0;
}

/* ---- reading ---- */

struct section {
    char *name;
    size_t at, len; /* body */
};

struct snapr {
    char *label;    /* the file, for messages */
    uint8_t *data;
    size_t len;
    struct section *sec;
    size_t nsec;
    const struct section *cur;
    size_t pos;     /* absolute read position */
    int failed;
    struct err first;
    char **strs; /* strings handed out, NUL-terminated copies */
    size_t nstrs;
};

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void snapr_free(struct snapr *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsec; i++)
        free(r->sec[i].name);
    free(r->sec);
    for (size_t i = 0; i < r->nstrs; i++)
        free(r->strs[i]);
    free(r->strs);
    free(r->data);
    free(r->label);
    free(r);
}

/* Takes ownership of data. */
static struct snapr *parse(char *label, uint8_t *data, size_t len, struct err *e)
{
    struct snapr *r = calloc(1, sizeof *r);
    if (!r) {
        free(label);
        free(data);
        err_set(e, "out of memory");
        return NULL;
    }
    r->label = label;
    r->data = data;
    r->len = len;
    if (len < sizeof magic + 8 + HASH_LEN || memcmp(data, magic, sizeof magic) != 0) {
        err_set(e, "%s: not an icsrange snapshot", label);
        goto fail;
    }
    uint32_t version = (uint32_t)get_le(data + 8, 4);
    if (version != SNAP_FORMAT_VERSION) {
        err_set(e, "%s: snapshot format %u, this icsrange reads format %d", label, version,
                SNAP_FORMAT_VERSION);
        goto fail;
    }
    size_t body = len - HASH_LEN;
    uint8_t h[HASH_LEN];
    crypto_generichash(h, sizeof h, data, body, NULL, 0);
    if (sodium_memcmp(h, data + body, HASH_LEN) != 0) {
        err_set(e, "%s: the snapshot is damaged or truncated (checksum mismatch)", label);
        goto fail;
    }
    uint32_t n = (uint32_t)get_le(data + 12, 4);
    size_t pos = 16;
    if (n > body / 10 + 1) {
        err_set(e, "%s: damaged snapshot (%u sections)", label, n);
        goto fail;
    }
    r->sec = calloc(n ? n : 1, sizeof *r->sec);
    if (!r->sec) {
        err_set(e, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (body - pos < 2)
            goto damaged;
        size_t nl = (size_t)get_le(data + pos, 2);
        pos += 2;
        if (body - pos < nl + 8)
            goto damaged;
        struct section *s = &r->sec[r->nsec];
        if (!(s->name = malloc(nl + 1))) {
            err_set(e, "out of memory");
            goto fail;
        }
        memcpy(s->name, data + pos, nl);
        s->name[nl] = 0;
        r->nsec++;
        pos += nl;
        uint64_t bl = get_le(data + pos, 8);
        pos += 8;
        if (bl > body - pos)
            goto damaged;
        s->at = pos;
        s->len = (size_t)bl;
        pos += (size_t)bl;
    }
    if (pos != body)
        goto damaged;
    return r;
damaged:
    err_set(e, "%s: damaged snapshot (section table)", label);
fail:
    snapr_free(r);
    return NULL;
}

struct snapr *snapr_load_mem(const void *data, size_t len, struct err *e)
{
    uint8_t *copy = malloc(len ? len : 1);
    char *label = strdup("snapshot");
    if (!copy || !label) {
        free(copy);
        free(label);
        err_set(e, "out of memory");
        return NULL;
    }
    if (len)
        memcpy(copy, data, len);
    return parse(label, copy, len, e);
}

struct snapr *snapr_load_file(const char *path, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *d = malloc(cap);
    while (d) {
        if (len == cap) {
            uint8_t *n = realloc(d, cap * 2);
            if (!n) {
                free(d);
                d = NULL;
                break;
            }
            d = n;
            cap *= 2;
        }
        size_t got = fread(d + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!d || bad) {
        free(d);
        err_set(e, "%s: %s", path, d ? "read error" : "out of memory");
        return NULL;
    }
    char *label = strdup(path);
    if (!label) {
        free(d);
        err_set(e, "out of memory");
        return NULL;
    }
    return parse(label, d, len, e);
}

static const struct section *find(const struct snapr *r, const char *name)
{
    for (size_t i = 0; i < r->nsec; i++)
        if (strcmp(r->sec[i].name, name) == 0)
            return &r->sec[i];
    return NULL;
}

int snapr_has(const struct snapr *r, const char *name)
{
    return find(r, name) != NULL;
}

static void failv(struct snapr *r, const char *fmt, va_list ap)
{
    if (r->failed)
        return;
    r->failed = 1;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    err_set(&r->first, "%s: section %s: %s", r->label, r->cur ? r->cur->name : "(none)", msg);
}

void snapr_fail(struct snapr *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    failv(r, fmt, ap);
    va_end(ap);
}

int snapr_section(struct snapr *r, const char *name, struct err *e)
{
    const struct section *s = find(r, name);
    if (!s) {
        if (!r->failed) {
            r->failed = 1;
            err_set(&r->first, "%s: no section '%s'", r->label, name);
        }
        err_set(e, "%s: no section '%s'", r->label, name);
        return -1;
    }
    r->cur = s;
    r->pos = s->at;
    return 0;
}

/* n bytes of the current section, or NULL (and the sticky error). */
static const uint8_t *take(struct snapr *r, size_t n)
{
    if (r->failed)
        return NULL;
    if (!r->cur) {
        snapr_fail(r, "read outside a section");
        return NULL;
    }
    size_t end = r->cur->at + r->cur->len;
    if (n > end - r->pos) {
        snapr_fail(r, "ends early (truncated or from another version)");
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

uint8_t snapr_u8(struct snapr *r)
{
    const uint8_t *p = take(r, 1);
    return p ? *p : 0;
}

uint32_t snapr_u32(struct snapr *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)get_le(p, 4) : 0;
}

uint64_t snapr_u64(struct snapr *r)
{
    const uint8_t *p = take(r, 8);
    return p ? get_le(p, 8) : 0;
}

int64_t snapr_i64(struct snapr *r)
{
    return (int64_t)snapr_u64(r);
}

double snapr_f64(struct snapr *r)
{
    uint64_t u = snapr_u64(r);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

const uint8_t *snapr_bytes(struct snapr *r, size_t *n)
{
    uint64_t len = snapr_u64(r);
    *n = 0;
    if (r->failed)
        return NULL;
    if (len == UINT64_MAX) {
        snapr_fail(r, "a byte run is absent");
        return NULL;
    }
    if (len > SIZE_MAX) {
        snapr_fail(r, "a byte run is too long");
        return NULL;
    }
    const uint8_t *p = take(r, (size_t)len);
    if (p)
        *n = (size_t)len;
    return p;
}

void snapr_bytes_into(struct snapr *r, void *out, size_t n)
{
    size_t got;
    const uint8_t *p = snapr_bytes(r, &got);
    if (!p)
        return;
    if (got != n) {
        snapr_fail(r, "a block of %zu bytes where %zu were expected", got, n);
        return;
    }
    if (n)
        memcpy(out, p, n);
}

const char *snapr_str(struct snapr *r)
{
    const uint8_t *lp = take(r, 8);
    if (!lp)
        return NULL;
    uint64_t len = get_le(lp, 8);
    if (len == UINT64_MAX)
        return NULL;
    r->pos -= 8;
    size_t n;
    const uint8_t *p = snapr_bytes(r, &n);
    if (!p)
        return NULL;
    if (memchr(p, 0, n)) {
        snapr_fail(r, "a string holds a NUL byte");
        return NULL;
    }
    /* the data cannot be terminated in place: hand out a copy the reader
     * keeps */
    char *s = malloc(n + 1);
    char **ns = realloc(r->strs, (r->nstrs + 1) * sizeof *ns);
    if (ns)
        r->strs = ns;
    if (!s || !ns) {
        free(s);
        snapr_fail(r, "out of memory");
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    r->strs[r->nstrs++] = s;
    return s;
}

int snapr_ok(const struct snapr *r, struct err *e)
{
    if (!r->failed)
        return 0;
    if (e)
        *e = r->first;
    return -1;
}

size_t snapr_left(const struct snapr *r)
{
    if (!r->cur)
        return 0;
    return r->cur->at + r->cur->len - r->pos;
}
