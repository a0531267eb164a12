package main

// The generated files are checked three ways: the copies kept in packaging/
// are what the generator writes now (so they cannot drift from the CLI), the
// man page renders without a warning, and each completion, loaded in its
// shell, completes what runctl accepts (run names from `runctl ls -q`).
// The shells and groff are needed, not optional: packaging/build-deps.sh test
// installs them.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const root = "../.."

func generated(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := generate(root)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestCommittedFilesAreCurrent(t *testing.T) {
	for rel, want := range generated(t) {
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("%s: %v (run make docs)", rel, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: the command line or README.md changed since it was generated (run make docs)\n%s", rel, firstDiff(got, want))
		}
	}
}

// firstDiff shows the first line where the committed copy differs.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  committed: %q\n  generated: %q", i+1, gl, wl)
		}
	}
	return ""
}

// need finds a program the test cannot do without.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatalf("%s is needed to check the generated files: apt-get install %s (packaging/build-deps.sh test installs it)", prog, pkg)
	}
	return p
}

func writeTemp(t *testing.T, name string, data []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestManPageRendersWithoutWarnings(t *testing.T) {
	groff := need(t, "groff", "groff-base")
	page := writeTemp(t, "runctl.1", generated(t)[manPath], 0o644)
	// -P-cbou: plain text, no overstriking.
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-P-cbou", page)
	cmd.Env = append(os.Environ(), "MANWIDTH=80")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("groff -man -ww %s: %v\n%s", page, err, stderr.String())
	}
	text := out.String()
	doc, err := fromKong(parserModel())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "EXIT STATUS", "FILES", "SEE ALSO",
		"/var/lib/runctl/runs/", "~/.local/state/runctl/runs/", "128+N", "systemd-run(1)"}
	for _, c := range doc.Commands {
		want = append(want, "runctl "+c.Name)
		for _, f := range c.Flags {
			want = append(want, "--"+f.Long)
		}
	}
	for _, f := range doc.Globals {
		want = append(want, "--"+f.Long)
	}
	// Options must render as ASCII hyphen-minus, so they copy and paste,
	// and never be hyphenated.
	if i := strings.IndexAny(text, "\u2010\u2212"); i >= 0 {
		t.Errorf("rendered man page has a hyphen or minus sign that is not ASCII: %q", text[max(0, i-40):min(len(text), i+40)])
	}
	text = strings.Join(strings.Fields(text), " ")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("rendered man page lacks %q", w)
		}
	}
}

// fakeRunctl is a runctl that knows runs: "nav", "nav2", "cam" for the
// system manager (the default for root), "mine" for --user.
func fakeRunctl(t *testing.T) string {
	t.Helper()
	dir := filepath.Dir(writeTemp(t, "runctl", []byte(`#!/bin/sh
case "$*" in
"ls -q" | "--system ls -q") printf 'nav\nnav2\ncam\n' ;;
"--user ls -q") echo mine ;;
*) echo "runctl: unexpected $*" >&2; exit 2 ;;
esac
`), 0o755))
	return dir
}

// A completion case: the words of a line, the last one being completed.
type compCase struct {
	words []string
	want  []string // exactly these, in any order
	has   []string // at least these
}

var compCases = []compCase{
	{words: []string{"runctl", ""}, want: allCommandNames()},
	{words: []string{"runctl", "res"}, want: []string{"restart"}},
	{words: []string{"runctl", "restart", ""}, want: []string{"nav", "nav2", "cam"}},
	{words: []string{"runctl", "restart", "na"}, want: []string{"nav", "nav2"}},
	{words: []string{"runctl", "stop", "-f", ""}, want: []string{"nav", "nav2", "cam"}},
	{words: []string{"runctl", "logs", "-n", "5", ""}, want: []string{"nav", "nav2", "cam"}},
	{words: []string{"runctl", "start", ""}, want: []string{"nav", "nav2", "cam"}},
	{words: []string{"runctl", "rm", "nav", ""}, has: []string{"cam"}},
	{words: []string{"runctl", "--user", "restart", ""}, want: []string{"mine"}},
	{words: []string{"runctl", "stop", "--user", ""}, want: []string{"mine"}},
	{words: []string{"runctl", "--log-level", "debug", "stop", ""}, want: []string{"nav", "nav2", "cam"}},
	{words: []string{"runctl", "--log-level", ""}, want: []string{"debug", "info", "warn", "error"}},
	{words: []string{"runctl", "run", "--restart", ""}, want: []string{"no", "on-failure", "always"}},
	{words: []string{"runctl", "stop", "--f"}, want: []string{"--force"}},
	{words: []string{"runctl", "run", "-p", "MemoryM"}, want: []string{"MemoryMax="}},
	{words: []string{"runctl", "run", "-p", "CPUSchedulingPolicy=f"}, want: []string{"CPUSchedulingPolicy=fifo"}},
	{words: []string{"runctl", "run", "--stop-signal", "SIGI"}, want: []string{"SIGINT"}},
	{words: []string{"runctl", "run", "--after", "na"}, want: []string{"nav", "nav2"}},
	{words: []string{"runctl", "restart", "--up"}, want: []string{"--update-env"}},
	{words: []string{"runctl", "ls", "--q"}, want: []string{"--quiet"}},
	{words: []string{"runctl", "run", "-d", "-n", "x", "slee"}, has: []string{"sleep"}},
	{words: []string{"runctl", "run", "-E", "A=1", "--", "slee"}, has: []string{"sleep"}},
}

// allCommandNames are every command's name and aliases.
func allCommandNames() []string {
	doc, err := fromKong(parserModel())
	if err != nil {
		panic(err)
	}
	var names []string
	for _, c := range doc.Commands {
		names = append(names, c.commandNames()...)
	}
	return names
}

func TestBashCompletion(t *testing.T) {
	bash := need(t, "bash", "bash")
	script := writeTemp(t, "runctl.bash", generated(t)[bashPath], 0o644)
	path := fakeRunctl(t) + ":" + os.Getenv("PATH")
	for _, c := range append(compCases,
		// bash splits --flag=value at "=".
		compCase{words: []string{"runctl", "--log-level", "=", "w"}, want: []string{"warn"}},
		compCase{words: []string{"runctl", "--log-level", "=", "debug", "restart", ""}, want: []string{"nav", "nav2", "cam"}},
		// restart and logs take several names.
		compCase{words: []string{"runctl", "restart", "nav", ""}, want: []string{"nav", "nav2", "cam"}},
		compCase{words: []string{"runctl", "logs", "nav", ""}, want: []string{"nav", "nav2", "cam"}},
	) {
		t.Run(strings.Join(c.words, " "), func(t *testing.T) {
			cmd := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", bashDriver, "bash", script}, c.words...)...)
			cmd.Env = append(os.Environ(), "PATH="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			check(t, c, lines(string(out)))
		})
	}
}

// bashDriver sources the completion ($1) and completes the words that
// follow as bash would: COMP_WORDS, COMP_CWORD, then the function that
// `complete -p runctl` names.
const bashDriver = `source "$1" || exit 1
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
spec=$(complete -p runctl) || exit 1
fn=${spec#*-F }
fn=${fn%% *}
COMPREPLY=()
"$fn" runctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
`

func TestZshCompletion(t *testing.T) {
	zsh := need(t, "zsh", "zsh")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "_runctl"), generated(t)[zshPath], 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", filepath.Join(dir, "_runctl")).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n _runctl: %v\n%s", err, out)
	}
	var lines []string
	for _, c := range compCases {
		lines = append(lines, strings.Join(c.words, " "))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zsh, append([]string{"-f", "-c", zshDriver, "zsh", dir}, lines...)...)
	cmd.Env = append(os.Environ(), "PATH="+fakeRunctl(t)+":"+os.Getenv("PATH"), "TERM=dumb")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	got := map[int][]string{}
	for _, l := range strings.Split(string(out), "\n") {
		var i int
		var m string
		if _, err := fmt.Sscanf(l, "HIT %d %s", &i, &m); err == nil {
			got[i] = append(got[i], m)
		}
	}
	for i, c := range compCases {
		t.Run(lines[i], func(t *testing.T) { check(t, c, uniq(got[i])) })
	}
}

// zshDriver completes each line (after $1, the fpath folder) with TAB in an
// interactive zsh on a pseudo-terminal, and prints every match offered as
// "HIT <line index> <match>". TAB is bound to a widget that completes and
// then prints a marker, read before anything else is typed: zle must not see
// typeahead while it completes.
const zshDriver = `zmodload zsh/zpty || exit 1
zpty z zsh -f -i
zpty -w z "PS1= PROMPT= RPROMPT=; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() { local -a hits; builtin compadd -O hits "$@"; print -rl -- "HIT $CASE "${^hits}; builtin compadd "$@"; }'
zpty -w z 'complete-and-tell() { zle complete-word; print -n "END""COMP$CASE."; }; zle -N complete-and-tell; bindkey "^I" complete-and-tell'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' select-prompt ''; LISTMAX=100000"
zpty -w z 'print -r -- READY$((1+1))'
zpty -r z out '*READY2*' || exit 1
shift
i=0
for line in "$@"; do
	zpty -w z "CASE=$i"
	zpty -w -n z "$line"$'\t'
	zpty -r z out "*ENDCOMP$i.*" || exit 1
	print -r -- "$out" | tr -d '\r' | grep -ao "HIT $i [^[:cntrl:] ]*"
	zpty -w -n z $'\C-u'
	i=$((i+1))
done
zpty -d z
`

func TestFishCompletion(t *testing.T) {
	fish := need(t, "fish", "fish")
	script := writeTemp(t, "runctl.fish", generated(t)[fishPath], 0o644)
	if out, err := exec.Command(fish, "--no-execute", script).CombinedOutput(); err != nil {
		t.Fatalf("fish --no-execute: %v\n%s", err, out)
	}
	path := fakeRunctl(t) + ":" + os.Getenv("PATH")
	for _, c := range compCases {
		line := strings.Join(c.words, " ")
		t.Run(line, func(t *testing.T) {
			cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; and complete -C $argv[2]`, script, line)
			cmd.Env = append(os.Environ(), "PATH="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			var got []string
			for _, l := range lines(string(out)) {
				got = append(got, strings.SplitN(l, "\t", 2)[0]) // drop the description
			}
			check(t, c, got)
		})
	}
}

func check(t *testing.T, c compCase, got []string) {
	t.Helper()
	if c.has != nil {
		for _, h := range c.has {
			if !slices.Contains(got, h) {
				t.Errorf("completing %q offers %q, want at least %q", strings.Join(c.words, " "), got, c.has)
			}
		}
		return
	}
	g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(c.want))
	if !slices.Equal(g, w) {
		t.Errorf("completing %q offers %q, want %q", strings.Join(c.words, " "), g, w)
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func uniq(s []string) []string {
	s = slices.Sorted(slices.Values(s))
	return slices.Compact(s)
}
