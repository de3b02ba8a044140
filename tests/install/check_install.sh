#!/bin/sh
# make test-install: installs ckeras into a scratch prefix and builds a tiny
# program against the installed copy twice: with pkg-config and with CMake's
# find_package(ckeras).  Fails if either build or run fails.
set -e
BUILD=${1:-build}
PREFIX=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$PREFIX" "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
cat > "$WORK/hello.c" <<'C'
#include <ckeras.h>
#include <stdio.h>
int main(void)
{
    float x[4] = {1, 2, 3, 4}, y[4] = {5, 6, 7, 8};
    ck_tensor *a = NULL, *b = NULL, *r = NULL;
    int64_t shape[2] = {2, 2};
    if (ck_tensor_wrap(&a, CK_FLOAT32, 2, shape, x) || ck_tensor_wrap(&b, CK_FLOAT32, 2, shape, y) ||
        ck_batch_dot(a, b, ck_axes_one(1), &r))
        return 1;
    printf("%g %g\n", ck_tensor_get(r, 0), ck_tensor_get(r, 1));
    int ok = ck_tensor_get(r, 0) == 17 && ck_tensor_get(r, 1) == 53;
    ck_tensor_free(a); ck_tensor_free(b); ck_tensor_free(r);
    return ok ? 0 : 1;
}
C
LIBDIR=$(ls -d "$PREFIX"/lib* | head -n 1)
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -o "$WORK/hello_pc" "$WORK/hello.c" $(pkg-config --cflags --libs ckeras)
LD_LIBRARY_PATH="$LIBDIR" "$WORK/hello_pc" | grep -q "17 53"
echo "install: pkg-config build runs"
mkdir -p "$WORK/cm"
cat > "$WORK/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(hello C)
find_package(ckeras REQUIRED)
add_executable(hello ../hello.c)
target_link_libraries(hello PRIVATE ckeras::ckeras)
CM
cmake -S "$WORK/cm" -B "$WORK/cm/build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/cm/build" >/dev/null
LD_LIBRARY_PATH="$LIBDIR" "$WORK/cm/build/hello" | grep -q "17 53"
echo "install: find_package(ckeras) build runs"
echo "install checks: 2 passed, 0 failed"
