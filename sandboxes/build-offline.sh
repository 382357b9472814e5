#!/bin/sh
# Builds the sandbox *base* image without an image registry: a minimal Debian bookworm with python3
# (Python 3.11), made by debootstrap from a Debian mirror and imported into the engine as TAG.
# `ripsaw sandbox build --offline` runs this, then builds sandboxes/python/Dockerfile with BASE=TAG.
#
# usage: build-offline.sh TAG [PACKAGES]  (needs root for debootstrap, plus the docker CLI; PACKAGES: comma-separated,
#                                        default python3)
# env:   RIPSAW_DEBIAN_MIRROR            (default: the first Debian mirror apt is configured with)
set -eu

tag=${1:?usage: build-offline.sh TAG [PACKAGES]}
packages=${2:-python3}

if [ "$(id -u)" -ne 0 ]; then
    echo "build-offline.sh: debootstrap needs root; run with sudo" >&2
    exit 2
fi
command -v debootstrap >/dev/null || { echo "build-offline.sh: debootstrap missing (apt-get install debootstrap)" >&2; exit 2; }

mirror=${RIPSAW_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | grep -v security | head -n1)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' /etc/apt/sources.list \
        | grep -v security | head -n1)
fi
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /tmp/ripsaw-rootfs.XXXXXX)
cleanup() {
    # debootstrap mounts proc/sys inside the target and leaves them mounted if it dies midway:
    # unmount first, and never let rm cross into another filesystem.
    for m in proc sys dev/pts; do
        umount "$root/$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT INT TERM

echo "build-offline.sh: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" >&2

# Package caches and docs are dead weight in a sandbox.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log

tar --numeric-owner -C "$root" -c . | docker import --change 'CMD ["python3"]' - "$tag" >&2
echo "build-offline.sh: imported $tag" >&2
