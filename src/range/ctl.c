/* ctl.c — the control socket: a JSON-lines server on the range's libuv
 * loop, its blocking client, and the line core they share (ctl_int.h).
 *
 * Server: the listening socket is made by hand (socket, bind, chmod 0600,
 * listen) and handed to a uv_pipe_t, so that libuv never unlinks the path
 * itself; we unlink it at the end only if it is still the inode we bound.
 * Each connection owns a ctl_lines; answers are written at once when the
 * socket takes them (uv_try_write), else queued in order (uv_write). A
 * connection whose peer does not read stops being read once its queue
 * passes CTL_WQ_MAX, and resumes when it drains.
 *
 * Client: a plain non-blocking socket with poll() and one deadline; no
 * loop.
 */
#include "range/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "range/ctl_int.h"

#define CTL_STR_(x) #x
#define CTL_STR(x) CTL_STR_(x)

/* A connection stops being read while more than this is queued for it. */
#define CTL_WQ_MAX (1u << 20)
/* ctl_call refuses answers longer than this. */
#define CTL_MAX_ANSWER (64u << 20)

/* ---- the line core (no sockets) ---- */

const char ctl_overlong_answer[] =
    "{\"ok\":false,\"error\":\"request line longer than " CTL_STR(CTL_MAX_LINE) " bytes\"}\n";

/* Dumps `o` (stolen) as one compact line ending in '\n'. NULL if out of
 * memory. */
static char *dump_line(json_t *o, size_t *len)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    *len = n + 1;
    return t;
}

/* {"ok":false,"error":msg}; bytes that are not printable ASCII (jansson
 * quotes the offending input) become '?', so the answer is always valid
 * UTF-8. */
static char *error_line(const char *msg, size_t *len)
{
    char clean[512];
    size_t i;
    for (i = 0; msg[i] && i < sizeof clean - 1; i++) {
        unsigned char c = (unsigned char)msg[i];
        clean[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    clean[i] = '\0';
    return dump_line(json_pack("{s:b,s:s}", "ok", 0, "error", clean), len);
}

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

char *ctl_answer_line(const char *line, size_t n, ctl_handler_fn fn, void *ctx, size_t *len)
{
    char msg[400];
    if (n && line[n - 1] == '\r')
        n--;
    json_error_t je;
    json_t *req = json_loadb(line, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!req) {
        snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", je.column, je.text);
        return error_line(msg, len);
    }
    if (!json_is_object(req)) {
        snprintf(msg, sizeof msg, "request is not a JSON object but %s", type_name(req));
        json_decref(req);
        return error_line(msg, len);
    }
    json_t *cmd = json_object_get(req, "cmd");
    if (!cmd || !json_is_string(cmd)) {
        if (cmd)
            snprintf(msg, sizeof msg, "\"cmd\" is not a string but %s", type_name(cmd));
        else
            snprintf(msg, sizeof msg, "request has no \"cmd\"");
        json_decref(req);
        return error_line(msg, len);
    }
    json_t *ans = fn(ctx, req);
    json_decref(req);
    if (!ans || !json_is_object(ans)) {
        json_decref(ans);
        return error_line("internal error", len);
    }
    if (!json_object_get(ans, "ok")) { /* "ok" first, then the handler's keys */
        json_t *o = json_object();
        if (!o || json_object_set_new(o, "ok", json_true()) || json_object_update(o, ans)) {
            json_decref(o);
            json_decref(ans);
            return NULL;
        }
        json_decref(ans);
        ans = o;
    }
    char *s = dump_line(ans, len);
    return s ? s : error_line("internal error (answer cannot be encoded)", len);
}

static int lines_end(struct ctl_lines *lb)
{
    ctl_lines_clear(lb);
    lb->ended = 1;
    return -1;
}

/* Keeps n more bytes of the unfinished line. */
static int lines_keep(struct ctl_lines *lb, const char *d, size_t n)
{
    if (lb->len + n > lb->cap) {
        size_t cap = lb->cap ? lb->cap : 256;
        while (cap < lb->len + n)
            cap *= 2;
        if (cap > CTL_MAX_LINE + 1)
            cap = CTL_MAX_LINE + 1;
        char *b = realloc(lb->buf, cap);
        if (!b)
            return -1;
        lb->buf = b;
        lb->cap = cap;
    }
    memcpy(lb->buf + lb->len, d, n);
    lb->len += n;
    return 0;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int ctl_lines_feed(struct ctl_lines *lb, const char *data, size_t n, ctl_handler_fn fn,
                   void *ctx, ctl_emit_fn emit, void *ectx)
{
    if (lb->ended)
        return -1;
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        /* the line's length so far, a final '\r' not counted */
        size_t total = lb->len + take;
        char last = take ? data[take - 1] : lb->len ? lb->buf[lb->len - 1] : 0;
        if (total - (last == '\r') > CTL_MAX_LINE) {
            emit(ectx, ctl_overlong_answer, sizeof ctl_overlong_answer - 1);
            return lines_end(lb);
        }
        if (!nl)
            return lines_keep(lb, data, take) ? lines_end(lb) : 0;
        const char *line = data;
        if (lb->len) {
            if (lines_keep(lb, data, take))
                return lines_end(lb);
            line = lb->buf;
        }
        if (!is_blank(line, total)) {
            size_t alen;
            char *ans = ctl_answer_line(line, total, fn, ctx, &alen);
            if (!ans)
                return lines_end(lb);
            int r = emit(ectx, ans, alen);
            free(ans);
            if (r)
                return lines_end(lb);
        }
        lb->len = 0;
        data += take + 1;
        n -= take + 1;
    }
    return 0;
}

void ctl_lines_clear(struct ctl_lines *lb)
{
    free(lb->buf);
    lb->buf = NULL;
    lb->len = lb->cap = 0;
    lb->ended = 0;
}

/* ---- paths ---- */

int ctl_default_path(int instance, char *buf, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && xdg[0])
        n = snprintf(buf, len, "%s/icsrange/%d.sock", xdg, instance);
    else
        n = snprintf(buf, len, "/tmp/icsrange-%u/%d.sock", (unsigned)getuid(), instance);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Fills a sockaddr_un; -1 with a message if the path does not fit. */
static int unix_addr(const char *path, struct sockaddr_un *sa, struct err *e)
{
    size_t n = strlen(path);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (n == 0)
        return err_set(e, "empty control socket path");
    if (n >= sizeof sa->sun_path)
        return err_set(e, "control socket path too long (%zu bytes, at most %zu): %s", n,
                       sizeof sa->sun_path - 1, path);
    memcpy(sa->sun_path, path, n);
    return 0;
}

/* Creates the missing directories above `path` (mode 0700). */
static int make_parent_dirs(const char *path, struct err *e)
{
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) == 0) {
            if (chmod(dir, 0700) != 0)
                return err_set(e, "cannot set the mode of %s: %s", dir, strerror(errno));
        } else if (errno != EEXIST) {
            return err_set(e, "cannot create directory %s: %s", dir, strerror(errno));
        }
        *p = c;
        if (!c)
            return 0;
    }
}

/* A file already at `path`: a stale socket (nobody answers) is removed; a
 * live one, or something that is not a socket, is an error. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, struct err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : err_set(e, "cannot check %s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return err_set(e, "%s exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, "socket: %s", strerror(errno));
    int r = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
    int errsv = errno;
    close(fd);
    if (r == 0 || errsv == EAGAIN || errsv == EINPROGRESS)
        return err_set(e, "another range is running on %s", path);
    if (errsv == ENOENT)
        return 0;
    if (errsv != ECONNREFUSED)
        return err_set(e, "cannot check %s: %s", path, strerror(errsv));
    if (unlink(path) != 0 && errno != ENOENT)
        return err_set(e, "cannot remove the stale socket %s: %s", path, strerror(errno));
    return 0;
}

/* A listening socket on `path`, mode 0600; -1 with a message. */
static int listen_fd(const char *path, dev_t *dev, ino_t *ino, struct err *e)
{
    struct sockaddr_un sa;
    if (unix_addr(path, &sa, e) || make_parent_dirs(path, e) || clear_stale(path, &sa, e))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, "socket: %s", strerror(errno));
    struct stat st;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int errsv = errno;
        close(fd);
        if (errsv == EADDRINUSE)
            return err_set(e, "another range is running on %s", path);
        return err_set(e, "cannot listen on %s: %s", path, strerror(errsv));
    }
    if (chmod(path, 0600) != 0 || lstat(path, &st) != 0 || listen(fd, 64) != 0) {
        int errsv = errno;
        close(fd);
        unlink(path);
        return err_set(e, "cannot listen on %s: %s", path, strerror(errsv));
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
}

/* ---- the server ---- */

struct ctl_conn {
    uv_pipe_t pipe; /* pipe.data = this */
    struct ctl_server *s;
    struct ctl_lines lines;
    struct ctl_conn *prev, *next;
    uv_shutdown_t sd;
    int counted;   /* one of the CTL_MAX_CLIENTS */
    int reading;
    int ending;    /* read side done, shutting down */
    int closing;
};

struct ctl_server {
    uv_loop_t *loop;
    uv_pipe_t listen;
    int listening; /* listen handle initialised and not yet closed */
    char *path;
    dev_t dev;
    ino_t ino;
    ctl_handler_fn fn;
    void *ctx;
    struct ctl_conn *conns;
    int nclients;
    int nhandles; /* handles initialised whose close callback has not run */
    int closed;   /* ctl_server_close()/free() called */
    int sync;     /* ctl_server_free() is waiting: the last close does not free */
    char rbuf[65536];
};

struct ctl_write {
    uv_write_t req;
    size_t len;
    char data[];
};

static void server_release(struct ctl_server *s)
{
    free(s->path);
    free(s);
}

static void handle_closed(struct ctl_server *s)
{
    s->nhandles--;
    if (s->closed && !s->sync && s->nhandles == 0)
        server_release(s);
}

static void on_listen_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct ctl_conn *c = h->data;
    struct ctl_server *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    ctl_lines_clear(&c->lines);
    free(c);
    handle_closed(s);
}

static void conn_close(struct ctl_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->counted) {
        c->counted = 0;
        c->s->nclients--;
    }
    uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->handle->data);
}

/* Ends a connection after what is queued has been written. */
static void conn_end(struct ctl_conn *c)
{
    if (c->ending || c->closing)
        return;
    c->ending = 1;
    if (c->counted) {
        c->counted = 0;
        c->s->nclients--;
    }
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->pipe);
    c->reading = 0;
    if (uv_shutdown(&c->sd, (uv_stream_t *)&c->pipe, on_shutdown) != 0)
        conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct ctl_conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->s->rbuf, sizeof c->s->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
    struct ctl_write *w = (struct ctl_write *)req;
    struct ctl_conn *c = req->handle->data;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    /* resume a connection paused for back-pressure */
    if (!c->reading && !c->ending && c->pipe.write_queue_size <= CTL_WQ_MAX / 2 &&
        uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
        c->reading = 1;
}

/* ctl_emit_fn: writes one answer, in order after what is queued. */
static int conn_send(void *ectx, const char *line, size_t len)
{
    struct ctl_conn *c = ectx;
    if (c->closing)
        return -1;
    uv_stream_t *st = (uv_stream_t *)&c->pipe;
    size_t done = 0;
    if (st->write_queue_size == 0) {
        uv_buf_t b = uv_buf_init((char *)line, (unsigned)len);
        int n = uv_try_write(st, &b, 1);
        if (n < 0 && n != UV_EAGAIN)
            return -1;
        if (n > 0)
            done = (size_t)n;
    }
    if (done == len)
        return 0;
    struct ctl_write *w = malloc(sizeof *w + len - done);
    if (!w)
        return -1;
    w->len = len - done;
    memcpy(w->data, line + done, w->len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
    if (uv_write(&w->req, st, &b, 1, on_written) != 0) {
        free(w);
        return -1;
    }
    return 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct ctl_conn *c = st->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->ending || c->closing)
        return;
    struct ctl_server *s = c->s;
    if (ctl_lines_feed(&c->lines, buf->base, (size_t)nread, s->fn, s->ctx, conn_send, c)) {
        conn_end(c);
        return;
    }
    if (!c->closing && st->write_queue_size > CTL_WQ_MAX) {
        uv_read_stop(st);
        c->reading = 0;
    }
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct ctl_server *s = ls->data;
    if (status < 0 || s->closed)
        return;
    struct ctl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->s = s;
    if (uv_pipe_init(s->loop, &c->pipe, 0) != 0) {
        free(c);
        return;
    }
    c->pipe.data = c;
    s->nhandles++;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    if (uv_accept(ls, (uv_stream_t *)&c->pipe) != 0) {
        conn_close(c);
        return;
    }
    if (s->nclients >= CTL_MAX_CLIENTS) {
        static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients (at most " CTL_STR(
            CTL_MAX_CLIENTS) ")\"}\n";
        if (conn_send(c, busy, sizeof busy - 1))
            conn_close(c);
        else
            conn_end(c);
        return;
    }
    c->counted = 1;
    s->nclients++;
    if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    c->reading = 1;
}

struct ctl_server *ctl_server_new(uv_loop_t *loop, const char *path, ctl_handler_fn fn,
                                  void *ctx, struct err *e)
{
    struct ctl_server *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        err_set(e, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->fn = fn;
    s->ctx = ctx;
    int fd = listen_fd(path, &s->dev, &s->ino, e);
    if (fd < 0) {
        server_release(s);
        return NULL;
    }
    int r = uv_pipe_init(loop, &s->listen, 0);
    if (r != 0) {
        close(fd);
        unlink(path);
        server_release(s);
        err_set(e, "cannot listen on %s: %s", path, uv_strerror(r));
        return NULL;
    }
    s->listen.data = s;
    s->nhandles = 1;
    s->listening = 1;
    if ((r = uv_pipe_open(&s->listen, fd)) != 0)
        close(fd);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->listen, 64, on_connection);
    if (r != 0) {
        err_set(e, "cannot listen on %s: %s", path, uv_strerror(r));
        ctl_server_free(s);
        return NULL;
    }
    return s;
}

const char *ctl_server_path(const struct ctl_server *s)
{
    return s->path;
}

void ctl_server_close(struct ctl_server *s)
{
    if (!s || s->closed)
        return;
    s->closed = 1;
    if (s->listening) {
        s->listening = 0;
        uv_close((uv_handle_t *)&s->listen, on_listen_closed);
    }
    for (struct ctl_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    /* remove the socket file only if it is still ours */
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    if (!s->sync && s->nhandles == 0)
        server_release(s);
}

void ctl_server_free(struct ctl_server *s)
{
    if (!s)
        return;
    s->sync = 1;
    ctl_server_close(s);
    /* close callbacks run in the first iteration; the bound is a guard */
    for (int i = 0; s->nhandles > 0 && i < 1000; i++)
        uv_run(s->loop, UV_RUN_NOWAIT);
    if (ALWAYS(s->nhandles == 0))
        server_release(s);
}

/* ---- the client ---- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `ev` on fd until the deadline (-1: none). 1 ready, 0 timeout,
 * -1 error (errno). */
static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline >= 0) {
            long long left = deadline - now_ms();
            if (left <= 0)
                return 0;
            ms = left > 1000000000 ? 1000000000 : (int)left;
        }
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* "no range is running on PATH (instance N?)", the hint when the file name
 * is an instance's ("3.sock"). */
static int no_range(const char *path, struct err *e)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char *end;
    long n = strtol(base, &end, 10);
    if (end != base && strcmp(end, ".sock") == 0)
        return err_set(e, "no range is running on %s (instance %ld?)", path, n);
    return err_set(e, "no range is running on %s", path);
}

/* Sends the whole request; -1 with a message. */
static int send_all(int fd, const char *p, size_t n, const char *path, long long deadline,
                    int timeout_ms, struct err *e)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r == 0)
                return err_set(e, "the range on %s took no request within %d ms", path,
                               timeout_ms);
            if (r > 0)
                continue;
        }
        return err_set(e, "cannot send to %s: %s", path, strerror(errno));
    }
    return 0;
}

/* Reads one line into a malloc'd buffer (its length without the '\n' in
 * *len). NULL with a message. */
static char *recv_line(int fd, size_t *len, const char *path, long long deadline, int timeout_ms,
                       struct err *e)
{
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(b, cap);
            if (!nb) {
                err_set(e, "out of memory");
                break;
            }
            b = nb;
        }
        ssize_t r = recv(fd, b + n, cap - n, 0);
        if (r > 0) {
            char *nl = memchr(b + n, '\n', (size_t)r);
            n += (size_t)r;
            if (nl) {
                *len = (size_t)(nl - b);
                return b;
            }
            if (n > CTL_MAX_ANSWER) {
                err_set(e, "the answer from %s is longer than %u bytes", path, CTL_MAX_ANSWER);
                break;
            }
            continue;
        }
        if (r == 0 || errno == ECONNRESET) {
            err_set(e, "the range on %s closed the connection without answering", path);
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd, POLLIN, deadline);
            if (w > 0)
                continue;
            if (w == 0) {
                err_set(e, "no answer from the range on %s within %d ms", path, timeout_ms);
                break;
            }
        }
        err_set(e, "cannot read from %s: %s", path, strerror(errno));
        break;
    }
    free(b);
    return NULL;
}

json_t *ctl_call(const char *path, json_t *req, int timeout_ms, struct err *e)
{
    struct sockaddr_un sa;
    if (unix_addr(path, &sa, e))
        return NULL;
    char *text = json_dumps(req, JSON_COMPACT);
    if (!text) {
        err_set(e, "cannot encode the request");
        return NULL;
    }
    size_t tn = strlen(text);
    char *line = realloc(text, tn + 2);
    if (!line) {
        free(text);
        err_set(e, "out of memory");
        return NULL;
    }
    line[tn++] = '\n';
    line[tn] = '\0';

    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    json_t *ans = NULL;
    char *buf = NULL;
    size_t blen = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err_set(e, "socket: %s", strerror(errno));
        goto out;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (errno == ENOENT || errno == ECONNREFUSED)
            no_range(path, e);
        else if (errno == EAGAIN)
            err_set(e, "the range on %s is not accepting connections (its queue is full)", path);
        else
            err_set(e, "cannot connect to %s: %s", path, strerror(errno));
        goto out;
    }
    if (send_all(fd, line, tn, path, deadline, timeout_ms, e))
        goto out;
    if (!(buf = recv_line(fd, &blen, path, deadline, timeout_ms, e)))
        goto out;
    json_error_t je;
    ans = json_loadb(buf, blen, 0, &je);
    if (!ans)
        err_set(e, "malformed answer from %s: %s (column %d)", path, je.text, je.column);
    else if (!json_is_object(ans)) {
        json_decref(ans);
        ans = NULL;
        err_set(e, "malformed answer from %s: not a JSON object", path);
    }
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(line);
    return ans;
}
