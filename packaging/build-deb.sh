#!/bin/sh
# Builds dist/runctl_VERSION_ARCH.deb with dpkg-buildpackage and vets it
# with lintian (no errors allowed). The build runs in a copy of the tree under
# dist/ (one per build, so that builds can run side by side), because
# dpkg-buildpackage writes its results next to the source folder and leaves
# build files in debian/; the copy is removed afterwards.
set -eu
cd "$(dirname "$0")/.."

version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=runctl_${version}_${arch}.deb

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
(cd "$work/runctl-$version" && dpkg-buildpackage --build=binary --no-sign)

echo "lintian $deb:"
lintian --fail-on error --display-info "$work/$deb"
mv "$work/$deb" dist/
echo "built dist/$deb"
