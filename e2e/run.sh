#!/usr/bin/env bash
# Runs the end-to-end test (e2e/test.mjs) in headless Chromium.
#
# Without E2E_BASE_URL it starts the platform (`make run`, embedded PostgreSQL and Redis) on a free
# port, waits for /health, runs the test and stops the platform again. With E2E_BASE_URL it uses
# that running platform (E2E_REDIS_URL names its Redis when it is not this checkout's embedded one).
# Exits 0 when the test passes, non-zero otherwise. Bounded: about 1 minute, at most 4.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
HEALTH_TIMEOUT_S=${E2E_HEALTH_TIMEOUT_S:-100}
TEST_TIMEOUT_S=${E2E_TEST_TIMEOUT_S:-90}
STOP_TIMEOUT_S=40
PLATFORM_LOG="$HERE/platform.log"

say() { echo "[e2e] $*"; }

if [ ! -x "$CHROMIUM" ]; then
  say "no Chromium at $CHROMIUM: install it (apt-get install -y chromium) or set CHROMIUM."
  exit 2
fi
if ! command -v node >/dev/null; then
  say "Node.js is not installed."
  exit 2
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  say "installing playwright-core (npm ci)..."
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) || exit 2
fi

platform_pid=""
started_platform=""

stop_platform() {
  [ -n "$platform_pid" ] || return 0
  local pid=$platform_pid
  platform_pid=""
  if kill -0 -- "-$pid" 2>/dev/null; then
    say "stopping the platform (process group $pid)..."
    # Ctrl-C for `make run`: devstack stops its children and the embedded servers it started.
    kill -INT -- "-$pid" 2>/dev/null
    local waited=0
    while kill -0 -- "-$pid" 2>/dev/null && [ "$waited" -lt "$STOP_TIMEOUT_S" ]; do
      sleep 1
      waited=$((waited + 1))
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      say "the platform did not stop within ${STOP_TIMEOUT_S} s: killing it."
      kill -KILL -- "-$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  return 0
}
trap stop_platform EXIT
trap 'exit 130' INT TERM

started=$SECONDS
if [ -z "${E2E_BASE_URL:-}" ]; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export E2E_BASE_URL="http://127.0.0.1:$port"
  say "starting the platform on port $port (log: $PLATFORM_LOG)..."
  # setsid: the platform gets its own process group (its id is the pid), stopped as one.
  (cd "$ROOT" && PORT=$port exec setsid make run) >"$PLATFORM_LOG" 2>&1 &
  platform_pid=$!
  started_platform=1
  healthy=""
  while [ $((SECONDS - started)) -lt "$HEALTH_TIMEOUT_S" ]; do
    if ! kill -0 "$platform_pid" 2>/dev/null; then
      break
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$E2E_BASE_URL/health")" = "200" ]; then
      healthy=1
      break
    fi
    sleep 1
  done
  if [ -z "$healthy" ]; then
    if kill -0 "$platform_pid" 2>/dev/null; then
      say "the platform did not become healthy within ${HEALTH_TIMEOUT_S} s. Last lines of its log:"
    else
      say "the platform stopped before it became healthy. Last lines of its log:"
    fi
    tail -n 40 "$PLATFORM_LOG"
    curl -s --max-time 5 "$E2E_BASE_URL/health"; echo
    exit 1
  fi
  say "platform healthy after $((SECONDS - started)) s"
else
  say "using the running platform at $E2E_BASE_URL"
fi

CHROMIUM=$CHROMIUM timeout --kill-after=10 "$TEST_TIMEOUT_S" node "$HERE/test.mjs"
status=$?
if [ "$status" -eq 124 ]; then
  say "the browser test did not finish within ${TEST_TIMEOUT_S} s."
fi

stop_platform
if [ "$status" -eq 0 ]; then
  say "PASSED in $((SECONDS - started)) s; screenshots in $HERE/screenshots/"
else
  say "FAILED (exit $status) after $((SECONDS - started)) s; screenshots in $HERE/screenshots/"
  if [ -n "$started_platform" ]; then
    say "last lines of the platform log ($PLATFORM_LOG):"
    tail -n 30 "$PLATFORM_LOG"
  fi
fi
exit "$status"
