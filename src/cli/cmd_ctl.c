/* cmd_ctl.c — `icsrange ctl`: one request to a running range's control
 * socket, and its answer printed.
 *
 * Builds the JSON request for the command line, sends it with ctl_call()
 * and prints the answer: `status` in full, the other commands "ok" or the
 * range's error. Exit 0 when the range says ok, 1 when it refuses or
 * cannot be reached, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "range/ctl.h"

static const char ctl_usage[] =
    "usage: icsrange ctl [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Sends one request to a running range ('icsrange run') over its control\n"
    "socket and prints the answer.\n"
    "\n"
    "commands:\n"
    "  status                  the range's state (clock, speed, devices, ...),\n"
    "                          as indented JSON\n"
    "  pause                   stop the virtual clock\n"
    "  resume                  start it again\n"
    "  speed X                 run at real time times X (a number > 0; pause\n"
    "                          stops the clock)\n"
    "  snapshot FILE           save the whole state to FILE ('icsrange run\n"
    "                          --restore FILE' continues from it)\n"
    "  restore FILE            continue the running range from FILE\n"
    "  stop                    end the run cleanly (files are closed)\n"
    "  label-start TECHNIQUE [TEXT]\n"
    "                          open an attack label (an ATT&CK for ICS id such\n"
    "                          as T0836, and a free text) in the recording\n"
    "  label-end               close the open label\n"
    "  key DEVICE POSITION     turn a PLC's keyswitch: run, program or remote\n"
    "                          (what the program reads at its key input)\n"
    "\n"
    "options:\n"
    "  --instance N            the range's instance (default 1): its socket is\n"
    "                          $XDG_RUNTIME_DIR/icsrange/N.sock, or\n"
    "                          /tmp/icsrange-UID/N.sock without XDG_RUNTIME_DIR\n"
    "  --socket PATH           this control socket instead\n"
    "  --json                  print the answer as one compact JSON line, for\n"
    "                          every command\n"
    "  --timeout MS            wait at most MS milliseconds for the answer\n"
    "                          (default 10000; 0 waits without limit)\n"
    "  -h, --help              this help\n"
    "\n"
    "FILE may be relative: it is sent as an absolute path, since the range's\n"
    "working directory may differ. Put '--' before a TEXT that starts with '-'.\n"
    "\n"
    "The protocol is JSON lines ({\"cmd\":\"status\"} in, {\"ok\":true,...} out),\n"
    "so other tools can talk to the socket too (socat - UNIX-CONNECT:PATH).\n"
    "\n"
    "exit status: 0 the range answered ok; 1 it refused (the error is printed)\n"
    "or could not be reached; 2 a usage error.\n";

static int usage_error(const char *msg, const char *arg)
{
    cli_error("ctl: %s%s%s (see icsrange ctl --help)", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

/* FILE as an absolute path: the real path of its directory, then its
 * name; falls back to the working directory + FILE when the directory
 * cannot be resolved (the range then reports the problem). NULL if out of
 * memory. The caller frees. */
static char *absolute_file(const char *file)
{
    if (file[0] == '/')
        return strdup(file);
    const char *slash = strrchr(file, '/');
    char *dir = slash ? strndup(file, (size_t)(slash - file) + 1) : strdup(".");
    const char *name = slash ? slash + 1 : file;
    char *real = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    char *out = NULL;
    if (real) {
        size_t n = strlen(real) + strlen(name) + 2;
        if ((out = malloc(n)))
            snprintf(out, n, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/", name);
        free(real);
        return out;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return strdup(file);
    size_t n = strlen(cwd) + strlen(file) + 2;
    if ((out = malloc(n)))
        snprintf(out, n, "%s/%s", cwd, file);
    return out;
}

/* Builds the request from the command words; NULL after a usage error
 * message (exit 2). */
static json_t *build_request(int argc, char **argv)
{
    const char *cmd = argv[0];
    int nargs = argc - 1;
    struct {
        const char *word, *wire;
        int min, max;
    } const cmds[] = {
        {"status", "status", 0, 0},       {"pause", "pause", 0, 0},
        {"resume", "resume", 0, 0},       {"speed", "speed", 1, 1},
        {"snapshot", "snapshot", 1, 1},   {"restore", "restore", 1, 1},
        {"stop", "stop", 0, 0},           {"label-start", "label_start", 1, 2},
        {"label-end", "label_end", 0, 0}, {"key", "key", 2, 2},
    };
    size_t i;
    for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmds[i].word, cmd) == 0)
            break;
    if (i == sizeof cmds / sizeof cmds[0]) {
        usage_error("unknown command", cmd);
        return NULL;
    }
    if (nargs < cmds[i].min || nargs > cmds[i].max) {
        cli_error("ctl: %s takes %s (see icsrange ctl --help)", cmd,
                  cmds[i].max == 0   ? "no argument"
                  : cmds[i].min == 1 && cmds[i].max == 1 ? "one argument"
                  : cmds[i].min == 2                     ? "two arguments"
                                                         : "one or two arguments");
        return NULL;
    }
    json_t *req = json_pack("{s:s}", "cmd", cmds[i].wire);
    if (!req)
        return NULL;
    if (strcmp(cmd, "speed") == 0) {
        char *end;
        errno = 0;
        double x = strtod(argv[1], &end);
        if (end == argv[1] || *end || errno || !isfinite(x) || x < 0) {
            json_decref(req);
            usage_error("speed needs a number >= 0, not", argv[1]);
            return NULL;
        }
        json_object_set_new(req, "speed", json_real(x));
    } else if (strcmp(cmd, "snapshot") == 0 || strcmp(cmd, "restore") == 0) {
        if (!argv[1][0]) {
            json_decref(req);
            usage_error("empty FILE", NULL);
            return NULL;
        }
        char *abs = absolute_file(argv[1]);
        json_object_set_new(req, "file", json_string(abs ? abs : argv[1]));
        free(abs);
    } else if (strcmp(cmd, "key") == 0) {
        json_object_set_new(req, "device", json_string(argv[1]));
        json_object_set_new(req, "position", json_string(argv[2]));
    } else if (strcmp(cmd, "label-start") == 0) {
        json_object_set_new(req, "technique", json_string(argv[1]));
        if (nargs == 2)
            json_object_set_new(req, "text", json_string(argv[2]));
    }
    return req;
}

int cmd_ctl(int argc, char **argv)
{
    static const struct option opts[] = {
        {"instance", required_argument, NULL, 'i'},
        {"socket", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int instance = 1, json_out = 0, timeout_ms = 10000;
    const char *sock = NULL;
    int o;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        long v;
        switch (o) {
        case 'i':
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 254)
                return usage_error("--instance needs a number from 1 to 254, not", optarg);
            instance = (int)v;
            break;
        case 's':
            sock = optarg;
            break;
        case 'j':
            json_out = 1;
            break;
        case 't':
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > INT_MAX)
                return usage_error("--timeout needs milliseconds (a number >= 0), not", optarg);
            timeout_ms = (int)v;
            break;
        case 'h':
            fputs(ctl_usage, stdout);
            return 0;
        default:
            if (optopt)
                cli_error("ctl: option '%s' needs a value (see icsrange ctl --help)",
                          argv[optind - 1]);
            else
                cli_error("ctl: unknown option '%s' (see icsrange ctl --help)", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc)
        return usage_error("which command? status, pause, resume, speed, snapshot, restore, "
                           "stop, label-start, label-end or key",
                           NULL);
    json_t *req = build_request(argc - optind, argv + optind);
    if (!req)
        return 2;

    char path[4096];
    if (sock)
        snprintf(path, sizeof path, "%s", sock);
    else if (ctl_default_path(instance, path, sizeof path) != 0) {
        json_decref(req);
        cli_error("ctl: the default control socket path is too long (use --socket)");
        return 1;
    }
    struct err e;
    err_clear(&e);
    json_t *ans = ctl_call(path, req, timeout_ms, &e);
    json_decref(req);
    if (!ans) {
        cli_error("ctl: %s", e.msg);
        return 1;
    }
    int ok = json_is_true(json_object_get(ans, "ok"));
    const char *cmd = argv[optind];
    if (json_out || (ok && strcmp(cmd, "status") == 0)) {
        char *s = json_dumps(ans, json_out ? JSON_COMPACT : JSON_INDENT(2));
        if (s) {
            puts(s);
            free(s);
        }
    } else if (ok) {
        puts("ok");
    }
    if (!ok) {
        const char *msg = json_string_value(json_object_get(ans, "error"));
        cli_error("ctl: %s: %s", cmd, msg ? msg : "the range refused (no reason given)");
    }
    json_decref(ans);
    return ok ? 0 : 1;
}
