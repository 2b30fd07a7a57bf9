/* The command line of the real ./darknet: usage on every command (-h, --help,
 * help <command>), one-line errors for unknown options, missing values and bad
 * numbers, global -threads anywhere, and `abc info` (text and -json). The
 * commands are walked from the program's own table, so a new command is
 * checked without a new test. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/mode.h"
#include "commands.h"
#include "test_util.h"

#define BATCH 8

/* Like abc_test_run for each command line, several at once: these runs are
 * all start-up (libdarknet's libraries), so they share the cores. */
static void run_all(char **cmds, int n, abc_run_result *out)
{
    for (int at = 0; at < n; at += BATCH) {
        FILE *p[BATCH];
        int m = n - at < BATCH ? n - at : BATCH;
        for (int i = 0; i < m; ++i) {
            char *full;
            ck_assert(asprintf(&full, "%s 2>&1 </dev/null", cmds[at + i]) > 0);
            p[i] = popen(full, "r");
            ck_assert_msg(p[i] != NULL, "cannot run %s", full);
            free(full);
        }
        for (int i = 0; i < m; ++i) {
            abc_run_result *r = &out[at + i];
            size_t cap = 4096, len = 0, got;
            r->out = malloc(cap);
            while ((got = fread(r->out + len, 1, cap - len - 1, p[i])) > 0)
                if ((len += got) + 2 > cap) r->out = realloc(r->out, cap *= 2);
            r->out[len] = 0;
            int st = pclose(p[i]);
            r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : r->status > 128 && r->status < 160 ? r->status - 128 : 0;
        }
    }
}

/* "<darknet> args", with stderr dropped if quiet. */
static char *darknet_line(const char *args, int quiet)
{
    char *cmd;
    ck_assert(asprintf(&cmd, quiet ? "( %s %s 2>/dev/null )" : "%s %s", abc_test_darknet_path(), args) > 0);
    return cmd;
}

static void free_all(char **cmds, abc_run_result *r, int n)
{
    for (int i = 0; i < n; ++i) {
        free(cmds[i]);
        abc_run_free(&r[i]);
    }
}

/* stdout only (stderr to /dev/null). */
static abc_run_result run_stdout(const char *args)
{
    char *cmd = darknet_line(args, 1);
    abc_run_result r = abc_test_run(cmd);
    free(cmd);
    return r;
}

/* Every command of the table (families too), by its words: "classifier train". */
typedef struct {
    const abc_cmd *cmd;
    char path[128];
} cmd_at;

static int collect(const abc_cmd *c, const char *path, cmd_at *out, int n, int max)
{
    for (int i = 0; c->subs && c->subs[i] && n < max; ++i) {
        cmd_at *e = &out[n++];
        e->cmd = c->subs[i];
        snprintf(e->path, sizeof e->path, "%s%s%s", path, *path ? " " : "", c->subs[i]->name);
        n = collect(c->subs[i], e->path, out, n, max);
    }
    return n;
}

static int all_commands(cmd_at *out, int max) { return collect(&abc_darknet_cmd, "", out, 0, max); }

/* Every option of c (and of its subcommands) appears in text. */
static void lists_options(const abc_cmd *c, const char *text, const char *what)
{
    for (int i = 0; c->opts && c->opts[i].name; ++i)
        ck_assert_msg(strstr(text, c->opts[i].name), "%s: usage lacks %s:\n%s", what, c->opts[i].name, text);
    for (int i = 0; c->subs && c->subs[i]; ++i) lists_options(c->subs[i], text, what);
}

/* What the parser relies on, for every command a table declares. */
START_TEST(command_tables_are_well_formed)
{
    cmd_at cmds[64];
    int n = all_commands(cmds, 64);
    for (int i = 0; i < n; ++i) {
        const abc_cmd *c = cmds[i].cmd;
        const char *p = cmds[i].path;
        ck_assert_msg(c->name && *c->name && c->name[0] != '-' && !strchr(c->name, ' ') && c->what, "%s", p);
        ck_assert_msg(!c->subs != !c->run, "%s: a command runs or has subcommands, not both", p);
        ck_assert_msg(c->min_args >= 0 && c->min_args <= c->max_args && c->max_args <= ABC_CLI_MAX_POS, "%s", p);
        int k = 0;
        for (; c->opts && c->opts[k].name; ++k) {
            const abc_opt *o = &c->opts[k];
            ck_assert_msg(o->name[0] == '-' && o->help && (o->kind == ABC_OPT_FLAG) == !o->arg, "%s %s", p, o->name);
            ck_assert_msg(o->kind != ABC_OPT_INT || o->min <= o->max, "%s %s", p, o->name);
            ck_assert_msg(strcmp(o->name, "-h") && strcmp(o->name, "--help"), "%s: -h is taken", p);
            for (int g = 0; abc_darknet_cmd.opts[g].name; ++g)
                ck_assert_msg(strcmp(o->name, abc_darknet_cmd.opts[g].name), "%s %s hides a global option", p, o->name);
            for (int j = 0; j < k; ++j) ck_assert_msg(strcmp(o->name, c->opts[j].name), "%s: %s twice", p, o->name);
        }
        ck_assert_msg(k <= ABC_CLI_MAX_OPTS, "%s: more than %d options", p, ABC_CLI_MAX_OPTS);
        for (int j = 0; c->subs && c->subs[j]; ++j)
            for (int m = 0; m < j; ++m) ck_assert_msg(strcmp(c->subs[j]->name, c->subs[m]->name), "%s: twice", p);
    }
}
END_TEST

START_TEST(top_level_usage_lists_every_command)
{
    abc_run_result h = run_stdout("-h"), help = run_stdout("--help"), word = run_stdout("help");
    ck_assert_msg(h.status == 0 && help.status == 0 && word.status == 0, "%s", h.out);
    ck_assert_str_eq(h.out, help.out);
    ck_assert_str_eq(h.out, word.out);
    ck_assert_msg(!strncmp(h.out, "usage: ", 7), "%s", h.out);
    cmd_at cmds[64];
    int n = all_commands(cmds, 64);
    ck_assert_int_ge(n, 12);
    for (int i = 0; i < n; ++i) {
        if (cmds[i].cmd->subs) continue;
        char line[160];
        snprintf(line, sizeof line, "  %s", cmds[i].path);
        ck_assert_msg(strstr(h.out, line), "top-level usage lacks '%s':\n%s", cmds[i].path, h.out);
    }
    /* the ones a newcomer looked for, independent of the table */
    const char *want[] = {"classifier train", "classifier valid", "classifier predict", "data fashion-mnist", "demo",
                          "abc selftest", "abc info", "abc check", "abc trainspeed", "abc bench", "-threads N"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i)
        ck_assert_msg(strstr(h.out, want[i]), "top-level usage lacks '%s'", want[i]);
    abc_run_free(&h);
    abc_run_free(&help);
    abc_run_free(&word);
    /* no command at all: the usage on stderr, status 1 */
    abc_run_result none = run_stdout("");
    ck_assert_int_eq(none.status, 1);
    ck_assert_str_eq(none.out, "");
    abc_run_free(&none);
}
END_TEST

START_TEST(every_command_has_help)
{
    cmd_at cmds[64];
    int n = all_commands(cmds, 64);
    char *lines[128];
    abc_run_result r[128];
    for (int i = 0; i < n; ++i) {
        char args[300];
        snprintf(args, sizeof args, "%s -h", cmds[i].path);
        lines[2 * i] = darknet_line(args, 1);
        snprintf(args, sizeof args, "help %s", cmds[i].path);
        lines[2 * i + 1] = darknet_line(args, 1);
    }
    run_all(lines, 2 * n, r);
    for (int i = 0; i < n; ++i) {
        const char *p = cmds[i].path;
        abc_run_result *h = &r[2 * i], *word = &r[2 * i + 1];
        ck_assert_msg(h->status == 0 && word->status == 0, "%s -h: status %d/%d\n%s", p, h->status, word->status, h->out);
        char head[200];
        snprintf(head, sizeof head, "usage: %s %s", abc_test_darknet_path(), p);
        ck_assert_msg(!strncmp(h->out, head, strlen(head)), "%s -h does not start with '%s':\n%s", p, head, h->out);
        ck_assert_msg(!strcmp(h->out, word->out), "%s: -h and 'help %s' differ:\n%s\n---\n%s", p, p, h->out, word->out);
        ck_assert_msg(strstr(h->out, cmds[i].cmd->what), "%s: usage lacks its description", p);
        ck_assert_msg(strstr(h->out, "-threads N"), "%s: usage lacks the global -threads N", p);
        lists_options(cmds[i].cmd, h->out, p);
    }
    free_all(lines, r, 2 * n);
}
END_TEST

/* Options a user of each command expects in its usage (independent of the table). */
static const struct {
    const char *args;
    const char *opts[7];
} expected_options[] = {
    {"abc bench --help", {"-rounds N", "-kernel NAME", "-gemm", "-layers", "-scaling", "-quick"}},
    {"abc info -h", {"-json"}},
    {"data fashion-mnist --help", {"-out DIR", "-limit N"}},
    {"classifier -h", {"train", "valid", "predict", "-clear", "-limit N"}},
    {"classifier train -h", {"-clear", "_final.weights"}},
    {"classifier valid -h", {"-limit N", "-t N", "130"}},
    {"classifier predict -help", {"-t N"}},
    {"abc -h", {"selftest", "info", "check", "trainspeed", "bench", "-rounds N"}},
    {"abc check x.cfg -h", {"abc check <cfg> [weights]"}},
    {"classifier train x.cfg -h", {"-clear"}}, /* -h after arguments too */
};

#define N_EXPECTED (int)(sizeof expected_options / sizeof expected_options[0])

START_TEST(help_lists_the_expected_options)
{
    char *lines[N_EXPECTED];
    abc_run_result r[N_EXPECTED];
    for (int i = 0; i < N_EXPECTED; ++i) lines[i] = darknet_line(expected_options[i].args, 1);
    run_all(lines, N_EXPECTED, r);
    for (int i = 0; i < N_EXPECTED; ++i) {
        ck_assert_msg(r[i].status == 0, "%s: status %d:\n%s", expected_options[i].args, r[i].status, r[i].out);
        for (int k = 0; k < 7 && expected_options[i].opts[k]; ++k)
            ck_assert_msg(strstr(r[i].out, expected_options[i].opts[k]), "'%s' lacks '%s':\n%s",
                          expected_options[i].args, expected_options[i].opts[k], r[i].out);
    }
    free_all(lines, r, N_EXPECTED);
}
END_TEST

/* Each: status 1, one line, and it is the error line, with these words. */
static const struct {
    const char *args;
    const char *expect;
} bad_lines[] = {
    {"abc bench -x", "darknet: error: abc bench: unknown option '-x' (see %s help abc bench)"},
    {"abc info -json -x", "darknet: error: abc info: unknown option '-x' (see %s help abc info)"},
    {"data fashion-mnist -x", "darknet: error: data fashion-mnist: unknown option '-x' (see %s help data fashion-mnist)"},
    {"classifier valid a.data b.cfg c.weights -x", "darknet: error: classifier valid: unknown option '-x' (see %s help classifier valid)"},
    {"demo -x", "darknet: error: demo: unknown option '-x' (see %s help demo)"},
    {"abc trainspeed a.cfg -x", "darknet: error: abc trainspeed: unknown option '-x'"},
    {"-x", "darknet: error: unknown option '-x' (see %s -h)"},
    {"abc bench -rounds", "darknet: error: abc bench: option '-rounds' needs a value N"},
    {"abc trainspeed a.cfg -iters", "darknet: error: abc trainspeed: option '-iters' needs a value N"},
    {"classifier valid a b c -limit", "darknet: error: classifier valid: option '-limit' needs a value N"},
    {"data fashion-mnist -out", "darknet: error: data fashion-mnist: option '-out' needs a value DIR"},
    {"abc info -threads", "darknet: error: abc info: option '-threads' needs a value N"},
    {"abc bench -rounds abc", "darknet: error: abc bench: -rounds: 'abc' is not a number from 1 to 1000"},
    {"abc bench -rounds 0", "darknet: error: abc bench: -rounds: '0' is not a number from 1 to 1000"},
    {"classifier valid a b c -limit 0", "darknet: error: classifier valid: -limit: '0' is not a number"},
    {"classifier predict a b -t x", "darknet: error: classifier predict: -t: 'x' is not a number"},
    {"data fashion-mnist -limit ten", "darknet: error: data fashion-mnist: -limit: 'ten' is not a number"},
    {"-threads 0 abc info", "darknet: error: -threads: '0' is not a number from 1 to 1024"},
    {"abc info -threads x", "darknet: error: abc info: -threads: 'x' is not a number from 1 to 1024"},
    {"nosuch", "darknet: error: unknown command 'nosuch' (see %s -h)"},
    {"classifier", "darknet: error: classifier: missing subcommand; usage: %s classifier train|valid|predict"},
    {"classifier tain", "darknet: error: classifier: unknown subcommand 'tain'"},
    {"abc check", "darknet: error: abc check: missing arguments; usage: %s abc check <cfg> [weights]"},
    {"classifier train a b c d", "darknet: error: classifier train: unexpected argument 'd'"},
    {"help nosuch", "darknet: error: help: unknown command 'nosuch'"},
    {"abc bench -gemm -layers", "darknet: error: abc bench: -gemm, -layers, -scaling and -bf16 each run one part"},
    {"abc bench -bf16 -scaling", "darknet: error: abc bench: -gemm, -layers, -scaling and -bf16 each run one part"},
    {"abc bench -kernel nosuch", "darknet: error: abc bench: -kernel 'nosuch': no such binary GEMM kernel"},
};

#define N_BAD_LINES (int)(sizeof bad_lines / sizeof bad_lines[0])

START_TEST(bad_arguments_are_one_error_line)
{
    char *lines[N_BAD_LINES];
    abc_run_result r[N_BAD_LINES];
    for (int i = 0; i < N_BAD_LINES; ++i) lines[i] = darknet_line(bad_lines[i].args, 0);
    run_all(lines, N_BAD_LINES, r);
    for (int i = 0; i < N_BAD_LINES; ++i) {
        char want[512];
        snprintf(want, sizeof want, bad_lines[i].expect, abc_test_darknet_path());
        ck_assert_msg(r[i].status == 1 && r[i].signal == 0, "'%s': status %d signal %d:\n%s", bad_lines[i].args,
                      r[i].status, r[i].signal, r[i].out);
        ck_assert_msg(abc_test_count_lines(r[i].out) == 1 && !strncmp(r[i].out, "darknet: error: ", 16),
                      "'%s' should print exactly one error line:\n%s", bad_lines[i].args, r[i].out);
        ck_assert_msg(strstr(r[i].out, want), "'%s': expected '%s' in:\n%s", bad_lines[i].args, want, r[i].out);
    }
    free_all(lines, r, N_BAD_LINES);
}
END_TEST

START_TEST(odd_arguments_never_crash)
{
    static const char *const odd[] = {
        "''", "-", "-- -h", "classifier train ''", "classifier train -- -clear", "abc check -- -h",
        "help classifier ''", "abc bench -rounds 99999999999999999999", "-threads -threads",
        "abc info -threads 1 -threads 2 -json -json", "abc check $(printf 'x%.0s' $(seq 1 5000))", "abc help nosuch",
    };
    enum { N = sizeof odd / sizeof odd[0] };
    char *lines[N];
    abc_run_result r[N];
    for (int i = 0; i < N; ++i) lines[i] = darknet_line(odd[i], 0);
    run_all(lines, N, r);
    for (int i = 0; i < N; ++i) {
        ck_assert_msg(r[i].signal == 0 && (r[i].status == 0 || r[i].status == 1), "'%s': status %d signal %d:\n%.2000s",
                      odd[i], r[i].status, r[i].signal, r[i].out);
        int errs = 0;
        for (const char *p = r[i].out; (p = strstr(p, "darknet: error:")); ++p) ++errs;
        ck_assert_msg(errs == (r[i].status == 1), "'%s': %d error lines, status %d:\n%s", odd[i], errs, r[i].status,
                      r[i].out);
    }
    free_all(lines, r, N);
}
END_TEST

START_TEST(threads_is_global_anywhere)
{
    const char *forms[] = {"-threads 1 abc info", "abc -threads 1 info", "abc info -threads 1", "abc info -json -threads 1"};
    for (int i = 0; i < 4; ++i) {
        abc_run_result r = abc_test_run_darknet(forms[i]);
        ck_assert_msg(r.status == 0, "%s:\n%s", forms[i], r.out);
        ck_assert_msg(strstr(r.out, "threads used: 1 ") || strstr(r.out, "\"threads\":1"), "%s:\n%s", forms[i], r.out);
        abc_run_free(&r);
    }
    /* abc bench: the binary kernels on 1 thread unless -threads N says otherwise */
    abc_run_result r = abc_test_run_darknet("abc bench -quick -gemm -kernel ref");
    ck_assert_msg(r.status == 0 && strstr(r.out, ", 1 thread for the binary kernels"), "%s", r.out);
    abc_run_free(&r);
    r = abc_test_run_darknet("abc bench -quick -gemm -kernel ref -threads 2");
    ck_assert_msg(r.status == 0 && strstr(r.out, ", 2 threads for the binary kernels"), "%s", r.out);
    abc_run_free(&r);
}
END_TEST

/* ---- abc info ---- */

START_TEST(info_lists_families_and_switches)
{
    abc_run_result r = run_stdout("abc info");
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_int_ge(abc_test_count_lines(r.out), 20);
    const char *keys[] = {"CPU: ", "features the kernels use: ", "cores online: ", "threads used: ",
                          "float GEMM of the fast layers: ", "OpenBLAS core: ", "compiler: ", "libdarknet: /",
                          "bf16 training convolutions: oneDNN 2."};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) ck_assert_msg(strstr(r.out, keys[i]), "no '%s' in:\n%s", keys[i], r.out);
    for (abc_kernel_family *const *f = abc_kernel_families(); *f; ++f) {
        char line[160];
        snprintf(line, sizeof line, "  %s (%s): ", (*f)->what, abc_mode_about((*f)->mode)->env);
        ck_assert_msg(strstr(r.out, line), "no family line '%s' in:\n%s", line, r.out);
        /* its kernels, each usable or not */
        for (int k = 0; k < (*f)->n; ++k)
            ck_assert_msg(strstr(r.out, abc_kernel_at(*f, k)->name), "kernel %s missing", abc_kernel_at(*f, k)->name);
    }
    for (int k = 0; k < ABC_MODE_COUNT; ++k) {
        const abc_mode_info *m = abc_mode_about((abc_mode_key)k);
        char line[160];
        snprintf(line, sizeof line, "  %-14s (default)", m->env);
        ck_assert_msg(strstr(r.out, line), "no switch line '%s' in:\n%s", line, r.out);
        ck_assert_msg(strstr(r.out, m->what), "switch %s: no description", m->env);
        if (m->values) {
            snprintf(line, sizeof line, "choices: %s", m->values);
            ck_assert_msg(strstr(r.out, line), "switch %s: no '%s'", m->env, line);
        }
    }
    abc_run_free(&r);
    /* a switch that is set shows its value */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "( ABC_INFERENCE=sim ABC_THREADS=1 %s abc info 2>/dev/null )", abc_test_darknet_path());
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0 && strstr(r.out, "  ABC_INFERENCE  sim ") && strstr(r.out, "  ABC_THREADS    1 ") &&
                  strstr(r.out, "threads used: 1 "), "%s", r.out);
    abc_run_free(&r);
}
END_TEST

START_TEST(json_checker_self_test)
{
    ck_assert(abc_test_json_valid("[]") && abc_test_json_valid(" {\"a\": [1, -2.5e3, \"x\\\"y\", true, null]}\n"));
    ck_assert(abc_test_json_valid("{\"a\":[1,\"x\\\"y\",null,{}],\"b\":{\"c\":-2.5e3}}"));
    ck_assert(!abc_test_json_valid("[1,]") && !abc_test_json_valid("{\"a\" 1}") && !abc_test_json_valid("[01]"));
    ck_assert(!abc_test_json_valid("[nan]") && !abc_test_json_valid("[1] x") && !abc_test_json_valid("[\"a]"));
    ck_assert(!abc_test_json_valid("") && !abc_test_json_valid("{\"a\":[1,}"));
}
END_TEST

START_TEST(info_json_is_one_object)
{
    abc_run_result r = run_stdout("abc info -json");
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *s = abc_test_json_ws(r.out);
    ck_assert_msg(*s == '{', "not an object:\n%s", r.out);
    const char *end = abc_test_json_value(s, 0);
    ck_assert_msg(end != NULL, "not valid JSON:\n%s", r.out);
    ck_assert_msg(*abc_test_json_ws(end) == 0, "more than one value:\n%s", r.out);
    ck_assert_int_eq(abc_test_count_lines(r.out), 1);
    const char *keys[] = {"\"cpu\":{\"model\":", "\"features\":[", "\"missing\":[", "\"cores_online\":",
                          "\"threads\":", "\"kernels\":{", "\"float_gemm\":\"", "\"openblas_core\":\"",
                          "\"switches\":{", "\"compiler\":\"", "\"libdarknet\":\"/",
                          "\"onednn\":\"oneDNN 2."};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i) ck_assert_msg(strstr(r.out, keys[i]), "no %s in:\n%s", keys[i], r.out);
    for (abc_kernel_family *const *f = abc_kernel_families(); *f; ++f) {
        char key[200];
        snprintf(key, sizeof key, "\"%s\":{\"switch\":\"%s\",\"chosen\":\"", (*f)->what, abc_mode_about((*f)->mode)->env);
        ck_assert_msg(strstr(r.out, key), "no %s in:\n%s", key, r.out);
    }
    for (int k = 0; k < ABC_MODE_COUNT; ++k) {
        char key[200];
        snprintf(key, sizeof key, "\"%s\":{\"value\":null,\"choices\":\"", abc_mode_about((abc_mode_key)k)->env);
        ck_assert_msg(strstr(r.out, key), "no %s in:\n%s", key, r.out);
    }
    abc_run_free(&r);

    /* set switches show their values; a bad kernel name is reported, not fatal */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "( ABC_FLOAT=stock ABC_BGEMM=nosuch %s abc info -json 2>/dev/null )", abc_test_darknet_path());
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    end = abc_test_json_value(abc_test_json_ws(r.out), 0);
    ck_assert_msg(end && !*abc_test_json_ws(end), "not one JSON value:\n%s", r.out);
    ck_assert_msg(strstr(r.out, "\"ABC_FLOAT\":{\"value\":\"stock\""), "%s", r.out);
    ck_assert_msg(strstr(r.out, "\"switch\":\"ABC_BGEMM\",\"chosen\":null,\"error\":\"ABC_BGEMM='nosuch'"), "%s", r.out);
    abc_run_free(&r);
}
END_TEST

static Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("usage");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, command_tables_are_well_formed);
    tcase_add_test(tc, top_level_usage_lists_every_command);
    tcase_add_test(tc, every_command_has_help);
    tcase_add_test(tc, help_lists_the_expected_options);
    tcase_add_test(tc, bad_arguments_are_one_error_line);
    tcase_add_test(tc, odd_arguments_never_crash);
    tcase_add_test(tc, threads_is_global_anywhere);
    suite_add_tcase(s, tc);
    TCase *info = tcase_create("info");
    tcase_set_timeout(info, 60);
    tcase_add_test(info, info_lists_families_and_switches);
    tcase_add_test(info, info_json_is_one_object);
    tcase_add_test(info, json_checker_self_test);
    suite_add_tcase(s, info);
    return s;
}
ABC_TEST_SUITE(suite_cli)
