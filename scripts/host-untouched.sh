#!/bin/sh
# The suite must leave the host's systemd and runctl folders as it found
# them: every test works in a sandbox's own. `snapshot FILE` lists what is
# there now; `check FILE` fails, naming them, if entries were added since.
set -eu
list() {
	for d in /run/systemd /run/runctl /etc/systemd/system /var/lib/runctl; do
		[ -e "$d" ] && find "$d" -xdev -maxdepth 3 2>/dev/null || true
	done | LC_ALL=C sort
}
case "${1:-}" in
snapshot) list > "$2" ;;
check)
	new=$(list | LC_ALL=C comm -13 "$2" -)
	if [ -n "$new" ]; then
		echo "the tests left these in the host's folders (they must use the sandbox's own):" >&2
		echo "$new" >&2
		exit 1
	fi
	;;
*) echo "usage: $0 snapshot|check FILE" >&2; exit 2 ;;
esac
