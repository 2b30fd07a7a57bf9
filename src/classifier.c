/* ./darknet classifier train|valid|predict [data] <cfg> [weights] [image] [-clear] */
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"
#include "classifier_common.h"
#include "classifier_train.h"
#include "commands.h"

static int has_flag(int argc, char **argv, const char *flag)
{
    for (int i = 3; i < argc; ++i)
        if (!strcmp(argv[i], flag)) return 1;
    return 0;
}

static void only_flags(int argc, char **argv, const char *const *ok)
{
    for (int i = 3; i < argc; ++i) {
        if (argv[i][0] != '-' || !argv[i][1]) continue;
        int known = 0;
        for (const char *const *f = ok; *f && !known; ++f) known = !strcmp(*f, argv[i]);
        if (!known) abc_die("classifier %s: unknown option '%s'", argv[2], argv[i]);
    }
}

int abc_classifier_main(int argc, char **argv)
{
    if (argc < 3) abc_die("usage: %s classifier train|valid|predict [data] <cfg> [weights] [image]", argv[0]);
    const char *sub = argv[2];
    static const char *const train_flags[] = {"-clear", NULL}, *const no_flags[] = {NULL};
    if (!strcmp(sub, "train")) {
        only_flags(argc, argv, train_flags);
        abc_cls_args a = abc_cls_args_parse(argc, argv, 3, 0, 0, "classifier train [data] <cfg> [weights] [-clear]");
        int rc = abc_classifier_train(a.data, a.cfg, a.weights, has_flag(argc, argv, "-clear"), NULL);
        free(a.data);
        return rc;
    }
    if (!strcmp(sub, "valid")) {
        only_flags(argc, argv, no_flags);
        abc_cls_args a = abc_cls_args_parse(argc, argv, 3, 1, 0, "classifier valid [data] <cfg> <weights>");
        abc_classifier_valid(a.data, a.cfg, a.weights, NULL);
        free(a.data);
        return 0;
    }
    if (!strcmp(sub, "predict")) {
        only_flags(argc, argv, no_flags);
        abc_cls_args a = abc_cls_args_parse(argc, argv, 3, 1, 1, "classifier predict [data] <cfg> <weights> [image]");
        abc_classifier_predict(a.data, a.cfg, a.weights, a.extra);
        free(a.data);
        return 0;
    }
    abc_die("unknown classifier subcommand '%s' (train, valid, predict)", sub);
}
