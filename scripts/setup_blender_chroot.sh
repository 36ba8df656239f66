#!/usr/bin/env bash
# Idempotent: a Debian trixie chroot holding Debian's real Blender binary (4.3, Python 3.13) for tests.
#   PARLEY_CHROOT=DIR  where to build it (default: <repo>/.chroot, gitignored)
# python3-numpy: Debian only recommends it, and Blender's own Python needs it for the extension.
# Needs root and debootstrap on the host (listed in .ci/apt-packages.txt; installed here if missing).
# Re-running only does what is missing; the last line is Blender's version, printed from inside.
# /proc and /dev are bind-mounted in a private mount namespace (unshare), so nothing stays mounted
# afterwards and `rm -rf .chroot` is always safe. Run Blender in it with scripts/chroot_blender.sh.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${PARLEY_CHROOT:-$REPO/.chroot}
MIRROR=${PARLEY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES="blender python3-numpy xvfb xauth libgl1-mesa-dri x11-apps imagemagick"

[ "$(id -u)" = 0 ] || { echo "setup_blender_chroot: needs root (debootstrap, mount, chroot); run it as root or skip the binary tests" >&2; exit 1; }
command -v debootstrap >/dev/null || {
  echo "setup_blender_chroot: installing debootstrap on the host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
}

if [ ! -f "$DIR/.parley-debootstrap-done" ]; then
  log=$(mktemp /tmp/parley-debootstrap.XXXXXX.log)
  echo "setup_blender_chroot: debootstrap trixie into $DIR (a few minutes; log: $log)"
  mkdir -p "$DIR"
  debootstrap --variant=minbase trixie "$DIR" "$MIRROR" >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; echo "setup_blender_chroot: debootstrap failed" >&2; exit 1; }
  touch "$DIR/.parley-debootstrap-done"
fi
cp -L /etc/resolv.conf "$DIR/etc/resolv.conf" 2>/dev/null || true
[ -e "$DIR/etc/mtab" ] || [ -L "$DIR/etc/mtab" ] || ln -s ../proc/self/mounts "$DIR/etc/mtab"   # Blender lists mounts for its file browser

in_chroot() {
  unshare --mount --propagation private -- sh -c '
    d=$1; shift
    mount --bind /proc "$d/proc" && mount --rbind /dev "$d/dev" &&
    exec chroot "$d" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"' \
    in_chroot "$DIR" "$@"
}

missing=$(for p in $PACKAGES; do in_chroot dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "setup_blender_chroot: apt-get install in the chroot:" $missing
  in_chroot apt-get update -q >/dev/null
  in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
  in_chroot apt-get clean
fi

in_chroot blender --version 2>/dev/null | head -n1
