/* ckeras fit: model.fit on .npy files, then the trained model saved.
 *
 * Nothing is left behind on error: the model is saved only after training
 * succeeded (ck_model_save writes a temporary file and renames it), and the
 * --history CSV goes through the library's durable-save helper
 * (io/atomic_file.h): the CSVLogger fills a temporary file of the helper's
 * own pattern next to the target, which is fsynced and renamed over the
 * target last, after the model was saved, or removed on failure; a killed
 * run's leftover is recognised and removed by the next save. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/train_args.h"
#include "io/atomic_file.h"

/* The epoch where the loss became NaN or infinite, or -1.  TerminateOnNaN
 * stops fit quietly (as in Keras); the CLI treats that as a failure. */
static int nan_epoch(const ck_history *h)
{
    int e = ck_history_epochs(h) - 1;
    if (e < 0) return -1;
    double loss = ck_history_get(h, "loss", e);
    return isfinite(loss) ? -1 : e;
}

static ck_status train(ck_model *m, const ck_cli_train_args *a, ck_tensor **x, ck_tensor **y, const char *csv_tmp)
{
    ck_callback *cbs[2] = {NULL, NULL};
    int n_cb = 0;
    ck_history *h = NULL;
    ck_status st = ck_terminate_on_nan(&cbs[n_cb]);
    if (st == CK_OK) n_cb++;
    if (st == CK_OK && csv_tmp) {
        st = ck_csv_logger(&cbs[n_cb], csv_tmp, NULL, false);
        if (st == CK_OK) n_cb++;
    }
    ck_fit_opts o = {
        .batch_size = a->batch_size,
        .epochs = a->epochs,
        /* The bar redraws itself on a terminal; a log file gets one line
         * per epoch instead. */
        .verbose = ck_int(isatty(2) ? 1 : 2),
        .no_shuffle = a->no_shuffle,
        .seed = a->seed,
        .validation_split = a->validation_split,
        .callbacks = cbs,
        .n_callbacks = n_cb,
        .progress = stderr,
    };
    if (st == CK_OK)
        st = ck_model_fit(m, a->n_x, x, a->n_y, y, &o, &h);
    int bad = st == CK_OK ? nan_epoch(h) : -1;
    if (bad >= 0)
        st = ck_error(CK_VALUE_ERROR, "the loss became %s in epoch %d: training stopped, nothing saved (try a smaller "
                      "learning rate, or check the data for NaN)", isnan(ck_history_get(h, "loss", bad)) ? "NaN" : "infinite",
                      bad + 1);
    ck_history_free(h);
    for (int i = 0; i < n_cb; i++) ck_callback_free(cbs[i]);
    return st;
}

static int run_fit(int argc, char **argv)
{
    ck_cli_train_args a;
    if (ck_cli_train_parse(argc, argv, 1, &a)) return 1;
    /* The history's temporary file, made first: a directory where it
     * cannot be written fails before any training. */
    ck_atomic_file csv = {0};
    if (a.history && ck_atomic_open(&csv, a.history) != CK_OK) {
        const char *why = strrchr(ck_last_error(), ':');
        return ck_cli_fail("cannot write --history %s%s", a.history, why ? why : "");
    }
    ck_model *m = NULL;
    ck_tensor *x[CK_CLI_MAX_IO] = {NULL}, *y[CK_CLI_MAX_IO] = {NULL};
    ck_status st = ck_cli_train_model(&a, &m);
    if (st == CK_OK) st = ck_cli_train_data(&a, m, x, y);
    /* the CSVLogger replaces the temporary file (durably) at the end of fit */
    if (st == CK_OK) st = train(m, &a, x, y, a.history ? csv.tmp : NULL);
    if (st == CK_OK) st = ck_model_save(m, a.out);
    if (st == CK_OK && a.history) {
        st = ck_atomic_commit(&csv, 0);
        if (st != CK_OK) unlink(a.out);
    }
    if (st != CK_OK) ck_atomic_abort(&csv);
    for (int i = 0; i < CK_CLI_MAX_IO; i++) {
        ck_tensor_free(x[i]);
        ck_tensor_free(y[i]);
    }
    ck_model_free(m);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

const ck_cli_command ck_cmd_fit = {
    "fit",
    "train a model on .npy data (model.fit) and save it",
    "usage: ckeras fit MODEL [--weights W.h5] X.npy [X2.npy ...] --y Y.npy [--y Y2.npy ...]\n"
    "                  [--loss L] [--optimizer O] [--metrics M[,M...]] [--epochs N]\n"
    "                  [--batch-size N] [--no-shuffle] [--seed N] [--validation-split F]\n"
    "                  [--history H.csv] -o OUT.h5|OUT.keras|OUT.json\n\n"
    "Trains MODEL (a .h5, .keras or architecture .json; --weights loads a weights\n"
    "file first) as tf.keras' model.fit does and saves the trained model to OUT in\n"
    "the format of its extension.\n\n"
    "  X.npy ...          the inputs, in the order of the model's inputs\n"
    "  --y Y.npy          the targets, once per output, in the order of the outputs\n"
    "                     (class ids for the sparse losses)\n"
    "  --loss L           a Keras loss name (mse, binary_crossentropy,\n"
    "                     sparse_categorical_crossentropy, ...) or a loss config as JSON,\n"
    "                     e.g. '{\"class_name\": \"SparseCategoricalCrossentropy\",\n"
    "                     \"config\": {\"from_logits\": true}}'; several outputs: one for all,\n"
    "                     or one per output separated by commas (mse,binary_crossentropy)\n"
    "  --optimizer O      a Keras optimizer name (adam, sgd, rmsprop, ...) or config JSON,\n"
    "                     e.g. '{\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.01}}'\n"
    "  --metrics M,...    Keras metric names or config JSON, comma-separated (accuracy,mae)\n"
    "  --epochs N         number of epochs (default 1)\n"
    "  --batch-size N     samples per step (default 32)\n"
    "  --no-shuffle       keep the samples in file order (Keras' shuffle=False)\n"
    "  --seed N           seed of the shuffling and of Dropout (default: random)\n"
    "  --validation-split F  hold out the last fraction F of the samples (0 <= F < 1)\n"
    "                     and report val_loss and val_ metrics each epoch\n"
    "  --history H.csv    write Keras' CSVLogger file: 'epoch' then the logs in sorted\n"
    "                     order, one row per epoch\n"
    "  -o OUT             the trained model: .h5 (tf.keras 2.x HDF5), .keras, or .json\n"
    "                     (architecture only)\n\n"
    "Compile settings: without --loss/--optimizer/--metrics the model file's training\n"
    "config is used (what model.save kept from model.compile).  Pieces that are given\n"
    "override the file's and the rest is kept; a file without a usable training\n"
    "config needs --loss (the optimizer then defaults to rmsprop, as in Keras).\n"
    "Commas inside JSON do not split the lists.\n\n"
    "Progress goes to stderr: Keras' progress bar on a terminal, else one line per\n"
    "epoch (verbose=2).  A NaN or infinite loss stops training (TerminateOnNaN) and\n"
    "is an error.  On any error the tool prints one 'ckeras: error:' line, exits 1 and\n"
    "writes neither OUT nor H.csv.\n",
    run_fit,
};
