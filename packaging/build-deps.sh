#!/bin/sh
# Installs, on a fresh Debian 12 machine, the Debian packages `make deb`
# needs: debian/control's Build-Depends (apt-get build-dep), dpkg-dev,
# lintian, and for each architecture named (default: amd64 arm64) other
# than the machine's, the binutils dh_strip cross-strips with (e.g.
# binutils-aarch64-linux-gnu). With "test", also what `make test` needs beyond that: the real
# systemd, dbus and util-linux the tests boot, git, python3; polkitd, which
# evaluates the polkit rule in the install test; openssh-server,
# openssh-client and iproute2 for the fleet tests' robots (sshd in network
# namespaces; ssh.service is disabled again in the host's /etc: sandboxes
# overlay it, and each would start an sshd); debootstrap, which builds the
# Debian roots the version matrix boots (matrix/); qemu-user-static, which
# runs the arm64 binary of the .deb in the packaging tests; ansible-core (2.14 in
# Debian 12: ansible-playbook, ansible-doc, ansible-test), which drives the
# runctl.runctl collection against those robots (ansible/). zsh and fish, for the
# completion checks, are Build-Depends. Go is not a Debian package here: it
# is /usr/local/go (see packaging/README.md).
#
#   packaging/build-deps.sh          # make deb
#   packaging/build-deps.sh arm64    # make deb ARCH=arm64
#   packaging/build-deps.sh test     # make test (and so .ci/run)
set -eu
cd "$(dirname "$0")/.."

pkgs="dpkg-dev lintian"
if [ "${1:-}" = test ]; then
	pkgs="$pkgs systemd dbus util-linux git python3 polkitd openssh-server openssh-client iproute2 debootstrap qemu-user-static ansible-core"
	shift
fi
[ $# -gt 0 ] || set -- amd64 arm64
host=$(dpkg --print-architecture)
for a in "$@"; do
	[ "$a" != "$host" ] || continue
	gnu=$(dpkg-architecture -a"$a" -qDEB_HOST_GNU_TYPE 2>/dev/null) || {
		echo "packaging/build-deps.sh: $a is not a Debian architecture" >&2
		exit 1
	}
	pkgs="$pkgs binutils-$(echo "$gnu" | tr _ -)"
done

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
	# No daemon (sshd) may start on the host while installing.
	norc=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && norc=yes
	fi
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -q --no-install-recommends $need
	[ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d
	case " $need " in *" openssh-server "*)
		systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || rm -f /etc/systemd/system/sshd.service /etc/systemd/system/multi-user.target.wants/ssh.service ;;
	esac
fi
# Build-Depends and build-essential, read from debian/control.
apt-get build-dep -y -q --no-install-recommends ./
