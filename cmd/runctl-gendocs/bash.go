package main

import (
	"bytes"
	"fmt"
	"strings"
)

// bashCompletion writes a self-contained bash completion: it needs neither
// the bash-completion package's helpers nor anything but runctl, and uses
// _command_offset for a run's program when bash-completion is loaded.
func bashCompletion(doc *cliDoc) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`# bash completion for %[1]s                                -*- shell-script -*-
# Generated from %[1]s's command line by cmd/runctl-gendocs: do not edit,
# run "make docs".

# _%[1]s_runs CUR SCOPE: reply with the runs of that manager (--user,
# --system or the default one).
_%[1]s_runs()
{
	mapfile -t COMPREPLY < <(compgen -W "$(%[1]s $2 ls -q 2>/dev/null)" -- "$1")
}

# _%[1]s_program CUR: reply with a program to run.
_%[1]s_program()
{
	if [[ $1 == */* ]]; then
		compopt -o default 2>/dev/null
		COMPREPLY=()
	else
		mapfile -t COMPREPLY < <(compgen -c -- "$1" | sort -u)
	fi
}

# _%[1]s_takes_value COMMAND FLAG: whether FLAG needs a value there.
_%[1]s_takes_value()
{
`, doc.Name)
	if v := valueFlags(doc.Globals); v != "" {
		w("\tcase $2 in\n\t%s) return 0 ;;\n\tesac\n", v)
	}
	w("\tcase $1 in\n")
	for _, c := range doc.Commands {
		if v := valueFlags(c.Flags); v != "" {
			w("\t%s)\n\t\tcase $2 in\n\t\t%s) return 0 ;;\n\t\tesac\n\t\t;;\n", c.Name, v)
		}
	}
	w("\tesac\n\treturn 1\n}\n\n")

	w(`_%[1]s()
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
			elif _%[1]s_takes_value "$cmd" "$w"; then
				flag=$w skip=1
			fi
			case $w in --user | --system) scope=$w ;; esac
			continue
		fi
		if [[ ! $cmd ]]; then
			case $w in
`, doc.Name)
	for _, c := range doc.Commands {
		w("\t\t\t%s) cmd=%s ;;\n", strings.Join(c.commandNames(), " | "), c.Name)
	}
	w("\t\t\t*) return 0 ;;\n\t\t\tesac\n\t\t\tcontinue\n\t\tfi\n")
	w("\t\t# The program of a passthrough argument: what follows is its own.\n")
	w("\t\tcase $cmd:$npos in\n")
	for _, c := range doc.Commands {
		if at := c.passthroughAt(); at >= 0 {
			w("\t\t%s:%d) prog=$i ;;\n", c.Name, at)
		}
	}
	w("\t\tesac\n\t\t((npos++))\n\tdone\n\n")

	w("\tif ((skip > 0)); then\n\t\t[[ $cur == = ]] && cur=\n\t\tcase $cmd:$flag in\n")
	valueCases := func(scope string, flags []flagDoc) {
		for _, f := range flags {
			var pats []string
			for _, n := range f.names() {
				pats = append(pats, scope+":"+n)
			}
			switch f.Complete {
			case completeEnum:
				w("\t\t%s) mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\") ;;\n", strings.Join(pats, " | "), strings.Join(f.offer(), " "))
			case completeRuns:
				w("\t\t%s) _%s_runs \"$cur\" \"$scope\" ;;\n", strings.Join(pats, " | "), doc.Name)
			case completeDir:
				w("\t\t%s)\n\t\t\tcompopt -o filenames 2>/dev/null\n\t\t\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n\t\t\t;;\n", strings.Join(pats, " | "))
			}
		}
	}
	valueCases("*", doc.Globals)
	for _, c := range doc.Commands {
		valueCases(c.Name, c.Flags)
	}
	w("\t\t*) COMPREPLY=() ;;\n\t\tesac\n\t\treturn 0\n\tfi\n\n")

	var cmds []string
	for _, c := range doc.Commands {
		cmds = append(cmds, c.commandNames()...)
	}
	w(`	if [[ ! $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W %q -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W %q -- "$cur")
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
`, flagWords(doc.Globals), strings.Join(cmds, " "))
	for _, c := range doc.Commands {
		w("\t\t%s) mapfile -t COMPREPLY < <(compgen -W %q -- \"$cur\") ;;\n", c.Name, flagWords(append(append([]flagDoc{}, c.Flags...), doc.Globals...)))
	}
	w("\t\tesac\n\t\treturn 0\n\tfi\n\tCOMPREPLY=()\n\tcase $cmd in\n")
	for _, c := range doc.Commands {
		var conds []string
		for i, a := range c.Args {
			var reply string
			switch a.Complete {
			case completeRuns:
				reply = fmt.Sprintf(`_%s_runs "$cur" "$scope"`, doc.Name)
			case completeCommand:
				reply = fmt.Sprintf(`_%s_program "$cur"`, doc.Name)
			default:
				continue
			}
			op := "=="
			if a.Repeatable && !a.Passthrough {
				op = ">="
			}
			conds = append(conds, fmt.Sprintf("\t\tif ((npos %s %d)); then\n\t\t\t%s\n\t\tfi\n", op, i, reply))
		}
		if len(conds) > 0 {
			w("\t%s)\n%s\t\t;;\n", c.Name, strings.Join(conds, ""))
		}
	}
	w("\tesac\n\treturn 0\n}\n\ncomplete -F _%[1]s %[1]s\n", doc.Name)
	return b.Bytes()
}

// valueFlags is a case pattern of the flags that take a value, "" if none.
func valueFlags(flags []flagDoc) string {
	var pats []string
	for _, f := range flags {
		if f.TakesValue {
			pats = append(pats, f.names()...)
		}
	}
	return strings.Join(pats, " | ")
}

// flagWords are every spelling of flags, space separated.
func flagWords(flags []flagDoc) string {
	var ws []string
	for _, f := range flags {
		ws = append(ws, f.names()...)
	}
	return strings.Join(ws, " ")
}
