#!/usr/bin/env bash
# Checks (and where possible installs) what building and testing Mākonis needs on a
# fresh machine. Idempotent; run by ./run.sh and ./test.sh.
#
# Needs: Rust (cargo with rustfmt and clippy, 1.89 or newer) and Go (1.26 or newer; the
# Kubernetes modules require it). Both come with our machines; nothing is downloaded
# here except crates and Go modules from their registries.
set -euo pipefail

die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

command -v cargo > /dev/null || die "cargo is missing: install Rust 1.89 or newer (https://rustup.rs)"
cargo fmt --version > /dev/null 2>&1 || rustup component add rustfmt || die "rustfmt is missing"
cargo clippy --version > /dev/null 2>&1 || rustup component add clippy || die "clippy is missing"

command -v go > /dev/null || die "go is missing: install Go 1.26 or newer (the Kubernetes v1.37 modules need it)"
go_version="$(go env GOVERSION)"
[[ "$go_version" =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 26)) \
    || die "Go $go_version is too old: Kubernetes v1.37 needs Go 1.26 or newer"

printf 'setup: %s, %s\n' "$(cargo --version)" "$go_version"
