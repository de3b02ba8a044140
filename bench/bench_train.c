/* bench_train: training throughput (examples per second, one step at a time
 * on one random batch) of ckeras beside PyTorch and tf.keras doing the same
 * on one thread, measured in the same run.  Not a test: it prints figures.
 *
 * Models: (a) MLP 784-512-512-10 (relu; sparse categorical cross-entropy
 * from logits), batch 128; (b) CNN Conv2D 32 3x3 relu -> MaxPool 2 ->
 * Conv2D 64 3x3 relu -> MaxPool 2 -> Flatten -> Dense 10, input 28x28x1,
 * batch 64.  Adam (Keras' defaults) for both.
 *
 * Every measurement runs in a process of its own, so that each peak RSS
 * (the high-water mark from getrusage) is that model's alone: without
 * arguments this program re-runs itself with `--one mlp|cnn` for ckeras and
 * tools/bench_train_peers.py under each peer's Python, and reads one
 * "RESULT <examples/s> <peak KiB>" line from each.  A peer whose Python (or
 * framework) is missing is skipped with a note; $CK_BENCH_PYTHON_TORCH and
 * $CK_BENCH_PYTHON_KERAS point at other Pythons.
 *
 * Timing, the same in every process: warm-up steps, then REPEATS windows of
 * at least WINDOW seconds, and the median window's examples per second (the
 * machine is shared, so a median is steadier than a best or a mean).  The
 * processes run in rounds, every framework once per round, and the table
 * shows the median over rounds (CK_BENCH_ROUNDS, default 3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ckeras.h"
#include "train/trainer.h"

void openblas_set_num_threads(int);

#define REPEATS 5
#define WINDOW 0.5
#define WARMUP_STEPS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int check(ck_status st, const char *what)
{
    if (st != CK_OK) fprintf(stderr, "bench_train: %s: %s\n", what, ck_last_error());
    return st != CK_OK;
}

/* ---- ckeras, in the child process ---------------------------------------- */

static ck_status build_mlp(ck_model **m)
{
    ck_layer *l[3] = {NULL, NULL, NULL};
    ck_status st = ck_dense(&l[0], &(ck_dense_opts){.units = 512, .activation = "relu"});
    if (st == CK_OK) st = ck_dense(&l[1], &(ck_dense_opts){.units = 512, .activation = "relu"});
    if (st == CK_OK) st = ck_dense(&l[2], &(ck_dense_opts){.units = 10});
    if (st == CK_OK) st = ck_sequential(m, 3, l, &(ck_shape){1, {784}}, "mlp");
    for (int i = 0; i < 3; i++) ck_layer_free(l[i]);
    return st;
}

static ck_status build_cnn(ck_model **m)
{
    ck_layer *l[6] = {NULL};
    ck_status st = ck_conv2d(&l[0], &(ck_conv2d_opts){.filters = 32, .kernel_size = {3, 3}, .activation = "relu"});
    if (st == CK_OK) st = ck_max_pooling2d(&l[1], &(ck_max_pooling2d_opts){.pool_size = {2, 2}});
    if (st == CK_OK)
        st = ck_conv2d(&l[2], &(ck_conv2d_opts){.filters = 64, .kernel_size = {3, 3}, .activation = "relu"});
    if (st == CK_OK) st = ck_max_pooling2d(&l[3], &(ck_max_pooling2d_opts){.pool_size = {2, 2}});
    if (st == CK_OK) st = ck_flatten(&l[4], &(ck_flatten_opts){0});
    if (st == CK_OK) st = ck_dense(&l[5], &(ck_dense_opts){.units = 10});
    if (st == CK_OK) st = ck_sequential(m, 6, l, &(ck_shape){3, {28, 28, 1}}, "cnn");
    for (int i = 0; i < 6; i++) ck_layer_free(l[i]);
    return st;
}

/* Runs one model's benchmark and prints its RESULT line. */
static int run_one(const char *which)
{
    openblas_set_num_threads(1);
    ck_set_num_threads(1); /* the peers run on one thread too */
    int cnn = strcmp(which, "cnn") == 0;
    if (!cnn && strcmp(which, "mlp") != 0) {
        fprintf(stderr, "bench_train: unknown model \"%s\"\n", which);
        return 2;
    }
    int64_t batch = cnn ? 64 : 128;
    ck_model *m = NULL;
    ck_tensor *x = NULL, *y = NULL;
    ck_trainer *t = NULL;
    if (check(cnn ? build_cnn(&m) : build_mlp(&m), "model") ||
        check(ck_model_compile(m, &(ck_compile_opts){
                  .optimizer = "adam",
                  .loss = "{\"class_name\": \"SparseCategoricalCrossentropy\", \"config\": {\"from_logits\": true}}"}),
              "compile") ||
        check(cnn ? ck_tensor_new(&x, CK_FLOAT32, 4, (int64_t[]){batch, 28, 28, 1})
                  : ck_tensor_new(&x, CK_FLOAT32, 2, (int64_t[]){batch, 784}),
              "x") ||
        check(ck_tensor_new(&y, CK_INT64, 1, (int64_t[]){batch}), "y") || check(ck_trainer_of(m, &t), "trainer"))
        return 1;
    /* Inputs in [0, 1) as pixels are, labels 0..9 (a fixed LCG: the data
     * only has to be the same from run to run). */
    uint64_t s = 12345;
    for (int64_t i = 0; i < x->size; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ((float *)x->data)[i] = (float)(s >> 40) / 16777216.0f;
    }
    for (int64_t i = 0; i < batch; i++) ((int64_t *)y->data)[i] = (i * 7) % 10;
    const ck_tensor *xs[1] = {x}, *ys[1] = {y};
    for (int i = 0; i < WARMUP_STEPS; i++)
        if (check(ck_trainer_step(m, t, 1, xs, ys, NULL), "step")) return 1;
    double eps[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        int n = 0;
        double t0 = now(), dt;
        do {
            if (check(ck_trainer_step(m, t, 1, xs, ys, NULL), "step")) return 1;
            n++;
        } while ((dt = now() - t0) < WINDOW);
        eps[r] = (double)n * (double)batch / dt;
    }
    qsort(eps, REPEATS, sizeof eps[0], cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("RESULT %.1f %ld\n", eps[REPEATS / 2], ru.ru_maxrss);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
    return 0;
}

/* ---- the parent: runs every measurement and prints the table ------------- */

typedef struct result {
    int ok;
    double eps;
    long rss_kib;
} result;

/* Runs `cmd` and parses its RESULT line; other output goes to stderr. */
static result run_cmd(const char *cmd)
{
    result r = {0, 0, 0};
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) return r;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "RESULT %lf %ld", &r.eps, &r.rss_kib) == 2) r.ok = 1;
        else if (strncmp(line, "SKIP", 4) == 0) fprintf(stderr, "  %s", line);
    }
    if (pclose(p) != 0) r.ok = 0;
    return r;
}

/* The peer script: $CK_BENCH_PEERS, tools/ under the working directory, or
 * tools/ two levels above this program (build/bench/bench_train). */
static int find_script(const char *argv0, char *out, size_t cap)
{
    const char *env = getenv("CK_BENCH_PEERS");
    if (env && access(env, R_OK) == 0) return snprintf(out, cap, "%s", env), 1;
    if (access("tools/bench_train_peers.py", R_OK) == 0) return snprintf(out, cap, "tools/bench_train_peers.py"), 1;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", argv0);
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash) return 0;
        *slash = '\0';
    }
    snprintf(out, cap, "%s/tools/bench_train_peers.py", dir[0] ? dir : ".");
    return access(out, R_OK) == 0;
}

typedef struct peer {
    const char *name, *python, *framework;
} peer;

/* The median of the successful results (ok 0 when none succeeded); the
 * peak RSS is the largest seen. */
static result median_of(const result *r, int n)
{
    double v[16];
    int k = 0;
    result out = {0, 0, 0};
    for (int i = 0; i < n; i++)
        if (r[i].ok) {
            v[k++] = r[i].eps;
            if (r[i].rss_kib > out.rss_kib) out.rss_kib = r[i].rss_kib;
        }
    if (k == 0) return out;
    qsort(v, (size_t)k, sizeof v[0], cmp_double);
    out.ok = 1;
    out.eps = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
    return out;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--one") == 0) return run_one(argv[2]);
    static const peer peers[] = {{"PyTorch", "/usr/bin/python3", "torch"},
                                 {"tf.keras", "/opt/kref/bin/python", "keras"}};
    enum { N_PEERS = sizeof peers / sizeof peers[0], MAX_ROUNDS = 16 };
    static const struct {
        const char *key, *label;
    } models[] = {{"mlp", "MLP 784-512-512-10, batch 128"},
                  {"cnn", "CNN 28x28x1 conv32-pool-conv64-pool-dense10, batch 64"}};
    /* Rounds that run every framework once each, in turn, so that a change
     * of load on a shared machine hits all of them alike. */
    const char *env = getenv("CK_BENCH_ROUNDS");
    int rounds = env ? atoi(env) : 3;
    if (rounds < 1) rounds = 1;
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    char script[1200];
    int have_script = find_script(argv[0], script, sizeof script);
    if (!have_script) fprintf(stderr, "bench_train: tools/bench_train_peers.py not found: peers skipped\n");
    /* Each peer's Python: $CK_BENCH_PYTHON_TORCH / $CK_BENCH_PYTHON_KERAS, or
     * where this project's machines have it. */
    int have_peer[N_PEERS];
    const char *python[N_PEERS];
    for (int p = 0; p < N_PEERS; p++) {
        char var[64];
        snprintf(var, sizeof var, "CK_BENCH_PYTHON_%s", p == 0 ? "TORCH" : "KERAS");
        python[p] = getenv(var) ? getenv(var) : peers[p].python;
        have_peer[p] = have_script && access(python[p], X_OK) == 0;
    }
    printf("Training throughput, one thread, Adam: per process the median of %d windows of %.1f s, then the\n"
           "median over %d rounds (examples/s; peak RSS MiB, each model in its own process)\n",
           REPEATS, WINDOW, rounds);
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        char cmd[2600];
        result ck[MAX_ROUNDS], pr[N_PEERS][MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            snprintf(cmd, sizeof cmd, "'%s' --one %s", argv[0], models[mi].key);
            ck[r] = run_cmd(cmd);
            for (int p = 0; p < N_PEERS; p++) {
                pr[p][r] = (result){0, 0, 0};
                if (!have_peer[p]) continue;
                snprintf(cmd, sizeof cmd,
                         "'%s' '%s' --framework %s --model %s --repeats %d --window %g --warmup %d",
                         python[p], script, peers[p].framework, models[mi].key, REPEATS, WINDOW,
                         WARMUP_STEPS);
                pr[p][r] = run_cmd(cmd);
            }
        }
        result c = median_of(ck, rounds);
        printf("\n%s\n", models[mi].label);
        printf("  %-10s %12s %10s %10s\n", "", "examples/s", "ckeras/x", "peak MiB");
        if (!c.ok) {
            printf("  %-10s failed\n", "ckeras");
            continue;
        }
        printf("  %-10s %12.0f %10s %10.1f\n", "ckeras", c.eps, "", c.rss_kib / 1024.0);
        for (int p = 0; p < N_PEERS; p++) {
            result r = median_of(pr[p], rounds);
            if (!have_peer[p])
                printf("  %-10s skipped: %s not found\n", peers[p].name, have_script ? python[p] : "the peer script");
            else if (!r.ok)
                printf("  %-10s skipped (see the message above)\n", peers[p].name);
            else
                printf("  %-10s %12.0f %9.2fx %10.1f\n", peers[p].name, r.eps, c.eps / r.eps, r.rss_kib / 1024.0);
        }
    }
    return 0;
}
