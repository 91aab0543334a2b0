/* interop.c — the shared helpers of the interoperability tests (see
 * interop.h). */
#include "interop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* At most ~600 characters of a long text (its head and tail), so that a
 * failure message fits cmocka's buffer. Static buffers, 4 in rotation. */
const char *clip(const char *s)
{
    static char bufs[4][700];
    static int k;
    char *b = bufs[k = (k + 1) % 4];
    size_t n = s ? strlen(s) : 0;
    if (!s)
        snprintf(b, sizeof bufs[0], "(null)");
    else if (n <= 600)
        snprintf(b, sizeof bufs[0], "%s", s);
    else
        snprintf(b, sizeof bufs[0], "%.300s\n[... %zu bytes ...]\n%s", s, n - 550, s + n - 250);
    return b;
}

/* What a case holds, released by the teardown as well: cmocka leaves a
 * failed case by longjmp, and a leak report would add a second failure
 * under the sanitizers. */
static void *held[64];
static json_t *held_json[64];

void *hold(void *p)
{
    for (size_t i = 0; p && i < 64; i++)
        if (!held[i]) {
            held[i] = p;
            break;
        }
    return p;
}

void release(void *p)
{
    for (size_t i = 0; p && i < 64; i++)
        if (held[i] == p)
            held[i] = NULL;
    free(p);
}

/* Takes back a pointer from the teardown's care (it lives on). */
void *unhold(void *p)
{
    for (size_t i = 0; p && i < 64; i++)
        if (held[i] == p)
            held[i] = NULL;
    return p;
}

json_t *unhold_json(json_t *j)
{
    for (size_t i = 0; j && i < 64; i++)
        if (held_json[i] == j)
            held_json[i] = NULL;
    return j;
}

json_t *hold_json(json_t *j)
{
    for (size_t i = 0; j && i < 64; i++)
        if (!held_json[i]) {
            held_json[i] = j;
            break;
        }
    return j;
}

void release_json(json_t *j)
{
    for (size_t i = 0; j && i < 64; i++)
        if (held_json[i] == j)
            held_json[i] = NULL;
    json_decref(j);
}

/* A program's run whose outputs are held until drop_run(). */
struct tu_run held_run(struct tu_run r)
{
    hold(r.out);
    hold(r.err);
    return r;
}

void drop_run(struct tu_run *r)
{
    release(r->out);
    release(r->err);
    r->out = r->err = NULL;
}

void release_all(void)
{
    for (size_t i = 0; i < 64; i++) {
        free(held[i]);
        held[i] = NULL;
        json_decref(held_json[i]);
        held_json[i] = NULL;
    }
}

/* ---- the server under test: `$ICSRANGE_BIN modbus serve` ---- */


static struct server *live[4]; /* killed by the teardown if a case failed */

static void forget(struct server *s)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] == s)
            live[i] = NULL;
}

/* Starts the server on `listen` with a map file; returns 0 when its log
 * says "listening on" (s->addr, s->port: the address bound; port 0 asks
 * for any free port), or -1 with its log in *why (held) if it exited
 * first. */
int proc_try_start(struct server *s, const char *const *args, char **why)
{
    memset(s, 0, sizeof *s);
    snprintf(s->log, sizeof s->log, "%s", tu_tmp("server.log"));
    const char *bin = getenv("ICSRANGE_BIN");
    if (!bin)
        bin = "build/icsrange";
    const char *argv[32] = {bin};
    size_t na = 1;
    for (size_t i = 0; args[i] && na < 31; i++)
        argv[na++] = args[i];
    argv[na] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    int rc = posix_spawn(&s->pid, bin, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("cannot run %s: %s", bin, strerror(rc));
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (!live[i]) {
            live[i] = s;
            break;
        }
    for (int waited = 0; waited < 20000; waited += 10) {
        char *text = tu_read_file(s->log, NULL);
        const char *p = text ? strstr(text, "listening on ") : NULL;
        if (p && strchr(p, '\n')) {
            sscanf(p + 13, "%63[0-9.:]", s->addr);
            const char *colon = strrchr(s->addr, ':');
            s->port = colon ? atoi(colon + 1) : 0;
            free(text);
            if (s->port <= 0)
                fail_msg("cannot read the server's port from its log");
            return 0;
        }
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            forget(s);
            *why = hold(text ? text : strdup(""));
            return -1;
        }
        free(text);
        sleep_ms(10);
    }
    fail_msg("the server did not listen within 20 s");
    return -1;
}

int server_try_start(struct server *s, const char *listen, const char *map, char **why)
{
    const char *args[] = {"modbus", "serve", "--listen", listen, "--map", map, NULL};
    return proc_try_start(s, args, why);
}

void server_start(struct server *s, const char *listen, const char *map)
{
    char *why;
    if (server_try_start(s, listen, map, &why) != 0)
        fail_msg("the server exited before listening:\n%s", clip(why));
}

/* Stops the server with SIGTERM; it must print its stats and exit 0 (an
 * AddressSanitizer build exits non-zero on a leak). Returns its log
 * (held; release() it). */
char *server_stop(struct server *s)
{
    kill(s->pid, SIGTERM);
    int st = 0, done = 0;
    for (int waited = 0; waited < 20000 && !done; waited += 10) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid)
            done = 1;
        else
            sleep_ms(10);
    }
    if (!done) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
    }
    s->pid = 0;
    forget(s);
    char *text = hold(tu_read_file(s->log, NULL));
    if (!done)
        fail_msg("the server ignored SIGTERM for 20 s:\n%s", clip(text));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("the server exited with status %d after SIGTERM:\n%s",
                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), clip(text));
    if (!text || !strstr(text, "stopped:"))
        fail_msg("the server did not print its stats:\n%s", clip(text));
    return text;
}

/* The teardown of every case: kills servers left running, releases what
 * the case held. */
int kill_servers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] && live[i]->pid > 0) {
            kill(live[i]->pid, SIGKILL);
            waitpid(live[i]->pid, NULL, 0);
            live[i]->pid = 0;
            live[i] = NULL;
        }
    release_all();
    return 0;
}
