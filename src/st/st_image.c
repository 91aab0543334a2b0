/* st_image.c — the compiler's driver (sources to an image: parse, check,
 * lay out and generate code) and what an image declares (tasks, located
 * variables). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st/st_ast.h"

int32_t st_image_emit(struct st_image *img, struct st_ins ins, uint32_t line)
{
    if (img->ncode == img->capcode) {
        size_t cap = img->capcode ? img->capcode * 2 : 1024;
        struct st_ins *c = st_realloc(img->code, cap * sizeof *c);
        if (!c)
            abort();
        img->code = c;
        uint32_t *l = st_realloc(img->lines, cap * sizeof *l);
        if (!l)
            abort();
        img->lines = l;
        img->capcode = cap;
    }
    img->code[img->ncode] = ins;
    img->lines[img->ncode] = line;
    return (int32_t)img->ncode++;
}

int st_image_adesc(struct st_image *img, int32_t lo, int32_t hi, uint32_t size, int32_t bias)
{
    for (size_t i = 0; i < img->nadesc; i++)
        if (img->adesc[i].lo == lo && img->adesc[i].hi == hi && img->adesc[i].size == size &&
            img->adesc[i].bias == bias)
            return (int)i;
    if (img->nadesc == img->capadesc) {
        size_t cap = img->capadesc ? img->capadesc * 2 : 16;
        struct st_adesc *a = st_realloc(img->adesc, cap * sizeof *a);
        if (!a)
            abort();
        img->adesc = a;
        img->capadesc = cap;
    }
    img->adesc[img->nadesc] = (struct st_adesc){lo, hi, size, bias};
    return (int)img->nadesc++;
}

void st_image_free(struct st_image *img)
{
    if (!img)
        return;
    st_free(img->code);
    st_free(img->lines);
    st_free(img->bodies);
    st_free(img->adesc);
    st_free(img->init);
    st_free(img->progs);
    st_free(img->tasks);
    st_free(img->located);
    st_free(img->retain);
    st_arena_free(&img->arena);
    st_free(img);
}

struct st_image *st_compile(const struct st_source *src, size_t nsrc, struct st_diags *d)
{
    struct st_image *img = st_calloc(1, sizeof *img);
    if (!img)
        return NULL;
    struct st_comp C;
    memset(&C, 0, sizeof C);
    C.img = img;
    C.A = &img->arena;
    C.d = d;
    size_t errors0 = d->errors;
    C.srcs = src;
    C.nsrc = nsrc;
    C.allsrc = st_arena_alloc(C.A, (nsrc + st_lib_nfbs) * sizeof *C.allsrc);
    for (size_t i = 0; i < nsrc; i++) {
        const char *name = src[i].name ? src[i].name : "<input>";
        C.allsrc[i].name = st_arena_strndup(C.A, name, strlen(name));
        C.allsrc[i].text = src[i].text ? src[i].text : "";
        C.allsrc[i].len = src[i].text ? src[i].len : 0;
    }
    C.ttail = &C.types;
    C.ptail = &C.pous;
    C.ctail = &C.configs;
    C.gtail = &C.topglobals;
    C.globtail = &C.globals;
    C.typemap = st_map_new(C.A);
    C.poumap = st_map_new(C.A);
    C.globmap = st_map_new(C.A);
    C.enummap = st_map_new(C.A);
    C.strtypes = st_map_new(C.A);
    for (size_t i = 0; i < nsrc && !C.stop; i++)
        st_parse(&C, (int)i);
    /* the library blocks the program names, and those they need */
    if (d->errors == errors0 && !C.stop) {
        bool *need = st_arena_alloc(C.A, st_lib_nfbs * sizeof *need);
        for (size_t k = 0; k < st_lib_nfbs; k++)
            need[k] = st_interned(&C, st_lib_fbs[k].name);
        for (size_t k = 0; k < st_lib_nfbs; k++)
            for (size_t j = 0; need[k] && j < st_lib_nfbs; j++)
                if (!need[j] && strstr(st_lib_fbs[k].deps, st_lib_fbs[j].name))
                    need[j] = true; /* one level: the library has no deeper needs */
        C.in_lib = true;
        for (size_t k = 0; k < st_lib_nfbs; k++) {
            if (!need[k])
                continue;
            struct st_source *ls = &C.allsrc[nsrc + k];
            ls->name = "<stdlib>";
            ls->text = st_lib_fbs[k].text;
            ls->len = strlen(st_lib_fbs[k].text);
            st_parse(&C, (int)(nsrc + k));
        }
        C.in_lib = false;
    }
    if (d->errors == errors0 && !C.stop)
        st_sema(&C);
    if (d->errors == errors0 && !C.stop)
        st_codegen(&C);
    if (d->errors != errors0 || C.stop) {
        if (C.stop && d->errors >= ST_MAX_ERRORS)
            st_diag_add(d, ST_ERROR, NULL, 0, 0, "too many errors, giving up");
        st_image_free(img);
        return NULL;
    }
    /* the sources belong to the caller: nothing may point into them now */
    for (size_t i = 0; i < nsrc + st_lib_nfbs; i++) {
        C.allsrc[i].text = NULL;
        C.allsrc[i].len = 0;
    }
    return img;
}

struct st_image *st_compile_files(const char *const *paths, size_t n, struct st_diags *d)
{
    struct st_source *src = st_calloc(n ? n : 1, sizeof *src);
    if (!src)
        return NULL;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        src[i].name = paths[i];
        FILE *f = fopen(paths[i], "rb");
        if (!f) {
            st_diag_add(d, ST_ERROR, &src[i], 0, 0, "cannot open: %s", strerror(errno));
            ok = false;
            continue;
        }
        size_t cap = 65536, len = 0;
        char *text = st_malloc(cap);
        size_t r;
        while (text && (r = fread(text + len, 1, cap - len, f)) > 0) {
            len += r;
            if (len == cap) {
                char *t = st_realloc(text, cap * 2);
                if (!t) {
                    st_free(text);
                    text = NULL;
                    break;
                }
                text = t;
                cap *= 2;
            }
        }
        if (ferror(f) || !text) {
            st_diag_add(d, ST_ERROR, &src[i], 0, 0, "cannot read: %s", strerror(errno));
            ok = false;
        }
        fclose(f);
        src[i].text = text;
        src[i].len = len;
    }
    struct st_image *img = ok ? st_compile(src, n, d) : NULL;
    for (size_t i = 0; i < n; i++)
        st_free((void *)src[i].text);
    st_free(src);
    return img;
}

size_t st_image_ntasks(const struct st_image *img)
{
    return img->ntasks;
}

const struct st_task_info *st_image_task(const struct st_image *img, size_t i)
{
    return i < img->ntasks ? &img->tasks[i].info : NULL;
}

size_t st_image_nlocated(const struct st_image *img)
{
    return img->nlocated;
}

const struct st_located *st_image_located(const struct st_image *img, size_t i)
{
    return i < img->nlocated ? &img->located[i] : NULL;
}
