# fish completion for runctl
# Generated from runctl's command line by cmd/runctl-gendocs: do not edit,
# run "make docs".

# __runctl_takes_value COMMAND FLAG: whether FLAG needs a value there.
function __runctl_takes_value
    switch "$argv[1]:$argv[2]"
        case '*:--log-level' '*:-H' '*:--host' '*:--inventory' '*:-j' '*:--parallel' '*:--serial' '*:--max-fail' '*:--host-timeout' '*:--remote-runctl'
            return 0
        case 'run:-n' 'run:--name' 'run:-E' 'run:--env' 'run:--env-file' 'run:--source' 'run:--dir' 'run:--stop-timeout' 'run:--restart' 'run:--restart-delay' 'run:--restart-max-delay' 'run:--max-restarts' 'run:--within' 'run:--settle' 'run:-p' 'run:--property' 'run:--stop-signal' 'run:--watchdog' 'run:--after' 'run:--wants' 'run:--uid' 'run:--gid'
            return 0
        case 'ls:--stack'
            return 0
        case 'stop:--timeout' 'stop:--stack'
            return 0
        case 'restart:--timeout' 'restart:--settle' 'restart:--stack'
            return 0
        case 'start:--settle'
            return 0
        case 'enable:--stack'
            return 0
        case 'disable:--stack'
            return 0
        case 'status:-n' 'status:--lines' 'status:--stack'
            return 0
        case 'logs:-n' 'logs:--lines' 'logs:-b' 'logs:--boot' 'logs:-g' 'logs:--grep' 'logs:-o' 'logs:--output' 'logs:--since' 'logs:--until' 'logs:-I' 'logs:--invocation' 'logs:-p' 'logs:--priority' 'logs:--stack'
            return 0
        case 'apply:--settle'
            return 0
        case 'export:--stack'
            return 0
        case 'serve-ssh:--allow' 'serve-ssh:--allow-program'
            return 0
    end
    return 1
end

# __runctl_state prints five lines about the tokens before the cursor: the
# command ("" if none yet), how many of its arguments there are, 1 if the
# program of a passthrough argument was reached, --user or --system, and
# the index of that program among the tokens after runctl.
function __runctl_state
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd ""
    set -l npos 0
    set -l prog 0
    set -l progat 0
    set -l scope ""
    set -l skip 0
    set -l dashdash 0
    set -l i 0
    for w in $tokens
        set i (math $i + 1)
        if test $skip = 1
            set skip 0
            continue
        end
        if test $prog = 1
            continue
        end
        if test $dashdash = 0; and string match -q -- '-?*' $w
            switch $w
                case --
                    set dashdash 1
                case --user --system
                    set scope $w
                case '*'
                    __runctl_takes_value "$cmd" $w; and set skip 1
            end
            continue
        end
        if test -z "$cmd"
            switch $w
                case 'run'
                    set cmd 'run'
                case 'ls' 'list' 'ps'
                    set cmd 'ls'
                case 'stop'
                    set cmd 'stop'
                case 'restart'
                    set cmd 'restart'
                case 'start'
                    set cmd 'start'
                case 'rm'
                    set cmd 'rm'
                case 'enable'
                    set cmd 'enable'
                case 'disable'
                    set cmd 'disable'
                case 'status'
                    set cmd 'status'
                case 'logs'
                    set cmd 'logs'
                case 'apply'
                    set cmd 'apply'
                case 'export'
                    set cmd 'export'
                case 'serve-ssh'
                    set cmd 'serve-ssh'
                case 'serve-operator'
                    set cmd 'serve-operator'
                case '*'
                    set cmd '?'
            end
            continue
        end
        switch "$cmd:$npos"
            case 'run:0'
                set prog 1
                set progat $i
        end
        set npos (math $npos + 1)
    end
    printf '%s\n' "$cmd" $npos $prog "$scope" $progat
end

# __runctl_is COMMAND: the line is in COMMAND's options and arguments ("" for
# none yet), not in a program's arguments.
function __runctl_is
    set -l s (__runctl_state)
    test "$s[1]" = "$argv[1]" -a "$s[3]" = 0
end

# __runctl_arg COMMAND N [+]: the cursor is at COMMAND's argument N (or
# beyond, with +).
function __runctl_arg
    set -l s (__runctl_state)
    test "$s[1]" = "$argv[1]" -a "$s[3]" = 0; or return 1
    if test "$argv[3]" = +
        test $s[2] -ge $argv[2]
    else
        test $s[2] -eq $argv[2]
    end
end

# __runctl_prog: the cursor is in the program of a passthrough argument or
# its arguments.
function __runctl_prog
    set -l s (__runctl_state)
    test "$s[3]" = 1
end

# __runctl_program: complete the program of a passthrough argument, then its
# arguments the way that program's own line would complete.
function __runctl_program
    set -l s (__runctl_state)
    set -l line
    if test "$s[3]" = 1
        set -l tokens (commandline -opc)
        set -e tokens[1]
        set line (string escape -- $tokens[$s[5]..-1])
    end
    set -a line (commandline -ct)
    complete -C "$line"
end

# __runctl_runs: the runs of the manager named on the line.
function __runctl_runs
    set -l s (__runctl_state)
    if test -n "$s[4]"
        runctl $s[4] ls -q 2>/dev/null
    else
        runctl ls -q 2>/dev/null
    end
end

complete -c runctl -f

# Commands.
complete -c runctl -n '__runctl_is ""' -a 'run' -d 'Run a program as a systemd unit, attached or with -d in the background. With -H, nothing local is captured: the run gets only -E and --dir (default: the remote user\'s home).'
complete -c runctl -n '__runctl_is ""' -a 'ls' -d 'List runs.'
complete -c runctl -n '__runctl_is ""' -a 'list' -d 'List runs.'
complete -c runctl -n '__runctl_is ""' -a 'ps' -d 'List runs.'
complete -c runctl -n '__runctl_is ""' -a 'stop' -d 'Stop runs: SIGTERM, then SIGKILL after the timeout.'
complete -c runctl -n '__runctl_is ""' -a 'restart' -d 'Stop a run, wait until it is gone, start it again exactly as it was.'
complete -c runctl -n '__runctl_is ""' -a 'start' -d 'Start a stopped run again from its kept spec.'
complete -c runctl -n '__runctl_is ""' -a 'rm' -d 'Forget stopped runs.'
complete -c runctl -n '__runctl_is ""' -a 'enable' -d 'Start runs at boot: write each as a unit file and enable it.'
complete -c runctl -n '__runctl_is ""' -a 'disable' -d 'No longer start runs at boot; remove the unit files runctl wrote.'
complete -c runctl -n '__runctl_is ""' -a 'status' -d 'Show runs in detail: state, processes, resources, last log lines.'
complete -c runctl -n '__runctl_is ""' -a 'logs' -d 'Show a run\'s output from the journal.'
complete -c runctl -n '__runctl_is ""' -a 'apply' -d 'Bring the runs of a stack file to the file\'s state: start new runs, replace changed ones in the order their after gives, leave unchanged ones untouched; with --prune, stop and forget the stack\'s runs that left the file.'
complete -c runctl -n '__runctl_is ""' -a 'export' -d 'Write runs as a stack file that apply brings back exactly.'
complete -c runctl -n '__runctl_is ""' -a 'serve-ssh' -d 'Run the runctl command in SSH_ORIGINAL_COMMAND if this key grants it, and nothing else: the forced command of a key restricted to runctl (command="runctl serve-ssh [--allow GRANT] [--allow-program PATH]" in authorized_keys). By default: ls, status, logs, stop, start, restart of existing runs.'
complete -c runctl -n '__runctl_is ""' -a 'serve-operator' -d 'Answer one request of a runctl group member on the connection runctl.operator.socket passes: stop, start or restart of the system manager\'s runs, run as root with runctl\'s own checks; not for interactive use. Members\' runctl goes through it by itself.'

# Global options.
complete -c runctl -n 'not __runctl_prog' -s h -l help -d 'Show context-sensitive help.'
complete -c runctl -n 'not __runctl_prog' -l user -d 'Use your own user manager (default for non-root users).'
complete -c runctl -n 'not __runctl_prog' -l system -d 'Use the system manager (default for root).'
complete -c runctl -n 'not __runctl_prog' -l json -d 'Print machine-readable JSON instead of text; a failure prints {"error": ...}.'
complete -c runctl -n 'not __runctl_prog' -l log-level -x -a 'debug info warn error' -d 'Diagnostics on stderr: debug, info, warn, error.'
complete -c runctl -n 'not __runctl_prog' -s H -l host -x -d 'Run the verb on these hosts over ssh instead of here: ssh destinations (robot-1, user@10.0.0.5, ssh://user@host:2222) or @GROUP from the inventory; comma-separated, repeatable.'
complete -c runctl -n 'not __runctl_prog' -l inventory -x -d 'Ansible inventory (INI or YAML) for -H @GROUP (default: ~/.config/runctl/hosts, then /etc/runctl/hosts).'
complete -c runctl -n 'not __runctl_prog' -s j -l parallel -x -d 'With -H: hosts at a time.'
complete -c runctl -n 'not __runctl_prog' -l serial -x -d 'With -H: roll in batches of N hosts or N% of them, in the order given.'
complete -c runctl -n 'not __runctl_prog' -l max-fail -x -d 'With -H: failed hosts tolerated; once more have failed, the next batches are skipped (default 0).'
complete -c runctl -n 'not __runctl_prog' -l host-timeout -x -d 'With -H: a host that has not answered after this long is given up (timeout).'
complete -c runctl -n 'not __runctl_prog' -l remote-runctl -x -d 'With -H: the runctl to run on each host.'
complete -c runctl -n 'not __runctl_prog' -l version -d 'Print the version and exit.'

# run
complete -c runctl -n '__runctl_is run' -s d -l daemon -d 'Return once the run is active instead of staying attached.'
complete -c runctl -n '__runctl_is run' -s n -l name -x -a '(__runctl_runs)' -d 'Name of the run (default: the command\'s basename; for python3, node, bash, sh, ruby or perl, the script\'s, or python3 -m\'s module).'
complete -c runctl -n '__runctl_is run' -s E -l env -x -d 'Set an environment variable for the run (repeatable); PATH=... is also where the command is looked up.'
complete -c runctl -n '__runctl_is run' -l env-file -x -d 'Set the run\'s environment variables from FILE, NAME=VALUE lines (# comments; values taken literally, one pair of enclosing quotes removed), read now into the run\'s spec as -E values are; -E wins (repeatable). With -H, FILE is read on the host.'
complete -c runctl -n '__runctl_is run' -l source -x -d 'Give the run the environment a shell (bash, else sh) has after sourcing FILE, e.g. a ROS setup.bash; run now, in the run\'s directory, on the machine the run starts on (with -H: FILE is the host\'s). The command stays exactly as typed; --env-file and -E win (repeatable).'
complete -c runctl -n '__runctl_is run' -l dir -x -a '(__fish_complete_directories)' -d 'Working directory of the run (default: the current one).'
complete -c runctl -n '__runctl_is run' -l stop-timeout -x -d 'How long a stop waits after SIGTERM before SIGKILL.'
complete -c runctl -n '__runctl_is run' -l replace -d 'If NAME is running, stop it, wait until it is gone, then start this command in its place.'
complete -c runctl -n '__runctl_is run' -l rollback -d 'With -d --replace: if the new instance does not come up (it ends in its settle window, or sends no READY=1 with --notify), start the previous spec again; reported as rolled back, and still a failure (exit 1).'
complete -c runctl -n '__runctl_is run' -l restart -x -a 'no on-failure always' -d 'Restart automatically: no, on-failure or always.'
complete -c runctl -n '__runctl_is run' -l restart-delay -x -d 'Wait this long before an automatic restart (the first one, with --restart-max-delay).'
complete -c runctl -n '__runctl_is run' -l restart-max-delay -x -d 'Back off: each automatic restart waits about twice as long as the one before, up to this (systemd 254 and later: RestartSteps=, RestartMaxDelaySec=). Older systemd waits --restart-delay every time.'
complete -c runctl -n '__runctl_is run' -l max-restarts -x -d 'Give up (run stays failed) after N automatic restarts within --within; none: never give up. Without it systemd gives up after 5 starts in 10 s.'
complete -c runctl -n '__runctl_is run' -l within -x -d 'The interval --max-restarts counts in.'
complete -c runctl -n '__runctl_is run' -l enable -d 'Also start the run at boot (as runctl enable).'
complete -c runctl -n '__runctl_is run' -l buffered -d 'Leave the program\'s output buffering as it is. Without it, runctl adds PYTHONUNBUFFERED=1 and RCUTILS_LOGGING_BUFFERED_STREAM=1 to the run\'s environment (each unless the environment sets it, e.g. -E PYTHONUNBUFFERED=), so that Python\'s print() and ROS 2 logging reach the journal as they are printed, not blocks at a time or at exit; they are added to the unit, not to the run\'s spec: ls, status --json and export show your environment.'
complete -c runctl -n '__runctl_is run' -l no-log-limit -d 'Lift journald\'s rate limit for this run (10,000 lines per 30 s by default; lines beyond are dropped). Implied without -d.'
complete -c runctl -n '__runctl_is run' -l settle -x -d 'Watch the program this long after its start; if it ends within that, report how and fail. 0: return once it was executed. Only with -d.'
complete -c runctl -n '__runctl_is run' -s p -l property -x -a 'MemoryMax= MemoryHigh= CPUQuota= CPUWeight= AllowedCPUs= TasksMax= IOWeight= Nice= CPUAffinity= CPUSchedulingPolicy=other CPUSchedulingPolicy=batch CPUSchedulingPolicy=idle CPUSchedulingPolicy=fifo CPUSchedulingPolicy=rr CPUSchedulingPriority= CPUSchedulingResetOnFork=yes CPUSchedulingResetOnFork=no IOSchedulingClass=realtime IOSchedulingClass=best-effort IOSchedulingClass=idle IOSchedulingPriority= LimitNOFILE= LimitCORE= LimitRTPRIO= LimitMEMLOCK= UMask= OOMScoreAdjust= SupplementaryGroups= DeviceAllow= KillSignal=SIGTERM KillSignal=SIGINT KillSignal=SIGHUP KillSignal=SIGQUIT KillSignal=SIGUSR1 KillSignal=SIGUSR2 KillSignal=SIGKILL TimeoutStopSec= TimeoutStartSec=' -d 'Set a unit property, as in a unit file (repeatable); see PROPERTIES for the ones taken.'
complete -c runctl -n '__runctl_is run' -l stop-signal -x -a 'SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGKILL' -d 'Signal stop, restart and SIGTERM to an attached runctl send first (-p KillSignal=; SIGTERM by default). Ctrl-C of an attached run sends SIGINT.'
complete -c runctl -n '__runctl_is run' -s i -l stdin -d 'Attached: the program reads runctl\'s stdin (a pipe as it is, a terminal through a pty).'
complete -c runctl -n '__runctl_is run' -l notify -d 'The program tells systemd it is ready (sd_notify READY=1): the start returns then, instead of after --settle, or fails at TimeoutStartSec (-p, 90s by default).'
complete -c runctl -n '__runctl_is run' -l watchdog -x -d 'The program must send WATCHDOG=1 this often, or systemd kills it (SIGABRT; with --restart, restarts it).'
complete -c runctl -n '__runctl_is run' -l after -x -a '(__runctl_runs)' -d 'Start after NAME and start NAME with it (After=, Wants=; repeatable): a run, or a systemd unit named with its type, e.g. network-online.target, time-sync.target, a mount (mnt-data.mount), a device (dev-ttyUSB0.device) or a service. A run whose name ends so is named by its unit, runctl-NAME.service.'
complete -c runctl -n '__runctl_is run' -l wants -x -a '(__runctl_runs)' -d 'Start NAME with this run, in no particular order (Wants=; repeatable): a run or a systemd unit, as with --after.'
complete -c runctl -n '__runctl_is run' -l uid -x -d 'Run the program as this user (system manager only).'
complete -c runctl -n '__runctl_is run' -l gid -x -d 'Run the program with this group (default: the user\'s own).'
complete -c runctl -n '__runctl_arg run 0; or __runctl_prog' -a '(__runctl_program)'

# ls
complete -c runctl -n '__runctl_is ls' -s q -l quiet -d 'Print only the names (for scripts and shell completion).'
complete -c runctl -n '__runctl_is ls' -l stack -x -d 'Act on the runs of this stack (runctl apply), in the order their after gives.'

# stop
complete -c runctl -n '__runctl_is stop' -s f -l force -d 'SIGKILL every process of the run at once.'
complete -c runctl -n '__runctl_is stop' -l all -d 'Stop every running run.'
complete -c runctl -n '__runctl_is stop' -l timeout -x -d 'Wait this long after SIGTERM before SIGKILL (default: the run\'s --stop-timeout).'
complete -c runctl -n '__runctl_is stop' -l stack -x -d 'Act on the runs of this stack (runctl apply), in the order their after gives.'
complete -c runctl -n '__runctl_arg stop 0 +' -a '(__runctl_runs)'

# restart
complete -c runctl -n '__runctl_is restart' -s f -l force -d 'SIGKILL the old instance at once instead of SIGTERM.'
complete -c runctl -n '__runctl_is restart' -l timeout -x -d 'Wait this long after SIGTERM before SIGKILL (default: the run\'s --stop-timeout).'
complete -c runctl -n '__runctl_is restart' -l update-env -d 'Replace the replayed environment with your current one.'
complete -c runctl -n '__runctl_is restart' -l rollback -d 'With --update-env: if the new instance does not come up (it ends in its settle window, or sends no READY=1 with --notify), start the previous spec again; reported as rolled back, and still a failure (exit 1).'
complete -c runctl -n '__runctl_is restart' -l settle -x -d 'Watch the program this long after its start; if it ends within that, report how and fail. 0: return once it was executed.'
complete -c runctl -n '__runctl_is restart' -l stack -x -d 'Act on the runs of this stack (runctl apply), in the order their after gives. One at a time: each once the one before it settled.'
complete -c runctl -n '__runctl_arg restart 0 +' -a '(__runctl_runs)'

# start
complete -c runctl -n '__runctl_is start' -l settle -x -d 'Watch the program this long after its start; if it ends within that, report how and fail. 0: return once it was executed.'
complete -c runctl -n '__runctl_arg start 0 +' -a '(__runctl_runs)'

# rm
complete -c runctl -n '__runctl_is rm' -s f -l force -d 'Stop a running run first.'
complete -c runctl -n '__runctl_arg rm 0 +' -a '(__runctl_runs)'

# enable
complete -c runctl -n '__runctl_is enable' -l stack -x -d 'Enable every run of this stack (runctl apply), and the stack\'s target, runctl-STACK.target, which starts them at boot and whose restart restarts them.'
complete -c runctl -n '__runctl_arg enable 0 +' -a '(__runctl_runs)'

# disable
complete -c runctl -n '__runctl_is disable' -l all -d 'Disable every run runctl enabled.'
complete -c runctl -n '__runctl_is disable' -l stack -x -d 'Disable every enabled run of this stack, and remove the stack\'s target, runctl-STACK.target.'
complete -c runctl -n '__runctl_arg disable 0 +' -a '(__runctl_runs)'

# status
complete -c runctl -n '__runctl_is status' -s n -l lines -x -d 'How many of the last log lines to show.'
complete -c runctl -n '__runctl_is status' -l stack -x -d 'Act on the runs of this stack (runctl apply), in the order their after gives.'
complete -c runctl -n '__runctl_arg status 0 +' -a '(__runctl_runs)'

# logs
complete -c runctl -n '__runctl_is logs' -s f -l follow -d 'Keep printing new output, across restarts, until Ctrl-C.'
complete -c runctl -n '__runctl_is logs' -s n -l lines -x -d 'Show the last N lines, 0 none, or all (default: 50; with --since or --until, all). With --follow, the lines before the new ones.'
complete -c runctl -n '__runctl_is logs' -s b -l boot -x -d 'Only entries of this boot, as journalctl -b: 0 or no value the current boot, -1 the one before, 1 the first, or a boot id (journalctl --list-boots). Implies --invocation all.'
complete -c runctl -n '__runctl_is logs' -s g -l grep -x -d 'Only lines whose message matches this pattern (journalctl --grep: PCRE2, case-insensitive when it has no capital letter).'
complete -c runctl -n '__runctl_is logs' -s r -l reverse -d 'Newest line first.'
complete -c runctl -n '__runctl_is logs' -s o -l output -x -d 'How to print lines: short (time to the second), short-precise (to the microsecond; the default), short-iso, cat (the message only, exactly as written), json (runctl\'s JSON lines, as --json).'
complete -c runctl -n '__runctl_is logs' -l no-pager -d 'Accepted for journalctl\'s sake: runctl never pages.'
complete -c runctl -n '__runctl_is logs' -l since -x -d 'Show entries from this time on (journalctl\'s formats: \'10 min ago\', \'2026-11-25 10:00\', \'@1764064800\'). Implies --invocation all.'
complete -c runctl -n '__runctl_is logs' -l until -x -d 'Show entries up to this time. Implies --invocation all.'
complete -c runctl -n '__runctl_is logs' -s I -l invocation -x -d 'Which instance: current (the newest, default), previous, all, or an invocation id.'
complete -c runctl -n '__runctl_is logs' -s p -l priority -x -d 'Only entries of this priority or more urgent: err, warning, info, ... or a range 0..4.'
complete -c runctl -n '__runctl_is logs' -l no-hostname -d 'Leave the host name out of each line.'
complete -c runctl -n '__runctl_is logs' -l stack -x -d 'Show the output of every run of this stack (runctl apply), interleaved by time.'
complete -c runctl -n '__runctl_arg logs 0 +' -a '(__runctl_runs)'

# apply
complete -c runctl -n '__runctl_is apply' -l prune -d 'Also stop and forget the runs of the stack that are no longer in the file.'
complete -c runctl -n '__runctl_is apply' -l dry-run -d 'Show what would be done, and do nothing.'
complete -c runctl -n '__runctl_is apply' -l settle -x -d 'Watch the program this long after its start; if it ends within that, report how and fail. 0: return once it was executed.'
complete -c runctl -n '__runctl_is apply' -l rollback -d 'For a run it replaces: if the new instance does not come up (it ends in its settle window, or sends no READY=1 with --notify), start the previous spec again; reported as rolled back, and still a failure (exit 1).'

# export
complete -c runctl -n '__runctl_is export' -l stack -x -d 'The stack\'s name in the file; without NAMEs, only its runs are written (default: the stack the runs belong to).'
complete -c runctl -n '__runctl_arg export 0 +' -a '(__runctl_runs)'

# serve-ssh
complete -c runctl -n '__runctl_is serve-ssh' -l allow -x -d 'Also allow through this key: run, rm, enable, disable, apply, export (the verbs, and run --enable; apply starts any program its file names, export shows the runs\' environments); env (-E, --env-file, --source, run without --clean-env, restart --update-env); uid (--uid, --gid); property (-p, --stop-signal, a systemd unit in --after or --wants); dir (--dir). Comma-separated, repeatable.'
complete -c runctl -n '__runctl_is serve-ssh' -l allow-program -x -d 'With --allow run: a program runs may start, named by its absolute path exactly as the client must name it (repeatable); no other is started.'

# serve-operator
