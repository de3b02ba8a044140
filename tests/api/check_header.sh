#!/bin/sh
# CTest api_header_c11 / api_header_cxx17: include/ckeras.h as another
# program sees it.  Builds tests/api/api_check.c with
#   cc -std=c11 -Wall -Wextra -Werror -pedantic
# or tests/api/api_check.cpp with
#   g++ -std=c++17 -Wall -Wextra -Werror -pedantic
# against the header alone (no internal include path), links it with the
# static library and runs it.  A warning is a failure.  Without g++ the
# C++ check is skipped (exit 77).
#
# usage: check_header.sh c|c++ SRC_DIR OUT_DIR CC 'LIB;DEP;...;FLAG'
set -e
lang=$1 src=$2 out=$3 cc=$4 link=$5
mkdir -p "$out"
# The link line comes from CMake as one ';'-separated list.
set -f
old_ifs=$IFS
IFS=';'
# shellcheck disable=SC2086
set -- $link
IFS=$old_ifs
set +f
if [ "$lang" = "c++" ]; then
    cxx=$(command -v g++ || true)
    if [ -z "$cxx" ]; then
        echo "api_header_cxx17: g++ not found, skipped"
        exit 77
    fi
    "$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic -I"$src/include" -c "$src/tests/api/api_check.cpp" \
        -o "$out/api_check_cxx.o"
    "$cxx" -o "$out/api_check_cxx" "$out/api_check_cxx.o" "$@"
    "$out/api_check_cxx"
else
    "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -I"$src/include" -c "$src/tests/api/api_check.c" \
        -o "$out/api_check_c.o"
    "$cc" -o "$out/api_check_c" "$out/api_check_c.o" "$@"
    "$out/api_check_c"
fi
