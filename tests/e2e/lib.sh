# lib.sh — what the e2e tests share; sourced, not run (ctest runs test_*.sh).
#
# Like tmux's regress/*.sh: the real binary in a private tmux server, keys
# with send-keys, the screen read back with capture-pane. Every wait polls a
# condition every 0.2 s up to a deadline; a sleep is never the check.
#
# Each test gets its own tmux server (socket ferry-e2e-$$), its own temp dir
# (also TMPDIR of the ferry under test, so the demo's server dirs land there
# and their removal can be checked), and a trap that stops exactly what the
# test started: that tmux server, the ferry it runs, and ferry's
# redis-servers if ferry could not stop them itself.
#
# Environment: FERRY_BIN (the binary under test), FERRY_SOURCE_DIR (repo).

set -u

: "${FERRY_BIN:?set FERRY_BIN to the ferry binary under test}"
E2E_NAME=$(basename "$0" .sh)

for tool in tmux redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$E2E_NAME: FAIL: $tool is not installed (run .ci/deps.sh)" >&2
        exit 1
    fi
done
# The tests pick their locale (C.UTF-8: the Unicode console, unless --ascii).
if [ "$(LC_ALL=C.UTF-8 locale charmap 2>/dev/null)" != "UTF-8" ]; then
    echo "$E2E_NAME: FAIL: the C.UTF-8 locale is missing here (locale -a)" >&2
    exit 1
fi
# The checks themselves read the screen as UTF-8 too: grep -E '─+' means
# "one or more box-drawing characters" only in a UTF-8 locale (CI may run
# with no locale at all).
export LC_ALL=C.UTF-8
if [ ! -x "$FERRY_BIN" ]; then
    echo "$E2E_NAME: FAIL: FERRY_BIN=$FERRY_BIN is not an executable" >&2
    exit 1
fi

E2E_SOCK=ferry-e2e-$$
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-e2e.XXXXXX")
mkdir "$E2E_TMP/tmpdir"
E2E_T0=${EPOCHREALTIME//[.,]/}
SCREEN=""         # the last capture
FERRY_PID=""      # the ferry under test, once known
TMUX_PID=""       # our tmux server
TMUX_SOCKET=""    # and its socket file (tmux leaves it behind)
REDIS_PIDS=""     # ferry's redis-servers, once known
OWN_REDIS_PIDS="" # the test's own redis-servers (start_redis)
E2E_WATCHDOG=""   # the subshell that enforces E2E_LIMIT

tm() { tmux -L "$E2E_SOCK" -f /dev/null "$@"; }

now_ms() { local t=${EPOCHREALTIME//[.,]/}; echo $((t / 1000)); }

elapsed() { local t=${EPOCHREALTIME//[.,]/}; printf '%d.%01ds' $(((t - E2E_T0) / 1000000)) $(((t - E2E_T0) / 100000 % 10)); }

log() { echo "$E2E_NAME [$(elapsed)]: $*"; }

capture() { SCREEN=$(tm capture-pane -p -t e2e 2>/dev/null) || SCREEN="(capture-pane failed: is the tmux server gone?)"; }

fail() {
    echo "$E2E_NAME: FAIL after $(elapsed): $*" >&2
    echo "---- last screen ($(tm display -p -t e2e '#{window_width}x#{window_height}' 2>/dev/null || echo '?')) ----" >&2
    printf '%s\n' "$SCREEN" >&2
    echo "---- end of screen ----" >&2
    [ -s "$E2E_TMP/exit" ] && echo "exit file: $(cat "$E2E_TMP/exit")" >&2
    exit 1
}

# wait_for WHAT SECONDS COMMAND...: captures the screen and runs COMMAND
# every 0.2 s until it succeeds; fails with WHAT after SECONDS.
wait_for() {
    local what=$1 secs=$2
    shift 2
    local deadline=$(($(now_ms) + secs * 1000))
    for ((;;)); do
        capture
        if "$@"; then return 0; fi
        [ "$(now_ms)" -ge "$deadline" ] && fail "waited ${secs}s for $what"
        sleep 0.2
    done
}

# holds WHAT SECONDS COMMAND...: COMMAND must stay true on every capture for
# SECONDS (0.2 s apart); fails with WHAT the first time it is not.
holds() {
    local what=$1 secs=$2
    shift 2
    local deadline=$(($(now_ms) + secs * 1000))
    for ((;;)); do
        capture
        "$@" || fail "$what"
        [ "$(now_ms)" -ge "$deadline" ] && return 0
        sleep 0.2
    done
}

# ---- reading the screen ------------------------------------------------

has() { grep -qF -- "$1" <<<"$SCREEN"; }
has_re() { grep -qE -- "$1" <<<"$SCREEN"; }
lacks() { ! has "$1"; }
count() { grep -cF -- "$1" <<<"$SCREEN"; }
status_line() { head -n 1 <<<"$SCREEN"; }
status_has() { grep -qF -- "$1" <<<"$(status_line)"; }

# "19.9k" → 19900 (the console's util_fmt_count); empty for anything else.
to_number() {
    awk -v s="$1" 'BEGIN {
        m = 1; u = substr(s, length(s));
        if (u == "k") m = 1e3; else if (u == "M") m = 1e6; else if (u == "G") m = 1e9;
        if (m > 1) s = substr(s, 1, length(s) - 1);
        if (s !~ /^[0-9]+(\.[0-9]+)?$/) exit;
        printf "%.0f\n", s * m }'
}

# The throughput panel's keys rate ("keys       19.9k/s"), as a number.
keys_rate() { to_number "$(grep -oE '^ keys +[0-9.]+[kMG]?/s' <<<"$SCREEN" | head -n 1 | grep -oE '[0-9.]+[kMG]?')"; }
# The throughput panel's "copied N", as shown ("56.0k").
copied_text() { grep -oE 'copied [0-9.]+[kMG]?' <<<"$SCREEN" | head -n 1 | cut -d' ' -f2; }
copied() { to_number "$(copied_text)"; }

rate_nonzero() { local r; r=$(keys_rate); [ -n "$r" ] && [ "$r" -gt 0 ]; }
rate_zero() { [ "$(keys_rate)" = "0" ]; }
copied_nonzero() { local c; c=$(copied); [ -n "$c" ] && [ "$c" -gt 0 ]; }

# Every panel title, the status bar on top, the key hints at the bottom,
# the whole screen WxH, and no "too small".
sane_screen() {
    local w=$1 h=$2 title
    for title in Throughput Workers Servers Log Runbook "Consumer groups" Replication; do
        has_re "[-─] $title [-─]" || return 1
    done
    grep -qE '^ ferry +(RUNNING|PAUSED|WAITING|DONE|STOPPED|STOPPING|ABORTED)' <<<"$(status_line)" || return 1
    grep -qE '\? help +q quit' <<<"$(tail -n 1 <<<"$SCREEN")" || return 1
    lacks "too small" || return 1
    [ "$(wc -l <<<"$SCREEN")" -eq "$h" ] || return 1
    [ "$(tm display -p -t e2e '#{window_width}x#{window_height}')" = "${w}x${h}" ]
}

resize() { tm resize-window -t e2e -x "$1" -y "$2" || fail "tmux resize-window -x $1 -y $2 failed"; }
keys() { tm send-keys -t e2e "$@" || fail "tmux send-keys $* failed"; }

# ---- the runbook -------------------------------------------------------

# The Runbook panel's row of step ID: "✓ done    preflight  Check both…".
# (The mark is one cell but may be several bytes: any non-blank run.)
step_row() { grep -E "^ [^ ]* *[a-z]+ +$1 " <<<"$SCREEN" | head -n 1; }
# step_is ID STATE: the row of step ID shows STATE (done, waiting, running…).
step_is() { grep -qE "^ [^ ]* *$2 +$1 " <<<"$SCREEN"; }
waiting_for() { step_is "$1" waiting && has "waiting for you"; }

# ---- servers -----------------------------------------------------------

# The demo's two ports, from the Servers panel ("source redis://127.0.0.1:P").
server_port() { grep -oE "$1 redis://127\.0\.0\.1:[0-9]+" <<<"$SCREEN" | head -n 1 | grep -oE '[0-9]+$'; }

# redis-server processes whose command line names 127.0.0.1:PORT or --port PORT.
redis_procs_on() {
    ps -eo pid=,args= | awk -v p="$1" '
        $0 ~ /redis-server/ && ($0 ~ ("127\\.0\\.0\\.1:" p "( |$)") || $0 ~ ("--port " p "( |$)")) { print $1 }'
}

answers() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]; }

exited() { [ -s "$E2E_TMP/exit" ]; }

# start_redis NAME: a redis-server of the test's own on a free loopback port,
# in its own dir under E2E_TMP; sets REDIS_PORT and records it for the
# cleanup (stopped there, exactly that pid).
start_redis() {
    local dir="$E2E_TMP/redis-$1" port pid try
    mkdir -p "$dir"
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + RANDOM % 20000))
        answers "$port" && continue
        redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
            --logfile "$dir/log" >/dev/null 2>&1 &
        pid=$!
        local deadline=$(($(now_ms) + 5000))
        while ! answers "$port" && kill -0 "$pid" 2>/dev/null && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
        if answers "$port"; then
            OWN_REDIS_PIDS="$OWN_REDIS_PIDS $pid:$port"
            REDIS_PORT=$port
            return 0
        fi
        kill "$pid" 2>/dev/null
    done
    fail "could not start a redis-server for $1 (see $dir/log)"
}

# ---- start and clean up ------------------------------------------------

# start W H ENV... -- ARGS...: `env ENV... ferry demo ARGS...` in a new
# detached session of our tmux server, at W×H. The pane stays after ferry
# exits (remain-on-exit), so that its last words can be read back.
start_demo() {
    FERRY_SUB=demo start_ferry "$@"
}

# start_ferry W H ENV... -- ARGS...: the same for `ferry $FERRY_SUB ARGS...`
# (FERRY_SUB: the subcommand, e.g. run; it also names ferry's process for
# the cleanup).
FERRY_SUB=demo
start_ferry() {
    local w=$1 h=$2 envs=() args=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    args=("$@")
    local cmd
    cmd="env TMPDIR=$(printf %q "$E2E_TMP/tmpdir") ${envs[*]:+$(printf '%q ' "${envs[@]}")}$(printf %q "$FERRY_BIN") $FERRY_SUB$(printf ' %q' "${args[@]}"); echo EXIT=\$? > $(printf %q "$E2E_TMP/exit")"
    log "starting at ${w}x${h}: $cmd"
    tm new-session -d -s e2e -x "$w" -y "$h" "$cmd" \; set-option -g remain-on-exit on \
        || fail "could not start a tmux server (tmux -L $E2E_SOCK)"
    TMUX_PID=$(tm display -p '#{pid}')
    TMUX_SOCKET=$(tm display -p '#{socket_path}')
    local pane_pid
    pane_pid=$(tm display -p -t e2e '#{pane_pid}')
    # the pane runs sh -c "…; echo"; ferry is its child
    local deadline=$(($(now_ms) + 10000))
    while [ -z "$FERRY_PID" ]; do
        FERRY_PID=$(ps -o pid= --ppid "$pane_pid" 2>/dev/null | head -n 1 | tr -d ' ')
        [ -n "$FERRY_PID" ] && break
        exited && break
        [ "$(now_ms)" -ge "$deadline" ] && fail "ferry did not start under tmux"
        sleep 0.2
    done
}

# Records ferry's redis-server children as pid:port, so that the trap can
# stop them should ferry not do it.
note_servers() {
    [ -n "$FERRY_PID" ] || return 0
    local pid comm
    while read -r pid comm; do
        case "$comm" in redis-server*) ;; *) continue ;; esac
        local port
        port=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -oE '(127\.0\.0\.1:|--port )[0-9]+' | head -n 1 | grep -oE '[0-9]+$')
        [ -n "$port" ] || continue
        case " $REDIS_PIDS " in *" $pid:$port "*) ;; *) REDIS_PIDS="$REDIS_PIDS $pid:$port" ;; esac
    done < <(ps -o pid=,comm= --ppid "$FERRY_PID" 2>/dev/null)
}

# pid is alive and its command line still contains the pattern (a pid may be
# reused once its process is gone: never signal a stranger).
alive_as() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM USR1
    if [ -n "$E2E_WATCHDOG" ]; then
        pkill -P "$E2E_WATCHDOG" sleep 2>/dev/null # exactly the watchdog's own sleep
        kill "$E2E_WATCHDOG" 2>/dev/null
    fi
    alive_as "$FERRY_PID" "$FERRY_SUB" && note_servers
    # Killing our tmux server hangs up ferry's terminal: ferry stops the copy
    # and its servers by itself. Give it a moment, then make sure.
    tm kill-server 2>/dev/null
    local deadline=$(($(now_ms) + 10000))
    while alive_as "$FERRY_PID" "$FERRY_SUB" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.2; done
    if alive_as "$FERRY_PID" "$FERRY_SUB"; then
        echo "$E2E_NAME: cleanup: ferry (pid $FERRY_PID) outlived its terminal; killing it" >&2
        kill -KILL "$FERRY_PID" 2>/dev/null
    fi
    local entry
    for entry in $REDIS_PIDS; do
        if alive_as "${entry%%:*}" ":${entry##*:}"; then
            echo "$E2E_NAME: cleanup: redis-server pid ${entry%%:*} (port ${entry##*:}) left behind; stopping it" >&2
            kill -TERM "${entry%%:*}" 2>/dev/null
        fi
    done
    for entry in $OWN_REDIS_PIDS; do
        alive_as "${entry%%:*}" ":${entry##*:}" && kill -TERM "${entry%%:*}" 2>/dev/null
    done
    alive_as "$TMUX_PID" "$E2E_SOCK" && kill -TERM "$TMUX_PID" 2>/dev/null
    case "$TMUX_SOCKET" in */"$E2E_SOCK") rm -f "$TMUX_SOCKET" ;; esac
    rm -rf "$E2E_TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The test's own deadline, well before ctest's TIMEOUT (which kills without
# a word, and would leave the daemonised tmux server and its ferry behind).
E2E_LIMIT=${E2E_LIMIT:-120}
( sleep "$E2E_LIMIT" && kill -USR1 $$ ) 2>/dev/null &
E2E_WATCHDOG=$!
trap 'capture; fail "gave up: the test ran longer than its ${E2E_LIMIT}s limit"' USR1
