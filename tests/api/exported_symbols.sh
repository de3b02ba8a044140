#!/bin/sh
# CTest exported_symbols: libckeras.so exports exactly the public API.
#  - every dynamic symbol the library defines is a function declared with
#    CK_API in include/ckeras.h (internal ck_* helpers stay hidden:
#    -fvisibility=hidden), and
#  - every CK_API function of the header is exported (a declaration
#    without a definition, or one hidden by mistake, fails here rather than
#    in a user's link).
# static inline functions of the header are not CK_API and are skipped.
#
# usage: exported_symbols.sh SRC_DIR LIBCKERAS.so CC
set -e
src=$1 lib=$2 cc=$3
command -v nm >/dev/null 2>&1 || { echo "exported_symbols: nm not found, skipped"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ck-symbols-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The declarations as the compiler sees them (comments gone), with CK_API
# replaced by a marker; the name is the identifier before the first '('.
"$cc" -E -P -DCK_API=CK_API_MARK -x c "$src/include/ckeras.h" | tr '\n' ' ' | tr ';' '\n' |
    sed -n 's/.*CK_API_MARK[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\) *(.*/\1/p' | sort -u >"$work/declared"

# Linker-made symbols that every shared object has are not API.
nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' |
    grep -v -x -e _init -e _fini -e _edata -e _end -e __bss_start | sort -u >"$work/exported"

n_decl=$(wc -l <"$work/declared")
n_exp=$(wc -l <"$work/exported")
if [ "$n_decl" -lt 100 ]; then
    echo "exported_symbols: only $n_decl CK_API declarations found in the header: the parse failed"
    exit 1
fi
status=0
extra=$(comm -13 "$work/declared" "$work/exported")
if [ -n "$extra" ]; then
    echo "exported but not declared CK_API in include/ckeras.h:"
    echo "$extra" | sed 's/^/  /'
    status=1
fi
missing=$(comm -23 "$work/declared" "$work/exported")
if [ -n "$missing" ]; then
    echo "declared CK_API in include/ckeras.h but not exported:"
    echo "$missing" | sed 's/^/  /'
    status=1
fi
echo "exported_symbols: $n_exp exported, $n_decl declared"
exit $status
