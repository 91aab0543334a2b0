/* cfg.h — YAML documents with positions, for files a user writes.
 *
 * A cfg is one YAML document loaded with libyaml, whose nodes keep their
 * file:line:column. Every error about a value, found while parsing or later
 * (a negative area, an unknown tag), is reported through cfg_error() at the
 * node it concerns, so the user reads "plants/x.yaml:12:11: area: must be
 * > 0". Getters mark the keys they read; cfg_check_keys() then reports keys
 * nobody read (typos) with the closest valid key as a suggestion.
 *
 * Values may be overridden after loading (the CLI's --set): an overridden
 * node reports errors at its origin ("--set TANK.area=-1") instead of a line.
 *
 * Nodes are small integer handles valid for the life of their cfg; 0 means
 * "no node".
 */
#ifndef CORE_CFG_H
#define CORE_CFG_H

#include <stddef.h>

#include "core/err.h"
#include "core/units.h"
#include "core/vtime.h"

struct cfg;
typedef int cfg_node;

enum cfg_kind { CFG_NONE = 0, CFG_SCALAR, CFG_SEQ, CFG_MAP };

/* Loads a file (at most 16 MiB) or a buffer (`name` is used in messages).
 * Returns a cfg the caller frees with cfg_free(), or NULL with "file:line:col:
 * message" in `e`. An empty document loads as an empty mapping. Duplicate
 * keys in a mapping are an error. */
struct cfg *cfg_load_file(const char *path, struct err *e);
struct cfg *cfg_load_buffer(const char *name, const char *buf, size_t len,
                            struct err *e);
void cfg_free(struct cfg *c);

const char *cfg_name(const struct cfg *c);
cfg_node cfg_root(const struct cfg *c);
enum cfg_kind cfg_kind(const struct cfg *c, cfg_node n);

/* 1-based line and column of a node; 0 for nodes added by an override. */
int cfg_line(const struct cfg *c, cfg_node n);
int cfg_col(const struct cfg *c, cfg_node n);

/* Formats "file:line:col: " + message into `e` for node n (or the override
 * origin for an overridden node). Returns -1. */
int cfg_error(const struct cfg *c, cfg_node n, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Scalar text, or NULL if n is not a scalar. */
const char *cfg_scalar(const struct cfg *c, cfg_node n);

/* Number of items of a sequence or pairs of a mapping (0 otherwise). */
size_t cfg_len(const struct cfg *c, cfg_node n);
cfg_node cfg_item(const struct cfg *c, cfg_node seq, size_t i);
cfg_node cfg_key_at(const struct cfg *c, cfg_node map, size_t i);
cfg_node cfg_value_at(const struct cfg *c, cfg_node map, size_t i);

/* Value under `key` in a mapping (marks the key as read), or 0. */
cfg_node cfg_get(struct cfg *c, cfg_node map, const char *key);
/* The key node whose value is `value` in `map`, or 0 (for messages). */
cfg_node cfg_key_of(const struct cfg *c, cfg_node map, cfg_node value);

/* Typed getters. Each reads `key` of `map`. If the key is absent: returns 1
 * and leaves *out untouched when `required` is 0, or fails with "missing
 * 'key'" at the map when it is 1. On a bad value: -1 with the position of the
 * value and the key's name in the message. On success: 0. */
int cfg_get_str(struct cfg *c, cfg_node map, const char *key, int required,
                const char **out, struct err *e);
int cfg_get_bool(struct cfg *c, cfg_node map, const char *key, int required,
                 int *out, struct err *e);
int cfg_get_int(struct cfg *c, cfg_node map, const char *key, int required,
                long long min, long long max, long long *out, struct err *e);
/* A quantity with an optional unit; a bare number is in `default_unit`. */
int cfg_get_qty(struct cfg *c, cfg_node map, const char *key, int required,
                enum unit_dim dim, const char *default_unit, double *out,
                struct err *e);
int cfg_get_duration(struct cfg *c, cfg_node map, const char *key, int required,
                     vtime_t *out, struct err *e);

/* Parses a scalar node as a boolean (true/false, yes/no, on/off, 1/0). */
int cfg_bool_of(const struct cfg *c, cfg_node n, int *out, struct err *e);
/* Parses a scalar node as a quantity. */
int cfg_qty_of(const struct cfg *c, cfg_node n, enum unit_dim dim,
               const char *default_unit, double *out, struct err *e);

/* Fails at the first key of `map` that no getter read, naming it, `what`
 * it belongs to, and the closest read key when one is near ("did you mean
 * 'diameter'?"). `allowed` (NULL-terminated, may be NULL) lists keys that are
 * accepted without being read here. Returns 0 or -1. */
int cfg_check_keys(const struct cfg *c, cfg_node map, const char *what,
                   const char *const *allowed, struct err *e);

/* Sets `key` of `map` to the scalar `value`, adding the pair if absent;
 * errors on the node then name `origin`. Returns 0 or -1. */
int cfg_override(struct cfg *c, cfg_node map, const char *key,
                 const char *value, const char *origin, struct err *e);

/* A key of `map` that looks like a misspelling of `key` (edit distance 1,
 * or 2 for keys over 4 letters; not a key a getter has read), or 0. Used to turn "missing 'x'" into the real mistake. */
cfg_node cfg_typo_of(const struct cfg *c, cfg_node map, const char *key);

/* Reports a missing key: if a key of the map looks like a misspelling of
 * it, the error is at that key ("unknown key 'diamter' ... did you mean
 * 'diameter'?"), else at the map with `fmt`. Returns -1. */
int cfg_missing(const struct cfg *c, cfg_node map, const char *key, struct err *e,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Levenshtein distance, for suggestions (exposed for reuse in messages). */
size_t cfg_edit_distance(const char *a, const char *b);

#endif
