package main

import (
	"bytes"
	"fmt"
	"strings"
)

// zshCompletion writes an autoloadable zsh completion function (_runctl in
// a directory of $fpath) built on _arguments.
func zshCompletion(doc *cliDoc) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`#compdef %[1]s
# zsh completion for %[1]s.
# Generated from %[1]s's command line by cmd/runctl-gendocs: do not edit,
# run "make docs".

# The runs of the manager named on the line ($_%[1]s_scope: --user, --system
# or none for the default one).
(( $+functions[_%[1]s_runs] )) ||
_%[1]s_runs() {
  local -a runs
  runs=(${(f)"$(_call_program runs %[1]s $_%[1]s_scope ls -q 2>/dev/null)"})
  _wanted runs expl run compadd -a runs
}

_%[1]s() {
  local curcontext=$curcontext state state_descr line ret=1
  local -a _%[1]s_scope
  if (( ${words[(I)--user]} > ${words[(I)--system]} )); then
    _%[1]s_scope=(--user)
  elif (( ${words[(I)--system]} )); then
    _%[1]s_scope=(--system)
  fi
  local -a globals
  globals=(
`, doc.Name)
	for _, f := range doc.Globals {
		for _, spec := range zshFlagSpecs(doc.Name, f) {
			w("    %s\n", spec)
		}
	}
	w(`  )
  # Options after the command are the command's: -A leaves them to it.
  _arguments -C -s -A '-*' $globals ': :->command' '*:: :->args' && ret=0
  case $state in
  command)
    local -a commands
    commands=(
`)
	for _, c := range doc.Commands {
		for _, n := range c.commandNames() {
			w("      %s\n", zshQuote(n+":"+c.Help))
		}
	}
	w(`    )
    _describe -t commands '%[1]s command' commands && ret=0
    ;;
  args)
    curcontext=${curcontext%%:*:*}:%[1]s-$words[1]:
    case $words[1] in
`, doc.Name)
	for _, c := range doc.Commands {
		// -S: "--" ends the options, as for kong.
		w("    %s)\n      _arguments -s -S $globals", strings.Join(c.commandNames(), "|"))
		for _, f := range c.Flags {
			for _, spec := range zshFlagSpecs(doc.Name, f) {
				w(" \\\n        %s", spec)
			}
		}
		for _, a := range c.Args {
			for _, spec := range zshArgSpecs(doc.Name, a) {
				w(" \\\n        %s", spec)
			}
		}
		w(" && ret=0\n      ;;\n")
	}
	w(`    esac
    ;;
  esac
  return ret
}

_%[1]s "$@"
`, doc.Name)
	return b.Bytes()
}

// zshFlagSpecs are _arguments specs for one flag: its spellings exclude
// each other (and the flags it is exclusive with), a repeatable one may
// come again.
func zshFlagSpecs(prog string, f flagDoc) []string {
	var ex []string
	for _, e := range f.Excludes {
		ex = append(ex, "--"+e)
	}
	names := f.names()
	desc := "[" + zshBracket(f.Help) + "]"
	action := ""
	if f.TakesValue {
		action = ":" + zshColon(strings.ToLower(f.Placeholder)) + ":"
		switch f.Complete {
		case completeEnum:
			action += "(" + strings.Join(f.offer(), " ") + ")"
		case completeRuns:
			action += "_" + prog + "_runs"
		case completeDir:
			action += "_files -/"
		default:
			action += " "
		}
	}
	prefix := ""
	switch {
	case f.Repeatable:
		prefix = "*"
	case f.Long == "help" || f.Long == "version":
		prefix = "(- *)" // nothing else matters
	case len(names) > 1 || len(ex) > 0:
		prefix = "(" + strings.Join(append(append([]string{}, names...), ex...), " ") + ")"
	}
	var specs []string
	for _, n := range names {
		spelled := n
		if f.TakesValue {
			if strings.HasPrefix(n, "--") {
				spelled += "=" // --flag=VALUE or --flag VALUE
			} else {
				spelled += "+" // -fVALUE or -f VALUE
			}
		}
		specs = append(specs, zshQuote(prefix+spelled+desc+action))
	}
	return specs
}

func zshArgSpecs(prog string, a argDoc) []string {
	action := " "
	switch a.Complete {
	case completeRuns:
		action = "_" + prog + "_runs"
	case completeCommand:
		// The program, then its own arguments completed as its own line.
		return []string{zshQuote("(-):" + zshColon(strings.ToLower(a.Placeholder)) + ":_command_names -e"), zshQuote("*::arguments:_normal")}
	}
	msg := zshColon(strings.ToLower(a.Placeholder))
	switch {
	case a.Repeatable:
		return []string{zshQuote("*:" + msg + ":" + action)}
	case a.Required:
		return []string{zshQuote(":" + msg + ":" + action)}
	default:
		return []string{zshQuote("::" + msg + ":" + action)}
	}
}

// zshQuote single-quotes s for zsh.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// zshBracket escapes a description inside an _arguments [...].
func zshBracket(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// zshColon escapes the colons of a message between _arguments' colons.
func zshColon(s string) string { return strings.ReplaceAll(s, ":", `\:`) }
