/* test_ctl.c — the control socket: a server on a libuv loop in a thread
 * with a toy handler, talked to with ctl_call(), with raw sockets that
 * misbehave on purpose (garbage, overlong lines, too many clients), and
 * with the icsrange binary (`icsrange ctl`); stale and live sockets, file
 * modes, timeouts; the line core without sockets. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "range/ctl.h"
#include "range/ctl_int.h"
#include "testutil.h"

/* ---- sockets live in a short directory ---- */

static char base_dir[128];
static int base_is_ours; /* made with mkdtemp: removed at the end */

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TEST_TMP");
    if (t && strlen(t) < 60) {
        snprintf(base_dir, sizeof base_dir, "%s", t);
        mkdir(base_dir, 0755);
    } else {
        snprintf(base_dir, sizeof base_dir, "/tmp/ctlt.XXXXXX");
        if (!mkdtemp(base_dir))
            return -1;
        base_is_ours = 1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (base_is_ours) {
        const char *argv[] = {"rm", "-rf", base_dir, NULL};
        struct tu_run r = tu_exec(argv);
        tu_run_free(&r);
    }
    return 0;
}

/* A socket path in a fresh directory that does not exist yet. */
static const char *sock_path(const char *name)
{
    static char b[4][128];
    static int n, i;
    i = (i + 1) % 4;
    snprintf(b[i], sizeof b[i], "%s/c%d/%s", base_dir, n++, name);
    return b[i];
}

/* ---- the toy handler ---- */

struct toy {
    int calls;
    double speed;
    char file[512];
};

static json_t *toy_handler(void *ctx, json_t *req)
{
    struct toy *t = ctx;
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    t->calls++;
    if (strcmp(cmd, "status") == 0)
        return json_pack("{s:s,s:i}", "state", "running", "calls", t->calls);
    if (strcmp(cmd, "echo") == 0)
        return json_pack("{s:s,s:O?}", "cmd", cmd, "seq", json_object_get(req, "seq"));
    if (strcmp(cmd, "fail") == 0)
        return json_pack("{s:b,s:s}", "ok", 0, "error", "refused by the toy");
    if (strcmp(cmd, "null") == 0)
        return NULL;
    if (strcmp(cmd, "speed") == 0) {
        t->speed = json_number_value(json_object_get(req, "speed"));
        return json_object();
    }
    if (strcmp(cmd, "snapshot") == 0) {
        snprintf(t->file, sizeof t->file, "%s",
                 json_string_value(json_object_get(req, "file")));
        return json_object();
    }
    return json_pack("{s:b,s:s}", "ok", 0, "error", "unknown command");
}

/* ---- a server on a loop in a thread ---- */

struct srv {
    uv_loop_t loop;
    uv_async_t stop;
    struct ctl_server *s;
    struct toy toy;
    pthread_t th;
    char path[128];
};

static void on_stop(uv_async_t *a)
{
    uv_stop(a->loop);
}

static void *loop_thread(void *arg)
{
    struct srv *v = arg;
    uv_run(&v->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void srv_start(struct srv *v, const char *path)
{
    struct err e;
    memset(v, 0, sizeof *v);
    snprintf(v->path, sizeof v->path, "%s", path);
    assert_int_equal(uv_loop_init(&v->loop), 0);
    assert_int_equal(uv_async_init(&v->loop, &v->stop, on_stop), 0);
    v->s = ctl_server_new(&v->loop, path, toy_handler, &v->toy, &e);
    if (!v->s)
        fail_msg("ctl_server_new: %s", e.msg);
    assert_string_equal(ctl_server_path(v->s), path);
    assert_int_equal(pthread_create(&v->th, NULL, loop_thread, v), 0);
}

static void srv_stop(struct srv *v)
{
    uv_async_send(&v->stop);
    pthread_join(v->th, NULL);
    ctl_server_free(v->s);
    uv_close((uv_handle_t *)&v->stop, NULL);
    uv_run(&v->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_loop_close(&v->loop), 0);
}

/* ---- raw clients ---- */

static int raw_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail_msg("connect %s: %s", path, strerror(errno));
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void raw_send(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            fail_msg("send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

static void raw_puts(int fd, const char *s)
{
    raw_send(fd, s, strlen(s));
}

/* One answer line without its '\n' (static buffer), or NULL at EOF or a
 * reset. A read timeout fails the test. */
static const char *raw_line(int fd)
{
    static char b[8192];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return NULL;
        if (r < 0)
            fail_msg("recv: %s", strerror(errno));
        if (c == '\n')
            break;
        if (n < sizeof b - 1)
            b[n++] = c;
    }
    b[n] = '\0';
    return b;
}

/* Asserts an answer is {"ok":false,...} with `want` in its error. */
static void assert_error(const char *line, const char *want)
{
    assert_non_null(line);
    json_error_t je;
    json_t *a = json_loads(line, 0, &je);
    if (!a)
        fail_msg("answer is not JSON (%s): %s", je.text, line);
    assert_true(json_is_false(json_object_get(a, "ok")));
    TU_CONTAINS(json_string_value(json_object_get(a, "error")), want);
    json_decref(a);
}

static json_t *call(const char *path, const char *cmd)
{
    struct err e;
    json_t *req = json_pack("{s:s}", "cmd", cmd);
    json_t *a = ctl_call(path, req, 5000, &e);
    json_decref(req);
    if (!a)
        fail_msg("ctl_call %s: %s", cmd, e.msg);
    return a;
}

/* ---- cases ---- */

static void status_round_trip(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    json_t *a = call(v.path, "status");
    assert_true(json_is_true(json_object_get(a, "ok")));
    assert_string_equal(json_string_value(json_object_get(a, "state")), "running");
    assert_int_equal(json_integer_value(json_object_get(a, "calls")), 1);
    json_decref(a);
    /* "ok" comes first on the wire; a handler's own "ok" is kept */
    int fd = raw_connect(v.path);
    raw_puts(fd, "{\"cmd\":\"status\"}\n");
    const char *l = raw_line(fd);
    assert_non_null(l);
    assert_memory_equal(l, "{\"ok\":true,", 11);
    raw_puts(fd, "{\"cmd\":\"fail\"}\n");
    assert_error(raw_line(fd), "refused by the toy");
    close(fd);
    srv_stop(&v);
    assert_int_equal(v.toy.calls, 3);
}

/* Many requests in one write, one request over several writes, CRLF:
 * answered one for one, in order. */
static void requests_in_order(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    int fd = raw_connect(v.path);
    char batch[8192];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(batch + n, sizeof batch - n, "{\"cmd\":\"echo\",\"seq\":%d}%s", i,
                              i % 2 ? "\r\n" : "\n");
    raw_send(fd, batch, n);
    for (int i = 0; i < 100; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"ok\":true,\"cmd\":\"echo\",\"seq\":%d}", i);
        const char *l = raw_line(fd);
        assert_non_null(l);
        assert_string_equal(l, want);
    }
    raw_puts(fd, "{\"cmd\":");
    usleep(20000);
    raw_puts(fd, "\"echo\",\"se");
    usleep(20000);
    raw_puts(fd, "q\":\"x\"}\n\n   \n{\"cmd\":\"echo\",\"seq\":7}\n");
    assert_string_equal(raw_line(fd), "{\"ok\":true,\"cmd\":\"echo\",\"seq\":\"x\"}");
    assert_string_equal(raw_line(fd), "{\"ok\":true,\"cmd\":\"echo\",\"seq\":7}");
    close(fd);
    srv_stop(&v);
    assert_int_equal(v.toy.calls, 102); /* blank lines are not requests */
}

/* Hostile lines get an error naming the problem; the connection stays. */
static void bad_requests_answered(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    int fd = raw_connect(v.path);
    static const struct {
        const char *line, *want;
    } cases[] = {
        {"hello", "invalid JSON at column 5: invalid token near 'hello'"},
        {"{\"cmd\":", "invalid JSON at column"},
        {"{\"cmd\":\"status\"} trailing", "end of file expected"},
        {"{\"cmd\":\"a\",\"cmd\":\"b\"}", "duplicate object key"},
        {"\xff\xfe{}", "invalid JSON"},
        {"[1,2]", "request is not a JSON object but an array"},
        {"42", "request is not a JSON object but a number"},
        {"\"status\"", "request is not a JSON object but a string"},
        {"{}", "request has no \"cmd\""},
        {"{\"command\":\"status\"}", "request has no \"cmd\""},
        {"{\"cmd\":5}", "\"cmd\" is not a string but a number"},
        {"{\"cmd\":null}", "\"cmd\" is not a string but null"},
        {"{\"cmd\":\"null\"}", "internal error"},
        {"{\"cmd\":\"nope\"}", "unknown command"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_puts(fd, cases[i].line);
        raw_puts(fd, "\n");
        assert_error(raw_line(fd), cases[i].want);
    }
    raw_puts(fd, "{\"cmd\":\"status\"}\n");
    const char *l = raw_line(fd);
    assert_non_null(l);
    TU_CONTAINS(l, "\"state\":\"running\"");
    close(fd);
    srv_stop(&v);
}

/* A line of exactly CTL_MAX_LINE bytes is a request (bad JSON here); one
 * byte more is answered with an error and the connection is closed. */
static void overlong_line_closes(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    int fd = raw_connect(v.path);
    char *big = malloc(CTL_MAX_LINE + 2);
    memset(big, 'x', CTL_MAX_LINE + 1);
    big[CTL_MAX_LINE] = '\n';
    raw_send(fd, big, CTL_MAX_LINE + 1);
    assert_error(raw_line(fd), "invalid JSON at column 65536: invalid token");
    raw_puts(fd, "{\"cmd\":\"status\"}\n");
    TU_CONTAINS(raw_line(fd), "running");
    big[CTL_MAX_LINE] = 'x';
    raw_send(fd, big, CTL_MAX_LINE + 1);
    assert_error(raw_line(fd), "request line longer than 65536 bytes");
    assert_null(raw_line(fd)); /* closed */
    close(fd);
    free(big);
    /* the server goes on */
    json_t *a = call(v.path, "status");
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    srv_stop(&v);
}

/* 16 clients are served; the 17th gets an error and is closed; when one
 * leaves, a new one is served. */
static void client_limit(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    int fds[CTL_MAX_CLIENTS];
    for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
        fds[i] = raw_connect(v.path);
        raw_puts(fds[i], "{\"cmd\":\"status\"}\n");
        TU_CONTAINS(raw_line(fds[i]), "\"ok\":true");
    }
    int extra = raw_connect(v.path);
    const char *l = raw_line(extra);
    assert_error(l, "too many control clients (at most 16)");
    assert_null(raw_line(extra));
    close(extra);
    /* the 16 still work */
    raw_puts(fds[5], "{\"cmd\":\"status\"}\n");
    TU_CONTAINS(raw_line(fds[5]), "\"ok\":true");
    close(fds[0]);
    int served = 0;
    for (int t = 0; t < 100 && !served; t++) {
        int fd = raw_connect(v.path);
        raw_puts(fd, "{\"cmd\":\"status\"}\n");
        l = raw_line(fd);
        served = l && strstr(l, "\"ok\":true");
        close(fd);
        if (!served)
            usleep(10000);
    }
    assert_true(served);
    for (int i = 1; i < CTL_MAX_CLIENTS; i++)
        close(fds[i]);
    srv_stop(&v);
}

/* A socket file nobody listens on (a killed range) is replaced. */
static void stale_socket_replaced(void **state)
{
    (void)state;
    const char *p = sock_path("1.sock");
    char dir[128];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(mkdir(dir, 0700), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", p);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));

    struct srv v;
    srv_start(&v, p);
    json_t *a = call(p, "status");
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    srv_stop(&v);
    assert_int_equal(lstat(p, &st), -1); /* removed at the end */
}

/* A live socket is another range's: refused, and left alone. A file that
 * is not a socket is not touched either. */
static void live_socket_refused(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    uv_loop_t l2;
    uv_loop_init(&l2);
    struct toy t2 = {0};
    struct err e;
    err_clear(&e);
    assert_null(ctl_server_new(&l2, v.path, toy_handler, &t2, &e));
    char want[256];
    snprintf(want, sizeof want, "another range is running on %s", v.path);
    assert_string_equal(e.msg, want);
    json_t *a = call(v.path, "status");
    assert_true(json_is_true(json_object_get(a, "ok")));
    json_decref(a);
    srv_stop(&v);

    const char *f = tu_write_tmp("not-a-socket", "data\n");
    assert_null(ctl_server_new(&l2, f, toy_handler, &t2, &e));
    TU_CONTAINS(e.msg, "exists and is not a socket");
    struct stat st;
    assert_int_equal(stat(f, &st), 0);

    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_null(ctl_server_new(&l2, longp, toy_handler, &t2, &e));
    TU_CONTAINS(e.msg, "control socket path too long (199 bytes, at most 107)");
    assert_int_equal(uv_loop_close(&l2), 0);
}

/* Missing directories are made 0700, the socket is 0600; the socket file
 * goes when the server does. */
static void modes(void **state)
{
    (void)state;
    const char *p = sock_path("deeper/2.sock");
    struct srv v;
    srv_start(&v, p);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    char dir[128];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    srv_stop(&v);
    assert_int_equal(lstat(p, &st), -1);
    assert_int_equal(errno, ENOENT);
}

static void no_server(void **state)
{
    (void)state;
    struct err e;
    json_t *req = json_pack("{s:s}", "cmd", "status");
    const char *p = sock_path("3.sock");
    assert_null(ctl_call(p, req, 1000, &e));
    char want[256];
    snprintf(want, sizeof want, "no range is running on %s (instance 3?)", p);
    assert_string_equal(e.msg, want);
    /* a stale socket file: the same */
    const char *q = tu_tmp("x.sock");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", q);
    if (strlen(q) < sizeof sa.sun_path) {
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        assert_null(ctl_call(q, req, 1000, &e));
        snprintf(want, sizeof want, "no range is running on %s", q);
        assert_string_equal(e.msg, want);
        unlink(q);
    }
    close(fd);
    json_decref(req);
}

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's loop never runs: the kernel accepts the connection, nobody
 * answers, ctl_call gives up at its timeout. */
static void timeout_without_answer(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct toy t = {0};
    struct err e;
    const char *p = sock_path("1.sock");
    struct ctl_server *s = ctl_server_new(&loop, p, toy_handler, &t, &e);
    assert_non_null(s);
    json_t *req = json_pack("{s:s}", "cmd", "status");
    long long t0 = ms_now();
    assert_null(ctl_call(p, req, 200, &e));
    long long dt = ms_now() - t0;
    json_decref(req);
    char want[256];
    snprintf(want, sizeof want, "no answer from the range on %s within 200 ms", p);
    assert_string_equal(e.msg, want);
    assert_true(dt >= 190 && dt < 3000);
    ctl_server_free(s);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(t.calls, 0);
}

/* Freed with clients connected, one of them half-way through a line:
 * they see the connection close; nothing leaks. ctl_server_close() from a
 * callback of the loop finishes on the loop's next run. */
static void free_with_clients(void **state)
{
    (void)state;
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    int a = raw_connect(v.path), b = raw_connect(v.path);
    raw_puts(a, "{\"cmd\":\"status\"}\n");
    TU_CONTAINS(raw_line(a), "running");
    raw_puts(b, "{\"cmd\":\"sta");
    usleep(20000);
    srv_stop(&v);
    assert_null(raw_line(a));
    assert_null(raw_line(b));
    close(a);
    close(b);

    uv_loop_t loop;
    uv_loop_init(&loop);
    struct toy t = {0};
    struct err e;
    const char *p = sock_path("1.sock");
    struct ctl_server *s = ctl_server_new(&loop, p, toy_handler, &t, &e);
    assert_non_null(s);
    int c = raw_connect(p);
    uv_run(&loop, UV_RUN_NOWAIT); /* accepts */
    ctl_server_close(s);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_null(raw_line(c));
    close(c);
    struct stat st;
    assert_int_equal(lstat(p, &st), -1);
}

/* icsrange ctl against the test's server, then with none. */
static void cli_ctl(void **state)
{
    (void)state;
    if (!getenv("ICSRANGE_BIN"))
        TU_SKIP("ICSRANGE_BIN");
    struct srv v;
    srv_start(&v, sock_path("1.sock"));
    struct tu_run r = tu_icsrange("ctl", "--socket", v.path, "status", NULL);
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.out, "{\n  \"ok\": true,\n  \"state\": \"running\"");
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--json", "--socket", v.path, "status", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"ok\":true,\"state\":\"running\",\"calls\":2}\n");
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--socket", v.path, "speed", "2.5", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "ok\n");
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--socket", v.path, "snapshot", "snap.bin", NULL);
    assert_int_equal(r.status, 0);
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--socket", v.path, "pause", NULL);
    assert_int_equal(r.status, 1); /* the toy does not know it */
    TU_CONTAINS(r.err, "icsrange: ctl: pause: unknown command");
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--socket", v.path, "speed", "fast", NULL);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--socket", v.path, "bogus", NULL);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
    r = tu_icsrange("ctl", "--help", NULL);
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.out, "label-start TECHNIQUE [TEXT]");
    tu_run_free(&r);
    srv_stop(&v);
    assert_true(v.toy.speed == 2.5);
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    char want[600];
    snprintf(want, sizeof want, "%s/snap.bin", cwd);
    assert_string_equal(v.toy.file, want);

    r = tu_icsrange("ctl", "--socket", v.path, "status", NULL);
    assert_int_equal(r.status, 1);
    TU_CONTAINS(r.err, "no range is running on");
    assert_string_equal(r.out, "");
    tu_run_free(&r);
}

static void default_path(void **state)
{
    (void)state;
    char b[256], want[256];
    const char *old = getenv("XDG_RUNTIME_DIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(ctl_default_path(3, b, sizeof b), 0);
    assert_string_equal(b, "/run/user/1000/icsrange/3.sock");
    assert_int_equal(ctl_default_path(3, b, 10), -1);
    unsetenv("XDG_RUNTIME_DIR");
    assert_int_equal(ctl_default_path(1, b, sizeof b), 0);
    snprintf(want, sizeof want, "/tmp/icsrange-%u/1.sock", (unsigned)getuid());
    assert_string_equal(b, want);
    if (saved)
        setenv("XDG_RUNTIME_DIR", saved, 1);
    free(saved);
}

/* ---- the line core, no sockets ---- */

struct sink {
    char out[65536];
    size_t n;
};

static int sink_emit(void *ectx, const char *line, size_t len)
{
    struct sink *s = ectx;
    assert_true(s->n + len < sizeof s->out);
    memcpy(s->out + s->n, line, len);
    s->n += len;
    s->out[s->n] = '\0';
    return 0;
}

/* One byte at a time gives the same answers as all at once. */
static void lines_core(void **state)
{
    (void)state;
    static const char in[] = "{\"cmd\":\"echo\",\"seq\":1}\r\n\n[]\nx\n{\"cmd\":\"echo\",\"seq\":2}\n"
                             "{\"cmd\":\"ec";
    struct toy t = {0};
    struct sink whole = {0}, bytes = {0};
    struct ctl_lines a = {0}, b = {0};
    assert_int_equal(ctl_lines_feed(&a, in, sizeof in - 1, toy_handler, &t, sink_emit, &whole),
                     0);
    for (size_t i = 0; i < sizeof in - 1; i++)
        assert_int_equal(ctl_lines_feed(&b, in + i, 1, toy_handler, &t, sink_emit, &bytes), 0);
    assert_string_equal(whole.out, bytes.out);
    assert_string_equal(whole.out,
                        "{\"ok\":true,\"cmd\":\"echo\",\"seq\":1}\n"
                        "{\"ok\":false,\"error\":\"request is not a JSON object but an array\"}\n"
                        "{\"ok\":false,\"error\":\"invalid JSON at column 1: invalid token near "
                        "'x'\"}\n"
                        "{\"ok\":true,\"cmd\":\"echo\",\"seq\":2}\n");
    assert_int_equal(a.len, 10);
    ctl_lines_clear(&a);
    ctl_lines_clear(&b);

    /* CTL_MAX_LINE bytes then "\r": still within the limit; one more
     * byte is over */
    struct sink s = {0};
    char *big = malloc(CTL_MAX_LINE + 2);
    memset(big, ' ', CTL_MAX_LINE);
    big[CTL_MAX_LINE] = '\r';
    assert_int_equal(ctl_lines_feed(&a, big, CTL_MAX_LINE + 1, toy_handler, &t, sink_emit, &s),
                     0);
    assert_int_equal(ctl_lines_feed(&a, "\n", 1, toy_handler, &t, sink_emit, &s), 0);
    assert_int_equal(s.n, 0); /* blank */
    assert_int_equal(ctl_lines_feed(&a, big, CTL_MAX_LINE, toy_handler, &t, sink_emit, &s), 0);
    assert_int_equal(ctl_lines_feed(&a, "y", 1, toy_handler, &t, sink_emit, &s), -1);
    assert_string_equal(s.out, ctl_overlong_answer);
    assert_int_equal(ctl_lines_feed(&a, "{}\n", 3, toy_handler, &t, sink_emit, &s), -1);
    ctl_lines_clear(&a);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_round_trip),
        cmocka_unit_test(requests_in_order),
        cmocka_unit_test(bad_requests_answered),
        cmocka_unit_test(overlong_line_closes),
        cmocka_unit_test(client_limit),
        cmocka_unit_test(stale_socket_replaced),
        cmocka_unit_test(live_socket_refused),
        cmocka_unit_test(modes),
        cmocka_unit_test(no_server),
        cmocka_unit_test(timeout_without_answer),
        cmocka_unit_test(free_with_clients),
        cmocka_unit_test(cli_ctl),
        cmocka_unit_test(default_path),
        cmocka_unit_test(lines_core),
    };
    return cmocka_run_group_tests_name("ctl", tests, group_setup, group_teardown);
}
