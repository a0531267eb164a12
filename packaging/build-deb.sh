#!/bin/sh
# Builds dist/runctl_VERSION_ARCH.deb for each Debian architecture named
# (default: the machine's) with dpkg-buildpackage, cross-building the others
# (-a ARCH: Go needs only GOARCH, see debian/rules), and vets them with
# lintian: no errors, no warnings. The builds run one after another in a
# copy of the tree under dist/ (one per call, so that calls can run side by
# side), because dpkg-buildpackage writes its results next to the source
# folder and leaves build files in debian/; the copy is removed afterwards.
# Go's build cache and module cache are the caller's (go env), so that only
# what changed is compiled again.
#
#   packaging/build-deb.sh amd64 arm64
set -eu
cd "$(dirname "$0")/.."

[ $# -gt 0 ] || set -- "$(dpkg --print-architecture)"
version=$(dpkg-parsechangelog -S Version)
host=$(dpkg --print-architecture)
export PATH="$PATH:/usr/local/go/bin"
GOCACHE=$(go env GOCACHE)
GOMODCACHE=$(go env GOMODCACHE)
export GOCACHE GOMODCACHE
# The -dbgsym packages would be left behind: not compressed at all.
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noautodbgsym"

mkdir -p dist
work=$(mktemp -d "$PWD/dist/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
mkdir -p "$work/runctl-$version" "$work/tmp"
# dpkg-deb and lintian write temporary files: not in the host's /tmp.
export TMPDIR="$work/tmp"

tar --exclude=./.git --exclude=./dist --exclude=./bin --exclude=./.sandbox \
	--exclude=./debian/.gocache --exclude=./debian/build --exclude=./debian/runctl \
	--exclude=./debian/.debhelper -cf - . | tar -C "$work/runctl-$version" -xf -
debs=
for arch in "$@"; do
	if [ "$arch" = "$host" ]; then
		(cd "$work/runctl-$version" && dpkg-buildpackage --build=binary --no-sign)
	else
		# The tests run on the machine's architecture only.
		(cd "$work/runctl-$version" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }nocheck" \
			dpkg-buildpackage --build=binary --no-sign --host-arch="$arch" --build-profiles=nocheck)
	fi
	debs="$debs $work/runctl_${version}_${arch}.deb"
done

echo "lintian$debs:"
# shellcheck disable=SC2086 # one word per file
lintian --fail-on error,warning --display-info $debs
for deb in $debs; do
	mv "$deb" dist/
	echo "built dist/${deb##*/}"
done
