/* Keras' progress bar (tf.keras 2.x Progbar), character for character:
 *   verbose 1:  " 32/469 [==>...........................] - ETA: 3s - loss: 0.5210"
 *               redrawn in place on a terminal, then at the end
 *               "469/469 [==============================] - 3s 6ms/step - loss: ..."
 *   verbose 2:  "469/469 - 3s - loss: ... - 3s/epoch - 6ms/step" once per epoch.
 * Values are shown as they are (Keras' stateful metrics): %.4f, or %.4e
 * when |v| <= 1e-3. */
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "train/trainer.h"

#define BAR_WIDTH 30
#define INTERVAL 0.05

double ck_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ck_progbar_start(ck_progbar *p, FILE *out, int verbose, int64_t target)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->verbose = verbose;
    p->target = target;
    p->dynamic = isatty(fileno(out));
    p->start = ck_now();
    p->after_first = -1;
}

/* Appends printf output to buf at *len (bounded). */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

static void put_time(char *buf, size_t cap, size_t *len, double per_unit, const char *unit)
{
    if (per_unit >= 1 || per_unit == 0) put(buf, cap, len, " %.0fs/%s", per_unit, unit);
    else if (per_unit >= 1e-3) put(buf, cap, len, " %.0fms/%s", per_unit * 1e3, unit);
    else put(buf, cap, len, " %.0fus/%s", per_unit * 1e6, unit);
}

static void put_logs(char *buf, size_t cap, size_t *len, const ck_logs *logs, int abs_test)
{
    for (int i = 0; logs && i < logs->n; i++) {
        double v = logs->values[i];
        int wide = abs_test ? fabs(v) > 1e-3 : v > 1e-3;
        /* Python prints nan / inf / -inf where C may print -nan. */
        if (isnan(v)) put(buf, cap, len, " - %s: nan", logs->names[i]);
        else if (isinf(v)) put(buf, cap, len, " - %s: %s", logs->names[i], v > 0 ? "inf" : "-inf");
        else put(buf, cap, len, wide ? " - %s: %.4f" : " - %s: %.4e", logs->names[i], v);
    }
}

static int digits(int64_t v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

void ck_progbar_update(ck_progbar *p, int64_t current, const ck_logs *logs, int finalize)
{
    char line[4096];
    size_t len = 0, cap = sizeof line;
    double now = ck_now();
    /* Step time ignores the first step (it carries the planning). */
    double per_unit = 0;
    if (current > 0) {
        per_unit = p->after_first >= 0 && current > 1 ? (now - p->after_first) / (double)(current - 1)
                                                       : (now - p->start) / (double)current;
        if (current == 1) p->after_first = now;
    }
    if (p->verbose == 1) {
        if (now - p->last_update < INTERVAL && !finalize) return;
        p->last_update = now;
        size_t prev = p->total_width;
        if (p->dynamic) {
            for (size_t i = 0; i < prev && len < cap - 2; i++) line[len++] = '\b';
            line[len++] = '\r';
        } else {
            line[len++] = '\n';
        }
        size_t bar_start = len;
        put(line, cap, &len, "%*lld/%lld [", digits(p->target), (long long)current, (long long)p->target);
        int width = (int)((double)BAR_WIDTH * (double)current / (double)(p->target ? p->target : 1));
        for (int i = 0; i < width - 1; i++) put(line, cap, &len, "=");
        if (width > 0) put(line, cap, &len, current < p->target ? ">" : "=");
        for (int i = width; i < BAR_WIDTH; i++) put(line, cap, &len, ".");
        put(line, cap, &len, "]");
        p->total_width = len - bar_start;
        size_t info_start = len;
        if (finalize) {
            put(line, cap, &len, " - %.0fs", now - p->start);
            put_time(line, cap, &len, per_unit, "step");
        } else {
            double eta = per_unit * (double)(p->target - current);
            if (eta > 3600)
                put(line, cap, &len, " - ETA: %d:%02d:%02d", (int)(eta / 3600), (int)fmod(eta, 3600) / 60,
                    (int)fmod(eta, 60));
            else if (eta > 60) put(line, cap, &len, " - ETA: %d:%02d", (int)(eta / 60), (int)fmod(eta, 60));
            else put(line, cap, &len, " - ETA: %ds", (int)eta);
        }
        put_logs(line, cap, &len, logs, 1);
        p->total_width += len - info_start;
        for (size_t i = p->total_width; i < prev; i++) put(line, cap, &len, " ");
        if (finalize) put(line, cap, &len, "\n");
        fwrite(line, 1, len, p->out);
        fflush(p->out);
    } else if (p->verbose == 2 && finalize) {
        double epoch_time = now - p->start;
        put(line, cap, &len, "%*lld/%lld - %.0fs", digits(p->target), (long long)current, (long long)p->target,
            epoch_time);
        put_logs(line, cap, &len, logs, 0);
        put(line, cap, &len, " -");
        put_time(line, cap, &len, epoch_time, "epoch");
        put(line, cap, &len, " -");
        put_time(line, cap, &len, p->target ? epoch_time / (double)p->target : 0, "step");
        put(line, cap, &len, "\n");
        fwrite(line, 1, len, p->out);
        fflush(p->out);
    }
}
