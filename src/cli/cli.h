/* Shared pieces of the ckeras command: one file per subcommand, each
 * exporting a ck_cli_command that main.c dispatches to. */
#ifndef CK_CLI_H
#define CK_CLI_H

#include "ckeras.h"

typedef struct ck_cli_command {
    const char *name;
    const char *summary;   /* one line for `ckeras --help` */
    const char *usage;     /* full text for `ckeras NAME --help` */
    int (*run)(int argc, char **argv);  /* argv[0] is the command name */
} ck_cli_command;

/* Prints "ckeras: error: <message>" (one line) to stderr; returns 1. */
int ck_cli_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints ck_last_error() as a CLI error; returns 1. */
int ck_cli_fail_status(ck_status st);

/* If argv[i] is "--NAME=VALUE" returns VALUE; if it is "--NAME" and a next
 * argument exists, consumes it (advancing *i) and returns it; else NULL. */
const char *ck_cli_option(int argc, char **argv, int *i, const char *name);

/* 1 if any argument is -h or --help. */
int ck_cli_wants_help(int argc, char **argv);

/* Parses "A" or "A,B" into axes; 0 on success, -1 on a bad value. */
int ck_cli_parse_axes(const char *text, ck_axes *axes);

/* Loads a .npy input and casts it to `dtype` (0: keeps it), as Keras casts
 * what a model is fed to its Input's dtype: a float32 model takes int64 or
 * bool arrays, an int32 Embedding input takes floats (truncated, like
 * tf.cast; a float no integer can hold is a CK_VALUE_ERROR). */
ck_status ck_cli_load_input(const char *path, ck_dtype dtype, ck_tensor **out);

/* ck_npy_save, or for the path "-" the same bytes on stdout. */
ck_status ck_cli_save_npy(const char *path, const ck_tensor *t);

extern const ck_cli_command ck_cmd_batch_dot;
extern const ck_cli_command ck_cmd_show;
extern const ck_cli_command ck_cmd_apply;
extern const ck_cli_command ck_cmd_config;
extern const ck_cli_command ck_cmd_summary;
extern const ck_cli_command ck_cmd_predict;
extern const ck_cli_command ck_cmd_convert;
extern const ck_cli_command ck_cmd_fit;
extern const ck_cli_command ck_cmd_evaluate;

#endif
