/* snap.h — the snapshot container: named sections of typed values in one
 * file, written by every module that holds state and read back in a new
 * process.
 *
 * A snapshot is built in memory: a module opens a section under its own
 * name ("plant", "plc/plc", "sched") and appends values with the put_*
 * calls (integers little-endian, doubles as their IEEE 754 bits, strings
 * and byte runs with their length). The file is
 *
 *   "ICSRSNAP" | u32 format version | u32 section count |
 *   per section: u16 name length | name | u64 body length | body |
 *   32-byte BLAKE2b of everything before it
 *
 * so a truncated or altered file is refused before any module reads it.
 * A reader finds a section by name and gets values in the order they were
 * put; reading past a section's end, or a value of the wrong length,
 * sets a sticky error that names the file and the section, so a module
 * reads all its values and checks once (snapr_ok()). Values are not
 * tagged: a reader must read exactly the types the writer put.
 *
 * Ownership: snapw_new()/snapr_load_file() return objects freed with
 * snapw_free()/snapr_free(). Strings and byte runs a reader returns point
 * into the reader and live as long as it.
 */
#ifndef CORE_SNAP_H
#define CORE_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SNAP_FORMAT_VERSION 1

/* ---- writing ---- */
struct snapw;

struct snapw *snapw_new(void);
void snapw_free(struct snapw *w);

/* Starts a section (ends the previous one). Names are unique in a file
 * (a reader finds the first of a name) and shorter than 64 KiB. */
void snapw_section(struct snapw *w, const char *name);
void snapw_u8(struct snapw *w, uint8_t v);
void snapw_u32(struct snapw *w, uint32_t v);
void snapw_u64(struct snapw *w, uint64_t v);
void snapw_i64(struct snapw *w, int64_t v);
void snapw_f64(struct snapw *w, double v);
/* A byte run with its length. */
void snapw_bytes(struct snapw *w, const void *p, size_t n);
/* A string (NULL is written as absent and read back as NULL). */
void snapw_str(struct snapw *w, const char *s);

/* Writes the file (atomically: a temporary file renamed over `path`).
 * Returns 0, or -1 with a message (also when any put ran out of memory). */
int snapw_save_file(struct snapw *w, const char *path, struct err *e);
/* The bytes the file would hold (for tests), valid until the next put or
 * snapw_free(); NULL when out of memory. Writing may go on afterwards. */
const uint8_t *snapw_data(struct snapw *w, size_t *len);

/* ---- reading ---- */
struct snapr;

/* Reads and checks a snapshot file. Returns NULL with a message naming the
 * file (not a snapshot, another format version, truncated, checksum).
 * Messages of the reader then name it as the file's path. */
struct snapr *snapr_load_file(const char *path, struct err *e);
/* The same from bytes in memory (copied); messages name it "snapshot". */
struct snapr *snapr_load_mem(const void *data, size_t len, struct err *e);
void snapr_free(struct snapr *r);

/* 1 if the snapshot has this section. */
int snapr_has(const struct snapr *r, const char *name);
/* Positions the reader at the start of a section. Returns 0, or -1 with
 * "FILE: no section 'NAME'" (the error also sticks). */
int snapr_section(struct snapr *r, const char *name, struct err *e);
uint8_t snapr_u8(struct snapr *r);
uint32_t snapr_u32(struct snapr *r);
uint64_t snapr_u64(struct snapr *r);
int64_t snapr_i64(struct snapr *r);
double snapr_f64(struct snapr *r);
/* A byte run: its length in *n. */
const uint8_t *snapr_bytes(struct snapr *r, size_t *n);
/* A byte run that must be exactly n bytes long, copied into out. */
void snapr_bytes_into(struct snapr *r, void *out, size_t n);
/* A string (NUL-terminated, or NULL if absent). */
const char *snapr_str(struct snapr *r);
/* Marks the current section inconsistent ("plant: 3 tanks, the plant has 2")
 * from a module's own check. Sticky like the others. */
void snapr_fail(struct snapr *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0 if every read so far succeeded; else -1 with the first error in e
 * ("s.snap: section plant: ..."). */
int snapr_ok(const struct snapr *r, struct err *e);
/* Bytes left unread in the current section (a module checks 0 at its end). */
size_t snapr_left(const struct snapr *r);

#endif
