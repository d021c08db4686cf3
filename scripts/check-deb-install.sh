#!/usr/bin/env bash
# Installs a netaudit .deb with dpkg into a throwaway root, so that its
# maintainer scripts really run without changing the machine: an overlay of
# / whose changes go to a temporary folder, in a private mount namespace,
# entered with chroot. There it checks what postinst made (the netaudit
# user, /var/lib/netaudit 0750, the configuration 0640 root:netaudit), runs
# /usr/bin/netaudit, then removes and purges the package and checks what
# stays (the store folder and the user: audit records are not a package
# manager's to delete). scripts/check-deb.sh runs it. Needs root,
# util-linux's unshare and overlayfs.
# Usage: scripts/check-deb-install.sh target/debian/netaudit_VERSION_amd64.deb
set -euo pipefail
deb=$(realpath "$1")
if [ -z "${NETAUDIT_DEB_NAMESPACE:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "check-deb-install: needs root (a private mount namespace)" >&2; exit 1; }
  exec env NETAUDIT_DEB_NAMESPACE=1 unshare --mount --propagation private --fork "$0" "$deb"
fi

top=$(mktemp -d)
root=$top/root
# The mounts end with the namespace; the folder is removed only once they
# are gone (never through a mounted /dev).
trap 'umount -R "$root" 2>/dev/null; mountpoint -q "$root" || rm -rf --one-file-system "$top"' EXIT
mkdir "$top/upper" "$top/work" "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$top/upper,workdir=$top/work" "$root"
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
# No systemd runs in the throwaway root: a /run of its own (the scripts
# then skip daemon-reload), and a /tmp of its own.
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$deb" "$root/tmp/netaudit.deb"
in_root() { chroot "$root" "$@"; }

fail=0
check() { # WHAT EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then echo "check-deb-install: $1: $3, expected $2"; fail=1; fi
}
in_root getent passwd netaudit >/dev/null && { echo "check-deb-install: a netaudit user exists already"; exit 1; }

DEBIAN_FRONTEND=noninteractive in_root dpkg -i /tmp/netaudit.deb
in_root /usr/bin/netaudit --version
in_root /usr/bin/netaudit check-config /etc/netaudit/netaudit.toml >/dev/null
check "the netaudit user's shell" /usr/sbin/nologin "$(in_root getent passwd netaudit | cut -d: -f7)"
check /var/lib/netaudit "750 netaudit:netaudit" "$(in_root stat -c '%a %U:%G' /var/lib/netaudit)"
check /etc/netaudit "750 root:netaudit" "$(in_root stat -c '%a %U:%G' /etc/netaudit)"
check /etc/netaudit/netaudit.toml "640 root:netaudit" "$(in_root stat -c '%a %U:%G' /etc/netaudit/netaudit.toml)"
check "the unit enabled" yes "$(in_root test -L /etc/systemd/system/multi-user.target.wants/netaudit.service && echo yes || echo no)"

in_root dpkg -r netaudit
check "/usr/bin/netaudit after remove" no "$(in_root test -e /usr/bin/netaudit && echo yes || echo no)"
check "the conffile after remove" yes "$(in_root test -e /etc/netaudit/netaudit.toml && echo yes || echo no)"
in_root dpkg -P netaudit
check "the conffile after purge" no "$(in_root test -e /etc/netaudit/netaudit.toml && echo yes || echo no)"
check "/var/lib/netaudit after purge" yes "$(in_root test -d /var/lib/netaudit && echo yes || echo no)"
check "the netaudit user after purge" yes "$(in_root getent passwd netaudit >/dev/null && echo yes || echo no)"

if [ "$fail" != 0 ]; then
  echo "check-deb-install: $deb FAILED"; exit 1
fi
echo "check-deb-install: $deb installed, ran, removed and purged in a throwaway root"
