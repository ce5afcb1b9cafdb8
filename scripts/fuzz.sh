#!/usr/bin/env bash
# Runs every Go native fuzz target of the project (each func FuzzX in a _test.go file
# under core/, found by grep: a new target needs no entry here), one at a time, for
# FUZZTIME each (default 1m; Go's -fuzztime syntax: 10m, 30s, 100000x), and prints
# for each target its executions, the new interesting inputs it found, its result
# and the peak memory of the fuzzing processes (the test binary and its workers,
# summed, sampled every second). A failing input is written by Go to the target's
# testdata/fuzz/FuzzX/ folder: commit it, and `go test` replays it from then on.
#
#   make fuzz                      # 1 minute per target
#   make fuzz FUZZTIME=10m         # the long run
#   FUZZ=Manifest make fuzz        # only the targets whose name contains Manifest
#
# FUZZPARALLEL sets the fuzzing workers (default: GOMAXPROCS). Exits non-zero if a
# target fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FUZZTIME=${FUZZTIME:-1m}
GO=${GO:-go}
PARALLEL=()
[ -n "${FUZZPARALLEL:-}" ] && PARALLEL=(-parallel "$FUZZPARALLEL")
LOGS="$ROOT/build/fuzz"
mkdir -p "$LOGS"

# package<TAB>target, for every fuzz target.
mapfile -t targets < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' core |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)$#\1\t\2#' | sort -u |
  grep -E "${FUZZ:-.}" || true)
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no targets match '${FUZZ:-}'" >&2; exit 1; }

# peak_rss PID: the largest sum of the resident sizes (kB) of PID's session, sampled
# every second until PID exits.
peak_rss() {
  local pid=$1 peak=0 now
  while kill -0 "$pid" 2>/dev/null; do
    now=$(ps -o rss= -s "$pid" 2>/dev/null | awk '{s += $1} END {print s + 0}')
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 1
  done
  echo "$peak"
}

printf 'fuzzing %d targets for %s each (logs in %s)\n' ${#targets[@]} "$FUZZTIME" "${LOGS#$ROOT/}"
failed=0
summary=()
for line in "${targets[@]}"; do
  pkg=${line%%$'\t'*}
  name=${line##*$'\t'}
  log="$LOGS/$name.log"
  start=$SECONDS
  # A session of its own, so that peak_rss finds the workers too; -timeout 0, or go
  # test's default 10-minute timeout would end a 10-minute run.
  setsid "$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 10s -timeout 0 \
    "${PARALLEL[@]}" "./$pkg" >"$log" 2>&1 &
  pid=$!
  peak=$(peak_rss "$pid")
  rc=0
  wait "$pid" || rc=$?
  last=$(grep -E '^fuzz: elapsed' "$log" | tail -1 || true)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  found=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
  result=ok
  if [ $rc -ne 0 ]; then
    result=FAILED
    failed=$((failed + 1))
  fi
  row=$(printf '%-22s %-22s %12s %6s %8s MB %5ds  %s' "$name" "$pkg" "${execs:-?}" "${found:-?}" \
    $((peak / 1024)) $((SECONDS - start)) "$result")
  echo "$row"
  summary+=("$row")
  if [ $rc -ne 0 ]; then
    grep -E 'Failing input written to|--- FAIL|panic:|error:' "$log" | head -5 | sed 's/^/    /'
  fi
done

printf '\n%-22s %-22s %12s %6s %11s %6s  %s\n' target package executions new peak-RSS time result
printf '%s\n' "${summary[@]}"
[ $failed -eq 0 ] || { echo "fuzz: $failed target(s) failed; the failing inputs are in their testdata/fuzz folders" >&2; exit 1; }
