/* st.h — IEC 61131-3 Structured Text: compile a program to bytecode, run it.
 *
 * The whole contract of src/st. A source text (one or more files) compiles
 * to an immutable image: its types, its POUs' bytecode, the memory layout
 * of every variable, its located variables (AT %IX0.0 ...) and its
 * configuration's tasks. A VM instantiates an image: it allocates the
 * program's memory once, and then runs tasks scan after scan without
 * allocating. The VM has no I/O: the PLC runtime moves the process image in
 * and out of the located variables between scans, and gives each scan the
 * virtual clock latched at its start (what timers read).
 *
 * Diagnostics: compilation reports every error it can (several per run),
 * each with file, line, column, a one-line message in the style of Lua
 * ("END_IF expected (to close IF at line 12)") and the source line with a
 * caret under the column.
 *
 * Runtime errors (division by zero, an array index out of bounds, a scan
 * that exceeds its instruction budget: the watchdog) stop the scan and
 * return a fault naming the POU, the line and what happened; the VM never
 * crashes the process.
 *
 * Ownership: st_compile() returns an image freed with st_image_free();
 * st_vm_new() a VM freed with st_vm_free() (the image must outlive its VMs).
 * Strings returned by accessors live as long as their image or VM.
 */
#ifndef ST_ST_H
#define ST_ST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/locaddr.h"
#include "core/vtime.h"

/* ---- diagnostics ---- */

enum st_severity { ST_ERROR = 0, ST_WARNING = 1 };

struct st_diag {
    enum st_severity severity;
    char file[128];
    int line, col;           /* 1-based */
    char msg[256];
    char excerpt[256];       /* the source line */
    char caret[256];         /* spaces and a ^ under col */
};

struct st_diags {
    struct st_diag *v;
    size_t n, cap;
    size_t errors, warnings;
};

void st_diags_init(struct st_diags *d);
void st_diags_clear(struct st_diags *d);
/* Writes every diagnostic as "file:line:col: error: msg\n  excerpt\n  caret\n". */
void st_diags_print(const struct st_diags *d, void *file /* FILE * */);

/* ---- compiling ---- */

struct st_source {
    const char *name;  /* file name for messages */
    const char *text;
    size_t len;
};

struct st_image;

/* Compiles the sources (together: one may use what another declares).
 * Returns an image, or NULL when there were errors (all of them in d,
 * warnings too). */
struct st_image *st_compile(const struct st_source *src, size_t nsrc, struct st_diags *d);
/* Reads and compiles files. */
struct st_image *st_compile_files(const char *const *paths, size_t n, struct st_diags *d);
void st_image_free(struct st_image *img);

/* The disassembly of every POU: header, variables with offsets and types,
 * then one line per instruction ("  12  ADD_I     r3, r1, r2   ; line 7").
 * Returns a malloc'd string the caller frees. */
char *st_disasm(const struct st_image *img);

/* ---- what an image declares ---- */

/* A task of the configuration. A program without a CONFIGURATION gets one
 * implicit task ("main", cyclic, interval 0: the runtime's default) running
 * each PROGRAM declared, in source order. */
struct st_task_info {
    const char *name;
    vtime_t interval;    /* 0: not cyclic (the runtime decides) */
    int priority;
    size_t nprograms;    /* program instances it runs, in order */
    const char *const *programs; /* their instance names */
};
size_t st_image_ntasks(const struct st_image *img);
const struct st_task_info *st_image_task(const struct st_image *img, size_t i);

/* Elementary types (ORDER: as in IEC 61131-3). */
enum st_type {
    ST_BOOL, ST_SINT, ST_INT, ST_DINT, ST_LINT, ST_USINT, ST_UINT, ST_UDINT, ST_ULINT,
    ST_BYTE, ST_WORD, ST_DWORD, ST_LWORD, ST_REAL, ST_LREAL, ST_TIME, ST_STRING,
    ST_DERIVED, /* arrays, structures, enumerations, FB instances */
};

/* A located variable (AT %IX0.0 etc.): where it lives in VM memory. Values
 * are stored at their natural size, little-endian: a BOOL (any %?X bit) is
 * one byte holding 0 or 1; B, W, D, L addresses are 1, 2, 4, 8 bytes (REAL
 * and LREAL as IEEE 754). Variables declared at the same address share one
 * cell, as in OpenPLC. */
struct st_located {
    struct locaddr addr;
    enum st_type type;     /* elementary: its size matches the address's */
    const char *name;      /* "main.pump_run" or a global's name */
    size_t offset;         /* byte offset in the VM's memory */
};
size_t st_image_nlocated(const struct st_image *img);
const struct st_located *st_image_located(const struct st_image *img, size_t i);

/* ---- running ---- */

struct st_vm;

/* Allocates the image's memory and sets every variable to its initial
 * value. Returns NULL with a message. */
struct st_vm *st_vm_new(const struct st_image *img, struct err *e);
void st_vm_free(struct st_vm *vm);

/* The VM's memory (for the runtime's process-image copies by offset). */
uint8_t *st_vm_memory(struct st_vm *vm);
size_t st_vm_memory_size(const struct st_vm *vm);

enum st_fault_kind {
    ST_FAULT_NONE = 0,
    ST_FAULT_DIV_ZERO,
    ST_FAULT_BOUNDS,      /* array index out of its declared range, or a value
                             outside its subrange type */
    ST_FAULT_WATCHDOG,    /* the scan used its whole instruction budget */
    ST_FAULT_STACK,       /* call depth (recursion is not IEC, but defended) */
    ST_FAULT_OTHER,       /* no such task; an impossible address (a bug) */
};

struct st_fault {
    enum st_fault_kind kind;
    char pou[64];
    int line;
    char msg[256];        /* "division by zero in main at line 42" */
};

/* Runs task `t` once: each of its program instances in order. `now` is the
 * virtual clock latched for this scan (timers read it). `budget` is the
 * most instructions the scan may execute (0: no limit); a scan that needs
 * more stops with a watchdog fault. Returns 0, or -1 with *f filled: the
 * scan stopped where the fault happened (the VM stays consistent; memory
 * holds what the scan wrote before it). *executed (may be NULL) receives
 * the instructions executed, counted exactly and the same for the same
 * scan (the budget itself after a watchdog fault), which the runtime turns
 * into the scan's virtual duration. */
int st_vm_run_task(struct st_vm *vm, size_t t, vtime_t now, uint64_t budget,
                   uint64_t *executed, struct st_fault *f);

/* Restarts: warm keeps RETAIN variables and re-initialises the others;
 * cold re-initialises everything. */
void st_vm_restart(struct st_vm *vm, int cold);

/* ---- variables by name (debugging, engineering access, tests) ----
 * Names are "PROGRAM_INSTANCE.var", "instance.fb.field", "arr[3]",
 * "s.member", or a global's name. Case-insensitive, as IEC identifiers. */
struct st_ref {
    enum st_type type;
    size_t offset;
    size_t size;          /* bytes (STRING: its capacity + 1) */
};
int st_vm_lookup(const struct st_vm *vm, const char *name, struct st_ref *out, struct err *e);
/* Value as a double / integer; the integer form of REAL is truncated, of
 * TIME is nanoseconds. An enumeration reads as a DINT (its value). */
double st_vm_get_f(const struct st_vm *vm, const struct st_ref *r);
int64_t st_vm_get_i(const struct st_vm *vm, const struct st_ref *r);
void st_vm_set_f(struct st_vm *vm, const struct st_ref *r, double v);
void st_vm_set_i(struct st_vm *vm, const struct st_ref *r, int64_t v);
/* STRING values: copied into buf (NUL-terminated). */
void st_vm_get_s(const struct st_vm *vm, const struct st_ref *r, char *buf, size_t len);
void st_vm_set_s(struct st_vm *vm, const struct st_ref *r, const char *s);

/* ---- retained variables ----
 * The bytes of every RETAIN variable, to keep across a restart or a
 * process (snapshots). */
size_t st_vm_retain_size(const struct st_vm *vm);
void st_vm_retain_save(const struct st_vm *vm, uint8_t *out);
void st_vm_retain_load(struct st_vm *vm, const uint8_t *in);

/* ---- allocation accounting ----
 * The number of allocations src/st has made since the process started
 * (every malloc, calloc and realloc of the module, compile time included).
 * A scan allocates nothing: tests compare this before and after. */
uint64_t st_alloc_count(void);

#endif
