#!/usr/bin/env bash
# Checks a netaudit .deb: its control fields; unpacked into a scratch root
# (dpkg -x), every file is there with its mode and its md5sum; the
# maintainer scripts are there and parse; lintian finds no error or
# warning; the unit passes `systemd-analyze verify`; the binary
# runs from the unpacked path and accepts the packaged configuration; and
# scripts/check-deb-install.sh installs, runs, removes and purges it in a
# throwaway root (the maintainer scripts run; the machine is not changed).
# Usage: scripts/check-deb.sh target/debian/netaudit_VERSION_amd64.deb
set -euo pipefail
deb=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb --info "$deb" >/dev/null
dpkg -x "$deb" "$root"

fail=0
expect() { # MODE PATH
  local mode=$1 path=$2 got
  if [ ! -e "$root/$path" ]; then
    echo "MISSING $path"; fail=1; return
  fi
  got=$(stat -c %a "$root/$path")
  if [ "$got" != "$mode" ]; then
    echo "MODE $path: $got, expected $mode"; fail=1
  fi
}
expect 755 usr/bin/netaudit
expect 640 etc/netaudit/netaudit.toml
expect 644 lib/systemd/system/netaudit.service
expect 644 usr/share/netaudit/dictionary.junoscope
expect 644 usr/share/doc/netaudit/netaudit.example.toml
expect 644 usr/share/doc/netaudit/copyright
expect 644 usr/share/doc/netaudit/changelog.gz
expect 644 usr/share/lintian/overrides/netaudit
expect 644 usr/share/man/man1/netaudit.1.gz
expect 644 usr/share/man/man1/netaudit-serve.1.gz
expect 644 usr/share/man/man1/netaudit-keys-export-verify.1.gz
expect 644 usr/share/man/man5/netaudit.toml.5.gz
expect 644 usr/share/bash-completion/completions/netaudit
expect 644 usr/share/zsh/vendor-completions/_netaudit
expect 644 usr/share/fish/vendor_completions.d/netaudit.fish
# One page per subcommand.
# A command's line starts two spaces in; a help text wrapped onto the next
# line starts further in, so it is not taken for a command.
for sub in $("$root/usr/bin/netaudit" --help | sed -n '/^Commands:/,/^$/p' | awk '/^  [a-z]/ && $1 != "help" {print $1}'); do
  expect 644 "usr/share/man/man1/netaudit-$sub.1.gz"
done
control=$(mktemp -d)
dpkg-deb -e "$deb" "$control"
for script in postinst prerm postrm; do
  [ -x "$control/$script" ] || { echo "MISSING maintainer script $script"; fail=1; }
done
grep -q '^/etc/netaudit/netaudit.toml$' "$control/conffiles" || { echo "the configuration is not a conffile"; fail=1; }
for script in postinst prerm postrm; do
  sh -n "$control/$script" || { echo "maintainer script $script does not parse"; fail=1; }
done
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = netaudit ] || { echo "Package is not netaudit"; fail=1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$(dirname "$0")/../Cargo.toml" | head -n1)
[ "$(field Version)" = "$version" ] || { echo "Version $(field Version), not Cargo.toml's $version"; fail=1; }
field Depends | grep -q 'libc6' || { echo "Depends lacks libc6: $(field Depends)"; fail=1; }
field Depends | grep -q 'adduser' || { echo "Depends lacks adduser (postinst): $(field Depends)"; fail=1; }
(cd "$root" && md5sum --quiet -c "$control/md5sums") || { echo "md5sums do not match the files"; fail=1; }
rm -rf "$control"

# lintian: no error and no warning. The one override the package ships
# (packaging/debian/lintian-overrides) is the configuration's mode 0640.
command -v lintian >/dev/null || { echo "lintian is missing (.ci/install-deps installs it)"; exit 1; }
lintian --fail-on error,warning "$deb" \
  || { echo "lintian: the package has errors or warnings (above)"; fail=1; }

"$root/usr/bin/netaudit" --version
"$root/usr/bin/netaudit" check-config "$root/etc/netaudit/netaudit.toml" >/dev/null
sed "s#/usr/bin/netaudit#$root/usr/bin/netaudit#g" "$root/lib/systemd/system/netaudit.service" >"$root/netaudit.service"
systemd-analyze verify --man=no "$root/netaudit.service"
systemd-analyze security --offline=yes --no-pager "$root/netaudit.service" | tail -n 1

# dpkg -i, -r and -P in a throwaway root: the maintainer scripts run.
"$(dirname "$0")/check-deb-install.sh" "$deb" || fail=1

if [ "$fail" != 0 ]; then
  echo "check-deb: $deb FAILED"; exit 1
fi
echo "check-deb: $deb OK"
