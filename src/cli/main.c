/* main.c — the icsrange binary: dispatches to a subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: icsrange COMMAND [OPTIONS]\n"
    "\n"
    "icsrange is an ICS cyber range: a simulated plant that obeys physics, with\n"
    "PLCs that speak industrial protocols on a network you can attack, defend and\n"
    "capture.\n"
    "\n"
    "commands:\n"
    "  run [PLANT.yaml] the range: plant, PLCs, SIS and HMI client on a network,\n"
    "                   tap, historian, control socket; 'icsrange run --help'\n"
    "  ctl ...          control a running range (status, pause, resume, speed,\n"
    "                   snapshot, restore, stop); 'icsrange ctl --help'\n"
    "  dataset ...      a labelled dataset in seconds: process.csv, traffic.pcap,\n"
    "                   labels.csv, meta.json; 'icsrange dataset --help'\n"
    "  historian ...    export or inspect a historian database\n"
    "  sim PLANT.yaml   run the physics of a plant alone (CSV, consequence metrics)\n"
    "  modbus ...       a Modbus/TCP server, and client tools (read, write, mask, rw,\n"
    "                   id, diag, scan); 'icsrange modbus --help'\n"
    "  plc ...          Structured Text tools (check, disasm), a standalone soft PLC\n"
    "                   (run), engineering access (info, upload, download, mode,\n"
    "                   keygen); 'icsrange plc --help'\n"
    "\n"
    "options:\n"
    "  -h, --help       this help; 'icsrange COMMAND --help' for a command's options\n"
    "  --version        print the version\n"
    "\n"
    "documentation: README.md and docs/ in the source tree.\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("icsrange: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("icsrange %s\n", ICSRANGE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "ctl") == 0)
        return cmd_ctl(argc - 1, argv + 1);
    if (strcmp(cmd, "dataset") == 0)
        return cmd_dataset(argc - 1, argv + 1);
    if (strcmp(cmd, "historian") == 0)
        return cmd_historian(argc - 1, argv + 1);
    if (strcmp(cmd, "sim") == 0)
        return cmd_sim(argc - 1, argv + 1);
    if (strcmp(cmd, "modbus") == 0)
        return cmd_modbus(argc - 1, argv + 1);
    if (strcmp(cmd, "plc") == 0)
        return cmd_plc(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'icsrange --help')", cmd);
    return 2;
}
