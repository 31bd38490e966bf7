#!/usr/bin/env bash
# Installs the Debian packages a build needs, when missing. As root it runs apt-get;
# otherwise it prints the one command to run and fails. Usage: install_deps.sh PKG...
set -euo pipefail
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "tern: not a Debian system; make sure these are installed: $*" >&2
    exit 0
fi
native=$(dpkg --print-architecture)
# Installed for this machine: an unqualified name counts only in the native (or arch-neutral)
# build, since with multiarch (make test-arm64) dpkg lists one line per installed architecture.
installed() {
    local package=$1 arch=$native
    if [[ $package == *:* ]]; then arch=${package#*:}; package=${package%%:*}; fi
    local status
    status=$(dpkg-query -W -f='${Status} ${Architecture}\n' "$package" 2>/dev/null || true)
    grep -Eqx "install ok installed ($arch|all)" <<< "$status"
}
missing=()
for package in "$@"; do
    installed "$package" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]]; then
    echo "tern: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "tern: missing build dependencies; run:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
