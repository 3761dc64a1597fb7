#!/usr/bin/env bash
# Start the services the test suite talks to, if they are not already up:
# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. The registry is
# started per test session by the tests themselves (tests/registry.py).
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
if ! (echo PING | timeout 2 redis-cli -h 127.0.0.1 -p 6379 2>/dev/null | grep -q PONG); then
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  fi
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
  sleep 1
done
