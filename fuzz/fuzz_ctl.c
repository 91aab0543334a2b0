/* fuzz_ctl.c — libFuzzer harness for the control socket's line core
 * (range/ctl_int.h): bytes as what a client sends, answers out; never a
 * crash.
 *
 * Input: one byte choosing how the stream is cut (0: all at once; else
 * chunks of 1..N bytes drawn from the input), then the stream. The toy
 * handler echoes "cmd", or refuses ("fail"), or fails (NULL for "null"),
 * or answers a non-object ("array").
 * Checks, any failure aborts:
 * - every answer is one line: JSON text, one '\n' at its end, decoding to
 *   an object with a boolean "ok"; "ok":true answers echo the cmd, false
 *   ones carry a string "error";
 * - the stream cut in chunks gives exactly the answers (and the end) of
 *   the stream fed whole;
 * - after the stream ends (an overlong line), nothing more is answered. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range/ctl_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *toy_handler(void *ctx, json_t *req)
{
    int *calls = ctx;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!cmd)
        abort(); /* the core promised a string cmd */
    (*calls)++;
    if (strcmp(cmd, "fail") == 0)
        return json_pack("{s:b,s:s}", "ok", 0, "error", "refused");
    if (strcmp(cmd, "null") == 0)
        return NULL;
    if (strcmp(cmd, "array") == 0)
        return json_array();
    return json_pack("{s:s}", "cmd", cmd);
}

struct sink {
    char *out;
    size_t n, cap;
    int answers;
};

static int check_emit(void *ectx, const char *line, size_t len)
{
    struct sink *s = ectx;
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1))
        abort();
    json_error_t je;
    json_t *a = json_loadb(line, len - 1, 0, &je);
    if (!a || !json_is_object(a))
        abort();
    json_t *ok = json_object_get(a, "ok");
    if (!json_is_boolean(ok))
        abort();
    if (json_is_true(ok) && !json_is_string(json_object_get(a, "cmd")))
        abort();
    if (json_is_false(ok) && !json_is_string(json_object_get(a, "error")))
        abort();
    json_decref(a);
    if (s->n + len > s->cap) {
        s->cap = (s->n + len) * 2;
        s->out = realloc(s->out, s->cap);
        if (!s->out)
            abort();
    }
    memcpy(s->out + s->n, line, len);
    s->n += len;
    s->answers++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cut = data[0];
    const char *in = (const char *)data + 1;
    size_t n = size - 1;

    int calls_whole = 0, calls_cut = 0;
    struct sink whole = {0}, chunks = {0};
    struct ctl_lines a = {0}, b = {0};
    int ra = ctl_lines_feed(&a, in, n, toy_handler, &calls_whole, check_emit, &whole);

    int rb = 0;
    size_t i = 0, k = 0;
    while (i < n) {
        size_t step = cut ? 1 + (size_t)data[1 + (k++ % n)] % cut : n - i;
        if (step > n - i)
            step = n - i;
        rb = ctl_lines_feed(&b, in + i, step, toy_handler, &calls_cut, check_emit, &chunks);
        i += step;
        if (rb)
            break;
    }
    if (ra != rb || calls_whole != calls_cut || whole.n != chunks.n ||
        (whole.n && memcmp(whole.out, chunks.out, whole.n) != 0))
        abort();
    if (ra) { /* ended: stays ended, answers nothing */
        int before = whole.answers;
        if (ctl_lines_feed(&a, "{\"cmd\":\"x\"}\n", 12, toy_handler, &calls_whole, check_emit,
                           &whole) != -1 ||
            whole.answers != before)
            abort();
    }
    ctl_lines_clear(&a);
    ctl_lines_clear(&b);
    free(whole.out);
    free(chunks.out);
    return 0;
}
