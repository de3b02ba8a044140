/* `ckeras fit --history H.csv` writes the CSV through the durable-save
 * helper (io/atomic_file.h): a temporary file of the helper's pattern that
 * is renamed over H.csv only after the model was saved.  A leftover of a
 * killed run (a temporary file whose process is gone) is removed by the
 * next fit; a failed fit leaves no file at all, dot-files included. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckeras.h"
#include "io/atomic_file.h"
#include "support/cli_run.h"
#include "support/support.h"

/* Every entry but . and .. (temporary files start with a dot). */
static int all_entries(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n < max) snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void empty_dir(const char *dir)
{
    mkdir(dir, 0777);
    char names[64][256];
    int n = all_entries(dir, names, 64);
    for (int i = 0; i < n && i < 64; i++) {
        char p[4096 + 300];
        snprintf(p, sizeof p, "%.4095s/%.255s", dir, names[i]);
        unlink(p);
    }
}

/* The pid of a process that has exited. */
static long dead_pid(void)
{
    pid_t p = fork();
    cr_assert(p >= 0);
    if (p == 0) _exit(0);
    int status;
    waitpid(p, &status, 0);
    return (long)p;
}

static const char *fit_file(const char *file)
{
    static char buf[4][4096];
    static int slot;
    char rel[512];
    snprintf(rel, sizeof rel, "train/fit/mlp_adam/%s", file);
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof buf[0], "%s", ck_test_data(rel));
    return b;
}

Test(cli_fit_history, durable_and_cleans_a_killed_runs_leftover)
{
    char dir[4096], out[8192], csv[8192], stale[8192];
    snprintf(dir, sizeof dir, "%s", ck_test_tmp("fit_history_atomic"));
    empty_dir(dir);
    snprintf(out, sizeof out, "%s/m.h5", dir);
    snprintf(csv, sizeof csv, "%s/h.csv", dir);
    /* what a fit killed while training left behind */
    snprintf(stale, sizeof stale, "%s/.h.csv" CK_ATOMIC_TMP_MARK "%ld-1", dir, dead_pid());
    FILE *fp = fopen(stale, "w");
    cr_assert(fp);
    fputs("epoch,loss\n0,1.0\n", fp);
    fclose(fp);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"fit", fit_file("init.h5"), fit_file("x0.npy"), "--y", fit_file("y0.npy"),
                                         "--no-shuffle", "--epochs", "2", "--history", csv, "-o", out, NULL});
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    char names[16][256];
    int n = all_entries(dir, names, 16);
    cr_expect_eq(n, 2, "expected m.h5 and h.csv only, found %d entries (first: %s)", n, names[0]);
    char text[4096];
    cr_assert(ck_test_slurp(csv, text, sizeof text) > 0);
    cr_expect(strncmp(text, "epoch,", 6) == 0, "%s", text);
    int lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    cr_expect_eq(lines, 3, "a header and two epochs: %s", text);
}

/* A fit that fails after training (the model cannot be saved there)
 * leaves neither the CSV nor its temporary file. */
Test(cli_fit_history, nothing_left_when_the_save_fails)
{
    char dir[4096], out[8192], csv[8192];
    snprintf(dir, sizeof dir, "%s", ck_test_tmp("fit_history_fail"));
    empty_dir(dir);
    snprintf(out, sizeof out, "%s/no_such_dir/m.h5", dir);
    snprintf(csv, sizeof csv, "%s/h.csv", dir);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"fit", fit_file("init.h5"), fit_file("x0.npy"), "--y", fit_file("y0.npy"),
                                         "--epochs", "1", "--history", csv, "-o", out, NULL});
    cr_expect_eq(r.status, 1, "stderr: %s", r.err);
    char names[16][256];
    int n = all_entries(dir, names, 16);
    cr_expect_eq(n, 0, "%d entries left (first: %s)", n, names[0]);
}
