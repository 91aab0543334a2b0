/* st_disasm.c — the disassembly of an image: for each compiled body its
 * variables (offset, section, type) and its instructions, one per line,
 * with the names of the variables and the values of the constants its
 * operands denote. The text is stable (golden tests compare it). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "st/st_int.h"

struct out {
    char *s;
    size_t n, cap;
    bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->s + o->n, o->cap - o->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)k < o->cap - o->n) {
            o->n += (size_t)k;
            return;
        }
        size_t cap = (o->cap + (size_t)k + 1) * 2;
        char *s = st_realloc(o->s, cap);
        if (!s) {
            o->oom = true;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

static const char *sect_short(const struct st_var *v)
{
    switch (v->sect) {
    case SECT_INPUT: return "in";
    case SECT_OUTPUT: return "out";
    case SECT_INOUT: return "in_out";
    case SECT_GLOBAL: return "global";
    case SECT_EXTERNAL: return "external";
    case SECT_TEMP: return "temp";
    case SECT_RESULT: return "result";
    default: return "var";
    }
}

/* The variable at operand `off` of a body, or NULL. */
static const struct st_var *var_at(const struct st_image *img, const struct st_body *b, int32_t off,
                                   bool absolute)
{
    if (!absolute && b->base >= 0) {
        off -= b->base;
    }
    for (const struct st_var *v = b->pou->vars; v; v = v->next) {
        if (v->sect == SECT_EXTERNAL)
            continue;
        if (v->flags & VF_ABS) {
            if ((b->base >= 0 || absolute) && v->off == (absolute ? off : off + b->base))
                return v;
            continue;
        }
        if (!absolute && v->off == off)
            return v;
    }
    if (b->base >= 0 || absolute) {
        int32_t abs = absolute ? off : off + b->base;
        for (const struct st_var *v = img->globals; v; v = v->next)
            if (v->off == abs)
                return v;
    }
    return NULL;
}

static const struct st_cell *cell_at(const struct st_image *img, const struct st_body *b,
                                     int32_t off)
{
    const struct st_cell *c = b->base >= 0 ? img->cells : b->pou->cells;
    for (; c; c = c->next)
        if (c->off == off)
            return c;
    return NULL;
}

static void operand_d(struct out *o, const struct st_image *img, const struct st_body *b,
                      int32_t off)
{
    put(o, "@%d", off);
    const struct st_var *v = var_at(img, b, off, false);
    if (v) {
        put(o, "(%s)", v->name);
        return;
    }
    const struct st_cell *c = cell_at(img, b, off);
    if (!c)
        return;
    const uint8_t *d = c->data;
    switch (c->kind) {
    case 's':
        put(o, "(='");
        for (uint32_t k = 0; k < c->len && d[k]; k++)
            put(o, "%c", d[k] >= 32 && d[k] < 127 && d[k] != '\'' ? d[k] : '?');
        put(o, "')");
        return;
    case 'f':
        if (c->len == 4) {
            float f;
            memcpy(&f, d, 4);
            put(o, "(=%.9g)", (double)f);
        } else {
            double x;
            memcpy(&x, d, 8);
            put(o, "(=%.17g)", x);
        }
        return;
    case 'a': {
        uint32_t a;
        memcpy(&a, d, 4);
        put(o, "(=&%u)", a);
        return;
    }
    default: {
        uint64_t u = 0;
        memcpy(&u, d, c->len < 8 ? c->len : 8);
        if (c->kind == 'i' && c->len < 8 && (u >> (c->len * 8 - 1)) & 1)
            u |= ~0ull << (c->len * 8);
        if (c->kind == 'u')
            put(o, "(=%llu)", (unsigned long long)u);
        else
            put(o, "(=%lld)", (long long)(int64_t)u);
        return;
    }
    }
}

static void operand(struct out *o, const struct st_image *img, const struct st_body *b,
                    char mode, int32_t v)
{
    switch (mode) {
    case 'd':
    case 'p':
        operand_d(o, img, b, v);
        return;
    case 'g': {
        put(o, "mem[%d]", v);
        const struct st_var *x = var_at(img, b, v, true);
        if (x)
            put(o, "(%s)", x->name);
        return;
    }
    case 'j':
        put(o, "->%d", v);
        return;
    case 'k':
        if (v >= 0 && (size_t)v < img->nbodies)
            put(o, "%s", img->bodies[v].name);
        else
            put(o, "body%d", v);
        return;
    case 'y':
        if (v >= 0 && (size_t)v < img->nadesc)
        {
            put(o, "[%d..%d]*%u", img->adesc[v].lo, img->adesc[v].hi, img->adesc[v].size);
            if (img->adesc[v].bias)
                put(o, " index%+d", img->adesc[v].bias);
        }
        return;
    case 'n':
        put(o, "n=%d", v);
        return;
    case 's':
        put(o, "%s", v ? "if true" : "if false");
        return;
    case 'f':
        put(o, "%s", v >= 0 && v < MF__COUNT ? st_math_names[v] : "?");
        return;
    default:
        put(o, "%d", v);
        return;
    }
}

static void body(struct out *o, const struct st_image *img, size_t bi)
{
    const struct st_body *b = &img->bodies[bi];
    const struct st_pou *p = b->pou;
    const char *kind = b->kind == POU_PROGRAM ? "PROGRAM" : b->kind == POU_FUNCTION
                                                          ? "FUNCTION" : "FUNCTION_BLOCK";
    if (b->kind == POU_PROGRAM)
        put(o, "%s %s (instance %s at @%d)\n", kind, b->name, b->inst ? b->inst : "?", b->base);
    else if (b->kind == POU_FUNCTION)
        put(o, "%s %s (frame at @%d, %u bytes)\n", kind, b->name, b->base, p->size);
    else
        put(o, "%s %s (instance of %u bytes; operands relative to it)\n", kind, b->name,
            p->size);
    put(o, "  variables:\n");
    for (const struct st_var *v = p->vars; v; v = v->next) {
        if (v->flags & VF_HIDDEN)
            continue;
        if (v->sect == SECT_EXTERNAL) {
            put(o, "    %-8s %s : %s -> global at @%d\n", "", v->name, st_ty_str(v->ty),
                v->ext ? v->ext->off : -1);
            continue;
        }
        int32_t off = (v->flags & VF_ABS) || b->base < 0 ? v->off : v->off + b->base;
        char at[48] = "";
        if (v->flags & VF_LOCATED) {
            char ab[32];
            locaddr_format(&v->addr, ab, sizeof ab);
            snprintf(at, sizeof at, " AT %s", ab);
        }
        put(o, "    @%-7d %s%s : %s %s%s%s\n", off, v->name, at, st_ty_str(v->ty),
            sect_short(v), v->flags & VF_CONSTANT ? " constant" : "",
            v->flags & VF_RETAIN ? " retain" : "");
    }
    put(o, "  code:\n");
    struct out line = {st_malloc(256), 0, 256, false};
    if (!line.s) {
        o->oom = true;
        return;
    }
    for (int32_t pc = b->entry; pc < b->end; pc++) {
        const struct st_ins *ins = &img->code[pc];
        const char *mode = st_op_modes[ins->op];
        int32_t vals[3] = {ins->a, ins->b, ins->c};
        bool first = true;
        line.n = 0;
        line.s[0] = 0;
        for (int k = 0; k < 4; k++) {
            if (mode[k] == '-')
                continue;
            int32_t v = k < 3 ? vals[k] : (int32_t)ins->x;
            if (!first)
                put(&line, ", ");
            first = false;
            operand(&line, img, b, mode[k], v);
        }
        put(o, "  %5d  %-10s %-40s ; line %u\n", pc, st_op_names[ins->op], line.oom ? "?" : line.s,
            img->lines[pc]);
    }
    if (line.oom)
        o->oom = true;
    st_free(line.s);
    put(o, "\n");
}

char *st_disasm(const struct st_image *img)
{
    struct out o = {st_malloc(4096), 0, 4096, false};
    if (!o.s)
        return NULL;
    o.s[0] = 0;
    put(&o, "; %zu bodies, %zu instructions, %zu bytes of memory\n", img->nbodies, img->ncode,
        img->memsize);
    for (size_t t = 0; t < img->ntasks; t++) {
        const struct st_task_info *ti = &img->tasks[t].info;
        put(&o, "; task %s interval %lldns priority %d:", ti->name, (long long)ti->interval,
            ti->priority);
        for (size_t k = 0; k < ti->nprograms; k++)
            put(&o, " %s", ti->programs[k]);
        put(&o, "\n");
    }
    for (const struct st_var *v = img->globals; v; v = v->next) {
        char at[48] = "";
        if (v->flags & VF_LOCATED) {
            char ab[32];
            locaddr_format(&v->addr, ab, sizeof ab);
            snprintf(at, sizeof at, " AT %s", ab);
        }
        put(&o, "; global @%d %s%s : %s%s%s\n", v->off, v->name, at, st_ty_str(v->ty),
            v->flags & VF_CONSTANT ? " constant" : "", v->flags & VF_RETAIN ? " retain" : "");
    }
    put(&o, "\n");
    for (size_t b = 0; b < img->nbodies; b++)
        body(&o, img, b);
    if (o.oom) {
        st_free(o.s);
        return NULL;
    }
    return o.s;
}
