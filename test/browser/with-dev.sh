#!/usr/bin/env bash
# CI: start `npm run dev` in the background, wait until the API answers /health, run
# `npm run test:browser` against it, then stop what was started (only that process group).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

url="http://127.0.0.1:8787"
log="$(mktemp -t browser-dev.XXXXXX.log)"
ready_timeout="${BROWSER_DEV_READY_TIMEOUT:-180}"

setsid npm run dev >"$log" 2>&1 &
dev_pid=$!

stop() {
  if kill -0 "$dev_pid" 2>/dev/null; then
    kill -TERM -- "-$dev_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$dev_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$dev_pid" 2>/dev/null || true
  fi
}
trap stop EXIT

echo "==> waiting for $url/health (npm run dev, log in $log)"
deadline=$((SECONDS + ready_timeout))
until curl -fsS "$url/health" >/dev/null 2>&1; do
  if ! kill -0 "$dev_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "npm run dev did not come up:" >&2
    tail -n 50 "$log" >&2
    exit 1
  fi
  sleep 1
done

BASE_URL="$url" npm run --silent test:browser
