/* The fused float32 LSTM step (src/ops/lstm_cell.c) against the same step
 * in double with libm's exp and tanh: gates, carry and state within 1e-6
 * relative (the float polynomials are a few ulp; each stage checked on
 * the kernel's own float inputs to it), over a wide range of
 * pre-activations, on a row width that leaves tails for every vector width,
 * with hard_sigmoid, and NaN kept. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"

#define B 3
#define U 37 /* 2 * 16 + 5: tails for vectors of 16, 8 and 4 */
#define G (4 * U)
#define LDX (G + 3)

static float z[B * G], z0[B * G], xp[B * LDX], gates[B * G], c[B * U], actc[B * U], h[B * U], cp[B * U];

static double sig(double x, int hard)
{
    if (hard) return fmin(1.0, fmax(0.0, 0.2 * x + 0.5));
    return 1.0 / (1.0 + exp(-x));
}

/* Pre-activations spread over about [-span, span], some exactly 0. */
static void fill(float span)
{
    unsigned s = 12345;
    for (int i = 0; i < B * G; i++) {
        s = s * 1103515245u + 12345u;
        z0[i] = (i % 29 == 0) ? 0.0f : span * ((float)(s >> 8) / 8388608.0f - 1.0f);
    }
    for (int i = 0; i < B * LDX; i++) xp[i] = (float)((i * 7) % 13) / 26.0f - 0.25f;
    for (int i = 0; i < B * U; i++) cp[i] = (float)((i * 5) % 11) / 2.0f - 2.5f;
    memcpy(z, z0, sizeof z);
}

static void run(int hard)
{
    ck_lstm_cell_f32(&(ck_lstm_cell_args){.batch = B, .units = U, .ldx = LDX, .hard_sigmoid = hard, .z = z,
                                          .gates = gates, .c = c, .actc = actc, .h = h, .xp = xp, .c_prev = cp});
}

static void expect_rel(double got, double want, double scale, const char *what, int i)
{
    cr_expect(fabs(got - want) <= 1e-6 * scale + 1e-37, "%s[%d]: got %.9g, want %.9g", what, i, got, want);
}

static void check(int hard)
{
    for (int b = 0; b < B; b++)
        for (int u = 0; u < U; u++) {
            double zz[4], g[4];
            for (int k = 0; k < 4; k++) {
                int j = b * G + k * U + u;
                zz[k] = (double)(float)(z0[j] + xp[b * LDX + k * U + u]);
                cr_expect_eq(z[j], (float)zz[k], "z[%d]", j);
                double want = k == 2 ? tanh(zz[k]) : sig(zz[k], hard);
                /* hard_sigmoid is 0.2 x + 0.5 in float32, as TensorFlow
                 * computes it: an ulp of 0.5 at most */
                expect_rel(gates[j], want, hard && k != 2 ? 1.0 : fabs(want), "gate", j);
                g[k] = gates[j];
            }
            int i = b * U + u;
            double cc = g[1] * cp[i] + g[0] * g[2];
            expect_rel(c[i], cc, fabs(g[1] * cp[i]) + fabs(g[0] * g[2]), "c", i);
            expect_rel(actc[i], tanh((double)c[i]), fabs(tanh((double)c[i])), "tanh(c)", i);
            expect_rel(h[i], gates[b * G + 3 * U + u] * (double)actc[i], fabs(h[i]), "h", i);
        }
}

Test(lstm_cell, sigmoid_tanh_small_range)
{
    fill(3.0f);
    run(0);
    check(0);
}

Test(lstm_cell, sigmoid_tanh_wide_range)
{
    fill(120.0f);
    run(0);
    check(0);
}

Test(lstm_cell, hard_sigmoid)
{
    fill(6.0f);
    run(1);
    check(1);
}

Test(lstm_cell, nan_propagates)
{
    fill(3.0f);
    z0[5] = NAN;            /* unit 5's input gate, row 0 */
    z0[G + 2 * U + 7] = NAN; /* unit 7's candidate, row 1 */
    memcpy(z, z0, sizeof z);
    run(0);
    cr_expect(isnan(gates[5]) && isnan(c[5]) && isnan(h[5]));
    cr_expect(isnan(gates[G + 2 * U + 7]) && isnan(h[U + 7]));
    cr_expect(!isnan(h[6]) && !isnan(h[U + 8]));
}
