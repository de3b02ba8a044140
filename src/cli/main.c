/* ckeras: the command-line tool.  A table of subcommands, one file each. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const ck_cli_command *const commands[] = {
    &ck_cmd_batch_dot,
    &ck_cmd_apply,
    &ck_cmd_config,
    &ck_cmd_summary,
    &ck_cmd_predict,
    &ck_cmd_convert,
    &ck_cmd_fit,
    &ck_cmd_evaluate,
    &ck_cmd_show,
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void print_help(FILE *f)
{
    fprintf(f, "usage: ckeras [--help] [--version] COMMAND [ARGS...]\n\n"
               "Keras layers in C: the same numbers as tf.keras, without Python.\n\n"
               "commands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-11s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nRun 'ckeras COMMAND --help' for the options of one command.\n"
               "Data goes to stdout or the -o file, diagnostics to stderr; the exit status is\n"
               "0 on success and 1 on any error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("ckeras %s\n", ck_version());
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name) != 0) continue;
        if (ck_cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i]->usage, stdout);
            return 0;
        }
        return commands[i]->run(argc - 1, argv + 1);
    }
    return ck_cli_fail("unknown command '%s' (run 'ckeras --help' for the list)", argv[1]);
}
