#!/bin/sh
# Builds consumer/main.c against an installed cryptonets with pkg-config alone (no
# CMake, no Makefile) and runs it.
#   build_with_pkgconfig.sh PREFIX OUTDIR -- ARGS...
set -eu
prefix=$1 out=$2
shift 3
here=$(cd "$(dirname "$0")" && pwd)
PKG_CONFIG_PATH=$(find "$prefix" -type d -name pkgconfig | head -n 1)
export PKG_CONFIG_PATH
mkdir -p "$out"
echo "pkg-config --cflags --libs cryptonets: $(pkg-config --cflags --libs cryptonets)"
${CC:-cc} -std=c11 -Wall -Wextra -o "$out/consumer" "$here/main.c" \
    $(pkg-config --cflags --libs cryptonets) \
    -Wl,-rpath,"$(pkg-config --variable=libdir cryptonets)"
exec "$out/consumer" "$@"
