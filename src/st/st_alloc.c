/* st_alloc.c — the module's allocator: counted malloc/calloc/realloc (so a
 * test can prove the VM allocates nothing while it runs) and an arena for
 * the compiler's many small blocks. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st/st_ast.h"

static _Atomic uint64_t alloc_count;

uint64_t st_alloc_count(void)
{
    return atomic_load_explicit(&alloc_count, memory_order_relaxed);
}

static void count(void)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
}

void *st_malloc(size_t n)
{
    count();
    return malloc(n ? n : 1);
}

void *st_calloc(size_t n, size_t size)
{
    count();
    return calloc(n ? n : 1, size ? size : 1);
}

void *st_realloc(void *p, size_t n)
{
    count();
    return realloc(p, n ? n : 1);
}

void st_free(void *p)
{
    free(p);
}

/* ---- arena ---- */

#define CHUNK 65536

struct st_chunk {
    struct st_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *st_arena_alloc(struct st_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct st_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK / 2 ? n : CHUNK;
        c = st_malloc(sizeof *c + cap);
        if (!c) {
            fputs("st: out of memory\n", stderr);
            abort();
        }
        c->used = 0;
        c->cap = cap;
        if (a->head && n > CHUNK / 2) {
            /* a big block: keep the current chunk in front for small ones */
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *st_arena_strndup(struct st_arena *a, const char *s, size_t n)
{
    char *p = st_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void st_arena_free(struct st_arena *a)
{
    struct st_chunk *c = a->head;
    while (c) {
        struct st_chunk *next = c->next;
        st_free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---- maps keyed by interned names (pointer identity) ---- */

struct st_map {
    struct st_arena *A;
    const char **keys;
    void **vals;
    size_t cap, n;
};

struct st_map *st_map_new(struct st_arena *A)
{
    struct st_map *m = st_arena_alloc(A, sizeof *m);
    m->A = A;
    return m;
}

static size_t map_slot(const struct st_map *m, const char *key)
{
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (m->cap - 1);
}

void *st_map_get(const struct st_map *m, const char *key)
{
    if (!m || !m->cap || !key)
        return NULL;
    size_t i = map_slot(m, key);
    while (m->keys[i]) {
        if (m->keys[i] == key)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void st_map_put(struct st_map *m, const char *key, void *val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        const char **k = st_arena_alloc(m->A, cap * sizeof *k);
        void **v = st_arena_alloc(m->A, cap * sizeof *v);
        const char **ok = m->keys;
        void **ov = m->vals;
        size_t ocap = m->cap;
        m->keys = k;
        m->vals = v;
        m->cap = cap;
        m->n = 0;
        for (size_t i = 0; i < ocap; i++)
            if (ok[i])
                st_map_put(m, ok[i], ov[i]);
    }
    size_t i = map_slot(m, key);
    while (m->keys[i]) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
}
