/* Runs the built tool for the CLI tests (see cli_run.h). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/cli_run.h"
#include "support/support.h"

extern char **environ;

size_t ck_test_slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f) fclose(f);
    return len;
}

void ck_test_run_cli(run_result *r, const char *const *args)
{
    const char *cli = getenv("CK_CLI");
    cr_assert_not_null(cli, "CK_CLI is not set");
    char name[64], out_path[4096], err_path[4096];
    snprintf(name, sizeof name, "cli-%ld.out", (long)getpid());
    snprintf(out_path, sizeof out_path, "%s", ck_test_tmp(name));
    snprintf(name, sizeof name, "cli-%ld.err", (long)getpid());
    snprintf(err_path, sizeof err_path, "%s", ck_test_tmp(name));
    const char *argv[64];
    int n = 0;
    argv[n++] = cli;
    for (int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    r->out_len = ck_test_slurp(out_path, r->out, sizeof r->out);
    ck_test_slurp(err_path, r->err, sizeof r->err);
    unlink(out_path);
    unlink(err_path);
}
