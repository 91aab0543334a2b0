/* buf.c — growable FIFO byte buffer (see buf.h). */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->head = b->len = b->cap = 0;
}

void buf_clear(struct buf *b)
{
    free(b->data);
    buf_init(b);
}

int buf_append(struct buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (b->head + b->len + n > b->cap) {
        if (b->head && b->len + n <= b->cap) {
            memmove(b->data, b->data + b->head, b->len);
            b->head = 0;
        } else {
            size_t cap = b->cap ? b->cap : 256;
            while (cap < b->len + n)
                cap *= 2;
            uint8_t *d = malloc(cap);
            if (!d)
                return -1;
            if (b->len)
                memcpy(d, b->data + b->head, b->len);
            free(b->data);
            b->data = d;
            b->cap = cap;
            b->head = 0;
        }
    }
    memcpy(b->data + b->head + b->len, data, n);
    b->len += n;
    return 0;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->head = b->len = 0;
        return;
    }
    b->head += n;
    b->len -= n;
}
