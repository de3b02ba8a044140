// Built by tests/api/check_header.sh with
//   c++ -std=c++17 -Wall -Wextra -Werror -pedantic
// against include/ckeras.h: the header is valid, warning-free C++ (no
// compound literals, no C-only conversions), option structs are filled the
// C++17 way (value-initialised, then assigned), the axes come from
// ck_axes_one / ck_axes_pair, and a `ck_tensor *in[]` passes as it is.
// Exits 0 when every check holds.
#include <ckeras.h>

#include <cstdio>
#include <cstring>

namespace {

int failures = 0;

void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "api_check.cpp: %s (%s)\n", what, ck_last_error());
        failures++;
    }
}

bool config_has(const ck_layer *l, const char *needle)
{
    char *text = nullptr;
    if (ck_layer_get_config(l, &text) != CK_OK) return false;
    bool found = std::strstr(text, needle) != nullptr;
    ck_free(text);
    return found;
}

} // namespace

int main()
{
    ck_dense_opts dopts{};
    dopts.units = 4;
    dopts.no_bias = true;
    dopts.frozen = true;
    ck_layer *d = nullptr;
    check(ck_dense(&d, &dopts) == CK_OK, "ck_dense");
    if (d) {
        check(!ck_layer_trainable(d), "frozen");
        check(config_has(d, "\"use_bias\": false"), "use_bias false in the config");
        check(config_has(d, "\"trainable\": false"), "trainable false in the config");
    }

    ck_batch_normalization_opts bopts{};
    bopts.epsilon = ck_double(0);
    bopts.no_center = true;
    ck_layer *bn = nullptr;
    check(ck_batch_normalization(&bn, &bopts) == CK_OK, "bn");
    if (bn) {
        check(config_has(bn, "\"epsilon\": 0.0"), "epsilon 0 in the config");
        check(config_has(bn, "\"center\": false"), "center false in the config");
    }

    ck_concatenate_opts copts{};
    copts.axis = ck_int(0);
    ck_layer *cat = nullptr;
    check(ck_concatenate(&cat, &copts) == CK_OK, "concatenate");
    if (cat) check(config_has(cat, "\"axis\": 0"), "axis 0 in the config");

    ck_dot_opts dot_opts{};
    dot_opts.axes = ck_axes_pair(1, 1);
    ck_layer *dot = nullptr;
    check(ck_dot(&dot, &dot_opts) == CK_OK, "dot");

    float xv[3] = {1, 2, 3}, yv[3] = {4, 5, 6};
    int64_t shape[2] = {1, 3};
    ck_tensor *x = nullptr, *y = nullptr, *r = nullptr, *bd = nullptr;
    check(ck_tensor_wrap(&x, CK_FLOAT32, 2, shape, xv) == CK_OK, "wrap x");
    check(ck_tensor_wrap(&y, CK_FLOAT32, 2, shape, yv) == CK_OK, "wrap y");
    ck_tensor *in[] = {x, y};
    if (dot) check(ck_layer_call(dot, 2, in, &r) == CK_OK, "layer call");
    check(r && ck_tensor_get(r, 0) == 32, "called 32");
    check(ck_batch_dot(x, y, ck_axes_one(1), &bd) == CK_OK, "batch_dot");
    check(bd && ck_tensor_get(bd, 0) == 32, "batch_dot 32");

    ck_tensor_free(bd);
    ck_tensor_free(r);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_layer_free(dot);
    ck_layer_free(cat);
    ck_layer_free(bn);
    ck_layer_free(d);
    if (failures == 0) std::printf("api_check.cpp: all checks passed\n");
    return failures ? 1 : 0;
}
