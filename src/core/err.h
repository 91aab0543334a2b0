/* err.h — the project's one error convention.
 *
 * A function that can fail returns -1 (or NULL) and, when given a non-NULL
 * `struct err *`, writes one human-readable line into it that says what went
 * wrong and where ("plants/x.yaml:12:9: area: must be > 0"). Library code
 * never prints: the caller decides whether and how to show the message.
 * 0 (or a valid pointer) means success. Protocol exception codes are not
 * errors of this kind and have their own ranges in their modules.
 */
#ifndef CORE_ERR_H
#define CORE_ERR_H

#include <stdarg.h>

#define ERR_MSG_MAX 1024

struct err {
    char msg[ERR_MSG_MAX];
};

/* Formats the message into `e` (if non-NULL). Always returns -1, so that
 * `return err_set(e, "...")` reads naturally. */
int err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int err_vset(struct err *e, const char *fmt, va_list ap);

/* Prepends "prefix: " to the message already in `e`. Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears the message. */
void err_clear(struct err *e);

/* "Cannot happen" markers: ALWAYS/NEVER document an expectation; in debug
 * builds a violated expectation aborts, in release it is just the test. */
#ifdef NDEBUG
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#else
#include <assert.h>
#define ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define NEVER(x) ((x) ? (assert(0 && #x), 1) : 0)
#endif

#endif
