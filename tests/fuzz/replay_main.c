/* A plain `main` for the libFuzzer harnesses of tests/fuzz/: runs the
 * harness once on each file given (directories are walked), without
 * libFuzzer, so that `make test` replays the seed corpora, the inputs kept
 * in tests/fuzz/corpus/ and ../shared/testdata/hostile/ through the
 * release and sanitizer builds.  Each file must finish within --limit
 * seconds: a hang names the file and exits 2; a crash or a sanitizer
 * report ends the process as it would under libFuzzer.
 *
 *   replay_fuzz_X [--limit S] [--max-bytes N] [--ext .a,.b | --any] PATH...
 *
 * --ext filters the files of the directories that follow it, --any lifts
 * the filter; files over --max-bytes are skipped (as fuzz.sh seeds);
 * absent paths are skipped (../shared may not exist), but at least one
 * file must have been run. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *volatile current_file;
static volatile unsigned limit_seconds = 2;

static void on_alarm(int sig)
{
    (void)sig;
    static const char head[] = "replay: hang: still running after the time limit on ";
    ssize_t r = write(2, head, sizeof head - 1);
    const char *f = current_file;
    if (f) r = write(2, f, strlen(f));
    r = write(2, "\n", 1);
    (void)r;
    _exit(2);
}

typedef struct replay {
    const char *ext;      /* comma-separated suffixes, "" = any */
    long max_bytes;
    int files, skipped;
} replay;

static int has_suffix(const char *name, const char *exts)
{
    if (!exts[0]) return 1;
    size_t n = strlen(name);
    const char *e = exts;
    while (*e) {
        size_t len = strcspn(e, ",");
        if (len && n >= len && strncmp(name + n - len, e, len) == 0) return 1;
        e += len;
        if (*e == ',') e++;
    }
    return 0;
}

static int run_file(replay *r, const char *path, long size)
{
    if (size > r->max_bytes) {
        r->skipped++;
        return 0;
    }
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
    size_t got = buf ? fread(buf, 1, (size_t)size, fp) : 0;
    fclose(fp);
    if (!buf || got != (size_t)size) {
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    current_file = path;
    alarm(limit_seconds);
    LLVMFuzzerTestOneInput(buf, got);
    alarm(0);
    current_file = NULL;
    free(buf);
    r->files++;
    return 0;
}

static int walk(replay *r, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0; /* absent: skipped */
    if (S_ISREG(st.st_mode)) return run_file(r, path, (long)st.st_size);
    if (!S_ISDIR(st.st_mode) || depth > 16) return 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    int bad = 0;
    struct dirent *e;
    while (!bad && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat cs;
        if (stat(child, &cs) != 0) continue;
        if (S_ISDIR(cs.st_mode)) bad = walk(r, child, depth + 1);
        else if (S_ISREG(cs.st_mode) && has_suffix(e->d_name, r->ext)) bad = run_file(r, child, (long)cs.st_size);
    }
    closedir(d);
    return bad;
}

int main(int argc, char **argv)
{
    replay r = {"", 1L << 20, 0, 0};
    signal(SIGALRM, on_alarm);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit_seconds = (unsigned)atoi(argv[++i]);
            if (limit_seconds == 0) limit_seconds = 1;
        } else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc) {
            r.max_bytes = atol(argv[++i]);
        } else if (strcmp(argv[i], "--any") == 0) {
            r.ext = "";
        } else if (strcmp(argv[i], "--ext") == 0 && i + 1 < argc) {
            r.ext = argv[++i];
        } else if (walk(&r, argv[i], 0) != 0) {
            return 1;
        }
    }
    printf("replay: %d files run, %d too large skipped\n", r.files, r.skipped);
    if (r.files == 0) {
        fprintf(stderr, "replay: no input file found\n");
        return 1;
    }
    return 0;
}
