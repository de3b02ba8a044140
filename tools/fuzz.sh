#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz/ with clang (ASan + UBSan) and
# runs each for FUZZ_SECONDS, seeded from the test data.  Usage:
#   sh tools/fuzz.sh [BUILD_DIR]        (make fuzz FUZZ_SECONDS=600)
# Needs Debian's clang and libclang-rt-14-dev (apt-get install clang libclang-rt-14-dev).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build-fuzz"}
seconds=${FUZZ_SECONDS:-60}
cc=${FUZZ_CC:-clang}
mkdir -p "$out"
flags="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

# harness -> the library sources it needs (kept small so that the fuzzer
# sees only the parser under test).
sources_for() {
    case "$1" in
    fuzz_h5_reader) echo "$root/src/io/h5/*.c $root/src/core/*.c" ;;
    *) echo "" ;;
    esac
}

seed_h5() {
    # Real files up to 256 KB, and the hostile ones when ../shared is there.
    find "$root/tests/data" \( -name '*.h5' -o -name '*.hdf5' \) -size -256k -exec cp {} "$1" \;
    if [ -d "$root/../shared/testdata/hostile/h5" ]; then
        cp "$root/../shared/testdata/hostile/h5/"* "$1" 2>/dev/null || true
    fi
}

for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    srcs=$(sources_for "$name")
    [ -n "$srcs" ] || { echo "fuzz: no source list for $name; skipped"; continue; }
    # shellcheck disable=SC2086
    $cc $flags -I"$root/include" -I"$root/src" "$src" $srcs -o "$out/$name" \
        $(pkg-config --cflags --libs zlib jansson) -lm
    corpus="$out/corpus/$name"
    mkdir -p "$corpus" "$out/artifacts/$name"
    case "$name" in
    fuzz_h5_reader) seed_h5 "$corpus" ;;
    esac
    echo "fuzz: running $name for $seconds s"
    "$out/$name" "$corpus" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2560 \
        -malloc_limit_mb=2048 -max_len=262144 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$name/" 2>&1 | tail -n 25
done
