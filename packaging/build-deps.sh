#!/bin/sh
# Installs, on a fresh Debian 12 machine, the Debian packages `make deb`
# needs: debian/control's Build-Depends (apt-get build-dep), dpkg-dev and
# lintian. With "test", also what the packaging tests need beyond that:
# polkitd, which evaluates the polkit rule in the install test. Go is not a
# Debian package here: it is /usr/local/go (see packaging/README.md).
#
#   packaging/build-deps.sh          # make deb
#   packaging/build-deps.sh test     # make test, .ci/run
set -eu
cd "$(dirname "$0")/.."

pkgs="dpkg-dev lintian"
if [ "${1:-}" = test ]; then
	pkgs="$pkgs polkitd"
fi

need=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
builddeps=
if [ -n "$need" ] || ! dpkg-checkbuilddeps >/dev/null 2>&1; then
	builddeps=yes
fi
[ -n "$need$builddeps" ] || exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "packaging/build-deps.sh: run as root to install:$need ${builddeps:+and debian/control's Build-Depends}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ -n "$need" ]; then
	echo "packaging/build-deps.sh: installing$need"
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -q --no-install-recommends $need
fi
# Build-Depends and build-essential, read from debian/control.
apt-get build-dep -y -q --no-install-recommends ./
