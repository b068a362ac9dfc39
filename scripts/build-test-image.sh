#!/bin/sh
# Builds the test image canopy/busybox:1 offline from Debian's busybox-static: no registry is
# reachable on edge sites or in tests, so the image is imported from a local rootfs.
# Usage: scripts/build-test-image.sh [--force]    (BUSYBOX=/path/to/busybox to override)
set -eu

IMAGE=canopy/busybox:1
BUSYBOX=${BUSYBOX:-/bin/busybox}
FORCE=0
case "${1:-}" in
  --force) FORCE=1 ;;
  '') ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

die() { echo "build-test-image: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker CLI not found: install Debian package docker.io"
docker version >/dev/null 2>&1 || die "Docker engine not reachable (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-unset})"

if [ "$FORCE" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already present (use --force to rebuild)"
  exit 0
fi

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found: install Debian package busybox-static"
# A dynamically linked busybox (Debian package busybox) would not run in an empty rootfs.
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" >/dev/null 2>&1; then
  die "$BUSYBOX is dynamically linked: install busybox-static instead of busybox"
fi

ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT INT TERM
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp" "$ROOTFS/www"
chmod 1777 "$ROOTFS/tmp"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$ROOTFS/bin/$applet"
done
for applet in sh httpd sleep echo cat wget ls date true false; do
  [ -e "$ROOTFS/bin/$applet" ] || die "$BUSYBOX has no applet $applet"
done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$ROOTFS/etc/group"
echo 'canopy test image' > "$ROOTFS/www/index.html"

tar --numeric-owner --owner=0 --group=0 -C "$ROOTFS" -c . \
  | docker import --change 'ENV PATH=/bin' --change 'WORKDIR /' --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
echo "built $IMAGE from $BUSYBOX"
