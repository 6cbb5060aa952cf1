#!/usr/bin/env bash
# Installs what the local stack needs, once; fast when everything is already there.
#   apt: PostgreSQL 15 + pg_cron + pgTAP (+ pg_prove) + plpgsql_check + wal2json, Chromium
#   npm: the project's packages (Supabase CLI, Deno, PostgREST, supabase-js, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_cron.control ] || need+=(postgresql-15-cron)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || need+=(postgresql-15-pgtap)
command -v pg_prove >/dev/null || need+=(libtap-parser-sourcehandler-pgtap-perl)
[ -f /usr/share/postgresql/15/extension/plpgsql_check.control ] || need+=(postgresql-15-plpgsql-check)
[ -f /usr/lib/postgresql/15/lib/wal2json.so ] || need+=(postgresql-15-wal2json)
command -v psql >/dev/null || need+=(postgresql-client-15)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "{\"fn\":\"bootstrap\",\"event\":\"apt.install\",\"packages\":\"${need[*]}\"}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm packages: install when node_modules is missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo '{"fn":"bootstrap","event":"npm.ci"}'
  # npm 11 leaves other platforms' optional binaries (Supabase CLI, PostgREST) out of the lockfile,
  # which `npm ci` then refuses; `npm install` installs the same locked versions.
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || {
    echo '{"fn":"bootstrap","event":"npm.install","reason":"npm ci refused the lockfile (platform-specific optional packages)"}'
    npm install --no-audit --no-fund --loglevel=error
  }
fi
