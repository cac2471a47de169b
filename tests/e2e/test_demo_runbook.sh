# test_demo_runbook — `ferry demo` opens runbooks/demo in the console; the
# operator walks it with the keyboard at 120×40: Enter passes the pause
# step's confirm gate, c the copy's, the copy runs and each step's state
# changes to done (the Consumer groups panel samples the demo's streams; o
# sorts them by lag), Enter passes the manual switch-app step, the run ends
# DONE and q leaves without a question. Then: exit 0, the demo's servers
# gone, their temp dirs (and the demo's journal in them) removed.
#
#   FERRY_BIN=build/ferry FERRY_SOURCE_DIR=. bash tests/e2e/test_demo_runbook.sh

source "$(dirname "$0")/lib.sh"

start_demo 120 40 LC_ALL=C.UTF-8 -- --keys 20000

# ---- preflight runs by itself; the pause step waits -------------------
wait_for "the pause step to wait for its gate" 40 waiting_for pause
note_servers
for id in preflight pause copy verify switch-app unpause; do
    [ -n "$(step_row "$id")" ] || fail "the Runbook panel does not list step $id"
done
step_is preflight done || fail "preflight is not done when the pause step waits"
for id in copy verify switch-app unpause; do
    step_is "$id" pending || fail "step $id is not pending before its turn: $(step_row "$id")"
done
status_has WAITING || fail "the status bar does not say WAITING at a gate"
has "Enter confirm" || fail "no \"Enter confirm\" hint while a confirm gate waits"
has "no copy running" || fail "the copy panels do not say \"no copy running\" before the copy step"
has_re "step 2/6" || fail "the Runbook panel does not say step 2/6"

# ---- the consumer groups of the demo's streams, sampled within 20 cmd/s --
wait_for "the Consumer groups panel to show the source's pending" 20 has_re "source  pending [0-9.]+[kM]?  lag"
has_re "─ Consumer groups ─+ by pending · 20/s ─" || fail "the Consumer groups panel does not say its order and budget"
keys o
wait_for "o to sort the groups by lag" 5 has_re "─ Consumer groups ─+ by lag · 20/s ─"
has "o sort groups" || fail "the hint line does not offer o"

# ---- Enter: the pause gate passes; c: the copy's --------------------------
keys Enter
wait_for "the pause step to be done" 15 step_is pause done
wait_for "the copy step to wait for its gate" 15 waiting_for copy
has "confirm gate passed by" || fail "the log does not record the pause gate"
keys c
wait_for "the copy step to run or finish" 15 has_re "^ [^ ]* *(running|done) +copy "
log "copy started"
SRC_PORT=$(server_port source)
DST_PORT=$(server_port target)

# ---- the copy finishes, verify runs, switch-app waits -------------------
wait_for "the copy to be done" 60 step_is copy done
wait_for "verify to be done" 30 step_is verify done
wait_for "the switch-app step to wait" 15 waiting_for switch-app
has "counts match" || fail "the log does not show verify's result"
[ -n "$SRC_PORT" ] || SRC_PORT=$(server_port source)
[ -n "$DST_PORT" ] || DST_PORT=$(server_port target)
[ -n "$SRC_PORT" ] && [ -n "$DST_PORT" ] || fail "no source/target redis://127.0.0.1:PORT in the Servers panel"

# ---- a, then n: nothing happens ------------------------------------------
keys a
wait_for "the abort question" 5 has "Abort the run?"
keys n
wait_for "the abort question to close" 5 lacks "Abort the run?"
holds "the run moved on after an abort was declined" 1 waiting_for switch-app

# ---- Enter: the last gate; unpause runs; DONE ---------------------------
keys Enter
wait_for "every step done" 20 step_is unpause done
wait_for "DONE in the status bar" 10 status_has DONE
for id in preflight pause copy verify switch-app unpause; do
    step_is "$id" done || fail "step $id is not done at the end: $(step_row "$id")"
done
has "6/6 steps done" || fail "the status bar does not say 6/6 steps done"

# ---- q: no question once the run has ended ---------------------------------
keys q
wait_for "ferry to exit after q" 30 exited
capture
[ "$(cat "$E2E_TMP/exit")" = "EXIT=0" ] || fail "ferry demo exited with $(cat "$E2E_TMP/exit"), expected EXIT=0"
has_re "run [0-9a-f-]+ done" || fail "the summary after the console does not say the run is done"
log "exited: $(cat "$E2E_TMP/exit")"

for port in "$SRC_PORT" "$DST_PORT"; do
    ! answers "$port" || fail "a server still answers on the demo's port $port after ferry exited"
    procs=$(redis_procs_on "$port")
    [ -z "$procs" ] || fail "redis-server still running on the demo's port $port (pids $procs)"
done
left=$(ls -A "$E2E_TMP/tmpdir")
[ -z "$left" ] || fail "the demo left temp dirs behind in its TMPDIR: $left"

log "PASS"
