/* cli.h — the icsrange command line: one binary, one function per subcommand.
 *
 * Each subcommand takes its own argc/argv (argv[0] is the subcommand name)
 * and returns the process exit status: 0 success, 1 a failure of the run,
 * 2 a usage error. The CLI is wiring only: it parses options, loads files,
 * connects modules and prints.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include "core/log.h"
#include "core/version.h"
#include "range/range.h"

int cmd_sim(int argc, char **argv);
int cmd_modbus(int argc, char **argv);
int cmd_plc(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_historian(int argc, char **argv);

/* Joins each option of `pair_opts` (NULL-terminated: "--at") with its two
 * values into two arguments, the option and "VALUE1\tVALUE2", so that
 * getopt may reorder options and operands freely. args has room for
 * argc + 1 pointers (NULL-terminated on return), store for argc new
 * strings (counted in *nstore; the caller frees them). Returns the new
 * argument count, or -1 out of memory. */
int cli_join_pairs(int argc, char **argv, const char *const *pair_opts, char **args,
                   char **store, size_t *nstore);

/* The options `run` and `dataset` share (cli_range.c). */
struct cli_range {
    struct range_opts o;
    const char **sets;           /* NULL-terminated */
    size_t nsets;
    struct range_at *ats;
    size_t nats;
    struct range_label *labels;
    size_t nlabels;
    char **store;                /* strings the options point into */
    size_t nstore;
    char **args;
    enum log_level level;
    int log_json;
    const char *out;             /* dataset: DIR */
    int json;                    /* dataset: the summary as JSON */
};
/* Parses argv (argv[0] the subcommand). Returns 0, 2 on a usage error
 * (printed), -1 after printing `usage` for --help, 1 out of memory.
 * cli_range_free() in every case. */
int cli_range_parse(struct cli_range *c, int argc, char **argv, int dataset, const char *usage);
void cli_range_free(struct cli_range *c);

/* Prints "icsrange: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
