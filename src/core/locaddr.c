/* locaddr.c — parsing and formatting of located addresses (see locaddr.h). */
#include "core/locaddr.h"

#include <ctype.h>
#include <stdio.h>

static int read_uint(const char **p, uint32_t max, uint32_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return -1;
    uint64_t v = 0;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return -1;
        s++;
    }
    *p = s;
    *out = (uint32_t)v;
    return 0;
}

int locaddr_parse(const char *s, struct locaddr *out, struct err *e)
{
    const char *p = s;
    if (!s || *p != '%')
        return err_set(e, "'%s': a located address starts with %% (e.g. %%IX0.0, %%QW1)",
                       s ? s : "");
    p++;
    char area = (char)toupper((unsigned char)*p);
    if (area != 'I' && area != 'Q' && area != 'M')
        return err_set(e, "'%s': area must be I, Q or M", s);
    p++;
    char size = 'X';
    char c = (char)toupper((unsigned char)*p);
    if (c == 'X' || c == 'B' || c == 'W' || c == 'D' || c == 'L') {
        size = c;
        p++;
    }
    uint32_t index, bit = 0;
    if (read_uint(&p, 65535, &index) != 0)
        return err_set(e, "'%s': address number expected (0-65535)", s);
    if (size == 'X') {
        if (*p != '.')
            return err_set(e, "'%s': a bit address is byte.bit (e.g. %%%cX%u.0)", s, area, index);
        p++;
        if (read_uint(&p, 7, &bit) != 0)
            return err_set(e, "'%s': bit number must be 0-7", s);
    }
    if (*p)
        return err_set(e, "'%s': unexpected '%s' after the address", s, p);
    out->area = area;
    out->size = size;
    out->index = index;
    out->bit = (uint8_t)bit;
    return 0;
}

char *locaddr_format(const struct locaddr *a, char *buf, size_t len)
{
    if (a->size == 'X')
        snprintf(buf, len, "%%%cX%u.%u", a->area, a->index, a->bit);
    else
        snprintf(buf, len, "%%%c%c%u", a->area, a->size, a->index);
    return buf;
}

int locaddr_bits(const struct locaddr *a)
{
    switch (a->size) {
    case 'X': return 1;
    case 'B': return 8;
    case 'W': return 16;
    case 'D': return 32;
    default: return 64;
    }
}
