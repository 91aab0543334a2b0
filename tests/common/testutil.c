/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *rot_buf(void)
{
    static char bufs[8][1024];
    static int i;
    i = (i + 1) % 8;
    return bufs[i];
}

const char *tu_path(const char *rel)
{
    const char *root = getenv("ICSRANGE_ROOT");
    char *b = rot_buf();
    snprintf(b, 1024, "%s/%s", root ? root : ".", rel);
    return b;
}

const char *tu_shared(void)
{
    static char b[1024];
    const char *s = getenv("ICSRANGE_SHARED");
    if (s)
        snprintf(b, sizeof b, "%s", s);
    else
        snprintf(b, sizeof b, "%s", tu_path("../shared"));
    struct stat st;
    return stat(b, &st) == 0 && S_ISDIR(st.st_mode) ? b : NULL;
}

static const char *tmp_dir(void)
{
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TEST_TMP");
        if (t) {
            snprintf(dir, sizeof dir, "%s", t);
        } else {
            snprintf(dir, sizeof dir, "/tmp/icsrange-test.XXXXXX");
            if (!mkdtemp(dir))
                fail_msg("mkdtemp: %s", strerror(errno));
        }
        mkdir(dir, 0755);
    }
    return dir;
}

const char *tu_tmp(const char *name)
{
    static int n;
    char *b = rot_buf();
    snprintf(b, 1024, "%s/%d-%s", tmp_dir(), n++, name);
    return b;
}

const char *tu_write_tmp(const char *name, const char *text)
{
    const char *p = tu_tmp(name);
    FILE *f = fopen(p, "w");
    if (!f)
        fail_msg("cannot write %s: %s", p, strerror(errno));
    fputs(text, f);
    fclose(f);
    return p;
}

static void drain(int fds[2], char **bufs)
{
    size_t len[2] = {0, 0}, cap[2] = {4096, 4096};
    bufs[0] = malloc(cap[0]);
    bufs[1] = malloc(cap[1]);
    int open_fds = 2;
    struct pollfd pfd[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    while (open_fds) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (len[i] + 4096 + 1 > cap[i]) {
                cap[i] *= 2;
                bufs[i] = realloc(bufs[i], cap[i]);
            }
            ssize_t n = read(pfd[i].fd, bufs[i] + len[i], cap[i] - len[i] - 1);
            if (n <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_fds--;
            } else {
                len[i] += (size_t)n;
            }
        }
    }
    bufs[0][len[0]] = '\0';
    bufs[1][len[1]] = '\0';
}

struct tu_run tu_exec(const char *const *argv)
{
    struct tu_run r = {0};
    int out[2], err[2];
    if (pipe(out) || pipe(err))
        fail_msg("pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        fail_msg("cannot run %s: %s", argv[0], strerror(rc));
    }
    char *bufs[2];
    int fds[2] = {out[0], err[0]};
    drain(fds, bufs);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = bufs[0];
    r.err = bufs[1];
    return r;
}

struct tu_run tu_icsrange_v(const char *const *argv)
{
    size_t n = 0;
    while (argv[n])
        n++;
    const char **a = calloc(n + 2, sizeof *a);
    const char *bin = getenv("ICSRANGE_BIN");
    a[0] = bin ? bin : "build/icsrange";
    for (size_t i = 0; i < n; i++)
        a[i + 1] = argv[i];
    struct tu_run r = tu_exec(a);
    free(a);
    return r;
}

struct tu_run tu_icsrange(const char *arg, ...)
{
    const char *argv[128];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *s = arg; s && n < 127; s = va_arg(ap, const char *))
        argv[n++] = s;
    va_end(ap);
    argv[n] = NULL;
    return tu_icsrange_v(argv);
}

void tu_run_free(struct tu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t k;
    while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n - 1 == 0) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

int tu_same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = tu_read_file(a, &la), *y = tu_read_file(b, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

struct tu_csv *tu_csv_read(const char *path)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text)
        fail_msg("cannot read CSV %s", path);
    struct tu_csv *c = calloc(1, sizeof *c);
    size_t nlines = 0;
    for (size_t i = 0; i < len; i++)
        nlines += text[i] == '\n';
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line)
        fail_msg("CSV %s is empty", path);
    char *fields[1024];
    size_t nf = split(line, fields, 1024);
    if (nf < 1 || strcmp(fields[0], "timestamp") != 0)
        fail_msg("CSV %s: first column is '%s', not timestamp", path, fields[0]);
    c->ncols = nf - 1;
    c->names = calloc(c->ncols + 1, sizeof *c->names);
    for (size_t i = 1; i < nf; i++)
        c->names[i - 1] = strdup(fields[i]);
    c->ts = calloc(nlines + 1, sizeof *c->ts);
    c->lines = calloc(nlines + 1, sizeof *c->lines);
    c->cells = calloc((nlines + 1) * (c->ncols ? c->ncols : 1), sizeof *c->cells);
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *comma = strchr(line, ',');
        c->lines[c->nrows] = strdup(comma ? comma + 1 : "");
        size_t k = split(line, fields, 1024);
        if (k != nf)
            fail_msg("CSV %s row %zu has %zu fields, header has %zu", path, c->nrows + 2, k, nf);
        c->ts[c->nrows] = strdup(fields[0]);
        for (size_t i = 1; i < k; i++)
            c->cells[c->nrows * c->ncols + i - 1] = fields[i][0] ? strtod(fields[i], NULL) : NAN;
        c->nrows++;
    }
    free(text);
    return c;
}

void tu_csv_free(struct tu_csv *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->ncols; i++)
        free(c->names[i]);
    for (size_t i = 0; i < c->nrows; i++) {
        free(c->ts[i]);
        free(c->lines[i]);
    }
    free(c->names);
    free(c->ts);
    free(c->lines);
    free(c->cells);
    free(c);
}

int tu_csv_find(const struct tu_csv *c, const char *name)
{
    for (size_t i = 0; i < c->ncols; i++)
        if (strcmp(c->names[i], name) == 0)
            return (int)i;
    return -1;
}

size_t tu_csv_col(const struct tu_csv *c, const char *name)
{
    int i = tu_csv_find(c, name);
    if (i < 0)
        fail_msg("CSV has no column '%s'", name);
    return (size_t)i;
}

double tu_csv_at(const struct tu_csv *c, size_t row, size_t col)
{
    return c->cells[row * c->ncols + col];
}

char *tu_csv_column_text(const char *path, const char *name)
{
    size_t len;
    char *text = tu_read_file(path, &len);
    if (!text)
        fail_msg("cannot read %s", path);
    char *out = malloc(len + 1);
    size_t on = 0;
    int col = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *fields[1024];
        size_t nf = split(line, fields, 1024);
        if (col < 0) {
            for (size_t i = 0; i < nf; i++)
                if (strcmp(fields[i], name) == 0)
                    col = (int)i;
            if (col < 0)
                fail_msg("%s has no column '%s'", path, name);
            continue;
        }
        size_t fl = strlen(fields[col]);
        memcpy(out + on, fields[col], fl);
        on += fl;
        out[on++] = '\n';
    }
    out[on] = '\0';
    free(text);
    return out;
}

double tu_json_num(const char *text, const char *path)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_DECODE_ANY, &je);
    if (!root)
        fail_msg("not JSON (%s): %s", je.text, text);
    char key[256];
    snprintf(key, sizeof key, "%s", path);
    json_t *v = root;
    char *save = NULL;
    for (char *k = strtok_r(key, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
        /* component ids may hold dots? no: ids are [A-Za-z0-9_-] */
        v = json_object_get(v, k);
    }
    if (!v || !json_is_number(v)) {
        json_decref(root);
        fail_msg("JSON has no number at '%s': %s", path, text);
    }
    double d = json_number_value(v);
    json_decref(root);
    return d;
}
