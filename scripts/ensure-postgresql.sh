#!/usr/bin/env bash
# The central-copy tests start a throwaway PostgreSQL cluster of their own (tests/pg_cluster.py) and
# need the server's programs (initdb, pg_ctl). Install them from the distribution's packages when
# they are missing and we may (root with apt-get, as on CI and a fresh Debian/Ubuntu machine);
# otherwise say so: those tests then skip with that reason, and the rest of the suite runs.
set -u
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing PostgreSQL from the distribution's packages (for the central-copy tests)…" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null && exit 0
    echo "PostgreSQL could not be installed: the central-copy tests will skip." >&2
else
    echo "PostgreSQL is not installed (as root: apt-get install postgresql): the central-copy tests will skip." >&2
fi
exit 0
