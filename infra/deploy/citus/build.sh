#!/usr/bin/env bash
# Build and install Citus from source against the machine's PostgreSQL 15.
# Not part of `make test`; run by hand (as root, or as a user who can write
# the PostgreSQL lib/share directories).
#
#   infra/deploy/citus/build.sh [SOURCE] [BUILD_DIR]
#
# SOURCE is either a bare git directory holding the Citus history (default: the
# local mirror /work/.mirror/citusdata+citus/repo, tag $CITUS_TAG, default
# v13.2.2 -- the last release line that supports PostgreSQL 15) or a source
# tarball (.tar.gz). BUILD_DIR defaults to /work/wt/citus-src.
#
# Debian build dependencies (apt-get install -y ...):
#   postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev
set -euo pipefail

SOURCE=${1:-/work/.mirror/citusdata+citus/repo}
BUILD_DIR=${2:-/work/wt/citus-src}
CITUS_TAG=${CITUS_TAG:-v13.2.2}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
JOBS=${JOBS:-2}

rm -rf "$BUILD_DIR"
mkdir -p "$BUILD_DIR"
if [[ -d "$SOURCE" ]]; then
    git -C "$SOURCE" archive "$CITUS_TAG" | tar -x -C "$BUILD_DIR"
elif [[ -f "$SOURCE" ]]; then
    tar -xzf "$SOURCE" -C "$BUILD_DIR" --strip-components=1
else
    echo "no Citus source at $SOURCE" >&2
    exit 1
fi

cd "$BUILD_DIR"
# PostgreSQL 15.x minor releases (15.20 here) export have_createdb_privilege()
# from commands/dbcommands.h; Citus 13.2.2 still defines its own static copy
# for PG < 16, which no longer compiles ("static declaration follows
# non-static declaration"). When the server header has it, drop Citus's copy.
PG_INCLUDE=$("$PG_CONFIG" --includedir-server)
if grep -q 'have_createdb_privilege' "$PG_INCLUDE/commands/dbcommands.h"; then
    perl -0pi -e 's/static inline bool\nhave_createdb_privilege\(void\)\n\{.*?\n\}\n/#include "commands\/dbcommands.h"\n/s' \
        src/include/pg_version_compat.h
    grep -q '^have_createdb_privilege' src/include/pg_version_compat.h \
        && { echo "could not patch have_createdb_privilege" >&2; exit 1; }
fi
# The machine is shared: everything heavy runs at the lowest priority.
nice -n 19 ./configure PG_CONFIG="$PG_CONFIG"
nice -n 19 make -j"$JOBS"
make install
echo "installed citus $("$PG_CONFIG" --version) -> $("$PG_CONFIG" --pkglibdir)/citus.so"
