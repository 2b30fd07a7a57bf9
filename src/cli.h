/* The command line of ./darknet as data: each command declares its name,
 * arguments, one-line description and options once, in an abc_cmd, and the
 * same table prints its usage (-h, --help, `help <command>`) and parses and
 * checks its flags. A family (classifier, abc, ...) lists its subcommands;
 * the root (commands.c) lists the families and the global options. */
#ifndef ABC_CLI_H
#define ABC_CLI_H

#include <stdio.h>

#define ABC_CLI_MAX_OPTS 16 /* options of one command, and global options */
#define ABC_CLI_MAX_POS 8   /* positional arguments of one command */

typedef enum {
    ABC_OPT_FLAG, /* -quick */
    ABC_OPT_INT,  /* -rounds N: a whole number from min to max */
    ABC_OPT_STR,  /* -out DIR */
    ABC_OPT_REAL  /* -thresh X: a number from min / 1000 to max / 1000 */
} abc_opt_kind;

typedef struct {
    const char *name;  /* "-rounds"; a table ends with a zeroed row */
    abc_opt_kind kind;
    const char *arg;   /* the value's name in the usage ("N", "DIR"); NULL for a flag */
    long min, max;     /* ABC_OPT_INT; ABC_OPT_REAL in thousandths */
    const char *help;  /* one line */
} abc_opt;

typedef struct abc_cli abc_cli;
typedef struct abc_cmd abc_cmd;

struct abc_cmd {
    const char *name;           /* "train": the word that selects it */
    const char *args;           /* positional arguments for the usage, "[data] <cfg> [weights]"; NULL: none */
    int min_args, max_args;     /* how many positional arguments it takes */
    const char *what;           /* one line */
    const abc_opt *opts;        /* its options, or NULL */
    const char *notes;          /* further lines of its usage ("\n"-separated), or NULL */
    int (*run)(const abc_cli *a); /* a command: returns the exit status */
    const abc_cmd *const *subs; /* a family: its subcommands, NULL-ended (run is NULL) */
};

/* A parsed command line. Option values are strings (validated: numbers are
 * in range); read them with the abc_cli_* getters below by name. */
struct abc_cli {
    const char *prog;           /* argv[0] */
    const abc_cmd *root, *cmd;  /* the program's table and the command selected */
    char path[128];             /* "classifier train" */
    int npos;
    const char *pos[ABC_CLI_MAX_POS];
    const char *val[ABC_CLI_MAX_OPTS];  /* cmd->opts[i]: its value, "" for a flag given, NULL if not given */
    const char *gval[ABC_CLI_MAX_OPTS]; /* root->opts[i] (global options), likewise */
};

/* Selects the command named by argv and parses its arguments; global options
 * (root->opts) are accepted anywhere. -h / --help / -help after any command
 * words, or `help [command...]`, print that usage to stdout and exit 0. No
 * command: the usage on stderr, exit 1. Any other mistake (unknown command
 * or option, a flag missing its value, a bad number, too few or too many
 * arguments) is one `darknet: error:` line and exit 1. */
abc_cli abc_cli_parse(const abc_cmd *root, int argc, char **argv);

/* 1 if the option (the command's or a global one) was given. */
int abc_cli_given(const abc_cli *a, const char *name);
int abc_cli_flag(const abc_cli *a, const char *name);
long abc_cli_int(const abc_cli *a, const char *name, long dflt);
double abc_cli_real(const abc_cli *a, const char *name, double dflt);
const char *abc_cli_str(const abc_cli *a, const char *name, const char *dflt);

/* One error line naming the command and pointing at its usage; exits 1. */
void abc_cli_fail(const abc_cli *a, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* The usage of cmd (path: the words that select it, "" for the root). */
void abc_cli_usage(FILE *fp, const char *prog, const abc_cmd *root, const abc_cmd *cmd, const char *path);

#endif
