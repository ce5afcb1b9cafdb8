#!/usr/bin/env bash
# The test cluster (make test-cluster, part of make test): Redis, three
# `cryptonets serve` replicas that share it and HAProxy in front of them
# (deploy/haproxy/haproxy.cfg), all on 127.0.0.1 on free ports. It installs what is
# missing (scripts/setup.sh --test), runs the checks, and stops everything it
# started, also when a check fails or it is interrupted.
#
#   scripts/test-cluster.sh             the checks: go test -run TestCluster ./core/remote
#                                       (insecure fast parameters: they test behaviour),
#                                       then the Python client's job if build/python/venv1
#                                       exists (make test-python makes it)
#   scripts/test-cluster.sh throughput  one 10,000-image job at 128 bits through HAProxy
#                                       (cryptonets remote predict) and each replica's CPU
#                                       time, then the same job on one replica alone: the
#                                       figures of docs/deploy.md
#   scripts/test-cluster.sh up          start the cluster and keep it until Ctrl-C
#   scripts/test-cluster.sh ctl ACTION NAME
#                                       what the checks call (CN_CLUSTER_RUN names the
#                                       cluster): kill (SIGKILL), stop (SIGTERM) or start
#                                       a replica (r1, r2, r3) or redis
set -euo pipefail
PATH=$PATH:/usr/sbin  # haproxy, for users other than root
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$ROOT/scripts/test-cluster.sh"
MODEL="$ROOT/models/mnist/mnist_cryptonets.cnm"
REPLICAS=(r1 r2 r3)

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# free_ports prints n TCP ports of 127.0.0.1 that are free now (bound together, so
# distinct, then released).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# wait_until TIMEOUT WHAT COMMAND…: runs COMMAND until it succeeds, for at most
# TIMEOUT seconds.
wait_until() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not happen within ${timeout} s"
    sleep 0.2
  done
}

# ---------------------------------------------------------------- processes --
# Every process is started in the background with its output in RUN/NAME.log and
# its pid in RUN/NAME.pid; the functions below read RUN/cluster.env.

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# running PID: the process exists and has not exited (a zombie has).
running() { [ -n "$1" ] && [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

alive() { running "$(pid_of "$1")"; }

# signal NAME SIGNAL: signals a process and waits until it is gone.
signal() {
  local name=$1 sig=$2 pid
  pid=$(pid_of "$name")
  [ -n "$pid" ] || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while running "$pid"; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  rm -f "$RUN/$name.pid"
}

# started NAME: records the pid of the process just started in the background, and
# leaves it out of the shell's job table (so that killing it prints no job notice;
# the shell still reaps it).
started() {
  echo $! >"$RUN/$1.pid"
  disown $!
}

start_redis() {
  # Persistence as in deploy/: an append-only file, so that a restart keeps the
  # keys; never evict (an evicted key would be a client's lost upload).
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN" --appendonly yes --save "" \
    --maxmemory-policy noeviction --protected-mode yes >>"$RUN/redis.log" 2>&1 </dev/null &
  started redis
  wait_until 30 "redis answering on port $REDIS_PORT" redis-cli -p "$REDIS_PORT" ping
  # Until its data is loaded, Redis answers LOADING: wait for the keys to be there.
  wait_until 60 "redis loading its data" bash -c "redis-cli -p $REDIS_PORT info persistence | grep -q '^loading:0'"
}

start_replica() {
  local name=$1 port
  port=$(port_of "$name")
  # shellcheck disable=SC2086
  "$CLI" serve --model "mnist=$MODEL" --listen "127.0.0.1:$port" --key-store "redis://127.0.0.1:$REDIS_PORT/0" \
    --memory "$REPLICA_MEMORY" $REPLICA_FLAGS --json >>"$RUN/$name.log" 2>&1 </dev/null &
  started "$name"
  wait_until 120 "$name ready on port $port" curl -sf "http://127.0.0.1:$port/readyz"
}

port_of() {
  case $1 in
    r1) echo "$R1_PORT" ;; r2) echo "$R2_PORT" ;; r3) echo "$R3_PORT" ;;
    *) die "no replica $1" ;;
  esac
}

start_haproxy() {
  CN_LB_BIND="127.0.0.1:$LB_PORT" CN_LB_STATS="127.0.0.1:$STATS_PORT" CN_REPLICA_1="127.0.0.1:$R1_PORT" \
    CN_REPLICA_2="127.0.0.1:$R2_PORT" CN_REPLICA_3="127.0.0.1:$R3_PORT" \
    haproxy -db -f "$ROOT/deploy/haproxy/haproxy.cfg" >>"$RUN/haproxy.log" 2>&1 </dev/null &
  started haproxy
  wait_until 30 "HAProxy marking the three replicas up" all_up
}

# all_up: HAProxy's stats say every replica is UP.
all_up() {
  local csv
  csv=$(curl -sf "http://127.0.0.1:$STATS_PORT/stats;csv") || return 1
  [ "$(grep -c '^replicas,r[0-9],.*,UP,' <<<"$csv")" -eq ${#REPLICAS[@]} ]
}

# ctl ACTION NAME: what the checks do to the cluster.
ctl() {
  local action=$1 name=$2
  [ -n "${CN_CLUSTER_RUN:-}" ] || die "ctl: CN_CLUSTER_RUN is not set"
  RUN=$CN_CLUSTER_RUN
  # shellcheck source=/dev/null
  . "$RUN/cluster.env"
  case $action in
    kill) signal "$name" KILL ;;
    stop) signal "$name" TERM ;;
    start)
      alive "$name" && die "ctl: $name is running"
      case $name in redis) start_redis ;; r[0-9]) start_replica "$name" ;; *) die "ctl: no $name" ;; esac
      ;;
    *) die "ctl: unknown action $action (kill, stop, start)" ;;
  esac
}

# --------------------------------------------------------------------- cluster --

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "${RUN:-}" ] && [ -d "$RUN" ]; then
    for f in "$RUN"/*.pid; do
      [ -e "$f" ] || continue
      signal "$(basename "$f" .pid)" TERM
    done
    local job
    for job in $(jobs -p); do kill "$job" 2>/dev/null || true; done
    if [ $rc -ne 0 ]; then
      for f in "$RUN"/*.log; do
        [ -e "$f" ] || continue
        log "last lines of $(basename "$f"):"
        tail -n 15 "$f" >&2 || true
      done
    fi
    rm -rf "$RUN"
  fi
  exit $rc
}

# up starts Redis, the replicas and HAProxy, and writes RUN/cluster.env.
up() {
  local missing=()
  for cmd in redis-server redis-cli haproxy curl python3; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing what is missing (${missing[*]}): scripts/setup.sh --test"
    bash "$ROOT/scripts/setup.sh" --test
  fi
  RUN=$(mktemp -d /tmp/cn-cluster.XXXXXX)
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  CLI="$RUN/cryptonets"
  (cd "$ROOT" && go build -o "$CLI" ./cmd/cryptonets)
  read -r REDIS_PORT R1_PORT R2_PORT R3_PORT LB_PORT STATS_PORT <<<"$(free_ports 6)"
  cat >"$RUN/cluster.env" <<EOF
CLI=$CLI
MODEL=$MODEL
REDIS_PORT=$REDIS_PORT
R1_PORT=$R1_PORT
R2_PORT=$R2_PORT
R3_PORT=$R3_PORT
LB_PORT=$LB_PORT
STATS_PORT=$STATS_PORT
REPLICA_MEMORY=$REPLICA_MEMORY
REPLICA_FLAGS="$REPLICA_FLAGS"
EOF
  start_redis
  for r in "${REPLICAS[@]}"; do start_replica "$r"; done
  start_haproxy
  export CN_CLUSTER_RUN=$RUN
  export CRYPTONETS_CLUSTER_URL="http://127.0.0.1:$LB_PORT"
  export CRYPTONETS_CLUSTER_REPLICAS="http://127.0.0.1:$R1_PORT,http://127.0.0.1:$R2_PORT,http://127.0.0.1:$R3_PORT"
  export CRYPTONETS_CLUSTER_CTL=$SELF
  log "up: HAProxy http://127.0.0.1:$LB_PORT (stats http://127.0.0.1:$STATS_PORT/stats), replicas on ports $R1_PORT $R2_PORT $R3_PORT, Redis on $REDIS_PORT"
}

# cpu_seconds NAME: a process's CPU time (user + system), in seconds.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$(pid_of "$1")/stat"
}

checks() {
  REPLICA_MEMORY=2GiB REPLICA_FLAGS=--insecure up
  log "checks (insecure fast parameters; they test behaviour): go test -run TestCluster ./core/remote"
  (cd "$ROOT" && go test -count=1 -timeout 15m -v -run 'TestCluster' ./core/remote)
  local venv="$ROOT/build/python/venv1/bin/python"
  if [ -x "$venv" ] && [ -d "$ROOT/build/python/fixtures" ]; then
    log "the Python client's job through HAProxy: pytest bindings/python/tests/test_cluster.py"
    # From build/python, as run_tests.sh does: the installed package, not the source.
    (cd "$ROOT/build/python" && CRYPTONETS_TEST_FIXTURES="$ROOT/build/python/fixtures" \
      "$venv" -m pytest -p no:cacheprovider -s -q "$ROOT/bindings/python/tests/test_cluster.py")
  else
    log "note: no build/python/venv1 (make test-python makes it): the Python client's job was skipped"
  fi
}

# job URL: one 10,000-image job (128-bit batch packing, the server's default plan)
# through URL, then the CPU time each replica spent on it.
job() {
  local before=() after=() r
  for r in "${REPLICAS[@]}"; do before+=("$(cpu_seconds "$r")"); done
  log "one job of 10,000 images through $1 (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  local TIMEFORMAT='cluster: the client (encrypting, decrypting) used %U s user + %S s system CPU in %R s'
  time "$CLI" remote predict --server "$1" --model mnist --images 10000 --in-flight 3
  for r in "${REPLICAS[@]}"; do after+=("$(cpu_seconds "$r")"); done
  paste <(printf '%s\n' "${REPLICAS[@]}") <(printf '%s\n' "${before[@]}") <(printf '%s\n' "${after[@]}") |
    awk '{name[NR] = $1; used[NR] = $3 - $2; total += used[NR]}
      END {for (i = 1; i <= NR; i++) printf "cluster: %s used %.2f s of CPU, %.0f %% of the replicas'"'"' %.2f s\n", name[i], used[i], 100 * used[i] / total, total}' >&2
}

throughput() {
  # One 128-bit batch request takes about 1.6 GB to evaluate (request and work).
  REPLICA_MEMORY=4GiB REPLICA_FLAGS= up
  job "$CRYPTONETS_CLUSTER_URL"
  job "http://127.0.0.1:$R1_PORT"  # one replica alone, for comparison
}

case "${1:-}" in
  "") checks ;;
  throughput) throughput ;;
  up)
    REPLICA_MEMORY=${REPLICA_MEMORY:-2GiB} REPLICA_FLAGS=${REPLICA_FLAGS---insecure} up
    log "running until Ctrl-C (CN_CLUSTER_RUN=$RUN)"
    while true; do sleep 3600 & wait $!; done
    ;;
  ctl) shift; ctl "$@" ;;
  *) die "usage: scripts/test-cluster.sh [throughput | up | ctl ACTION NAME]" ;;
esac
