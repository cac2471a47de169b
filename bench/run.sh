#!/usr/bin/env bash
# bench/run.sh — one measured run: `ferry copy` against this machine's ceiling
# for the same work. See bench/README.md for what is measured and how to read it.
#
#   bench/run.sh [--keys N] [--seed S] [--no-big-keys] [--workers N] [--batch N]
#                [--build-dir DIR]
#
# Starts two private redis-servers on free 127.0.0.1 ports in a temp dir, fills
# the source with ferry-gen, then:
#   (a) times `ferry copy --no-tui` source → target (wall seconds, keys/s, peak RSS);
#   (b) flushes the target and times the ceiling: the source answering the same
#       PEXPIRETIME + DUMP commands through `redis-cli --pipe` while the target
#       ingests the equivalent RESTORE … ABSTTL REPLACE through `redis-cli --pipe`,
#       both at once; the ceiling's wall time is the slower of the two;
# and prints ratio = ceiling wall / ferry wall. On exit it stops exactly the
# servers it started (by pid) and removes its temp dir.
set -euo pipefail

KEYS=1000000
SEED=1
BIG=1
WORKERS=4
BATCH=""
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=""
BENCH_NAME=run.sh
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"

while [ $# -gt 0 ]; do
    bench_common_option "$@"
    if [ "$COMMON_SHIFT" -gt 0 ]; then
        shift "$COMMON_SHIFT"
        continue
    fi
    case "$1" in
    --workers) [ $# -ge 2 ] || die "--workers needs a value"; WORKERS=$2; shift 2 ;;
    --batch) [ $# -ge 2 ] || die "--batch needs a value"; BATCH=$2; shift 2 ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
bench_check_common
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "--workers '$WORKERS' is not a positive number"
[ -z "$BATCH" ] || [[ $BATCH =~ ^[1-9][0-9]*$ ]] || die "--batch '$BATCH' is not a positive number"

# ---- tools, temp dir, servers ----
bench_find_build
bench_need_tools
bench_setup

start_server source
SRC=$PORT
start_server target
DST=$PORT
SRC_URI=redis://127.0.0.1:$SRC/0
DST_URI=redis://127.0.0.1:$DST/0
print_machine "$SRC" "$DST"

# ---- dataset ----
GEN_ARGS=(--uri "$SRC_URI" --keys "$KEYS" --seed "$SEED")
[ "$BIG" = 1 ] && GEN_ARGS+=(--big-keys)
"$GEN" "${GEN_ARGS[@]}"
N=$(dbsize "$SRC")
MEM=$(redis-cli -p "$SRC" info memory | tr -d '\r' | awk -F: '$1=="used_memory_human"{print $2}')
echo "source: $N keys, used_memory $MEM"

# ---- (a) ferry copy ----
redis-cli -p "$DST" flushall >/dev/null
COPY_ARGS=(copy --source "$SRC_URI" --target "$DST_URI" --no-tui --workers "$WORKERS" --on-conflict replace)
[ -n "$BATCH" ] && COPY_ARGS+=(--batch "$BATCH")
echo "running: ferry ${COPY_ARGS[*]}"
T0=$(now)
set +e
/usr/bin/time -v -o "$TMP/ferry.time" "$FERRY" "${COPY_ARGS[@]}" >"$TMP/ferry.out" 2>&1
RC=$?
set -e
T1=$(now)
if [ "$RC" -ne 0 ]; then
    tail -n 20 "$TMP/ferry.out" >&2
    die "ferry copy exited with status $RC (output above)"
fi
FERRY_WALL=$(elapsed "$T0" "$T1")
FERRY_RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/ferry.time")
COPIED=$(dbsize "$DST")
[ "$COPIED" = "$N" ] || { tail -n 20 "$TMP/ferry.out" >&2; die "ferry copy left $COPIED keys on the target, the source has $N"; }

# ---- (b) the ceiling: both sides through redis-cli --pipe, at the same time ----
redis-cli -p "$DST" flushall >/dev/null
T0=$(now)
"$RESPDUMP" --uri "$SRC_URI" --reads "$TMP/reads.resp" --restores "$TMP/restores.resp"
RESPDUMP_WALL=$(elapsed "$T0" "$(now)")
cat "$TMP/reads.resp" "$TMP/restores.resp" >/dev/null # both files in the page cache

# pipe_side PORT FILE NAME: runs redis-cli --pipe, writes its own wall time to NAME.wall.
pipe_side() {
    local s e
    s=$(now)
    redis-cli -p "$1" --pipe <"$2" >"$TMP/$3.out" 2>&1 || true
    e=$(now)
    elapsed "$s" "$e" >"$TMP/$3.wall"
}
pipe_side "$SRC" "$TMP/reads.resp" reads &
P1=$!
pipe_side "$DST" "$TMP/restores.resp" restores &
P2=$!
wait "$P1" "$P2"
READS_WALL=$(cat "$TMP/reads.wall")
RESTORES_WALL=$(cat "$TMP/restores.wall")
for side in reads restores; do
    grep -q '^errors: 0,' "$TMP/$side.out" || { cat "$TMP/$side.out" >&2; die "redis-cli --pipe reported errors on the $side side"; }
done
CEIL_WALL=$(awk -v a="$READS_WALL" -v b="$RESTORES_WALL" 'BEGIN { printf "%.2f", (a > b ? a : b) }')
RESTORED=$(dbsize "$DST")
[ "$RESTORED" = "$N" ] || die "the RESTORE pipe left $RESTORED keys on the target, the source has $N"

RATIO=$(awk -v c="$CEIL_WALL" -v f="$FERRY_WALL" 'BEGIN { if (f > 0) printf "%.2f", c / f; else print "n/a" }')
RSS_MIB=$(awk -v k="$FERRY_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')

echo
echo "== $N keys (seed $SEED, big keys $([ "$BIG" = 1 ] && echo on || echo off)), $WORKERS workers${BATCH:+, batch $BATCH}"
printf '(a) ferry copy        %8s s  %9s keys/s  peak RSS %s MiB\n' "$FERRY_WALL" "$(div "$N" "$FERRY_WALL")" "$RSS_MIB"
echo "    ferry said: $(tail -n 1 "$TMP/ferry.out")"
printf '(b) source reads      %8s s  %9s keys/s  PEXPIRETIME+DUMP via redis-cli --pipe\n' "$READS_WALL" "$(div "$N" "$READS_WALL")"
printf '    target restores   %8s s  %9s keys/s  RESTORE ... ABSTTL REPLACE via redis-cli --pipe\n' "$RESTORES_WALL" "$(div "$N" "$RESTORES_WALL")"
printf '    ceiling           %8s s  %9s keys/s  the slower side, both running at once\n' "$CEIL_WALL" "$(div "$N" "$CEIL_WALL")"
echo "    (writing the RESP files took $RESPDUMP_WALL s, not counted)"
echo "ratio = ceiling wall / ferry wall = $RATIO"
echo "RESULT keys=$N ferry_wall_s=$FERRY_WALL ferry_keys_per_s=$(div "$N" "$FERRY_WALL") ferry_peak_rss_kb=$FERRY_RSS_KB reads_wall_s=$READS_WALL restores_wall_s=$RESTORES_WALL ceiling_wall_s=$CEIL_WALL ratio=$RATIO"
