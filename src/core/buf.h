/* buf.h — a growable byte buffer with a read position (a FIFO of bytes).
 *
 * Append at the end, consume from the front; the storage compacts itself.
 * A buf is a value: initialise with {0} or buf_init(), release with
 * buf_clear().
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data;
    size_t head; /* first unread byte */
    size_t len;  /* unread bytes */
    size_t cap;
};

void buf_init(struct buf *b);
/* Frees the storage; the buf is empty and reusable. */
void buf_clear(struct buf *b);
/* Appends n bytes. Returns 0, or -1 when out of memory (b unchanged). */
int buf_append(struct buf *b, const void *data, size_t n);
/* The unread bytes. */
static inline const uint8_t *buf_peek(const struct buf *b)
{
    return b->data + b->head;
}
/* Drops n unread bytes from the front (n <= len). */
void buf_consume(struct buf *b, size_t n);

#endif
