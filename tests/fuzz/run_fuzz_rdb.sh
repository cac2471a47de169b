#!/usr/bin/env bash
# Runs fuzz_rdb briefly on seeds made from real snapshots, as a ctest entry.
#
#   run_fuzz_rdb.sh FUZZER WORKDIR [SECONDS]
#
# Starts one redis-server of its own (unix socket only, in WORKDIR), saves
# three snapshots (empty; every type small; every type large, LZF on), stops
# exactly that server, and gives the fuzzer those snapshots as its seed
# corpus, each prefixed with mode bytes (whole reads, 1-byte reads, $EOF:
# framing, unknown size with keys skipped), plus a few DUMP payloads of sets
# and hashes for the element decoder. Fails on any crash, sanitizer
# report, timeout or leak; the reproducer is left in WORKDIR.
set -euo pipefail
fuzzer=$1
work=$2
secs=${3:-15}
server=${FERRY_REDIS_SERVER:-redis-server}
command -v "$server" >/dev/null || { echo "fuzz_rdb: $server not found: install redis-server (apt-get install redis-server)" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "fuzz_rdb: redis-cli not found: install redis-tools" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work/corpus" "$work/server"
sock="$work/server/redis.sock"
"$server" --port 0 --unixsocket "$sock" --dir "$work/server" --save '' --appendonly no \
          --logfile "$work/server/log" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  redis-cli -s "$sock" PING >/dev/null 2>&1 && break
  sleep 0.1
done
cli() { redis-cli -s "$sock" "$@" >/dev/null; }

n=0
seed() { # snapshot the server as seed n, under several mode bytes
  cli SAVE
  for mode in 00 01 20 53; do
    printf "\\x$mode" > "$work/corpus/seed-$n-$mode"
    cat "$work/server/dump.rdb" >> "$work/corpus/seed-$n-$mode"
  done
  n=$((n + 1))
}

seed # empty
cli SET s hello
cli SET i 12345
cli SET e ""
cli RPUSH l a b c 1 2
cli SADD si 1 2 3
cli SADD ss a b c
cli ZADD z 1 a 2.5 b inf c
cli HSET h f1 v1 f2 v2
cli XADD x 1-1 f v
cli XADD x 2-1 f v2
cli XGROUP CREATE x g 0
cli XREADGROUP GROUP g c1 COUNT 1 STREAMS x '>'
cli PEXPIRE s 100000000
cli -n 2 SET other-db v
cli FUNCTION LOAD "#!lua name=lib
redis.register_function('f', function() return 1 end)"
seed # every type, small encodings
for i in $(seq 200); do echo "RPUSH biglist item-$i-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; echo "SADD bigset m$i"; \
  echo "ZADD bigz $i m$i"; echo "HSET bigh f$i value-$i-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"; done \
  | redis-cli -s "$sock" >/dev/null
cli SET compressible "$(printf 'z%.0s' $(seq 300))"
seed # large encodings, LZF strings
for k in si ss h bigset bigh; do # DUMP payloads, for the set/hash decoder (mode 0xff)
  printf '\xff' > "$work/corpus/payload-$k"
  redis-cli -s "$sock" --raw DUMP "$k" | head -c -1 >> "$work/corpus/payload-$k"
done

kill "$pid"
wait "$pid" 2>/dev/null || true
trap - EXIT

echo "fuzz_rdb: $(ls "$work/corpus" | wc -l) seeds from real snapshots; fuzzing for ${secs}s"
# -timeout: one input taking over 5 s is a hang; leaks are reported (ASan).
# nice: ctest runs other tests beside this one; they keep their share of CPU.
exec nice -n 10 "$fuzzer" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -max_len=65536 \
     -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus"
