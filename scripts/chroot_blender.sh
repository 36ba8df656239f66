#!/usr/bin/env bash
# Run Debian trixie's Blender 4.3 (Python 3.13) from the chroot that setup_blender_chroot.sh builds.
#   scripts/chroot_blender.sh [blender args...]          e.g. --background x.blend --python scripts/batch.py -- ...
#   scripts/chroot_blender.sh --run CMD [args...]        any program in the chroot (xvfb-run -a blender ..., python3)
# The repository, ../shared and /tmp are bind-mounted at the same absolute paths, so paths are identical
# inside and outside; PARLEY_CHROOT_BINDS="/a /b" adds more. Mounts live in a private mount namespace
# and vanish when Blender exits. BLENDER_*, PARLEY_*, PYTHON*, DISPLAY and XAUTHORITY pass through.
# Exit code: Blender's; 3 when the chroot is missing (build it with scripts/setup_blender_chroot.sh).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${PARLEY_CHROOT:-$REPO/.chroot}
if [ ! -x "$DIR/usr/bin/blender" ]; then
  echo "chroot_blender: no Blender in $DIR; build it with: sudo bash scripts/setup_blender_chroot.sh" >&2
  exit 3
fi
[ "$(id -u)" = 0 ] || { echo "chroot_blender: needs root (mount namespace + chroot)" >&2; exit 3; }

binds=("$REPO" /tmp)
[ -d "$REPO/../shared" ] && binds+=("$(cd "$REPO/../shared" && pwd)" "$(cd "$REPO/../shared" && pwd -P)")
# shellcheck disable=SC2206
[ -n "${PARLEY_CHROOT_BINDS:-}" ] && binds+=(${PARLEY_CHROOT_BINDS})
if [ "${1:-}" = "--run" ]; then shift; else set -- blender "$@"; fi

envs=(PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=${PARLEY_CHROOT_HOME:-/root} LANG=C.UTF-8)
while IFS='=' read -r name _; do
  case "$name" in BLENDER_*|PARLEY_*|PYTHON*|DISPLAY|XAUTHORITY) envs+=("$name=${!name}") ;; esac
done < <(env)

# Arguments of the inner shell: chroot dir, working dir, the bind paths, "--", env assignments + command.
exec unshare --mount --propagation private -- bash -c '
  d=$1; cwd=$2; shift 2
  mount --bind /proc "$d/proc" && mount --rbind /dev "$d/dev" || exit 3
  while [ "$1" != "--" ]; do
    b=$1; shift
    [ -e "$b" ] || continue
    if [ -d "$b" ]; then mkdir -p "$d$b"; else mkdir -p "$(dirname "$d$b")" && touch "$d$b"; fi
    mount --rbind "$b" "$d$b" || exit 3
  done
  shift
  cd "$d" && exec chroot "$d" /bin/sh -c "cd \"\$0\" 2>/dev/null || cd /; exec /usr/bin/env -i \"\$@\"" "$cwd" "$@"' \
  chroot_blender "$DIR" "$PWD" "${binds[@]}" -- "${envs[@]}" "$@"
