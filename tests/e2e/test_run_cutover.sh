# test_run_cutover — `ferry run runbooks/replica-cutover` on a terminal: the
# console with the runbook panel, over two redis-servers of the test's own,
# at 120×40. The operator passes the confirm gates with Enter, watches the
# Replication panel (link up, offsets side by side), types a wrong phrase
# at promote's typed gate (refused, nothing runs), then the right one,
# skips switch-app with a typed reason, and leaves the finished run with q.
# Then: exit 0, the target is a primary with the source's keys, the journal
# records the refused phrase and the skip with its reason.
#
#   FERRY_BIN=build/ferry FERRY_SOURCE_DIR=. bash tests/e2e/test_run_cutover.sh

source "$(dirname "$0")/lib.sh"

: "${FERRY_SOURCE_DIR:?set FERRY_SOURCE_DIR to the repository}"
start_redis source
SRC=$REDIS_PORT
start_redis target
DST=$REDIS_PORT
for i in $(seq 1 50); do redis-cli -p "$SRC" set "key:$i" "v$i" >/dev/null; done
JOURNAL="$E2E_TMP/journal.jsonl"
PHRASE="127.0.0.1:$DST/0"

FERRY_SUB=run
start_ferry 120 40 LC_ALL=C.UTF-8 -- "$FERRY_SOURCE_DIR/runbooks/replica-cutover" \
    --source "redis://127.0.0.1:$SRC" --target "redis://127.0.0.1:$DST" --journal "$JOURNAL"

# ---- replicate waits; Enter ------------------------------------------------
wait_for "the replicate step to wait for its gate" 20 waiting_for replicate
step_is preflight done || fail "preflight is not done when replicate waits"
has "not part of this run" || fail "the Replication panel is not empty before a replication step"
keys Enter

# ---- wait-sync watches: the Replication panel fills ----------------------
wait_for "the check step to wait (wait-sync done)" 60 waiting_for check
step_is wait-sync done || fail "wait-sync is not done"
has_re "─ Replication ─+ wait-sync ended ─" || fail "the Replication panel does not say wait-sync ended"
has "link up" || fail "the Replication panel does not show the link up"
has_re "source [0-9]+ │ target [0-9]+" || fail "the Replication panel does not show both offsets"
keys Enter
wait_for "the pause step to wait" 15 waiting_for pause
keys Enter

# ---- promote: a typed gate ------------------------------------------------
wait_for "the promote step to wait for its phrase" 40 waiting_for promote
step_is wait-offset done || fail "wait-offset is not done"
has "Enter type phrase" || fail "the hint line does not say Enter types the phrase"
keys Enter
wait_for "the phrase input" 5 has "Type to confirm"
has "Type $PHRASE" || fail "the input does not say which phrase to type"
keys -l "127.0.0.1:1/0"
wait_for "the typed text shown" 5 has "> 127.0.0.1:1/0_"
keys Enter
wait_for "the wrong phrase refused" 5 has "that is not the phrase; nothing was started"
step_is promote waiting || fail "promote is not waiting after a wrong phrase"
[ "$(redis-cli -p "$DST" info replication | tr -d '\r' | grep '^role:')" = "role:slave" ] ||
    fail "the target was promoted after a wrong phrase"
keys -l "$PHRASE"
keys Enter
wait_for "promote done" 20 step_is promote done
[ "$(redis-cli -p "$DST" info replication | tr -d '\r' | grep '^role:')" = "role:master" ] ||
    fail "the target is not a primary after promote"

# ---- s: skip switch-app with a reason --------------------------------------
wait_for "switch-app to wait" 10 waiting_for switch-app
keys s
wait_for "the skip reason input" 5 has "Skip step switch-app"
keys Enter
wait_for "an empty reason refused" 5 has "say why"
keys -l "e2e: no application here"
keys Enter
wait_for "switch-app skipped" 10 step_is switch-app skipped
wait_for "unpause done and the run DONE" 20 status_has DONE
step_is unpause done || fail "unpause is not done"

keys q
wait_for "ferry to exit after q" 20 exited
capture
[ "$(cat "$E2E_TMP/exit")" = "EXIT=0" ] || fail "ferry run exited with $(cat "$E2E_TMP/exit"), expected EXIT=0"
has "skipped: e2e: no application here" || fail "the summary does not show the skip's reason"
[ "$(redis-cli -p "$DST" dbsize)" = "50" ] || fail "the target does not have the source's 50 keys"
grep -q '"gate-refused"' "$JOURNAL" || fail "the journal does not record the refused phrase"
grep -q 'e2e: no application here' "$JOURNAL" || fail "the journal does not record the skip's reason"

log "PASS"
