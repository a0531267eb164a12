#!/bin/sh
# scripts/bench.sh OUT [runctl-bench flags...]: runs runctl-bench in a
# throwaway systemd, its JSON to OUT. The second store is ext4 on a loop
# device whose file is in bin/ on this machine's disk (not a tmpfs), so
# its fsyncs reach the disk; the device and the file go afterwards.
set -eu
out=$1; shift
img=bin/bench-ext4.img
rm -f "$img"
truncate -s 256M "$img"
dev=$(losetup --find --show "$img")
rc=0
bin/runctl-sandbox --bin bin -- runctl-bench -ext4 "$dev" "$@" > "$out.new" || rc=$?
losetup -d "$dev"
rm -f "$img"
if [ "$rc" != 0 ]; then rm -f "$out.new"; exit "$rc"; fi
mv "$out.new" "$out"
