#!/usr/bin/env bash
# Starts a Docker engine when none answers and this user may start one (root, dockerd installed).
# Machines with a managed engine (systemd, Docker Desktop) already answer `docker info` and are left alone.
set -euo pipefail
docker info >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v dockerd >/dev/null; then
    echo "no Docker engine answers and this user cannot start one" >&2
    exit 1
fi
log=${RIPSAW_DOCKERD_LOG:-/var/log/ripsaw-dockerd.log}
echo "starting dockerd (log: $log)" >&2
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
done
echo "dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
