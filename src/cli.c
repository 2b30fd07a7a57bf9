#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"

#define OPT_COLUMN 14

static int is_help(const char *w) { return !strcmp(w, "-h") || !strcmp(w, "--help") || !strcmp(w, "-help"); }

static int is_option(const char *w) { return w[0] == '-' && w[1]; }

static int find_opt(const abc_opt *opts, const char *name)
{
    for (int i = 0; opts && opts[i].name && i < ABC_CLI_MAX_OPTS; ++i)
        if (!strcmp(opts[i].name, name)) return i;
    return -1;
}

static const abc_cmd *find_sub(const abc_cmd *c, const char *name)
{
    for (int i = 0; c->subs && c->subs[i]; ++i)
        if (!strcmp(c->subs[i]->name, name)) return c->subs[i];
    return NULL;
}

/* "classifier train: " (nothing at the root) */
static const char *prefix(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", path, *path ? ": " : "");
    return buf;
}

/* "see ./darknet help classifier train" */
static const char *see(const char *prog, const char *path, char *buf, size_t n)
{
    if (*path) snprintf(buf, n, "see %s help %s", prog, path);
    else snprintf(buf, n, "see %s -h", prog);
    return buf;
}

static void append(char *path, size_t n, const char *word)
{
    size_t at = strlen(path);
    snprintf(path + at, n - at, "%s%s", at ? " " : "", word);
}

/* ---- usage ---- */

static void print_opt(FILE *fp, const char *indent, const abc_opt *o)
{
    char left[64];
    snprintf(left, sizeof left, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
    fprintf(fp, "%s%-*s %s\n", indent, OPT_COLUMN, left, o->help);
}

/* "[data] <cfg> [weights] [-clear]" */
static const char *synopsis(const abc_cmd *c, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    if (c->subs) at += (size_t)snprintf(buf, n, "<subcommand>");
    else if (c->args) at += (size_t)snprintf(buf, n, "%s", c->args);
    for (int i = 0; c->opts && c->opts[i].name && at < n; ++i) {
        const abc_opt *o = &c->opts[i];
        at += (size_t)snprintf(buf + at, n - at, "%s[%s%s%s]", at ? " " : "", o->name, o->arg ? " " : "",
                               o->arg ? o->arg : "");
    }
    return buf;
}

/* "  classifier train [data] <cfg> ..." and its description below; with opts, its options too. */
static void print_entry(FILE *fp, const abc_cmd *c, const char *path, int opts)
{
    char syn[512];
    synopsis(c, syn, sizeof syn);
    fprintf(fp, "  %s%s%s\n      %s\n", path, *syn ? " " : "", syn, c->what);
    for (int i = 0; opts && c->opts && c->opts[i].name; ++i) print_opt(fp, "        ", &c->opts[i]);
}

/* Every command under c, by its full path. */
static void print_tree(FILE *fp, const abc_cmd *c, const char *path, int opts)
{
    for (int i = 0; c->subs[i]; ++i) {
        char p[128] = "";
        snprintf(p, sizeof p, "%s", path);
        append(p, sizeof p, c->subs[i]->name);
        if (c->subs[i]->subs) print_tree(fp, c->subs[i], p, opts);
        else print_entry(fp, c->subs[i], p, opts);
    }
}

static void print_notes(FILE *fp, const char *notes)
{
    if (!notes) return;
    fprintf(fp, "\n");
    for (const char *l = notes; *l;) {
        size_t len = strcspn(l, "\n");
        fprintf(fp, "%.*s\n", (int)len, l);
        l += len + (l[len] == '\n');
    }
}

static void print_globals(FILE *fp, const abc_cmd *root, const char *title, const char *help_what)
{
    fprintf(fp, "\n%s:\n", title);
    for (int i = 0; root->opts && root->opts[i].name; ++i) print_opt(fp, "  ", &root->opts[i]);
    abc_opt h = {"-h, --help", ABC_OPT_FLAG, NULL, 0, 0, help_what};
    print_opt(fp, "  ", &h);
}

void abc_cli_usage(FILE *fp, const char *prog, const abc_cmd *root, const abc_cmd *cmd, const char *path)
{
    char syn[512];
    if (cmd == root) {
        fprintf(fp, "usage: %s <command> [arguments] [options]\n\n%s\n\ncommands:\n", prog, root->what);
        print_tree(fp, root, "", 0);
        fprintf(fp, "  help [command [subcommand]]\n      print a command's usage and options (the same as "
                    "<command> -h)\n");
        print_globals(fp, root, "global options (any command, anywhere on the line)",
                      "print the usage of the command before it");
        fprintf(fp, "\n'%s help <command>' or '%s <command> -h' lists a command's options.\n", prog, prog);
    } else if (cmd->subs) {
        fprintf(fp, "usage: %s %s <subcommand> [arguments] [options]\n\n%s\n\nsubcommands:\n", prog, path, cmd->what);
        print_tree(fp, cmd, path, 1);
        print_notes(fp, cmd->notes);
        print_globals(fp, root, "global options", "print this usage");
        fprintf(fp, "\n'%s help %s <subcommand>' prints one subcommand's usage.\n", prog, path);
    } else {
        synopsis(cmd, syn, sizeof syn);
        fprintf(fp, "usage: %s %s%s%s\n\n%s\n", prog, path, *syn ? " " : "", syn, cmd->what);
        print_notes(fp, cmd->notes);
        if (cmd->opts && cmd->opts[0].name) {
            fprintf(fp, "\noptions:\n");
            for (int i = 0; cmd->opts[i].name; ++i) print_opt(fp, "  ", &cmd->opts[i]);
        }
        print_globals(fp, root, "global options", "print this usage");
    }
}

static void help_exit(const abc_cli *a, const abc_cmd *c)
{
    abc_cli_usage(stdout, a->prog, a->root, c, a->path);
    fflush(stdout);
    exit(0);
}

/* ---- parsing ---- */

void abc_cli_fail(const abc_cli *a, const char *fmt, ...)
{
    char msg[1024], pre[160], hint[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    abc_die("%s%s (%s)", prefix(a->path, pre, sizeof pre), msg, see(a->prog, a->path, hint, sizeof hint));
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Stores option o's value (argv[*i + 1] if it takes one) in *slot. */
static void take_option(const abc_cli *a, const abc_opt *o, int argc, char **argv, int *i, const char **slot)
{
    if (o->kind == ABC_OPT_FLAG) {
        *slot = "";
        return;
    }
    if (*i + 1 >= argc) abc_cli_fail(a, "option '%s' needs a value %s", o->name, o->arg);
    const char *v = argv[++*i];
    if (!*v) abc_cli_fail(a, "option '%s' has an empty value", o->name);
    long n;
    char pre[160];
    if (o->kind == ABC_OPT_INT && parse_long(v, o->min, o->max, &n))
        abc_die("%s%s: '%s' is not a number from %ld to %ld", prefix(a->path, pre, sizeof pre), o->name, v, o->min,
                o->max);
    char *end;
    double x = o->kind == ABC_OPT_REAL ? strtod(v, &end) : 0;
    if (o->kind == ABC_OPT_REAL && (end == v || *end || !(x >= o->min / 1e3 && x <= o->max / 1e3)))
        abc_die("%s%s: '%s' is not a number from %g to %g", prefix(a->path, pre, sizeof pre), o->name, v, o->min / 1e3,
                o->max / 1e3);
    *slot = v;
}

/* A global option at argv[*i]: taken (returns 1), or not one (0). */
static int take_global(abc_cli *a, int argc, char **argv, int *i)
{
    int g = find_opt(a->root->opts, argv[*i]);
    if (g < 0) return 0;
    take_option(a, &a->root->opts[g], argc, argv, i, &a->gval[g]);
    return 1;
}

/* `help [words]` from family c: the usage of the command the words name. */
static void help_words(abc_cli *a, const abc_cmd *c, int argc, char **argv, int i)
{
    for (; i < argc; ++i) {
        if (is_help(argv[i])) break;
        const abc_cmd *s = c->subs ? find_sub(c, argv[i]) : NULL;
        if (!s) {
            char hint[256];
            if (!c->subs) abc_die("help: '%s' has no subcommands ('%s' is not one; %s)", a->path, argv[i],
                                  see(a->prog, a->path, hint, sizeof hint));
            abc_die("help: unknown %s '%s' (%s)", c == a->root ? "command" : "subcommand", argv[i],
                    see(a->prog, a->path, hint, sizeof hint));
        }
        append(a->path, sizeof a->path, argv[i]);
        c = s;
    }
    help_exit(a, c);
}

/* "data fashion-mnist [-out DIR] [-limit N]" or "classifier train|valid|predict" */
static const char *family_usage(const abc_cli *a, const abc_cmd *c, char *buf, size_t n)
{
    char syn[512];
    if (c->subs[0] && !c->subs[1]) {
        snprintf(buf, n, "%s %s %s %s", a->prog, a->path, c->subs[0]->name, synopsis(c->subs[0], syn, sizeof syn));
        return buf;
    }
    size_t at = (size_t)snprintf(buf, n, "%s %s ", a->prog, a->path);
    for (int i = 0; c->subs[i] && at < n; ++i) at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? "|" : "", c->subs[i]->name);
    return buf;
}

/* Follows the command words from the root to a command; returns the index of its first argument. */
static int select_command(abc_cli *a, int argc, char **argv)
{
    const abc_cmd *c = a->root;
    int i = 1;
    while (c->subs) {
        if (i < argc && take_global(a, argc, argv, &i)) { ++i; continue; }
        if (i >= argc && c == a->root) {
            abc_cli_usage(stderr, a->prog, a->root, c, "");
            exit(1);
        }
        char u[1024], hint[256];
        if (i >= argc)
            abc_die("%s: missing subcommand; usage: %s (%s)", a->path, family_usage(a, c, u, sizeof u),
                    see(a->prog, a->path, hint, sizeof hint));
        const char *w = argv[i];
        if (is_help(w)) help_exit(a, c);
        if (!strcmp(w, "help")) help_words(a, c, argc, argv, i + 1);
        if (is_option(w)) abc_cli_fail(a, "unknown option '%s'", w);
        const abc_cmd *s = find_sub(c, w);
        if (!s && c == a->root) abc_cli_fail(a, "unknown command '%s'", w);
        if (!s)
            abc_die("%s: unknown subcommand '%s'; usage: %s (%s)", a->path, w, family_usage(a, c, u, sizeof u),
                    see(a->prog, a->path, hint, sizeof hint));
        append(a->path, sizeof a->path, w);
        c = s;
        ++i;
    }
    a->cmd = c;
    return i;
}

/* The command's options and positional arguments from argv[i] on. */
static void parse_arguments(abc_cli *a, int argc, char **argv, int i)
{
    const abc_cmd *c = a->cmd;
    int only_pos = 0;
    for (; i < argc; ++i) {
        const char *w = argv[i];
        if (!only_pos && !strcmp(w, "--")) { only_pos = 1; continue; }
        if (!only_pos && is_help(w)) help_exit(a, c);
        if (!only_pos && is_option(w)) {
            int k = find_opt(c->opts, w);
            if (k >= 0) take_option(a, &c->opts[k], argc, argv, &i, &a->val[k]);
            else if (!take_global(a, argc, argv, &i)) abc_cli_fail(a, "unknown option '%s'", w);
            continue;
        }
        if (a->npos >= c->max_args || a->npos >= ABC_CLI_MAX_POS) abc_cli_fail(a, "unexpected argument '%s'", w);
        /* "" is no file name: a shell variable left unset, not "no weights" */
        if (!*w) abc_cli_fail(a, "argument %d is empty", a->npos + 1);
        a->pos[a->npos++] = w;
    }
    if (a->npos < c->min_args) {
        char syn[512];
        abc_cli_fail(a, "missing arguments; usage: %s %s %s", a->prog, a->path, synopsis(c, syn, sizeof syn));
    }
}

abc_cli abc_cli_parse(const abc_cmd *root, int argc, char **argv)
{
    abc_cli a;
    memset(&a, 0, sizeof a);
    a.prog = argc > 0 && argv[0] ? argv[0] : "darknet";
    a.root = root;
    int first = select_command(&a, argc, argv);
    parse_arguments(&a, argc, argv, first);
    return a;
}

/* ---- getters ---- */

static const char *value_of(const abc_cli *a, const char *name, const abc_opt **o)
{
    int k = find_opt(a->cmd->opts, name);
    if (k >= 0) { *o = &a->cmd->opts[k]; return a->val[k]; }
    k = find_opt(a->root->opts, name);
    if (k >= 0) { *o = &a->root->opts[k]; return a->gval[k]; }
    abc_die("internal: '%s' reads option '%s', which its table does not declare", a->path, name);
}

int abc_cli_given(const abc_cli *a, const char *name)
{
    const abc_opt *o;
    return value_of(a, name, &o) != NULL;
}

int abc_cli_flag(const abc_cli *a, const char *name) { return abc_cli_given(a, name); }

long abc_cli_int(const abc_cli *a, const char *name, long dflt)
{
    const abc_opt *o;
    const char *v = value_of(a, name, &o);
    return v && o->kind == ABC_OPT_INT ? strtol(v, NULL, 10) : dflt;
}

double abc_cli_real(const abc_cli *a, const char *name, double dflt)
{
    const abc_opt *o;
    const char *v = value_of(a, name, &o);
    return v && o->kind == ABC_OPT_REAL ? strtod(v, NULL) : dflt;
}

const char *abc_cli_str(const abc_cli *a, const char *name, const char *dflt)
{
    const abc_opt *o;
    const char *v = value_of(a, name, &o);
    return v ? v : dflt;
}
