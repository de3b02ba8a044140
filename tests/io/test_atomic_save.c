/* Durable saves (io/atomic_file.h): every writer goes through a temporary
 * file ".<name>.ckeras-tmp-<pid>-<n>" that is fsynced and renamed; a save
 * killed mid-write leaves the old target intact and a stale temporary file
 * that the next save removes; a failed write removes its temporary file. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckeras.h"
#include "io/atomic_file.h"
#include "support/support.h"

/* A fresh directory for one test (removed first if a previous run left it). */
static const char *fresh_dir(const char *name)
{
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", ck_test_tmp(name));
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(mkdir(dir, 0777), 0, "%s", strerror(errno));
    return dir;
}

/* Number of temporary files of ours in `dir` (any target). */
static int count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] == '.' && strstr(e->d_name, CK_ATOMIC_TMP_MARK)) n++;
    closedir(d);
    return n;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

/* A pid that certainly belongs to no process: a reaped child's. */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    cr_assert(p >= 0);
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

typedef enum { SAVE_NPY, SAVE_H5, SAVE_KERAS, SAVE_JSON, SAVE_WEIGHTS_H5 } save_kind;
static const char *const kind_file[] = {"t.npy", "m.h5", "m.keras", "m.json", "m.weights.h5"};

static ck_model *g_model;
static ck_tensor *g_tensor;

static void load_fixtures(void)
{
    cr_assert_eq(ck_model_load(ck_test_data("keras/dl4j-dense-activations-io/ELU_0_model.h5"), &g_model), CK_OK, "%s", ck_last_error());
    /* big enough for several write() calls */
    cr_assert_eq(ck_tensor_new(&g_tensor, CK_FLOAT32, 1, (int64_t[]){1 << 18}), CK_OK);
}

static ck_status do_save(save_kind k, const char *path)
{
    switch (k) {
    case SAVE_NPY: return ck_npy_save(path, g_tensor);
    case SAVE_WEIGHTS_H5: return ck_model_save_weights(g_model, path);
    default: return ck_model_save(g_model, path);
    }
}

static void die_by_sigkill(int sig)
{
    (void)sig;
    raise(SIGKILL);
}

static void run_kill_mid_write(save_kind k)
{
    load_fixtures();
    const char *dir = fresh_dir(kind_file[k]);
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, kind_file[k]);
    write_all(path, "the old content");
    fflush(NULL);
    pid_t child = fork();
    cr_assert(child >= 0);
    if (child == 0) {
        /* the file size limit stops the save after 600 bytes of the
         * temporary file, and SIGXFSZ is turned into a SIGKILL: the process
         * dies mid-write without any chance to clean up */
        struct rlimit rl = {600, 600};
        setrlimit(RLIMIT_FSIZE, &rl);
        signal(SIGXFSZ, die_by_sigkill);
        do_save(k, path);
        _exit(3); /* not reached: the save must have been killed */
    }
    int status = 0;
    cr_assert_eq(waitpid(child, &status, 0), child);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "%s: child status %d", kind_file[k],
              status);
    size_t len;
    char *text = read_all(path, &len);
    cr_assert(len == strlen("the old content") && memcmp(text, "the old content", len) == 0,
              "%s: the old file was touched", kind_file[k]);
    free(text);
    cr_assert_eq(count_temps(dir), 1, "%s: the killed save left no temporary file?", kind_file[k]);
    cr_assert_eq(do_save(k, path), CK_OK, "%s", ck_last_error());
    cr_assert_eq(count_temps(dir), 0, "%s: the stale temporary file was not removed", kind_file[k]);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_gt(sb.st_size, (off_t)strlen("the old content"));
    ck_model_free(g_model);
    ck_tensor_free(g_tensor);
}

Test(atomic_save, killed_npy) { run_kill_mid_write(SAVE_NPY); }
Test(atomic_save, killed_h5) { run_kill_mid_write(SAVE_H5); }
Test(atomic_save, killed_keras) { run_kill_mid_write(SAVE_KERAS); }
Test(atomic_save, killed_weights_h5) { run_kill_mid_write(SAVE_WEIGHTS_H5); }

static void run_write_failure(save_kind k)
{
    load_fixtures();
    const char *dir = fresh_dir(kind_file[k]);
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, kind_file[k]);
    write_all(path, "the old content");
    /* write() fails with EFBIG past 600 bytes once SIGXFSZ is ignored */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit rl = {600, old.rlim_max};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    ck_status st = do_save(k, path);
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert_eq(st, CK_IO_ERROR, "%s: status %d", kind_file[k], (int)st);
    cr_assert_eq(count_temps(dir), 0, "%s: a failed save left its temporary file", kind_file[k]);
    size_t len;
    char *text = read_all(path, &len);
    cr_assert(len == strlen("the old content") && memcmp(text, "the old content", len) == 0);
    free(text);
    ck_model_free(g_model);
    ck_tensor_free(g_tensor);
}

Test(atomic_save, write_failure_npy) { run_write_failure(SAVE_NPY); }
Test(atomic_save, write_failure_h5) { run_write_failure(SAVE_H5); }
Test(atomic_save, write_failure_keras) { run_write_failure(SAVE_KERAS); }
Test(atomic_save, write_failure_weights_h5) { run_write_failure(SAVE_WEIGHTS_H5); }

Test(atomic_save, json_and_stale_pattern)
{
    load_fixtures();
    const char *dir = fresh_dir("json");
    char path[1200], stale[1400], mine[1400], other[1400];
    snprintf(path, sizeof path, "%s/m.json", dir);
    /* a dead writer's leftover goes; our own pid's (another thread may be
     * writing it) and another target's stay */
    snprintf(stale, sizeof stale, "%s/.m.json%s%ld-7", dir, CK_ATOMIC_TMP_MARK, (long)dead_pid());
    snprintf(mine, sizeof mine, "%s/.m.json%s%ld-99999", dir, CK_ATOMIC_TMP_MARK, (long)getpid());
    snprintf(other, sizeof other, "%s/.x.json%s%ld-1", dir, CK_ATOMIC_TMP_MARK, (long)dead_pid());
    write_all(stale, "x");
    write_all(mine, "x");
    write_all(other, "x");
    cr_assert_eq(ck_model_save(g_model, path), CK_OK, "%s", ck_last_error());
    cr_assert_eq(access(stale, F_OK), -1);
    cr_assert_eq(access(mine, F_OK), 0);
    cr_assert_eq(access(other, F_OK), 0);
    cr_assert_eq(count_temps(dir), 2);
    ck_model *back = NULL;
    cr_assert_eq(ck_model_load(path, &back), CK_OK, "%s", ck_last_error());
    ck_model_free(back);
    /* a save into a missing directory fails cleanly */
    char bad[1400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.json", dir);
    cr_assert_eq(ck_model_save(g_model, bad), CK_IO_ERROR);
    ck_model_free(g_model);
    ck_tensor_free(g_tensor);
}

Test(atomic_save, helper_in_current_directory)
{
    const char *dir = fresh_dir("cwd");
    char old[1024];
    cr_assert(getcwd(old, sizeof old));
    cr_assert_eq(chdir(dir), 0);
    cr_assert_eq(ck_atomic_write("plain.txt", "abc", 3), CK_OK, "%s", ck_last_error());
    ck_atomic_file af;
    cr_assert_eq(ck_atomic_open(&af, "gone.txt"), CK_OK);
    cr_assert_eq(count_temps("."), 1);
    ck_atomic_abort(&af);
    cr_assert_eq(count_temps("."), 0);
    cr_assert_eq(access("gone.txt", F_OK), -1);
    cr_assert_eq(chdir(old), 0);
}

/* CSVLogger writes its rows to a temporary file that replaces the log at
 * the end of training; append mode starts from a copy of the old log. */
Test(atomic_save, csv_logger_replaces_at_close)
{
    const char *dir = fresh_dir("csv");
    char path[1200];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    write_all(path, "old,row\n");
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("keras/dl4j-dense-activations-io/ELU_0_model.h5"), &m), CK_OK);
    ck_compile_opts co = {.optimizer = "sgd", .loss = "mse"};
    cr_assert_eq(ck_model_compile(m, &co), CK_OK, "%s", ck_last_error());
    ck_tensor *in = ck_model_input(m, 0), *out = ck_model_output(m, 0);
    int64_t xs[CK_MAX_RANK], ys[CK_MAX_RANK];
    for (int i = 0; i < in->rank; i++) xs[i] = in->shape[i] <= 0 ? 4 : in->shape[i];
    for (int i = 0; i < out->rank; i++) ys[i] = out->shape[i] <= 0 ? 4 : out->shape[i];
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, in->rank, xs), CK_OK);
    cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, out->rank, ys), CK_OK);
    for (int append = 0; append < 2; append++) {
        ck_callback *cb = NULL;
        cr_assert_eq(ck_csv_logger(&cb, path, NULL, append), CK_OK);
        ck_fit_opts fo = {.epochs = 2, .verbose = ck_int(0), .callbacks = &cb, .n_callbacks = 1};
        cr_assert_eq(ck_model_fit(m, 1, &x, 1, &y, &fo, NULL), CK_OK, "%s", ck_last_error());
        ck_callback_free(cb);
        cr_assert_eq(count_temps(dir), 0);
        size_t len;
        char *text = read_all(path, &len);
        int lines = 0;
        for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
        /* fresh: header + 2 rows; appended: those 3 + 2 more rows */
        cr_assert_eq(lines, append ? 5 : 3, "%.*s", (int)len, text);
        cr_assert(strncmp(text, "epoch", 5) == 0, "%.*s", (int)len, text);
        free(text);
    }
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
}
