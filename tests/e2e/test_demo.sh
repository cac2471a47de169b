# test_demo — `ferry demo` in a private tmux server at 120×40, driven like an
# operator would: pass the demo runbook's first two gates, watch the copy
# step move, pause and resume, lower the rate limit,
# resize down to 80×24 and below, open the help, quit with y. Then: exit
# status 0, the demo's two redis-servers gone, their temp dirs removed.
#
#   FERRY_BIN=build/ferry FERRY_SOURCE_DIR=. bash tests/e2e/test_demo.sh
#
# 200k keys at the demo's 20k keys/s is ~10 s of copy: p goes in as soon as
# keys move, and after the resume `[` lowers the limit to 1k keys/s, so the
# copy is still running (and the quit still asks) however slow the machine.

source "$(dirname "$0")/lib.sh"

start_demo 120 40 LC_ALL=C.UTF-8 -- --keys 200000

# ---- the demo runbook: preflight runs, then two confirm gates -----------
# Dataset generation comes first; then the console on runbooks/demo.
wait_for "the pause step to wait for its gate" 40 waiting_for pause
step_is preflight done || fail "preflight is not done when the pause step waits"
keys Enter
wait_for "the copy step to wait for its gate" 15 waiting_for copy
keys Enter

# ---- it moves ----------------------------------------------------------
wait_for "the throughput panel to show a non-zero keys rate" 40 rate_nonzero
log "copy running: keys $(keys_rate)/s, copied $(copied_text)"
note_servers
wait_for "a non-zero copied count" 10 copied_nonzero
wait_for "both servers' versions in the Servers panel" 10 \
    has_re 'version [0-9]+\.[0-9]+\.[0-9]+ .*│ version [0-9]+\.[0-9]+\.[0-9]+'
for title in Throughput Workers Servers Log Runbook "Consumer groups" Replication; do
    has "─ $title ─" || fail "no panel titled \"$title\""
done
status_has RUNNING || fail "the status bar does not say RUNNING"
has "limit 20k/s" || fail "the status bar does not show the demo's 20k keys/s limit"
has_re 'ETA [0-9]' || fail "no ETA in the throughput panel"
has "copy started:" || fail "the log does not say that the copy started"

SRC_PORT=$(server_port source)
DST_PORT=$(server_port target)
[ -n "$SRC_PORT" ] && [ -n "$DST_PORT" ] || fail "no source/target redis://127.0.0.1:PORT in the Servers panel"
status_has "redis://127.0.0.1:$SRC_PORT → redis://127.0.0.1:$DST_PORT" ||
    fail "the status bar's title does not name source :$SRC_PORT → target :$DST_PORT"
answers "$SRC_PORT" || fail "nothing answers PING on the source port $SRC_PORT read from the screen"
answers "$DST_PORT" || fail "nothing answers PING on the target port $DST_PORT read from the screen"
log "source :$SRC_PORT, target :$DST_PORT"

# RESTOREs the target has received: the exact count behind "copied".
restores() { redis-cli -h 127.0.0.1 -p "$DST_PORT" info commandstats 2>/dev/null | grep -oE '^cmdstat_restore:calls=[0-9]+' | cut -d= -f2; }

# ---- p: paused, nothing moves ------------------------------------------
keys p
wait_for "PAUSED in the status bar after p" 10 status_has PAUSED
wait_for "the workers to show paused" 10 has_re ' [0-9]+ +paused +[0-9.]+[kM]? '
wait_for "the keys rate to fall to 0/s while paused" 15 rate_zero
has "ETA paused" || fail "paused, but the throughput panel does not say \"ETA paused\""
has "p resume" || fail "paused, but the key hints do not offer \"p resume\""
PAUSED_AT=$(copied_text)
PAUSED_RESTORES=$(restores)
[ -n "$PAUSED_RESTORES" ] || fail "cannot read the target's RESTORE count (redis-cli -p $DST_PORT info commandstats)"
still_paused() {
    local r
    r=$(restores)
    status_has PAUSED && rate_zero && [ "$(copied_text)" = "$PAUSED_AT" ] && [ "$r" = "$PAUSED_RESTORES" ] && return 0
    echo "paused at copied $PAUSED_AT, $PAUSED_RESTORES RESTOREs on the target; now copied $(copied_text), $r RESTOREs" >&2
    return 1
}
holds "the copy moved while paused" 2 still_paused
log "paused at copied $PAUSED_AT ($PAUSED_RESTORES RESTOREs)"

# ---- p again: it moves again -------------------------------------------
keys p
wait_for "RUNNING in the status bar after the second p" 10 status_has RUNNING
moving_again() { local c; c=$(copied); [ -n "$c" ] && [ "$c" -gt "$(to_number "$PAUSED_AT")" ] && [ "$(restores)" -gt "$PAUSED_RESTORES" ]; }
wait_for "the copied count to move again after resume (paused at $PAUSED_AT)" 10 moving_again
wait_for "a non-zero keys rate after resume" 10 rate_nonzero
log "resumed: copied $(copied_text)"

# ---- [ four times: 20k → 10k → 5k → 2k → 1k keys/s ---------------------
for limit in 10k 5k 2k 1k; do
    keys '['
    wait_for "the status bar to show limit $limit/s" 10 status_has "limit $limit/s"
done

# ---- one log line per operator action ----------------------------------
# The engine logs each control call; the console adds nothing for them.
one_line_each() {
    [ "$(count 'paused: workers finish their batch, then wait')" -eq 1 ] &&
        [ "$(grep -cE ' op +resumed$' <<<"$SCREEN")" -eq 1 ] &&
        [ "$(grep -cE ' op +rate limit [0-9a-z]+ → [0-9]+ keys/s$' <<<"$SCREEN")" -eq 4 ]
}
wait_for "exactly one log line per action (pause, resume, 4 × rate limit)" 5 one_line_each
lacks "operator:" || fail "the console repeated an action the engine logs (a line with \"operator:\")"
has "→ 1000 keys/s" || fail "the log does not show the last rate limit (→ 1000 keys/s)"

# ---- resizing ----------------------------------------------------------
resize 80 24
wait_for "a sane 80×24 screen (status bar, every panel title, key hints)" 10 sane_screen 80 24
resize 70 20
wait_for "\"terminal too small\" at 70×20" 10 has "terminal too small"
has "needs 80×24" || fail "the too-small message does not say what it needs (80×24)"
resize 120 40
wait_for "a sane 120×40 screen again" 10 sane_screen 120 40
status_has RUNNING || fail "the copy is not RUNNING after the resizes"

# ---- ? help ------------------------------------------------------------
keys '?'
wait_for "the help overlay" 5 has "─ Keys ─"
for line in "pass the waiting gate" "skip the waiting (or next) step" "abort the run; asks first" \
    "pause / resume the running copy step" "one worker more / fewer" "rate limit lower / higher" \
    "focus the next panel" "scroll the focused panel" "next colour theme" "repaint the screen" \
    "this help; any key closes it" "quit; asks first, aborts a run in progress"; do
    has "$line" || fail "the help does not list \"$line\""
done
# Any key closes it and does nothing else: p here must not pause.
keys p
wait_for "the help to close on a key" 5 lacks "─ Keys ─"
holds "the key that closed the help also paused the copy" 1 status_has RUNNING

# ---- q, y: a clean stop, exit 0, servers gone ---------------------------
keys q
wait_for "the quit question" 5 has "Abort the run and quit?"
has "(copy) is running." || fail "the quit question does not say the copy step is still running"
keys y
wait_for "ferry to exit after q, y" 30 exited
capture
[ "$(cat "$E2E_TMP/exit")" = "EXIT=0" ] || fail "ferry demo exited with $(cat "$E2E_TMP/exit"), expected EXIT=0 (a quit ends a demo well)"
has_re "run [0-9a-f-]+ aborted" || fail "the summary after the console does not say the run was aborted"
has_re "copy +failed|copy +pending|copy +running" || fail "the summary does not list the copy step"
log "exited: $(cat "$E2E_TMP/exit")"

for port in "$SRC_PORT" "$DST_PORT"; do
    ! answers "$port" || fail "a server still answers on the demo's port $port after ferry exited"
    procs=$(redis_procs_on "$port")
    [ -z "$procs" ] || fail "redis-server still running on the demo's port $port: $(ps -o pid=,args= -p "$(tr '\n' ',' <<<"$procs" | sed 's/,$//')")"
done
left=$(ls -A "$E2E_TMP/tmpdir")
[ -z "$left" ] || fail "the demo left temp dirs behind in its TMPDIR: $left"

log "PASS"
