/* ckeras evaluate: model.evaluate on .npy files, the logs on stdout. */
#include <stdio.h>
#include <unistd.h>

#include "cli/train_args.h"
#include "params/params.h"

static int run_evaluate(int argc, char **argv)
{
    ck_cli_train_args a;
    if (ck_cli_train_parse(argc, argv, 0, &a)) return 1;
    ck_model *m = NULL;
    ck_tensor *x[CK_CLI_MAX_IO] = {NULL}, *y[CK_CLI_MAX_IO] = {NULL};
    ck_logs logs;
    ck_status st = ck_cli_train_model(&a, &m);
    if (st == CK_OK) st = ck_cli_train_data(&a, m, x, y);
    if (st == CK_OK) {
        /* A bar on a terminal; nothing when stderr is a log. */
        ck_evaluate_opts o = {.batch_size = a.batch_size, .verbose = ck_int(isatty(2) ? 1 : 0), .progress = stderr};
        st = ck_model_evaluate(m, a.n_x, x, a.n_y, y, &o, &logs);
    }
    if (st == CK_OK) {
        char buf[40];
        for (int i = 0; i < logs.n; i++) printf("%s: %s\n", logs.names[i], ck_float_repr(logs.values[i], buf, sizeof buf));
    }
    for (int i = 0; i < CK_CLI_MAX_IO; i++) {
        ck_tensor_free(x[i]);
        ck_tensor_free(y[i]);
    }
    ck_model_free(m);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

const ck_cli_command ck_cmd_evaluate = {
    "evaluate",
    "compute a model's loss and metrics on .npy data (model.evaluate)",
    "usage: ckeras evaluate MODEL [--weights W.h5] X.npy [X2.npy ...] --y Y.npy [--y Y2.npy ...]\n"
    "                       [--batch-size N] [--loss L] [--metrics M[,M...]]\n\n"
    "Runs tf.keras' model.evaluate: X files in the order of the model's inputs, one\n"
    "--y file per output in the order of its outputs.  The loss and metrics are the\n"
    "model file's training config; --loss and --metrics (as for 'ckeras fit') replace\n"
    "them, and a file without a training config needs --loss.  --batch-size defaults\n"
    "to 32.\n\n"
    "Output (stdout): one line per log, 'name: value', in Keras' order: loss, then\n"
    "each output's loss (several outputs), then the metrics, e.g.\n\n"
    "  loss: 0.3400472104549408\n"
    "  accuracy: 0.8794000148773193\n\n"
    "Names are the keys of Keras' logs (model.evaluate(..., return_dict=True)); values\n"
    "are Python's repr of the float32 results (nan if undefined).  A progress bar goes\n"
    "to stderr when it is a terminal.  On error: one 'ckeras: error:' line, exit 1.\n",
    run_evaluate,
};
