/* cli.h — the icsrange command line: one binary, one function per subcommand.
 *
 * Each subcommand takes its own argc/argv (argv[0] is the subcommand name)
 * and returns the process exit status: 0 success, 1 a failure of the run,
 * 2 a usage error. The CLI is wiring only: it parses options, loads files,
 * connects modules and prints.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "core/version.h"

int cmd_sim(int argc, char **argv);
int cmd_modbus(int argc, char **argv);
int cmd_plc(int argc, char **argv);

/* Prints "icsrange: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
