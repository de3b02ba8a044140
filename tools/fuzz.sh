#!/bin/sh
# Builds the libFuzzer harnesses of tests/fuzz/ with clang (ASan + UBSan) and
# runs each for FUZZ_SECONDS, seeded from the test data.  Usage:
#   sh tools/fuzz.sh [BUILD_DIR]        (make fuzz FUZZ_SECONDS=600)
#   FUZZ_TARGETS="fuzz_npy fuzz_h5_model" sh tools/fuzz.sh   (a subset)
#   FUZZ_JOBS=4: libFuzzer workers per target (default 1)
#   FUZZ_TIMEOUT=1: seconds after which one input counts as a hang (raise it
#   only on a machine so loaded that wall time says little)
# `make test` replays the same seeds without libFuzzer (tests/fuzz/replay_main.c).
# Needs Debian's clang and libclang-rt-14-dev (apt-get install clang libclang-rt-14-dev).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/build-fuzz"}
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-}
jobs=${FUZZ_JOBS:-1}
timeout=${FUZZ_TIMEOUT:-1}
cc=${FUZZ_CC:-clang}
mkdir -p "$out"
common="-g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fno-sanitize-recover=all"
flags="$common -fsanitize=fuzzer,address,undefined"
libflags="$common -fsanitize=fuzzer-no-link,address,undefined"
# The AVX2/AVX-512 batch_dot kernels (intrinsics only, no parsing) take clang
# half an hour under ASan at -O1; they are built uninstrumented.
plainflags="$common -fsanitize=fuzzer-no-link"
deps="$(pkg-config --cflags --libs zlib jansson libzip openblas) -lm -lpthread"

# The whole library (but the command-line tool) instrumented once, as
# objects, for the harnesses that load and run models.
build_library() {
    objdir="$out/obj"
    mkdir -p "$objdir"
    # Rebuilt when the source or any header of the tree is newer.
    newest_h=$(find "$root/src" "$root/include" -name '*.h' -newer "$objdir/.stamp" 2>/dev/null | head -n 1)
    [ -f "$objdir/.stamp" ] || newest_h=all
    # (no_files.c stands in for the file functions in the minimal build only)
    find "$root/src" -name '*.c' ! -path '*/src/cli/*' ! -name no_files.c | while read -r s; do
        rel=${s#"$root/src/"}
        o="$objdir/$(echo "$rel" | tr '/' '_' | sed 's/\.c$/.o/')"
        if [ -n "$newest_h" ] || [ ! -f "$o" ] || [ "$s" -nt "$o" ]; then echo "$s $o"; fi
    done | xargs -r -P "$(nproc)" -n 2 sh -c \
        "case \"\$0\" in */src/ops/batch_dot_avx*) f='$plainflags' ;; *) f='$libflags' ;; esac
         $cc \$f -I'$root/include' -I'$root/src' $(pkg-config --cflags jansson libzip) -c \"\$0\" -o \"\$1\""
    touch "$objdir/.stamp"
    library_built=1
}
library_built=0

# harness -> what it links: a few sources (so that the fuzzer sees only the
# parser under test) or the whole library ("lib").
sources_for() {
    case "$1" in
    fuzz_h5_reader) echo "$root/src/io/h5/*.c $root/src/core/*.c" ;;
    fuzz_npy) echo "$root/src/io/npy.c $root/src/io/npy_header.c $root/src/io/atomic_file.c $root/src/core/*.c" ;;
    fuzz_json_config|fuzz_h5_model|fuzz_h5_weights|fuzz_keras_archive|fuzz_tfjs) echo lib ;;
    *) echo "" ;;
    esac
}

# seed DIR FIND-ARGS...: copies matching test files up to 256 KB.
seed() {
    dir=$1
    shift
    find "$root/tests/data" "$@" -size -256k -exec cp {} "$dir" \; 2>/dev/null || true
}

seed_hostile() {   # seed_hostile DIR SUBDIR
    if [ -d "$root/../shared/testdata/hostile/$2" ]; then
        cp "$root/../shared/testdata/hostile/$2/"* "$1" 2>/dev/null || true
    fi
}

for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    if [ -n "$targets" ]; then
        case " $targets " in *" $name "*) ;; *) continue ;; esac
    fi
    srcs=$(sources_for "$name")
    [ -n "$srcs" ] || { echo "fuzz: no source list for $name; skipped"; continue; }
    if [ "$srcs" = lib ]; then
        [ "$library_built" = 1 ] || build_library
        srcs="$out/obj/*.o"
    fi
    # shellcheck disable=SC2086
    $cc $flags -I"$root/include" -I"$root/src" "$src" $srcs -o "$out/$name" $deps
    corpus="$out/corpus/$name"
    mkdir -p "$corpus" "$out/artifacts/$name"
    max_len=262144
    # Inputs kept in the repository: seeds that need a generator
    # (tools/gen_fuzz_seeds.py) and past crashes, replayed by `make test`.
    if [ -d "$root/tests/fuzz/corpus/$name" ]; then cp "$root/tests/fuzz/corpus/$name/"* "$corpus" 2>/dev/null || true; fi
    case "$name" in
    fuzz_h5_reader|fuzz_h5_model|fuzz_h5_weights)
        seed "$corpus" \( -name '*.h5' -o -name '*.hdf5' \)
        seed_hostile "$corpus" h5 ;;
    fuzz_keras_archive)
        seed "$corpus" -name '*.keras'
        seed_hostile "$corpus" keras ;;
    fuzz_npy)
        seed "$corpus" -name '*.npy'
        max_len=65536 ;;
    fuzz_json_config)
        seed "$corpus" -name '*.json' -size -64k
        max_len=65536 ;;
    esac
    echo "fuzz: running $name for $seconds s"
    parallel=""
    [ "$jobs" -gt 1 ] && parallel="-jobs=$jobs -workers=$jobs"
    # shellcheck disable=SC2086
    "$out/$name" "$corpus" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2560 \
        -malloc_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 $parallel \
        -artifact_prefix="$out/artifacts/$name/" 2>&1 | tail -n 25
done
