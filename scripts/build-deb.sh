#!/usr/bin/env bash
# Builds the Debian package target/debian/netaudit_VERSION_amd64.deb and
# checks it (scripts/check-deb.sh). Needs cargo-deb:
#   cargo install --locked cargo-deb
# Usage: scripts/build-deb.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p netaudit
bin=target/release/netaudit

# Man pages and completions come from the release binary itself.
rm -rf target/packaging
mkdir -p target/packaging/man target/packaging/completions
"$bin" man --out target/packaging/man >/dev/null
gzip -9 -n target/packaging/man/*
"$bin" completions bash >target/packaging/completions/netaudit
"$bin" completions zsh >target/packaging/completions/_netaudit
"$bin" completions fish >target/packaging/completions/netaudit.fish

cargo deb -p netaudit --no-build
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
deb="target/debian/netaudit_${version}_amd64.deb"
scripts/check-deb.sh "$deb"
echo "$deb"
