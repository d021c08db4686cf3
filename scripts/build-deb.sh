#!/usr/bin/env bash
# Builds the Debian package target/debian/netaudit_VERSION_ARCH.deb with
# dpkg-deb from a build with the `packaging` profile (release, no debug
# info, stripped), then checks it with scripts/check-deb.sh. .ci/run runs
# it. Needs dpkg-dev (dpkg-shlibdeps) and, for the check, lintian and
# systemd: .ci/install-deps installs them.
# Usage: scripts/build-deb.sh            (from anywhere in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked --profile packaging -p netaudit
bin=$PWD/target/packaging/netaudit

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
deb="target/debian/netaudit_${version}_${arch}.deb"
stage="target/debian/netaudit_${version}_${arch}"
rm -rf "$stage" "$deb"
mkdir -p "$stage/DEBIAN"

# Files and modes; docs/install.md lists them, check-deb.sh checks them.
put() { # MODE SOURCE DEST
  install -D -m "$1" "$2" "$stage/$3"
}
put 0755 "$bin" usr/bin/netaudit
put 0640 packaging/netaudit.toml etc/netaudit/netaudit.toml
put 0644 packaging/netaudit.service lib/systemd/system/netaudit.service
put 0644 dictionary/dictionary.junoscope usr/share/netaudit/dictionary.junoscope
doc=usr/share/doc/netaudit
put 0644 config/netaudit.example.toml "$doc/netaudit.example.toml"
put 0644 README.md "$doc/README.md"
put 0644 docs/install.md "$doc/install.md"
put 0644 docs/archives.md "$doc/archives.md"
put 0644 packaging/debian/copyright "$doc/copyright"
put 0644 packaging/debian/lintian-overrides usr/share/lintian/overrides/netaudit
gzip -9 -n -c packaging/debian/changelog >"$stage/$doc/changelog.gz"
chmod 0644 "$stage/$doc/changelog.gz"

# Man pages and completions come from the binary itself.
man=$(mktemp -d)
trap 'rm -rf "$man"' EXIT
"$bin" man --out "$man" >/dev/null
mkdir -p "$stage/usr/share/man/man1" "$stage/usr/share/man/man5"
for page in "$man"/*.1 "$man"/*.5; do
  section=${page##*.}
  gzip -9 -n -c "$page" >"$stage/usr/share/man/man$section/$(basename "$page").gz"
done
chmod 0644 "$stage"/usr/share/man/man?/*.gz
mkdir -p "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
         "$stage/usr/share/fish/vendor_completions.d"
"$bin" completions bash >"$stage/usr/share/bash-completion/completions/netaudit"
"$bin" completions zsh >"$stage/usr/share/zsh/vendor-completions/_netaudit"
"$bin" completions fish >"$stage/usr/share/fish/vendor_completions.d/netaudit.fish"
chmod 0644 "$stage/usr/share/bash-completion/completions/netaudit" \
           "$stage/usr/share/zsh/vendor-completions/_netaudit" \
           "$stage/usr/share/fish/vendor_completions.d/netaudit.fish"
find "$stage" -type d -exec chmod 0755 {} +

# The shared libraries the binary links to, as package dependencies
# (dpkg-shlibdeps reads a debian/control of its own).
shlib=$(mktemp -d)
mkdir "$shlib/debian"
printf 'Source: netaudit\n\nPackage: netaudit\nArchitecture: any\n' >"$shlib/debian/control"
depends=$(cd "$shlib" && dpkg-shlibdeps -O "$bin" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlib"
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies of $bin" >&2; exit 1; }

for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
echo /etc/netaudit/netaudit.toml >"$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 \
  | sort -z | xargs -0 md5sum | sed 's#  \./#  #') >"$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: netaudit
Version: $version
Architecture: $arch
Maintainer: netaudit developers <netaudit@example.invalid>
Installed-Size: $size
Depends: $depends, adduser
Section: admin
Priority: optional
Description: security audit-logging server for Junos networks and JUNOScope
 Receives syslog (UDP, TCP, TLS, RELP) from Junos devices and JUNOScope,
 stores every event in a tamper-evident embedded store before anything else
 happens to it, and forwards to remote syslog servers, audit files and
 RADIUS accounting servers.
EOF
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
scripts/check-deb.sh "$deb"
echo "$deb ($(du -h "$deb" | cut -f1))"
