/* test_cli.c — the icsrange command line: help and version, a real-time
 * run paced by the wall clock, the live status line, Ctrl-C. (Behaviour
 * only: no test measures wall-clock time.) */
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

#include "testutil.h"

extern char **environ;

static void help_documents_every_option(void **state)
{
    (void)state;
    struct tu_run r = tu_icsrange("--help", NULL);
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.out, "sim PLANT.yaml");
    tu_run_free(&r);
    r = tu_icsrange("sim", "--help", NULL);
    assert_int_equal(r.status, 0);
    const char *opts[] = {"--duration", "--fast", "--speed", "--seed", "--csv", "--sample",
                          "--set", "--at", "--json", "--status", "--log-level", "--log-json"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        TU_CONTAINS(r.out, opts[i]);
    tu_run_free(&r);
    r = tu_icsrange("--version", NULL);
    assert_int_equal(r.status, 0);
    TU_CONTAINS(r.out, "icsrange ");
    tu_run_free(&r);
    r = tu_icsrange(NULL);
    assert_int_equal(r.status, 2);
    tu_run_free(&r);
}

/* Real time at 4x: 8 simulated seconds give 8 CSV rows and the metrics. */
static void realtime_run(void **state)
{
    (void)state;
    const char *csv = tu_tmp("rt.csv");
    struct tu_run r = tu_icsrange("sim", tu_path("plants/waterworks.yaml"), "--duration", "8s",
                                  "--speed", "4", "--csv", csv, "--status", "--json", NULL);
    if (r.status != 0)
        fail_msg("status %d: %s", r.status, r.err);
    struct tu_csv *c = tu_csv_read(csv);
    assert_int_equal(c->nrows, 8);
    tu_csv_free(c);
    TU_NEAR(tu_json_num(r.out, "duration_s"), 8, 0);
    /* the status line (stderr is not a terminal: one line per second) */
    TU_CONTAINS(r.err, "T-101 0.5");
    TU_CONTAINS(r.err, "spilled");
    tu_run_free(&r);
}

/* A real-time run without a duration lasts until Ctrl-C, then prints its
 * metrics and exits with 130; the CSV written so far is complete. */
static void interrupt_stops_cleanly(void **state)
{
    (void)state;
    const char *csv = tu_tmp("int.csv");
    const char *bin = getenv("ICSRANGE_BIN") ? getenv("ICSRANGE_BIN") : "build/icsrange";
    char out_path[1024];
    snprintf(out_path, sizeof out_path, "%s", tu_tmp("int.out"));
    const char *argv[] = {bin, "sim", tu_path("plants/waterworks.yaml"), "--speed", "20", "--csv",
                          csv, "--json", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    /* wait until the run has written some rows, then interrupt it */
    for (int i = 0; i < 200; i++) {
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
        size_t len = 0;
        char *t = tu_read_file(csv, &len);
        int lines = 0;
        for (size_t k = 0; t && k < len; k++)
            lines += t[k] == '\n';
        free(t);
        if (lines > 3)
            break;
    }
    kill(pid, SIGINT);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    char *out = tu_read_file(out_path, NULL);
    TU_CONTAINS(out, "\"interrupted\":true");
    double dur = tu_json_num(out, "duration_s");
    free(out);
    struct tu_csv *c = tu_csv_read(csv);
    assert_true(c->nrows >= 3);
    /* the run reports how far it got; rows cover it */
    assert_true(dur >= (double)c->nrows - 1);
    tu_csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_documents_every_option),
        cmocka_unit_test(realtime_run),
        cmocka_unit_test(interrupt_stops_cleanly),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
