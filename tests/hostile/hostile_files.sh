#!/bin/sh
# Every file of ../shared/testdata/hostile/ through the ckeras tool:
# `ckeras summary FILE` and `ckeras predict FILE in_2x4.npy -o OUT` must each
# end within LIMIT seconds (default 1) with exit status 0, or 1 and a
# one-line error on stderr -- never a signal, a sanitizer report or a hang.
# These files crashed or hung earlier builds through libhdf5 (issue 9).
#
#   sh tests/hostile/hostile_files.sh CKERAS_TOOL HOSTILE_DIR TMPDIR [LIMIT]
#
# Exit 77 (skipped) when HOSTILE_DIR is absent.
CLI=$1
DIR=$2
TMP=${3:-/tmp}
LIMIT=${4:-1}
if [ ! -d "$DIR" ]; then
    echo "hostile files: $DIR is absent, skipping"
    exit 77
fi
# A sanitizer finding must not pass for the tool's own "exit 1".
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:exitcode=87"
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}exitcode=88"
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
IN="$DIR/in_2x4.npy"
ERR="$TMP/hostile_err.$$"
OUT="$TMP/hostile_out.$$.npy"
runs=0 failed=0 loaded=0 refused=0

check() {    # check LABEL FILE COMMAND...
    label=$1
    file=$2
    shift 2
    runs=$((runs + 1))
    # timeout sends KILL: a hang shows as status 137, like any other signal.
    timeout -s KILL "$LIMIT" "$@" >/dev/null 2>"$ERR"
    rc=$?
    lines=$(wc -l <"$ERR")
    if [ "$rc" -eq 0 ]; then
        loaded=$((loaded + 1))
        return
    fi
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ]; then
        refused=$((refused + 1))
        return
    fi
    failed=$((failed + 1))
    why="exit $rc"
    [ "$rc" -eq 137 ] && why="killed after ${LIMIT}s (hang?)"
    [ "$rc" -gt 128 ] && [ "$rc" -ne 137 ] && why="signal $((rc - 128))"
    [ "$rc" -eq 1 ] && why="$lines lines of error"
    echo "FAIL $label $file: $why"
    head -c 400 "$ERR" | sed 's/^/    /'
}

for f in "$DIR"/h5/* "$DIR"/keras/* "$DIR"/*.h5 "$DIR"/*.json "$DIR"/*.keras; do
    [ -f "$f" ] || continue
    case $f in *.npy|*.md) continue ;; esac
    check summary "$f" "$CLI" summary "$f"
    [ -f "$IN" ] && check predict "$f" "$CLI" predict "$f" "$IN" -o "$OUT"
done
rm -f "$ERR" "$OUT"
echo "hostile files: $runs runs, $loaded loaded, $refused refused with a one-line error, $failed failed"
[ "$failed" -eq 0 ]
