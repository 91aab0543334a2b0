/* cfg.c — libyaml documents with positions, typed getters and key checks
 * (see cfg.h). */
#include "core/cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define CFG_MAX_FILE (16u << 20)

struct asked {
    cfg_node map;
    char key[40];
};

struct cfg {
    char *name;
    yaml_document_t doc;
    int have_doc;
    unsigned char *used;   /* per node id: key was read */
    char **origin;         /* per node id: override origin, or NULL */
    size_t nslots;         /* size of used/origin (node count + 1) */
    struct asked *asked;
    size_t nasked, cap_asked;
};

static yaml_node_t *node_at(const struct cfg *c, cfg_node n)
{
    if (!c || n <= 0)
        return NULL;
    return yaml_document_get_node((yaml_document_t *)&c->doc, n);
}

static size_t node_count(const struct cfg *c)
{
    return (size_t)(c->doc.nodes.top - c->doc.nodes.start);
}

static int grow_slots(struct cfg *c)
{
    size_t need = node_count(c) + 1;
    if (need <= c->nslots)
        return 0;
    unsigned char *u = realloc(c->used, need);
    if (!u)
        return -1;
    c->used = u;
    char **o = realloc(c->origin, need * sizeof *o);
    if (!o)
        return -1;
    c->origin = o;
    memset(c->used + c->nslots, 0, need - c->nslots);
    memset(c->origin + c->nslots, 0, (need - c->nslots) * sizeof *o);
    c->nslots = need;
    return 0;
}

const char *cfg_name(const struct cfg *c)
{
    return c->name;
}

int cfg_line(const struct cfg *c, cfg_node n)
{
    yaml_node_t *y = node_at(c, n);
    if (!y || ((size_t)n < c->nslots && c->origin[n]))
        return 0;
    return (int)y->start_mark.line + 1;
}

int cfg_col(const struct cfg *c, cfg_node n)
{
    yaml_node_t *y = node_at(c, n);
    if (!y || ((size_t)n < c->nslots && c->origin[n]))
        return 0;
    return (int)y->start_mark.column + 1;
}

int cfg_error(const struct cfg *c, cfg_node n, struct err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c && n > 0 && (size_t)n < c->nslots && c->origin[n])
        snprintf(e->msg, sizeof e->msg, "%s: %s", c->origin[n], msg);
    else if (c && node_at(c, n))
        snprintf(e->msg, sizeof e->msg, "%s:%d:%d: %s", c->name, cfg_line(c, n),
                 cfg_col(c, n), msg);
    else
        snprintf(e->msg, sizeof e->msg, "%s: %s", c ? c->name : "?", msg);
    return -1;
}

struct keyref {
    const char *text;
    size_t index; /* position in the input, to report the later one */
    cfg_node id;
};

static int keyref_cmp(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int r = strcmp(x->text, y->text);
    if (r)
        return r;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Checks every mapping for duplicate scalar keys. */
static int check_duplicates(struct cfg *c, struct err *e)
{
    size_t count = node_count(c);
    for (size_t id = 1; id <= count; id++) {
        yaml_node_t *m = node_at(c, (cfg_node)id);
        if (m->type != YAML_MAPPING_NODE)
            continue;
        size_t np = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
        if (np < 2)
            continue;
        struct keyref *keys = malloc(np * sizeof *keys);
        if (!keys)
            return err_set(e, "%s: out of memory", c->name);
        size_t nk = 0;
        for (size_t i = 0; i < np; i++) {
            cfg_node kid = m->data.mapping.pairs.start[i].key;
            yaml_node_t *k = node_at(c, kid);
            if (k && k->type == YAML_SCALAR_NODE)
                keys[nk++] = (struct keyref){(const char *)k->data.scalar.value,
                                             k->start_mark.index, kid};
        }
        qsort(keys, nk, sizeof *keys, keyref_cmp);
        for (size_t i = 1; i < nk; i++) {
            if (strcmp(keys[i - 1].text, keys[i].text) == 0) {
                int r = cfg_error(c, keys[i].id, e, "duplicate key '%s' (first at line %d)",
                                  keys[i].text, cfg_line(c, keys[i - 1].id));
                free(keys);
                return r;
            }
        }
        free(keys);
    }
    return 0;
}

struct cfg *cfg_load_buffer(const char *name, const char *buf, size_t len,
                            struct err *e)
{
    struct cfg *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(e, "%s: out of memory", name);
        return NULL;
    }
    c->name = strdup(name ? name : "<input>");
    if (!c->name) {
        free(c);
        err_set(e, "out of memory");
        return NULL;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        err_set(e, "%s: cannot initialise the YAML parser", c->name);
        cfg_free(c);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&p, &c->doc)) {
        const char *prob = p.problem ? p.problem : "invalid YAML";
        if (p.context)
            err_set(e, "%s:%zu:%zu: %s (%s at line %zu)", c->name,
                    p.problem_mark.line + 1, p.problem_mark.column + 1, prob,
                    p.context, p.context_mark.line + 1);
        else
            err_set(e, "%s:%zu:%zu: %s", c->name, p.problem_mark.line + 1,
                    p.problem_mark.column + 1, prob);
        yaml_parser_delete(&p);
        cfg_free(c);
        return NULL;
    }
    c->have_doc = 1;
    if (!yaml_document_get_root_node(&c->doc)) {
        /* empty file: an empty mapping */
        yaml_document_delete(&c->doc);
        if (!yaml_document_initialize(&c->doc, NULL, NULL, NULL, 1, 1) ||
            !yaml_document_add_mapping(&c->doc, NULL, YAML_BLOCK_MAPPING_STYLE)) {
            c->have_doc = 0;
            yaml_parser_delete(&p);
            err_set(e, "%s: out of memory", c->name);
            cfg_free(c);
            return NULL;
        }
    } else {
        yaml_document_t extra;
        if (yaml_parser_load(&p, &extra)) {
            yaml_node_t *r = yaml_document_get_root_node(&extra);
            size_t line = r ? r->start_mark.line + 1 : 0;
            yaml_document_delete(&extra);
            if (r) {
                err_set(e, "%s:%zu:1: a second YAML document; one document per file",
                        c->name, line);
                yaml_parser_delete(&p);
                cfg_free(c);
                return NULL;
            }
        } else {
            err_set(e, "%s:%zu:%zu: %s", c->name, p.problem_mark.line + 1,
                    p.problem_mark.column + 1, p.problem ? p.problem : "invalid YAML");
            yaml_parser_delete(&p);
            cfg_free(c);
            return NULL;
        }
    }
    yaml_parser_delete(&p);
    if (grow_slots(c) != 0) {
        err_set(e, "%s: out of memory", c->name);
        cfg_free(c);
        return NULL;
    }
    if (check_duplicates(c, e) != 0) {
        cfg_free(c);
        return NULL;
    }
    return c;
}

struct cfg *cfg_load_file(const char *path, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        err_set(e, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CFG_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        err_set(e, "%s: out of memory", path);
        return NULL;
    }
    size_t n = fread(buf, 1, CFG_MAX_FILE + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        err_set(e, "%s: read error", path);
        return NULL;
    }
    if (n > CFG_MAX_FILE) {
        free(buf);
        err_set(e, "%s: larger than %u MiB", path, CFG_MAX_FILE >> 20);
        return NULL;
    }
    struct cfg *c = cfg_load_buffer(path, buf, n, e);
    free(buf);
    return c;
}

void cfg_free(struct cfg *c)
{
    if (!c)
        return;
    if (c->have_doc)
        yaml_document_delete(&c->doc);
    if (c->origin)
        for (size_t i = 0; i < c->nslots; i++)
            free(c->origin[i]);
    free(c->origin);
    free(c->used);
    free(c->asked);
    free(c->name);
    free(c);
}

cfg_node cfg_root(const struct cfg *c)
{
    yaml_node_t *r = yaml_document_get_root_node((yaml_document_t *)&c->doc);
    return r ? (cfg_node)(r - c->doc.nodes.start) + 1 : 0;
}

enum cfg_kind cfg_kind(const struct cfg *c, cfg_node n)
{
    yaml_node_t *y = node_at(c, n);
    if (!y)
        return CFG_NONE;
    switch (y->type) {
    case YAML_SCALAR_NODE: return CFG_SCALAR;
    case YAML_SEQUENCE_NODE: return CFG_SEQ;
    case YAML_MAPPING_NODE: return CFG_MAP;
    default: return CFG_NONE;
    }
}

const char *cfg_scalar(const struct cfg *c, cfg_node n)
{
    yaml_node_t *y = node_at(c, n);
    return y && y->type == YAML_SCALAR_NODE ? (const char *)y->data.scalar.value : NULL;
}

size_t cfg_len(const struct cfg *c, cfg_node n)
{
    yaml_node_t *y = node_at(c, n);
    if (!y)
        return 0;
    if (y->type == YAML_SEQUENCE_NODE)
        return (size_t)(y->data.sequence.items.top - y->data.sequence.items.start);
    if (y->type == YAML_MAPPING_NODE)
        return (size_t)(y->data.mapping.pairs.top - y->data.mapping.pairs.start);
    return 0;
}

cfg_node cfg_item(const struct cfg *c, cfg_node seq, size_t i)
{
    yaml_node_t *y = node_at(c, seq);
    if (!y || y->type != YAML_SEQUENCE_NODE || i >= cfg_len(c, seq))
        return 0;
    return y->data.sequence.items.start[i];
}

cfg_node cfg_key_at(const struct cfg *c, cfg_node map, size_t i)
{
    yaml_node_t *y = node_at(c, map);
    if (!y || y->type != YAML_MAPPING_NODE || i >= cfg_len(c, map))
        return 0;
    return y->data.mapping.pairs.start[i].key;
}

cfg_node cfg_value_at(const struct cfg *c, cfg_node map, size_t i)
{
    yaml_node_t *y = node_at(c, map);
    if (!y || y->type != YAML_MAPPING_NODE || i >= cfg_len(c, map))
        return 0;
    return y->data.mapping.pairs.start[i].value;
}

static void remember_asked(struct cfg *c, cfg_node map, const char *key)
{
    for (size_t i = 0; i < c->nasked; i++)
        if (c->asked[i].map == map && strcmp(c->asked[i].key, key) == 0)
            return;
    if (c->nasked == c->cap_asked) {
        size_t cap = c->cap_asked ? 2 * c->cap_asked : 64;
        struct asked *a = realloc(c->asked, cap * sizeof *a);
        if (!a)
            return; /* only suggestions are lost */
        c->asked = a;
        c->cap_asked = cap;
    }
    c->asked[c->nasked].map = map;
    snprintf(c->asked[c->nasked].key, sizeof c->asked[c->nasked].key, "%s", key);
    c->nasked++;
}

cfg_node cfg_get(struct cfg *c, cfg_node map, const char *key)
{
    size_t n = cfg_len(c, map);
    if (cfg_kind(c, map) != CFG_MAP)
        return 0;
    remember_asked(c, map, key);
    for (size_t i = 0; i < n; i++) {
        cfg_node k = cfg_key_at(c, map, i);
        const char *ks = cfg_scalar(c, k);
        if (ks && strcmp(ks, key) == 0) {
            if ((size_t)k < c->nslots)
                c->used[k] = 1;
            return cfg_value_at(c, map, i);
        }
    }
    return 0;
}

cfg_node cfg_key_of(const struct cfg *c, cfg_node map, cfg_node value)
{
    size_t n = cfg_len(c, map);
    for (size_t i = 0; i < n; i++)
        if (cfg_value_at(c, map, i) == value)
            return cfg_key_at(c, map, i);
    return 0;
}

cfg_node cfg_typo_of(const struct cfg *c, cfg_node map, const char *key)
{
    size_t n = cfg_len(c, map);
    for (size_t i = 0; i < n; i++) {
        cfg_node k = cfg_key_at(c, map, i);
        const char *ks = cfg_scalar(c, k);
        if (!ks || strcmp(ks, key) == 0 || ((size_t)k < c->nslots && c->used[k]))
            continue; /* a key somebody read is a valid key, not a typo */
        size_t d = cfg_edit_distance(ks, key);
        if (d >= 1 && d <= (strlen(key) <= 4 ? 1u : 2u))
            return k;
    }
    return 0;
}

int cfg_missing(const struct cfg *c, cfg_node map, const char *key, struct err *e,
                const char *fmt, ...)
{
    cfg_node typo = cfg_typo_of(c, map, key);
    if (typo)
        return cfg_error(c, typo, e, "unknown key '%s' (did you mean '%s'?)",
                         cfg_scalar(c, typo), key);
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cfg_error(c, map, e, "%s", msg);
}

static int missing(struct cfg *c, cfg_node map, const char *key, struct err *e)
{
    return cfg_missing(c, map, key, e, "missing '%s'", key);
}

int cfg_get_str(struct cfg *c, cfg_node map, const char *key, int required,
                const char **out, struct err *e)
{
    cfg_node v = cfg_get(c, map, key);
    if (!v)
        return required ? missing(c, map, key, e) : 1;
    const char *s = cfg_scalar(c, v);
    if (!s)
        return cfg_error(c, v, e, "%s: expected a single value, not a list or mapping", key);
    *out = s;
    return 0;
}

int cfg_bool_of(const struct cfg *c, cfg_node n, int *out, struct err *e)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    const char *s = cfg_scalar(c, n);
    if (s) {
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(s, yes[i]) == 0) {
                *out = 1;
                return 0;
            }
            if (strcasecmp(s, no[i]) == 0) {
                *out = 0;
                return 0;
            }
        }
    }
    return cfg_error(c, n, e, "expected true or false, got '%s'", s ? s : "a list or mapping");
}

int cfg_get_bool(struct cfg *c, cfg_node map, const char *key, int required,
                 int *out, struct err *e)
{
    cfg_node v = cfg_get(c, map, key);
    if (!v)
        return required ? missing(c, map, key, e) : 1;
    if (cfg_bool_of(c, v, out, NULL) != 0)
        return cfg_error(c, v, e, "%s: expected true or false, got '%s'", key,
                         cfg_scalar(c, v) ? cfg_scalar(c, v) : "a list or mapping");
    return 0;
}

int cfg_get_int(struct cfg *c, cfg_node map, const char *key, int required,
                long long min, long long max, long long *out, struct err *e)
{
    cfg_node v = cfg_get(c, map, key);
    if (!v)
        return required ? missing(c, map, key, e) : 1;
    const char *s = cfg_scalar(c, v);
    char *end = NULL;
    errno = 0;
    long long x = s ? strtoll(s, &end, 0) : 0;
    if (!s || end == s || *end || errno)
        return cfg_error(c, v, e, "%s: expected an integer, got '%s'", key,
                         s ? s : "a list or mapping");
    if (x < min || x > max)
        return cfg_error(c, v, e, "%s: %lld is out of range [%lld, %lld]", key, x, min, max);
    *out = x;
    return 0;
}

int cfg_qty_of(const struct cfg *c, cfg_node n, enum unit_dim dim,
               const char *default_unit, double *out, struct err *e)
{
    const char *s = cfg_scalar(c, n);
    struct err ue;
    if (!s)
        return cfg_error(c, n, e, "expected a %s, not a list or mapping", unit_dim_name(dim));
    if (unit_parse(s, dim, default_unit, out, &ue) != 0)
        return cfg_error(c, n, e, "%s", ue.msg);
    return 0;
}

int cfg_get_qty(struct cfg *c, cfg_node map, const char *key, int required,
                enum unit_dim dim, const char *default_unit, double *out,
                struct err *e)
{
    cfg_node v = cfg_get(c, map, key);
    if (!v)
        return required ? missing(c, map, key, e) : 1;
    const char *s = cfg_scalar(c, v);
    struct err ue;
    if (!s)
        return cfg_error(c, v, e, "%s: expected a %s, not a list or mapping", key,
                         unit_dim_name(dim));
    if (unit_parse(s, dim, default_unit, out, &ue) != 0)
        return cfg_error(c, v, e, "%s: %s", key, ue.msg);
    return 0;
}

int cfg_get_duration(struct cfg *c, cfg_node map, const char *key, int required,
                     vtime_t *out, struct err *e)
{
    cfg_node v = cfg_get(c, map, key);
    if (!v)
        return required ? missing(c, map, key, e) : 1;
    const char *s = cfg_scalar(c, v);
    struct err ue;
    if (!s)
        return cfg_error(c, v, e, "%s: expected a duration, not a list or mapping", key);
    if (vt_parse_duration(s, out, &ue) != 0)
        return cfg_error(c, v, e, "%s: %s", key, ue.msg);
    return 0;
}

size_t cfg_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 64;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
                                        tolower((unsigned char)b[j - 1]));
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof prev[0]);
    }
    return prev[lb];
}

int cfg_check_keys(const struct cfg *c, cfg_node map, const char *what,
                   const char *const *allowed, struct err *e)
{
    size_t n = cfg_len(c, map);
    for (size_t i = 0; i < n; i++) {
        cfg_node k = cfg_key_at(c, map, i);
        if ((size_t)k < c->nslots && c->used[k])
            continue;
        const char *ks = cfg_scalar(c, k);
        if (!ks)
            return cfg_error(c, k, e, "%s: keys must be plain names", what);
        int ok = 0;
        for (size_t a = 0; allowed && allowed[a]; a++)
            if (strcmp(allowed[a], ks) == 0)
                ok = 1;
        if (ok)
            continue;
        const char *best = NULL;
        size_t bestd = 3;
        for (size_t a = 0; a < c->nasked; a++) {
            if (c->asked[a].map != map)
                continue;
            size_t d = cfg_edit_distance(ks, c->asked[a].key);
            if (d < bestd) {
                bestd = d;
                best = c->asked[a].key;
            }
        }
        if (best)
            return cfg_error(c, k, e, "unknown key '%s' in %s (did you mean '%s'?)", ks,
                             what, best);
        return cfg_error(c, k, e, "unknown key '%s' in %s", ks, what);
    }
    return 0;
}

int cfg_override(struct cfg *c, cfg_node map, const char *key,
                 const char *value, const char *origin, struct err *e)
{
    if (cfg_kind(c, map) != CFG_MAP)
        return err_set(e, "%s: not a mapping", origin);
    int v = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)value,
                                     (int)strlen(value), YAML_PLAIN_SCALAR_STYLE);
    if (!v)
        return err_set(e, "%s: out of memory", origin);
    cfg_node existing = 0;
    size_t n = cfg_len(c, map);
    yaml_node_t *m = node_at(c, map);
    for (size_t i = 0; i < n; i++) {
        const char *ks = cfg_scalar(c, cfg_key_at(c, map, i));
        if (ks && strcmp(ks, key) == 0) {
            m->data.mapping.pairs.start[i].value = v;
            existing = 1;
            break;
        }
    }
    int k = 0;
    if (!existing) {
        k = yaml_document_add_scalar(&c->doc, NULL, (yaml_char_t *)key,
                                     (int)strlen(key), YAML_PLAIN_SCALAR_STYLE);
        if (!k || !yaml_document_append_mapping_pair(&c->doc, map, k, v))
            return err_set(e, "%s: out of memory", origin);
    }
    if (grow_slots(c) != 0)
        return err_set(e, "%s: out of memory", origin);
    free(c->origin[v]);
    c->origin[v] = strdup(origin);
    if (k) {
        free(c->origin[k]);
        c->origin[k] = strdup(origin);
    }
    return 0;
}
