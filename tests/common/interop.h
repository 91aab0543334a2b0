/* interop.h — what the interoperability tests share: running
 * `$ICSRANGE_BIN modbus serve` as a separate process (started on a port
 * read back from its log, stopped with SIGTERM and required to exit 0 with
 * its counters, so that the sanitizer build fails on a leak), and keeping
 * what a case allocates so that a case left by a failed assertion (cmocka
 * longjmps) leaks nothing. Install kill_servers() as each case's teardown.
 */
#ifndef TESTS_INTEROP_H
#define TESTS_INTEROP_H

#include <jansson.h>
#include <sys/types.h>

#include "testutil.h"

struct server {
    pid_t pid;
    char log[1024];
    char addr[64]; /* "127.0.0.1:PORT" */
    int port;
};

void sleep_ms(int ms);
/* At most ~600 characters of a long text (head and tail), so that a
 * failure message fits cmocka's buffer. Static buffers, 4 in rotation. */
const char *clip(const char *s);

/* Keeping allocations for the teardown (64 slots each). */
void *hold(void *p);
void release(void *p);
void *unhold(void *p);
json_t *hold_json(json_t *j);
void release_json(json_t *j);
json_t *unhold_json(json_t *j);
struct tu_run held_run(struct tu_run r);
void drop_run(struct tu_run *r);
void release_all(void);

/* Starts the server on `listen` with a map file; returns 0 when its log
 * says "listening on" (s->addr, s->port: the address bound; port 0 asks
 * for any free port), or -1 with its log in *why (held) if it exited
 * first. */
int server_try_start(struct server *s, const char *listen, const char *map, char **why);
/* Starts `$ICSRANGE_BIN args...` (NULL-terminated), any command that logs
 * "listening on ADDR" when ready and "stopped:" at SIGTERM (modbus serve,
 * plc run). Same returns as server_try_start(). */
int proc_try_start(struct server *s, const char *const *args, char **why);
void server_start(struct server *s, const char *listen, const char *map);
/* Stops it with SIGTERM; it must print its stats and exit 0. Returns its
 * log (held; release() it). */
char *server_stop(struct server *s);
/* A case's teardown: kills servers left running, releases what was held. */
int kill_servers(void **state);

#endif
