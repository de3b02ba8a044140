/* What `ckeras fit` and `ckeras evaluate` share: their arguments, loading
 * the model with its compile settings, and loading the .npy data. */
#ifndef CK_CLI_TRAIN_ARGS_H
#define CK_CLI_TRAIN_ARGS_H

#include "cli/cli.h"

enum { CK_CLI_MAX_IO = 64 };

typedef struct ck_cli_train_args {
    const char *cmd;                  /* "fit" or "evaluate", for messages */
    const char *model, *weights;
    const char *x[CK_CLI_MAX_IO];
    int n_x;
    const char *y[CK_CLI_MAX_IO];
    int n_y;
    const char *loss, *optimizer, *metrics;  /* as given, NULL if not */
    int epochs;                       /* 0: not given */
    int64_t batch_size;               /* 0: not given */
    bool no_shuffle;
    ck_opt_int seed;
    double validation_split;
    const char *history, *out;
} ck_cli_train_args;

/* Parses argv (argv[0] is the command name).  fit takes every option,
 * evaluate only those that make sense for it.  Returns 0, or 1 after
 * printing the error. */
int ck_cli_train_parse(int argc, char **argv, int is_fit, ck_cli_train_args *a);

/* Splits `text` at the commas that are outside braces, brackets and JSON
 * strings ("mse,{\"class_name\": ..., \"config\": {...}}" is two pieces),
 * trimming spaces.  *parts is a ck_malloc'ed array of ck_malloc'ed
 * strings; free with ck_cli_free_parts.  An empty piece or unbalanced
 * brackets give CK_VALUE_ERROR naming `what`. */
ck_status ck_cli_split_top(const char *text, const char *what, char ***parts, int *n);
void ck_cli_free_parts(char **parts, int n);

/* Loads MODEL (and --weights), then settles its compilation: the file's
 * training config, the given --loss / --optimizer / --metrics, or both
 * combined (the given pieces win).  *out is untouched on error. */
ck_status ck_cli_train_model(const ck_cli_train_args *a, ck_model **out);

/* Loads the X and --y files after checking their counts against the
 * model's inputs and outputs.  x[] and y[] receive new tensors (all NULL
 * on error). */
ck_status ck_cli_train_data(const ck_cli_train_args *a, ck_model *m, ck_tensor **x, ck_tensor **y);

#endif
