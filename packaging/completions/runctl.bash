# bash completion for runctl                                -*- shell-script -*-
# Generated from runctl's command line by cmd/runctl-gendocs: do not edit,
# run "make docs".

# _runctl_runs CUR SCOPE: reply with the runs of that manager (--user,
# --system or the default one).
_runctl_runs()
{
	mapfile -t COMPREPLY < <(compgen -W "$(runctl $2 ls -q 2>/dev/null)" -- "$1")
}

# _runctl_program CUR: reply with a program to run.
_runctl_program()
{
	if [[ $1 == */* ]]; then
		compopt -o default 2>/dev/null
		COMPREPLY=()
	else
		mapfile -t COMPREPLY < <(compgen -c -- "$1" | sort -u)
	fi
}

# _runctl_takes_value COMMAND FLAG: whether FLAG needs a value there.
_runctl_takes_value()
{
	case $2 in
	--log-level | -H | --host | --inventory | -j | --parallel | --serial | --max-fail | --host-timeout | --remote-runctl) return 0 ;;
	esac
	case $1 in
	run)
		case $2 in
		-n | --name | -E | --env | --env-file | --source | --dir | --stop-timeout | --restart | --restart-delay | --restart-max-delay | --max-restarts | --within | --settle | -p | --property | --stop-signal | --watchdog | --after | --wants | --uid | --gid) return 0 ;;
		esac
		;;
	ls)
		case $2 in
		--stack) return 0 ;;
		esac
		;;
	stop)
		case $2 in
		--timeout | --stack) return 0 ;;
		esac
		;;
	restart)
		case $2 in
		--timeout | --settle | --stack) return 0 ;;
		esac
		;;
	start)
		case $2 in
		--settle) return 0 ;;
		esac
		;;
	enable)
		case $2 in
		--stack) return 0 ;;
		esac
		;;
	disable)
		case $2 in
		--stack) return 0 ;;
		esac
		;;
	status)
		case $2 in
		-n | --lines | --stack) return 0 ;;
		esac
		;;
	logs)
		case $2 in
		-n | --lines | -b | --boot | -g | --grep | -o | --output | --since | --until | -I | --invocation | -p | --priority | --stack) return 0 ;;
		esac
		;;
	apply)
		case $2 in
		--settle) return 0 ;;
		esac
		;;
	export)
		case $2 in
		--stack) return 0 ;;
		esac
		;;
	serve-ssh)
		case $2 in
		--allow | --allow-program) return 0 ;;
		esac
		;;
	esac
	return 1
}

_runctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} w i flag= cmd= scope= skip=0 dashdash= npos=0 prog=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if ((skip > 0)); then
			((skip--))
			continue
		fi
		if ((prog > 0)); then
			continue
		fi
		if [[ ! $dashdash && $w == -?* ]]; then
			if [[ $w == -- ]]; then
				dashdash=1
			elif [[ ${COMP_WORDS[i + 1]} == = ]]; then
				# bash splits "--flag=value" at "=": skip "=" and the value.
				flag=$w skip=2
			elif _runctl_takes_value "$cmd" "$w"; then
				flag=$w skip=1
			fi
			case $w in --user | --system) scope=$w ;; esac
			continue
		fi
		if [[ ! $cmd ]]; then
			case $w in
			run) cmd=run ;;
			ls | list | ps) cmd=ls ;;
			stop) cmd=stop ;;
			restart) cmd=restart ;;
			start) cmd=start ;;
			rm) cmd=rm ;;
			enable) cmd=enable ;;
			disable) cmd=disable ;;
			status) cmd=status ;;
			logs) cmd=logs ;;
			apply) cmd=apply ;;
			export) cmd=export ;;
			serve-ssh) cmd=serve-ssh ;;
			serve-operator) cmd=serve-operator ;;
			*) return 0 ;;
			esac
			continue
		fi
		# The program of a passthrough argument: what follows is its own.
		case $cmd:$npos in
		run:0) prog=$i ;;
		esac
		((npos++))
	done

	if ((skip > 0)); then
		[[ $cur == = ]] && cur=
		case $cmd:$flag in
		*:--log-level) mapfile -t COMPREPLY < <(compgen -W "debug info warn error" -- "$cur") ;;
		run:-n | run:--name) _runctl_runs "$cur" "$scope" ;;
		run:--dir)
			compopt -o filenames 2>/dev/null
			mapfile -t COMPREPLY < <(compgen -d -- "$cur")
			;;
		run:--restart) mapfile -t COMPREPLY < <(compgen -W "no on-failure always" -- "$cur") ;;
		run:-p | run:--property) mapfile -t COMPREPLY < <(compgen -W "MemoryMax= MemoryHigh= CPUQuota= CPUWeight= AllowedCPUs= TasksMax= IOWeight= Nice= CPUAffinity= CPUSchedulingPolicy=other CPUSchedulingPolicy=batch CPUSchedulingPolicy=idle CPUSchedulingPolicy=fifo CPUSchedulingPolicy=rr CPUSchedulingPriority= CPUSchedulingResetOnFork=yes CPUSchedulingResetOnFork=no IOSchedulingClass=realtime IOSchedulingClass=best-effort IOSchedulingClass=idle IOSchedulingPriority= LimitNOFILE= LimitCORE= LimitRTPRIO= LimitMEMLOCK= UMask= OOMScoreAdjust= SupplementaryGroups= DeviceAllow= KillSignal=SIGTERM KillSignal=SIGINT KillSignal=SIGHUP KillSignal=SIGQUIT KillSignal=SIGUSR1 KillSignal=SIGUSR2 KillSignal=SIGKILL TimeoutStopSec= TimeoutStartSec=" -- "$cur") ;;
		run:--stop-signal) mapfile -t COMPREPLY < <(compgen -W "SIGTERM SIGINT SIGHUP SIGQUIT SIGUSR1 SIGUSR2 SIGKILL" -- "$cur") ;;
		run:--after) _runctl_runs "$cur" "$scope" ;;
		run:--wants) _runctl_runs "$cur" "$scope" ;;
		*) COMPREPLY=() ;;
		esac
		return 0
	fi

	if [[ ! $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "-h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "run ls list ps stop restart start rm enable disable status logs apply export serve-ssh serve-operator" -- "$cur")
		fi
		return 0
	fi
	if ((prog > 0)); then
		if declare -F _command_offset >/dev/null; then
			_command_offset "$prog"
		else
			compopt -o default 2>/dev/null
			COMPREPLY=()
		fi
		return 0
	fi
	if [[ ! $dashdash && $cur == -* ]]; then
		case $cmd in
		run) mapfile -t COMPREPLY < <(compgen -W "-d --daemon -n --name -E --env --env-file --source --dir --stop-timeout --replace --rollback --restart --restart-delay --restart-max-delay --max-restarts --within --enable --buffered --no-log-limit --settle -p --property --stop-signal -i --stdin --notify --watchdog --after --wants --uid --gid -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		ls) mapfile -t COMPREPLY < <(compgen -W "-q --quiet --stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		stop) mapfile -t COMPREPLY < <(compgen -W "-f --force --all --timeout --stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		restart) mapfile -t COMPREPLY < <(compgen -W "-f --force --timeout --update-env --rollback --settle --stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		start) mapfile -t COMPREPLY < <(compgen -W "--settle -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		rm) mapfile -t COMPREPLY < <(compgen -W "-f --force -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		enable) mapfile -t COMPREPLY < <(compgen -W "--stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		disable) mapfile -t COMPREPLY < <(compgen -W "--all --stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		status) mapfile -t COMPREPLY < <(compgen -W "-n --lines --stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		logs) mapfile -t COMPREPLY < <(compgen -W "-f --follow -n --lines -b --boot -g --grep -r --reverse -o --output --no-pager --since --until -I --invocation -p --priority --no-hostname --stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		apply) mapfile -t COMPREPLY < <(compgen -W "--prune --dry-run --settle --rollback -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		export) mapfile -t COMPREPLY < <(compgen -W "--stack -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		serve-ssh) mapfile -t COMPREPLY < <(compgen -W "--allow --allow-program -h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		serve-operator) mapfile -t COMPREPLY < <(compgen -W "-h --help --user --system --json --log-level -H --host --inventory -j --parallel --serial --max-fail --host-timeout --remote-runctl --version" -- "$cur") ;;
		esac
		return 0
	fi
	COMPREPLY=()
	case $cmd in
	run)
		if ((npos == 0)); then
			_runctl_program "$cur"
		fi
		;;
	stop)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	restart)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	start)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	rm)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	enable)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	disable)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	status)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	logs)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	export)
		if ((npos >= 0)); then
			_runctl_runs "$cur" "$scope"
		fi
		;;
	esac
	return 0
}

complete -F _runctl runctl
