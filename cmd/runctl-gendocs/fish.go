package main

import (
	"bytes"
	"fmt"
	"strings"
)

// fishCompletion writes fish completions. __P_state reads the line the way
// runctl parses it (command, number of arguments, program reached, scope),
// and the conditions of the complete commands test it.
func fishCompletion(doc *cliDoc) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p := doc.Name
	w(`# fish completion for %[1]s
# Generated from %[1]s's command line by cmd/runctl-gendocs: do not edit,
# run "make docs".

# __%[1]s_takes_value COMMAND FLAG: whether FLAG needs a value there.
function __%[1]s_takes_value
    switch "$argv[1]:$argv[2]"
`, p)
	valueCase := func(scope string, flags []flagDoc) {
		var pats []string
		for _, f := range flags {
			if f.TakesValue {
				for _, n := range f.names() {
					pats = append(pats, fishQuote(scope+":"+n))
				}
			}
		}
		if len(pats) > 0 {
			w("        case %s\n            return 0\n", strings.Join(pats, " "))
		}
	}
	valueCase("*", doc.Globals)
	for _, c := range doc.Commands {
		valueCase(c.Name, c.Flags)
	}
	w(`    end
    return 1
end

# __%[1]s_state prints five lines about the tokens before the cursor: the
# command ("" if none yet), how many of its arguments there are, 1 if the
# program of a passthrough argument was reached, --user or --system, and
# the index of that program among the tokens after %[1]s.
function __%[1]s_state
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
                    __%[1]s_takes_value "$cmd" $w; and set skip 1
            end
            continue
        end
        if test -z "$cmd"
            switch $w
`, p)
	for _, c := range doc.Commands {
		var names []string
		for _, n := range c.commandNames() {
			names = append(names, fishQuote(n))
		}
		w("                case %s\n                    set cmd %s\n", strings.Join(names, " "), fishQuote(c.Name))
	}
	w(`                case '*'
                    set cmd '?'
            end
            continue
        end
        switch "$cmd:$npos"
`)
	var progCases []string
	for _, c := range doc.Commands {
		if at := c.passthroughAt(); at >= 0 {
			progCases = append(progCases, fishQuote(fmt.Sprintf("%s:%d", c.Name, at)))
		}
	}
	if len(progCases) > 0 {
		w("            case %s\n                set prog 1\n                set progat $i\n", strings.Join(progCases, " "))
	}
	w(`        end
        set npos (math $npos + 1)
    end
    printf '%%s\n' "$cmd" $npos $prog "$scope" $progat
end

# __%[1]s_is COMMAND: the line is in COMMAND's options and arguments ("" for
# none yet), not in a program's arguments.
function __%[1]s_is
    set -l s (__%[1]s_state)
    test "$s[1]" = "$argv[1]" -a "$s[3]" = 0
end

# __%[1]s_arg COMMAND N [+]: the cursor is at COMMAND's argument N (or
# beyond, with +).
function __%[1]s_arg
    set -l s (__%[1]s_state)
    test "$s[1]" = "$argv[1]" -a "$s[3]" = 0; or return 1
    if test "$argv[3]" = +
        test $s[2] -ge $argv[2]
    else
        test $s[2] -eq $argv[2]
    end
end

# __%[1]s_prog: the cursor is in the program of a passthrough argument or
# its arguments.
function __%[1]s_prog
    set -l s (__%[1]s_state)
    test "$s[3]" = 1
end

# __%[1]s_program: complete the program of a passthrough argument, then its
# arguments the way that program's own line would complete.
function __%[1]s_program
    set -l s (__%[1]s_state)
    set -l line
    if test "$s[3]" = 1
        set -l tokens (commandline -opc)
        set -e tokens[1]
        set line (string escape -- $tokens[$s[5]..-1])
    end
    set -a line (commandline -ct)
    complete -C "$line"
end

# __%[1]s_runs: the runs of the manager named on the line.
function __%[1]s_runs
    set -l s (__%[1]s_state)
    if test -n "$s[4]"
        %[1]s $s[4] ls -q 2>/dev/null
    else
        %[1]s ls -q 2>/dev/null
    end
end

complete -c %[1]s -f
`, p)

	w("\n# Commands.\n")
	for _, c := range doc.Commands {
		for _, n := range c.commandNames() {
			w("complete -c %s -n '__%s_is \"\"' -a %s -d %s\n", p, p, fishQuote(n), fishQuote(c.Help))
		}
	}
	w("\n# Global options.\n")
	for _, f := range doc.Globals {
		w("%s\n", fishFlag(p, "not __"+p+"_prog", f))
	}
	for _, c := range doc.Commands {
		w("\n# %s\n", c.Name)
		cond := fmt.Sprintf("__%s_is %s", p, c.Name)
		for _, f := range c.Flags {
			w("%s\n", fishFlag(p, cond, f))
		}
		for i, a := range c.Args {
			plus := ""
			if a.Repeatable && !a.Passthrough {
				plus = " +"
			}
			switch a.Complete {
			case completeRuns:
				w("complete -c %s -n '__%s_arg %s %d%s' -a '(__%s_runs)'\n", p, p, c.Name, i, plus, p)
			case completeCommand:
				w("complete -c %s -n '__%s_arg %s %d; or __%s_prog' -a '(__%s_program)'\n", p, p, c.Name, i, p, p)
			}
		}
	}
	return b.Bytes()
}

func fishFlag(prog, cond string, f flagDoc) string {
	s := fmt.Sprintf("complete -c %s -n %s", prog, fishQuote(cond))
	if f.Short != 0 {
		s += " -s " + string(f.Short)
	}
	s += " -l " + f.Long
	if f.TakesValue {
		switch f.Complete {
		case completeEnum:
			s += " -x -a " + fishQuote(strings.Join(f.offer(), " "))
		case completeRuns:
			s += fmt.Sprintf(" -x -a '(__%s_runs)'", prog)
		case completeDir:
			s += " -x -a '(__fish_complete_directories)'"
		default:
			s += " -x"
		}
	}
	return s + " -d " + fishQuote(f.Help)
}

// fishQuote single-quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
