/* sched.c — binary-heap scheduler on the virtual clock (see sched.h).
 *
 * Tasks live in a table of slots; the heap holds (time, key, slot,
 * generation), the key being the priority and the creation sequence number
 * in one integer. A cancelled task's heap entry is dropped lazily when it
 * reaches the top, recognised by a generation mismatch. Periodic tasks keep
 * their creation sequence number, so ties always break the same way.
 *
 * While a one-shot task runs, its entry at the top is a hole: a task added
 * meanwhile (a model rescheduling itself) takes the hole with one sift
 * down instead of a pop and a push; an unfilled hole is popped after the
 * task returns. Readers of the top (sched_next, sched_horizon) look past
 * the hole to its children.
 */
#include "core/sched.h"

#include <stdint.h>
#include <stdlib.h>

struct task {
    sched_fn fn;
    void *ctx;
    vtime_t period; /* 0 = one-shot */
    uint32_t gen;   /* bumped when the slot is freed */
    int prio;
    int live;
    uint64_t seq;
};

struct entry {
    vtime_t time;
    uint64_t key;   /* (prio + 2^15) << 48 | seq: priority, then creation */
    uint32_t slot;
    uint32_t gen;
};

#define PRIO_MIN (-32768)
#define PRIO_MAX 32767
#define SEQ_BITS 48

struct sched {
    vtime_t now;
    struct task *tasks;
    size_t ntasks, cap_tasks;
    uint32_t *free_slots;
    size_t nfree;
    struct entry *heap;
    size_t nheap, cap_heap;
    uint64_t next_seq;
    int halted;
    int hole;       /* heap[0] is free: a one-shot task is running */
    vtime_t until;  /* bound of the running sched_run_until() */
};

struct sched *sched_new(void)
{
    struct sched *s = calloc(1, sizeof(struct sched));
    if (s)
        s->until = VT_NEVER;
    return s;
}

void sched_free(struct sched *s)
{
    if (!s)
        return;
    free(s->tasks);
    free(s->free_slots);
    free(s->heap);
    free(s);
}

static inline int entry_before(const struct entry *a, const struct entry *b)
{
    return a->time < b->time || (a->time == b->time && a->key < b->key);
}

/* Ties at one time and priority run in creation order while fewer than
 * 2^48 tasks have been made (at 10^5 tasks a virtual second, 89 years). */
static inline uint64_t entry_key(int prio, uint64_t seq)
{
    return ((uint64_t)(prio - PRIO_MIN) << SEQ_BITS) | (seq & ((1ULL << SEQ_BITS) - 1));
}

static void sift_up(struct entry *h, size_t i)
{
    struct entry e = h[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!entry_before(&e, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static void sift_down(struct entry *h, size_t n, size_t i)
{
    struct entry e = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && entry_before(&h[c + 1], &h[c]))
            c++;
        if (!entry_before(&h[c], &e))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

static int heap_push(struct sched *s, struct entry e)
{
    if (s->hole) {
        s->hole = 0;
        s->heap[0] = e;
        sift_down(s->heap, s->nheap, 0);
        return 0;
    }
    if (s->nheap == s->cap_heap) {
        size_t cap = s->cap_heap ? 2 * s->cap_heap : 32;
        struct entry *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return -1;
        s->heap = h;
        s->cap_heap = cap;
    }
    s->heap[s->nheap] = e;
    sift_up(s->heap, s->nheap++);
    return 0;
}

static void heap_pop(struct sched *s)
{
    s->heap[0] = s->heap[--s->nheap];
    if (s->nheap)
        sift_down(s->heap, s->nheap, 0);
}

/* Pops an unfilled hole. */
static void fill_hole(struct sched *s)
{
    if (s->hole) {
        s->hole = 0;
        heap_pop(s);
    }
}

/* The earliest entry (past a hole), or NULL. */
static const struct entry *heap_top(const struct sched *s)
{
    if (!s->hole)
        return s->nheap ? &s->heap[0] : NULL;
    const struct entry *t = NULL;
    for (size_t i = 1; i <= 2 && i < s->nheap; i++)
        if (!t || entry_before(&s->heap[i], t))
            t = &s->heap[i];
    return t;
}

static int slot_new(struct sched *s, uint32_t *slot)
{
    if (s->nfree) {
        *slot = s->free_slots[--s->nfree];
        return 0;
    }
    if (s->ntasks == s->cap_tasks) {
        size_t cap = s->cap_tasks ? 2 * s->cap_tasks : 32;
        struct task *t = realloc(s->tasks, cap * sizeof *t);
        if (!t)
            return -1;
        uint32_t *f = realloc(s->free_slots, cap * sizeof *f);
        if (!f) {
            s->tasks = t;
            return -1;
        }
        s->tasks = t;
        s->free_slots = f;
        s->cap_tasks = cap;
    }
    *slot = (uint32_t)s->ntasks;
    s->tasks[s->ntasks++] = (struct task){0};
    return 0;
}

static void slot_release(struct sched *s, uint32_t slot)
{
    struct task *t = &s->tasks[slot];
    t->live = 0;
    t->gen++;
    s->free_slots[s->nfree++] = slot;
}

static int add_task(struct sched *s, vtime_t when, vtime_t period, int prio,
                    sched_fn fn, void *ctx)
{
    if (!fn || period < 0 || when == VT_NEVER || prio < PRIO_MIN || prio > PRIO_MAX)
        return -1;
    if (when < s->now)
        when = s->now;
    uint32_t slot;
    if (slot_new(s, &slot))
        return -1;
    struct task *t = &s->tasks[slot];
    t->fn = fn;
    t->ctx = ctx;
    t->period = period;
    t->prio = prio;
    t->live = 1;
    t->seq = s->next_seq++;
    struct entry e = {when, entry_key(prio, t->seq), slot, t->gen};
    if (heap_push(s, e)) {
        slot_release(s, slot);
        return -1;
    }
    return (int)slot;
}

int sched_every(struct sched *s, vtime_t first, vtime_t period, int prio,
                sched_fn fn, void *ctx)
{
    if (period <= 0)
        return -1;
    return add_task(s, first, period, prio, fn, ctx);
}

int sched_at(struct sched *s, vtime_t when, int prio, sched_fn fn, void *ctx)
{
    return add_task(s, when, 0, prio, fn, ctx);
}

void sched_cancel(struct sched *s, int id)
{
    if (id < 0 || (size_t)id >= s->ntasks || !s->tasks[id].live)
        return;
    slot_release(s, (uint32_t)id);
}

int sched_set_period(struct sched *s, int id, vtime_t period)
{
    if (id < 0 || (size_t)id >= s->ntasks || !s->tasks[id].live ||
        !s->tasks[id].period || period <= 0)
        return -1;
    s->tasks[id].period = period;
    return 0;
}

vtime_t sched_now(const struct sched *s)
{
    return s->now;
}

vtime_t sched_next(const struct sched *s)
{
    /* The top may be a cancelled entry; that only makes the answer early,
     * which is harmless for pacing. */
    const struct entry *t = heap_top(s);
    return t ? t->time : VT_NEVER;
}

size_t sched_run_until(struct sched *s, vtime_t until)
{
    size_t ran = 0;
    fill_hole(s); /* called from a running one-shot task */
    s->halted = 0;
    s->until = until;
    while (s->nheap && s->heap[0].time <= until) {
        struct entry e = s->heap[0];
        struct task *t = &s->tasks[e.slot];
        if (!t->live || t->gen != e.gen) {
            heap_pop(s);
            continue;
        }
        s->now = e.time;
        sched_fn fn = t->fn;
        void *ctx = t->ctx;
        if (t->period) {
            /* Reschedule before running, so the task may cancel itself. */
            s->heap[0].time = e.time + t->period;
            sift_down(s->heap, s->nheap, 0);
        } else {
            s->hole = 1;
            slot_release(s, e.slot);
        }
        fn(ctx, e.time); /* may add tasks: `t` is not used after this */
        fill_hole(s);
        ran++;
        if (s->halted)
            return ran;
    }
    if (until > s->now)
        s->now = until;
    return ran;
}

vtime_t sched_horizon(const struct sched *s)
{
    const struct entry *t = heap_top(s);
    vtime_t h = t ? t->time : VT_NEVER;
    return h < s->until ? h : s->until;
}

void sched_halt(struct sched *s)
{
    s->halted = 1;
}

vtime_t sched_task_next(const struct sched *s, int id)
{
    if (id < 0 || (size_t)id >= s->ntasks || !s->tasks[id].live)
        return VT_NEVER;
    const struct task *t = &s->tasks[id];
    for (size_t i = s->hole; i < s->nheap; i++)
        if (s->heap[i].slot == (uint32_t)id && s->heap[i].gen == t->gen)
            return s->heap[i].time;
    return VT_NEVER;
}

void sched_set_now(struct sched *s, vtime_t now)
{
    if (now > s->now)
        s->now = now;
}
