#!/usr/bin/env bash
# bench/follow.sh — one measured run of `ferry follow` against this machine's
# ceiling for the same work. See bench/README.md for what is measured and how
# to read it.
#
#   bench/follow.sh [--keys N] [--seed S] [--no-big-keys] [--requests N]
#                   [--pipeline P] [--clients C] [--build-dir DIR]
#
# Starts two private redis-servers on free 127.0.0.1 ports in a temp dir (the
# source with repl-diskless-sync-delay 0), fills the source with ferry-gen, then:
#   snapshot: times the ceiling — the source producing its snapshot
#       (redis-cli --rdb) while the target ingests the same values (RESTORE
#       through redis-cli --pipe), both at once — then, into the emptied target,
#       `ferry follow --no-tui --json` under /usr/bin/time -v until it streams;
#   stream: drives redis-benchmark (pipelined SET, INCR, LPUSH, HSET, SADD,
#       ZADD) at the source while sampling the follower's lag every 200 ms,
#       times the catch-up after the load, checks DBSIZE, stops ferry with
#       SIGINT (peak RSS), then times the same redis-benchmark against the
#       target alone (the target's own ingest ceiling);
# and prints ratio = ceiling wall / ferry wall for both phases. On exit it
# stops exactly the processes it started (by pid) and removes its temp dir.
set -euo pipefail

KEYS=1000000
SEED=1
BIG=1
REQUESTS=750000
PIPELINE=16
CLIENTS=50
TESTS=set,incr,lpush,hset,sadd,zadd
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=""
BENCH_NAME=follow.sh
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

while [ $# -gt 0 ]; do
    bench_common_option "$@"
    if [ "$COMMON_SHIFT" -gt 0 ]; then
        shift "$COMMON_SHIFT"
        continue
    fi
    case "$1" in
    --requests) [ $# -ge 2 ] || die "--requests needs a value"; REQUESTS=$2; shift 2 ;;
    --pipeline) [ $# -ge 2 ] || die "--pipeline needs a value"; PIPELINE=$2; shift 2 ;;
    --clients) [ $# -ge 2 ] || die "--clients needs a value"; CLIENTS=$2; shift 2 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
bench_check_common
[[ $REQUESTS =~ ^[1-9][0-9]*$ ]] || die "--requests '$REQUESTS' is not a positive number"
[[ $PIPELINE =~ ^[1-9][0-9]*$ ]] || die "--pipeline '$PIPELINE' is not a positive number"
[[ $CLIENTS =~ ^[1-9][0-9]*$ ]] || die "--clients '$CLIENTS' is not a positive number"

# ---- tools, temp dir, servers ----
bench_find_build
bench_need_tools redis-benchmark
bench_setup

start_server source
SRC=$PORT
start_server target
DST=$PORT
SRC_URI=redis://127.0.0.1:$SRC/0
DST_URI=redis://127.0.0.1:$DST/0
print_machine "$SRC" "$DST"
# Redis 7 waits repl-diskless-sync-delay (5 s) for more replicas before it
# streams a snapshot: a fixed wait, not work. Both ferry and the ceiling's
# redis-cli --rdb take the same diskless path, without it.
redis-cli -p "$SRC" config set repl-diskless-sync-delay 0 >/dev/null
echo "source: repl-diskless-sync $(redis-cli -p "$SRC" config get repl-diskless-sync | tail -n 1), repl-diskless-sync-delay 0"

# ---- dataset ----
GEN_ARGS=(--uri "$SRC_URI" --keys "$KEYS" --seed "$SEED")
[ "$BIG" = 1 ] && GEN_ARGS+=(--big-keys)
"$GEN" "${GEN_ARGS[@]}"
N=$(dbsize "$SRC")
echo "source: $N keys, used_memory $(info_field "$SRC" memory used_memory_human)"

T0=$(now)
"$RESPDUMP" --uri "$SRC_URI" --reads "$TMP/reads.resp" --restores "$TMP/restores.resp"
RESPDUMP_WALL=$(elapsed "$T0" "$(now)")
rm -f "$TMP/reads.resp"
cat "$TMP/restores.resp" >/dev/null # in the page cache

# ---- snapshot ceiling: redis-cli --rdb from the source, --pipe into the target, at once ----
redis-cli -p "$DST" flushall >/dev/null
# timed NAME CMD...: runs CMD (stdout+stderr to NAME.out), its wall time to NAME.wall.
timed() {
    local name=$1 s
    shift
    s=$(now)
    "$@" >"$TMP/$name.out" 2>&1 || echo "exit status $?" >>"$TMP/$name.out"
    elapsed "$s" "$(now)" >"$TMP/$name.wall"
}
timed rdb redis-cli -p "$SRC" --rdb "$TMP/ceiling.rdb" &
P1=$!
timed restores sh -c 'exec redis-cli -p "$1" --pipe <"$2"' sh "$DST" "$TMP/restores.resp" &
P2=$!
wait "$P1" "$P2"
RDB_WALL=$(cat "$TMP/rdb.wall")
RESTORES_WALL=$(cat "$TMP/restores.wall")
grep -q 'Transfer finished with success' "$TMP/rdb.out" || { cat "$TMP/rdb.out" >&2; die "redis-cli --rdb did not finish the transfer"; }
grep -q '^errors: 0,' "$TMP/restores.out" || { cat "$TMP/restores.out" >&2; die "redis-cli --pipe reported errors restoring into the target"; }
RDB_MIB=$(awk -v b="$(stat -c %s "$TMP/ceiling.rdb")" 'BEGIN { printf "%.1f", b / 1048576 }')
rm -f "$TMP/ceiling.rdb" "$TMP/restores.resp"
RESTORED=$(dbsize "$DST")
[ "$RESTORED" = "$N" ] || die "the RESTORE pipe left $RESTORED keys on the target, the source has $N"
SNAP_CEIL_WALL=$(awk -v a="$RDB_WALL" -v b="$RESTORES_WALL" 'BEGIN { printf "%.2f", (a > b ? a : b) }')
redis-cli -p "$DST" flushall >/dev/null

# ---- (a) ferry follow: the snapshot ----
FOLLOW_ARGS=(follow --source "$SRC_URI" --target "$DST_URI" --no-tui --json)
echo "running: ferry ${FOLLOW_ARGS[*]}"
T0=$(now)
/usr/bin/time -v -o "$TMP/ferry.time" "$FERRY" "${FOLLOW_ARGS[@]}" >"$TMP/ferry.out" 2>"$TMP/ferry.err" &
TIME_PID=$!
bench_track "$TIME_PID"
FERRY_PID=""
for _ in $(seq 1 100); do
    FERRY_PID=$(cat "/proc/$TIME_PID/task/$TIME_PID/children" 2>/dev/null | awk '{print $1}')
    [ -n "$FERRY_PID" ] && break
    sleep 0.02
done
[ -n "$FERRY_PID" ] || die "ferry follow did not start (see $TMP/ferry.err)"
bench_track "$FERRY_PID"

ferry_fail() {
    tail -n 20 "$TMP/ferry.out" "$TMP/ferry.err" >&2
    die "$*"
}
# The first JSON status line in state streaming, seen by polling the output
# every 50 ms (ferry prints a status line a second).
while ! grep -q '"type":"follow","state":"streaming"' "$TMP/ferry.out"; do
    kill -0 "$FERRY_PID" 2>/dev/null || ferry_fail "ferry follow exited during the snapshot (output above)"
    sleep 0.05
done
T1=$(now)
SNAP_STATUS_WALL=$(elapsed "$T0" "$T1")
# ferry stamps its "snapshot applied" event to the ms: the end of the snapshot
# without the status line's up-to-1-s delay.
APPLIED_MS=$(grep -m1 '"text":"snapshot applied' "$TMP/ferry.out" | sed -n 's/.*"time_ms":\([0-9]*\).*/\1/p')
if [ -n "$APPLIED_MS" ]; then
    SNAP_WALL=$(awk -v a="$T0" -v b="$APPLIED_MS" 'BEGIN { printf "%.2f", b / 1000 - a }')
else
    SNAP_WALL=$SNAP_STATUS_WALL
fi
SNAP_KEYS=$(grep -m1 '"type":"follow","state":"streaming"' "$TMP/ferry.out" | sed -n 's/.*"snapshot_keys":\([0-9]*\).*/\1/p')
LOADED=$(dbsize "$DST")
[ "$LOADED" = "$N" ] || ferry_fail "after the snapshot the target holds $LOADED keys, the source $N"

# ---- (a) ferry follow: the stream under load ----
# repl_offsets: "master_repl_offset follower-acked-offset" of the source, one INFO.
repl_offsets() {
    redis-cli -p "$SRC" info replication | tr -d '\r' | awk -F'[:,=]' '
        $1 == "master_repl_offset" { m = $2 }
        $1 ~ /^slave[0-9]+$/ { for (i = 2; i < NF; i += 2) if ($i == "offset") s = $(i + 1) }
        END { print m, (s == "" ? -1 : s) }'
}
# The follower must be acknowledging before the load starts.
for _ in $(seq 1 100); do
    read -r M A < <(repl_offsets)
    [ "$A" -ge 0 ] && [ "$A" = "$M" ] && break
    sleep 0.05
done
[ "$A" = "$M" ] || ferry_fail "the follower did not acknowledge the source's offset $M before the load (acked $A)"
START_OFFSET=$M
sample_lag() {
    while :; do
        echo "$(date +%s.%N) $(repl_offsets)"
        sleep 0.2
    done
}
sample_lag >"$TMP/lag.txt" &
SAMPLER_PID=$!
bench_track "$SAMPLER_PID"

NTESTS=$(awk -F, '{print NF}' <<<"$TESTS")
BENCH_ARGS=(-t "$TESTS" -n "$REQUESTS" -r 1000000 -P "$PIPELINE" -c "$CLIENTS" -d 32 --csv)
echo "running: redis-benchmark ${BENCH_ARGS[*]} against the source"
L0=$(now)
redis-benchmark -p "$SRC" "${BENCH_ARGS[@]}" >"$TMP/load-source.csv" 2>&1 || { cat "$TMP/load-source.csv" >&2; die "redis-benchmark against the source failed"; }
L1=$(now)
LOAD_WALL=$(elapsed "$L0" "$L1")
END_OFFSET=$(read -r m _ < <(repl_offsets); echo "$m")
# Caught up: the follower acknowledges the source's offset.
while :; do
    read -r M A < <(repl_offsets)
    [ "$A" -ge "$M" ] && break
    kill -0 "$FERRY_PID" 2>/dev/null || ferry_fail "ferry follow exited during the stream (output above)"
    awk -v a="$L1" -v b="$(now)" 'BEGIN { exit !(b - a > 600) }' && ferry_fail "the follower did not catch up within 600 s after the load (acked $A of $M)"
    sleep 0.05
done
L2=$(now)
CATCHUP_WALL=$(elapsed "$L1" "$L2")
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
STREAM_WALL=$(elapsed "$L0" "$L2")
OPS=$((REQUESTS * NTESTS))
STREAM_BYTES=$((END_OFFSET - START_OFFSET))

SRC_KEYS=$(dbsize "$SRC")
DST_KEYS=$(dbsize "$DST")

# Stop ferry as Ctrl-C does; it exits 0.
sleep 1.2 # one more status line with the final counters
kill -INT "$FERRY_PID"
set +e
wait "$TIME_PID"
RC=$?
set -e
[ "$RC" -eq 0 ] || ferry_fail "ferry follow exited with status $RC on SIGINT"
FERRY_RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/ferry.time")
FERRY_CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$TMP/ferry.time")
LAST=$(grep '"type":"follow"' "$TMP/ferry.out" | tail -n 1)
jfield() { sed -n "s/.*\"$1\":\\([0-9-]*\\).*/\\1/p" <<<"$LAST"; }
COMMANDS=$(jfield commands)
FULL_SYNCS=$(jfield full_syncs)
ERRORS=$(jfield errors)
[ "$SRC_KEYS" = "$DST_KEYS" ] || ferry_fail "after the catch-up the target holds $DST_KEYS keys, the source $SRC_KEYS"

# Lag while the load ran (samples from its start to its end) and overall max.
read -r LAG_MAX LAG_MEAN LAG_N < <(awk -v a="$L0" -v b="$L1" '
    $3 >= 0 { lag = $2 - $3; if (lag > max) max = lag; if ($1 >= a && $1 <= b) { sum += lag; n++ } }
    END { printf "%d %.0f %d\n", max, (n ? sum / n : 0), n }' "$TMP/lag.txt")

# ---- (b) stream ceiling: the same load against the target alone ----
echo "running: redis-benchmark ${BENCH_ARGS[*]} against the target alone"
C0=$(now)
redis-benchmark -p "$DST" "${BENCH_ARGS[@]}" >"$TMP/load-target.csv" 2>&1 || { cat "$TMP/load-target.csv" >&2; die "redis-benchmark against the target failed"; }
STREAM_CEIL_WALL=$(elapsed "$C0" "$(now)")

ratio() { awk -v c="$1" -v f="$2" 'BEGIN { if (f > 0) printf "%.2f", c / f; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1048576 }'; }
# per_test FILE: "set 412k, incr 398k, ..." (requests/s per test) from redis-benchmark's CSV.
per_test() { awk -F, 'NR > 1 { gsub(/"/, ""); split($1, t, " "); printf "%s%s %.0fk", (NR > 2 ? ", " : ""), tolower(t[1]), $2 / 1000 }' "$1"; }
SNAP_RATIO=$(ratio "$SNAP_CEIL_WALL" "$SNAP_WALL")
STREAM_RATIO=$(ratio "$STREAM_CEIL_WALL" "$STREAM_WALL")
RSS_MIB=$(awk -v k="$FERRY_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')

echo
echo "== snapshot: $N keys (seed $SEED, big keys $([ "$BIG" = 1 ] && echo on || echo off))"
printf '(a) ferry follow      %8s s  %9s keys/s  start -> "snapshot applied" (%s keys; first streaming status line at %s s)\n' \
    "$SNAP_WALL" "$(div "$N" "$SNAP_WALL")" "${SNAP_KEYS:-?}" "$SNAP_STATUS_WALL"
printf '(b) source snapshot   %8s s  %9s keys/s  redis-cli --rdb (%s MiB, diskless)\n' "$RDB_WALL" "$(div "$N" "$RDB_WALL")" "$RDB_MIB"
printf '    target restores   %8s s  %9s keys/s  RESTORE ... ABSTTL REPLACE via redis-cli --pipe\n' "$RESTORES_WALL" "$(div "$N" "$RESTORES_WALL")"
printf '    ceiling           %8s s  %9s keys/s  the slower side, both running at once\n' "$SNAP_CEIL_WALL" "$(div "$N" "$SNAP_CEIL_WALL")"
echo "    (writing the RESP file took $RESPDUMP_WALL s, not counted)"
echo "ratio = ceiling wall / ferry wall = $SNAP_RATIO"
echo
echo "== stream: redis-benchmark $TESTS, $REQUESTS requests each ($OPS ops), pipeline $PIPELINE, $CLIENTS clients"
printf '(a) source under load %8s s  %9s ops/s   %s MiB of stream (%s)\n' "$LOAD_WALL" "$(div "$OPS" "$LOAD_WALL")" \
    "$(mib "$STREAM_BYTES")" "$(per_test "$TMP/load-source.csv")"
printf '    follower lag           max %s bytes (%s MiB), mean %s bytes over %s samples during the load\n' \
    "$LAG_MAX" "$(mib "$LAG_MAX")" "$LAG_MEAN" "$LAG_N"
printf '    caught up         %8s s  after the load ended (acked offset = master_repl_offset)\n' "$CATCHUP_WALL"
printf '    ferry follow      %8s s  %9s ops/s   load + catch-up; %s commands applied, %s errors, %s full syncs\n' \
    "$STREAM_WALL" "$(div "$OPS" "$STREAM_WALL")" "${COMMANDS:-?}" "${ERRORS:-?}" "${FULL_SYNCS:-?}"
printf '(b) target alone      %8s s  %9s ops/s   the same redis-benchmark run (%s)\n' "$STREAM_CEIL_WALL" \
    "$(div "$OPS" "$STREAM_CEIL_WALL")" "$(per_test "$TMP/load-target.csv")"
echo "ratio = ceiling wall / ferry wall = $STREAM_RATIO"
echo
echo "keys: source $SRC_KEYS, target $DST_KEYS after the catch-up; ferry peak RSS $RSS_MIB MiB, $FERRY_CPU s of CPU (the whole run)"
echo "RESULT keys=$N snapshot_wall_s=$SNAP_WALL snapshot_keys_per_s=$(div "$N" "$SNAP_WALL") rdb_wall_s=$RDB_WALL restores_wall_s=$RESTORES_WALL snapshot_ceiling_wall_s=$SNAP_CEIL_WALL snapshot_ratio=$SNAP_RATIO ops=$OPS load_wall_s=$LOAD_WALL source_ops_per_s=$(div "$OPS" "$LOAD_WALL") lag_max_bytes=$LAG_MAX lag_mean_bytes=$LAG_MEAN catchup_s=$CATCHUP_WALL stream_wall_s=$STREAM_WALL target_alone_wall_s=$STREAM_CEIL_WALL target_alone_ops_per_s=$(div "$OPS" "$STREAM_CEIL_WALL") stream_ratio=$STREAM_RATIO ferry_peak_rss_kb=$FERRY_RSS_KB ferry_cpu_s=$FERRY_CPU full_syncs=${FULL_SYNCS:-?}"
