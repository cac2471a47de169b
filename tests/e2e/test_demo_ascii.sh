# test_demo_ascii — `NO_COLOR=1 ferry demo --ascii` at 100×30, in a UTF-8
# locale (so that --ascii, not the locale, is what keeps Unicode out): every
# screen is plain ASCII — main screen, help, quit question — with no colour
# at all, every panel is there, and q, y exits 0 with the servers gone.
#
#   FERRY_BIN=build/ferry FERRY_SOURCE_DIR=. bash tests/e2e/test_demo_ascii.sh

source "$(dirname "$0")/lib.sh"

# Non-ASCII bytes in the last capture, as "line: text" (empty when none).
non_ascii() { LC_ALL=C grep -nP '[^\x00-\x7F]' <<<"$SCREEN"; }
ascii_only() {
    local bad
    bad=$(non_ascii)
    [ -z "$bad" ] || fail "$1 is not plain ASCII; lines with other bytes:
$bad"
}
# SGR colour parameters in a capture with escapes (-e): 30-37, 38;…, 40-47,
# 48;…, 90-97, 100-107. 39 and 49 (the terminal's own colours) are fine.
colours() {
    tm capture-pane -p -e -t e2e | grep -oE $'\e\\[[0-9;]*m' |
        grep -E '[[;](3[0-8]|4[0-8]|9[0-7]|10[0-7])(;|m)'
}

start_demo 100 30 NO_COLOR=1 LC_ALL=C.UTF-8 -- --ascii --keys 200000

wait_for "the pause step to wait for its gate" 40 waiting_for pause
ascii_only "the runbook waiting at a gate"
keys Enter
wait_for "the copy step to wait for its gate" 15 waiting_for copy
keys Enter
wait_for "the throughput panel to show a non-zero keys rate" 40 rate_nonzero
note_servers
log "copy running: keys $(keys_rate)/s, copied $(copied_text)"
wait_for "every panel title, the status bar and the key hints at 100×30" 10 sane_screen 100 30
wait_for "a non-zero copied count" 10 copied_nonzero
for title in Throughput Workers Servers Log Runbook "Consumer groups" Replication; do
    has "- $title -" || fail "no ASCII panel title \"- $title -\""
done
ascii_only "the main screen"
has " -> " || fail "the status bar's title has no ASCII arrow (->)"
# (the "step copy confirmed" message takes room in the hint line for 4 s)
wait_for "the key hints with ASCII arrows (^v scroll)" 10 has "^v scroll"
has_re '#+\.+ +[0-9.]+%' || fail "the progress bar is not drawn with # and ."
c=$(colours)
[ -z "$c" ] || fail "NO_COLOR is set, yet the screen has colours: $(tr '\n\e' ' ^' <<<"$c")"

# 1k keys/s from here on: the copy still runs when q asks its question
for limit in 10k 5k 2k 1k; do
    keys '['
    wait_for "the status bar to show limit $limit/s" 10 status_has "limit $limit/s"
done
ascii_only "the screen with a message in the hint line"

SRC_PORT=$(server_port source)
DST_PORT=$(server_port target)
[ -n "$SRC_PORT" ] && [ -n "$DST_PORT" ] || fail "no source/target redis://127.0.0.1:PORT in the Servers panel"
answers "$SRC_PORT" && answers "$DST_PORT" || fail "no PONG on the ports read from the screen ($SRC_PORT, $DST_PORT)"
log "source :$SRC_PORT, target :$DST_PORT"

keys '?'
wait_for "the help overlay" 5 has "+- Keys -"
ascii_only "the help overlay"
has "theme mono | ASCII (NO_COLOR)" || fail "the help's footer does not say mono, ASCII, NO_COLOR"
keys x
wait_for "the help to close" 5 lacks "+- Keys -"

# the too-small message, in ASCII
resize 70 20
wait_for "\"terminal too small\" at 70×20" 10 has "terminal too small (needs 80x24"
ascii_only "the too-small message"
resize 100 30
wait_for "the full screen again at 100×30" 10 sane_screen 100 30

keys q
wait_for "the quit question" 5 has "Abort the run and quit?"
ascii_only "the quit question"
keys y
wait_for "ferry to exit after q, y" 30 exited
[ "$(cat "$E2E_TMP/exit")" = "EXIT=0" ] || fail "ferry demo exited with $(cat "$E2E_TMP/exit"), expected EXIT=0"
log "exited: $(cat "$E2E_TMP/exit")"

for port in "$SRC_PORT" "$DST_PORT"; do
    ! answers "$port" || fail "a server still answers on the demo's port $port after ferry exited"
    procs=$(redis_procs_on "$port")
    [ -z "$procs" ] || fail "redis-server still running on the demo's port $port (pids $procs)"
done
left=$(ls -A "$E2E_TMP/tmpdir")
[ -z "$left" ] || fail "the demo left temp dirs behind in its TMPDIR: $left"

log "PASS"
