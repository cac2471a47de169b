# bench/lib.sh — what the bench scripts share; sourced by bench/run.sh and
# bench/follow.sh, not run on its own.
#
# It owns the script's processes and its temp dir: `bench_setup` makes the dir
# and installs the exit trap; `start_server` starts a private redis-server on a
# free 127.0.0.1 port and `bench_track` records any other process the script
# starts in the background. On exit — normal, error or Ctrl-C — exactly those
# pids are stopped (the last started first) and the dir is removed.
#
# The sourcing script sets BENCH_NAME (for messages), REPO and BUILD_DIR (empty:
# look it up) before calling bench_find_build and bench_need_tools.

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

# bench_usage: the sourcing script's header comment, as its --help.
bench_usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

# bench_common_option ARGS...: the options every bench script takes (--keys,
# --seed, --no-big-keys/--big-keys, --build-dir, --help), into KEYS, SEED, BIG
# and BUILD_DIR. Sets COMMON_SHIFT to the arguments used, 0 when "$1" is not
# one of them. bench_check_common validates what they set.
bench_common_option() {
    COMMON_SHIFT=0
    case "$1" in
    --keys) [ $# -ge 2 ] || die "--keys needs a value"; KEYS=$2; COMMON_SHIFT=2 ;;
    --seed) [ $# -ge 2 ] || die "--seed needs a value"; SEED=$2; COMMON_SHIFT=2 ;;
    --no-big-keys) BIG=0; COMMON_SHIFT=1 ;;
    --big-keys) BIG=1; COMMON_SHIFT=1 ;;
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a value"; BUILD_DIR=$2; COMMON_SHIFT=2 ;;
    -h|--help) bench_usage; exit 0 ;;
    esac
}

bench_check_common() {
    [[ $KEYS =~ ^[0-9]+$ ]] || die "--keys '$KEYS' is not a count"
    [[ $SEED =~ ^[0-9]+$ ]] || die "--seed '$SEED' is not a number"
}

# bench_find_build: sets BUILD_DIR (the first of build, build* holding ferry,
# ferry-gen and ferry-respdump, unless given) and FERRY, GEN, RESPDUMP.
bench_find_build() {
    local d b
    if [ -z "$BUILD_DIR" ]; then
        for d in "$REPO/build" "$REPO"/build*; do
            if [ -x "$d/ferry" ] && [ -x "$d/bench/ferry-gen" ] && [ -x "$d/bench/ferry-respdump" ]; then
                BUILD_DIR=$d
                break
            fi
        done
    fi
    [ -n "$BUILD_DIR" ] || die "no build with ferry, ferry-gen and ferry-respdump found: run 'cmake -S $REPO -B $REPO/build && cmake --build $REPO/build' or pass --build-dir DIR"
    FERRY=$BUILD_DIR/ferry
    GEN=$BUILD_DIR/bench/ferry-gen
    RESPDUMP=$BUILD_DIR/bench/ferry-respdump
    for b in "$FERRY" "$GEN" "$RESPDUMP"; do
        [ -x "$b" ] || die "$b is missing: build it (cmake --build $BUILD_DIR)"
    done
}

# bench_need_tools [EXTRA...]: redis-server (or $FERRY_REDIS_SERVER), redis-cli,
# each EXTRA command (from redis-tools), and /usr/bin/time — installed with apt
# when missing and running as root. Sets REDIS_SERVER.
bench_need_tools() {
    local t
    REDIS_SERVER=${FERRY_REDIS_SERVER:-redis-server}
    command -v "$REDIS_SERVER" >/dev/null || die "redis-server not found: apt-get install redis-server, or set FERRY_REDIS_SERVER"
    for t in redis-cli "$@"; do
        command -v "$t" >/dev/null || die "$t not found: apt-get install redis-tools"
    done
    if [ ! -x /usr/bin/time ]; then
        echo "$BENCH_NAME: /usr/bin/time is missing; installing the 'time' package" >&2
        if [ "$(id -u)" = 0 ]; then
            apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq time >/dev/null 2>&1; } || true
        fi
        [ -x /usr/bin/time ] || die "/usr/bin/time is needed for the peak RSS: apt-get install time"
    fi
}

# ---- processes: started here, stopped here, by pid ----
PIDS=()

# bench_track PID: stop PID on exit too.
bench_track() { PIDS+=("$1"); }

bench_cleanup() {
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill "${PIDS[$i]}" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}

# bench_setup: makes TMP and installs the traps.
bench_setup() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server NAME: sets PORT and appends the pid to PIDS.
start_server() {
    local name=$1 pid p
    mkdir -p "$TMP/$name"
    for _ in 1 2 3 4 5; do
        p=$((20000 + RANDOM % 30000))
        port_free "$p" || continue
        "$REDIS_SERVER" --port "$p" --bind 127.0.0.1 --dir "$TMP/$name" --save '' \
            --appendonly no --daemonize no --logfile "$TMP/$name/redis.log" &
        pid=$!
        PIDS+=("$pid")
        for _ in $(seq 1 100); do
            # Only our own server will do: another one may have taken the port
            # between the check and the start (then ours exits).
            if [ "$(redis-cli -p "$p" info server 2>/dev/null | tr -d '\r' |
                    awk -F: '$1=="process_id"{print $2}')" = "$pid" ]; then
                PORT=$p
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    die "could not start redis-server for the $name (see $TMP/$name/redis.log)"
}

# info_field PORT SECTION FIELD: one field of INFO SECTION.
info_field() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1==f {print $2}'; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print "n/a" }'; }
dbsize() { redis-cli -p "$1" dbsize; }

# print_machine SRC_PORT DST_PORT: the servers' version and the machine.
print_machine() {
    VERSION=$(info_field "$1" server redis_version)
    echo "servers: redis $VERSION, source 127.0.0.1:$1, target 127.0.0.1:$2, temp dir $TMP"
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"
}
