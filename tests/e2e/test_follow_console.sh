# test_follow_console — `ferry follow` on a terminal opens the console: the
# Follower panel over two redis-servers of the test's own, at 120×40. The
# snapshot loads, the panel says streaming; writes to the source move the
# applied offset, and the panel comes back to "caught up" with the applied
# offset equal to the source's master_repl_offset (read from the source
# itself). q asks, y stops the follower: exit 0, the target holds the
# source's keys, and the source lists no replica and no ferry connection.
#
#   FERRY_BIN=build/ferry FERRY_SOURCE_DIR=. bash tests/e2e/test_follow_console.sh

source "$(dirname "$0")/lib.sh"

start_redis source
SRC=$REDIS_PORT
start_redis target
DST=$REDIS_PORT
for i in $(seq 1 100); do echo "SET key:$i v$i"; done | redis-cli -p "$SRC" >/dev/null

FERRY_SUB=follow
start_ferry 120 40 LC_ALL=C.UTF-8 -- --source "redis://127.0.0.1:$SRC" --target "redis://127.0.0.1:$DST"

# The Follower panel's applied offset ("offset    applied N").
applied() { grep -oE '^ offset +applied [0-9]+' <<<"$SCREEN" | grep -oE '[0-9]+$'; }
master_offset() { redis-cli -p "$SRC" info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p'; }
streaming() { has_re '^ ferry +STREAMING ' && has_re '^ streaming  '; }
caught_up_at() { has_re '^ streaming  caught up' && [ "$(applied)" = "$1" ]; }
caught_up_with_source() { local m; m=$(master_offset); caught_up_at "$m"; }

# ---- the console, the snapshot, streaming ---------------------------------
wait_for "the Follower panel" 10 has_re '─ Follower ─'
has_re '─ Servers ─' || fail "no Servers panel"
has_re '─ Log ─' || fail "no Log panel"
lacks "Throughput" || fail "a copy panel on the follow screen"
grep -qE '\? help +q quit' <<<"$(tail -n 1 <<<"$SCREEN")" || fail "no key hints"
wait_for "the follower streaming" 30 streaming
wait_for "the follower caught up with the source" 15 caught_up_with_source
has_re '^ snapshot  keys 100 ' || fail "the panel does not count the 100 snapshot keys"
has_re '^ syncs     full 1  partial 0' || fail "the panel does not count one full sync"
FIRST=$(applied)
log "caught up at applied offset $FIRST"

# ---- writes on the source: the offset moves, then caught up again --------
for i in $(seq 1 2000); do echo "INCR counter:$((i % 20))"; done | redis-cli -p "$SRC" >/dev/null
moved() { local a; a=$(applied); [ -n "$a" ] && [ "$a" -gt "$FIRST" ]; }
wait_for "the applied offset to move past $FIRST" 15 moved
wait_for "the follower caught up again" 15 caught_up_with_source
has_re 'stream    applied 2000 ' || fail "the panel does not count 2000 applied commands"
has_re 'target errors 0' || fail "the panel shows target errors"
status_has "caught up" || fail "the status bar does not say caught up"
SECOND=$(applied)
log "caught up again at applied offset $SECOND (source master_repl_offset $(master_offset))"
[ "$(redis-cli -p "$DST" get counter:7)" = "100" ] || fail "the target's counter:7 is not 100"

# ---- help, then q: asks; y: stops the follower and exits 0 ---------------
keys '?'
wait_for "the help" 5 has "quit; asks first, then stops the follower"
keys Escape
wait_for "the help closed" 5 lacks "quit; asks first"
keys q
wait_for "the quit question" 5 has "Stop following and quit?"
has "The follower is streaming at applied offset $SECOND." || fail "the question does not name the applied offset"
keys y
wait_for "ferry to exit" 15 exited
grep -q '^EXIT=0$' "$E2E_TMP/exit" || { capture; fail "ferry follow exited with $(cat "$E2E_TMP/exit")"; }
capture
has "stopped at applied offset $SECOND" || fail "no closing line with the applied offset"

# ---- the source has let go of ferry --------------------------------------
no_follower() {
    redis-cli -p "$SRC" info replication | tr -d '\r' | grep -qx 'connected_slaves:0' &&
        ! redis-cli -p "$SRC" client list | grep -qE 'flags=S|name=ferry'
}
deadline=$(($(now_ms) + 5000))
until no_follower; do
    [ "$(now_ms)" -ge "$deadline" ] && fail "the source still lists ferry: $(redis-cli -p "$SRC" client list)"
    sleep 0.2
done
[ "$(redis-cli -p "$DST" dbsize)" = "120" ] || fail "the target holds $(redis-cli -p "$DST" dbsize) keys, not 120"
log "ok"
