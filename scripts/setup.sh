#!/usr/bin/env bash
# Everything keelwatch needs on a fresh machine: uv, the Python environment, and the
# Debian packages the tests use as real components. Idempotent and quiet when done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv
fi
uv sync --frozen --quiet --compile-bytecode  # without it every command pays ~2 s compiling
# The editable source tree is not compiled by uv; with PYTHONDONTWRITEBYTECODE set, every
# command would recompile keelwatch's own modules (~0.2 s).
uv run --frozen --quiet python -m compileall -q src/keelwatch

# Debian packages: docker-registry (CNCF Distribution) for registry tests; rpm, rpmbuild,
# python3-rpm, db5.3-util and gnupg to make real rpm databases (sqlite, Berkeley DB) and
# check rpmvercmp; ruby (RubyGems) as the oracle of the gem cataloger and the RubyGems version order.
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v rpm >/dev/null 2>&1 || need+=(rpm)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # token-auth registry tests sign JWTs with it
command -v rpmbuild >/dev/null 2>&1 || need+=(rpm)
/usr/bin/python3 -c "import rpm" >/dev/null 2>&1 || need+=(python3-rpm)
command -v db5.3_load >/dev/null 2>&1 || need+=(db5.3-util)
command -v gpg >/dev/null 2>&1 || need+=(gnupg)
command -v gem >/dev/null 2>&1 || need+=(ruby)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]} (install them with apt-get as root)" >&2
  fi
fi
