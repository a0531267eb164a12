#!/bin/sh
# runctl's main job, shown inside the sandbox's real systemd (make demo).
set -e
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
cd /usr/share

step runctl run -d -n ticker -E ROBOT=go2 -- sh -c 'i=0; while :; do i=$((i+1)); echo "[$ROBOT] tick $i in $PWD"; sleep 0.2; done'
sleep 1
step runctl ls
step runctl logs -n 4 ticker
step systemctl status --no-pager --lines=0 runctl-ticker
step runctl restart ticker
step runctl status -n 3 ticker
step runctl stop ticker
printf '\n# attached: output streams live, the exit status is the program'"'"'s\n'
step runctl run -n greet -- sh -c 'echo "hello from $(cat /proc/self/cgroup | tail -1)"; echo "to stderr" >&2; exit 3' || echo "(runctl exited $?)"
step runctl ls
