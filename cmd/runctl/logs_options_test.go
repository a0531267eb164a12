package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/sandbox"
)

// programText is logs' text output's program lines, message only.
func programText(out, name string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if j, k := strings.Index(l, " "+name+"["), strings.Index(l, "]: "); j >= 0 && k > j {
			got = append(got, l[k+3:])
		}
	}
	return got
}

// logs takes journalctl's flags with journalctl's meaning: -n (0 is
// nothing, with or without -f), -r, -g, -o, --no-pager, -b.
func TestLogsJournalctlOptions(t *testing.T) {
	alone(t)
	name := runName(t)
	// The program prints what the test drops in /run/NAME.say: five lines
	// once systemd's "Started" line is in the journal, so that they are the
	// last lines.
	say := "/run/" + name + ".say"
	t.Cleanup(func() { os.Remove(sbOf(t).Path(say)) })
	script := `while :; do if test -e "$0"; then cat "$0"; rm "$0"; fi; sleep 0.1; done`
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", script, say); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool { return strings.Contains(runctl(t, "logs", name).stdout, "Started runctl-"+name) }, "systemd's Started line")
	if err := os.WriteFile(sbOf(t).Path(say), []byte("one\ntwo ERROR\nthree\nesc \x1b]0;x\x07 end\nfour\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(runctl(t, "logs", name).stdout, ": four") }, "the run's last line")
	all := []string{"one", "two ERROR", "three", "esc \x1b]0;x\x07 end", "four"}

	check := func(args []string, want []string) {
		t.Helper()
		r := runctl(t, append(append([]string{"logs", "--no-hostname"}, args...), name)...)
		if got := programText(r.stdout, name); r.code != 0 || !equal(got, want) {
			t.Errorf("logs %q: program lines %q, want %q\n%v", args, got, want, r)
		}
	}
	check(nil, all)
	check([]string{"--no-pager"}, all)
	check([]string{"-n", "all"}, all)
	check([]string{"-n", "2"}, all[3:])
	check([]string{"-n", "0"}, nil)
	check([]string{"-r"}, []string{"four", all[3], "three", "two ERROR", "one"})
	check([]string{"-r", "-n", "2"}, []string{"four", all[3]})
	check([]string{"-g", "error"}, []string{"two ERROR"})   // lower case: any case
	check([]string{"--grep", "Error"}, nil)                 // a capital: exact case
	check([]string{"-g", "^t", "-I", "all"}, all[1:3])      // a regular expression
	check([]string{"-b"}, all)                              // the current boot
	check([]string{"-b", "0", "-n", "1"}, all[4:])          // the same
	check([]string{"--boot=0", "-o", "short-precise"}, all) // the default mode
	// The sandbox's boots all have the host kernel's boot id: there is no
	// boot before this one in its journal.
	if r := runctl(t, "logs", "-b", "-1", name); r.code != 1 || !strings.Contains(r.stderr, "journalctl --list-boots") {
		t.Errorf("logs -b -1 with one boot in the journal: %v", r)
	}
	if r := runctl(t, "logs", "-n", "0", name); r.code != 0 || r.stdout != "" {
		t.Errorf("logs -n 0: %v, want nothing", r)
	}
	if r := runctl(t, "logs", "-n", "0", "no-such-run-logs"); r.code != 5 {
		t.Errorf("logs -n 0 of an unknown run: %v, want exit 5", r)
	}

	// -o cat: the messages exactly as written, manager's lines included.
	r := runctl(t, "logs", "-o", "cat", name)
	if lines := strings.Split(r.stdout, "\n"); r.code != 0 || !strings.Contains(r.stdout, "\n"+strings.Join(all, "\n")+"\n") || strings.Contains(r.stdout, name+"[") || len(lines) < len(all) {
		t.Errorf("logs -o cat: %v", r)
	}
	// -o short, short-iso: journalctl's time stamps.
	for mode, re := range map[string]string{
		"short":         `^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d ` + name + `\[\d+\]: four$`,
		"short-iso":     `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ` + name + `\[\d+\]: four$`,
		"short-precise": `^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d\.\d{6} ` + name + `\[\d+\]: four$`,
	} {
		r := runctl(t, "logs", "--no-hostname", "-o", mode, "-n", "1", name)
		if !regexp.MustCompile(re).MatchString(strings.TrimSuffix(r.stdout, "\n")) {
			t.Errorf("logs -o %s: %q does not match %s", mode, r.stdout, re)
		}
	}
	// -o json is --json.
	if a, b := runctl(t, "logs", "-o", "json", name), runctl(t, "--json", "logs", name); a.code != 0 || a.stdout != b.stdout || !json.Valid([]byte(strings.Split(a.stdout, "\n")[0])) {
		t.Errorf("logs -o json differs from --json logs:\n%v\n%v", a, b)
	}
	for _, args := range [][]string{{"-o", "verbose"}, {"-n", "-1"}, {"-n", "some"}, {"-r", "-f"}, {"--json", "-o", "cat"}, {"--boot=yesterday"}} {
		if r := runctl(t, append(append([]string{"logs"}, args...), name)...); r.code != 2 {
			t.Errorf("logs %q: %v, want a usage error", args, r)
		}
	}

	// -f -n 0: only what comes next; -f -n 2: the last two, then what comes next.
	for _, tc := range []struct{ n string }{{"0"}, {"2"}} {
		// -n counts the journal's entries, the manager's too, which may
		// come between two reads: what -f shows first is checked against
		// the program's lines so far, not against a second read.
		all := programText(runctl(t, "logs", "--no-hostname", "-n", "all", name).stdout, name)
		cmd := runctlCmd(t, "/", "logs", "-f", "--no-hostname", "-n", tc.n, name)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// When logs -f has read the journal's end is not observable: a
		// new mark goes in every 300 ms until one comes out (those written
		// before it had read the end do not), and the lines up to the
		// first mark are checked.
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		var text []string
		mark := ""
		tick := time.NewTicker(300 * time.Millisecond)
		marks := 0
		for mark == "" {
			select {
			case <-tick.C:
				if _, err := os.Stat(sbOf(t).Path(say)); err == nil {
					break // the last mark is not printed yet: never overwritten
				}
				marks++
				if err := os.WriteFile(sbOf(t).Path(say), fmt.Appendf(nil, "after-%s-%d\n", tc.n, marks), 0o644); err != nil {
					t.Fatal(err)
				}
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("logs -f -n %s ended: %q", tc.n, text)
				}
				text = append(text, l)
				if _, m, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(m, "after-"+tc.n+"-") {
					mark = m
				}
			}
		}
		tick.Stop()
		go func() {
			for range lines { // until logs -f's output closes
			}
		}()
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		got := programText(strings.Join(text, "\n")+"\n", name)
		pre := got[:len(got)-1]
		n, _ := strconv.Atoi(tc.n)
		if got[len(got)-1] != mark || len(pre) > n || n > 0 && len(pre) == 0 || !slices.Equal(pre, all[len(all)-len(pre):]) {
			t.Errorf("logs -f -n %s: %q; want at most the last %s of the program's lines %q, then %s", tc.n, got, tc.n, all, mark)
		}
		// Every mark printed before the next case reads the journal's end.
		last := fmt.Sprintf("after-%s-%d", tc.n, marks)
		waitFor(t, func() bool { return strings.Contains(runctl(t, "logs", "-n", "1", name).stdout, last) }, last+" in the journal")
	}
}

// openPTY is a terminal pair: runctl writes to tty, the test reads master.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	// Raw: what runctl writes is read back byte for byte.
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return master, tty
}

// onTerminal runs runctl with stdout on a terminal and returns what the
// terminal received.
func onTerminal(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	master, tty := openPTY(t)
	cmd := runctlCmd(t, "/", args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout = tty
	var got strings.Builder
	done := make(chan struct{})
	go func() { io.Copy(&got, master); close(done) }()
	err := cmd.Run()
	tty.Close()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	<-done // the master reads EIO once the last tty fd is closed
	return got.String(), code
}

// A run's bytes reach a terminal escaped through logs and status (an
// escape sequence a --uid run writes must not retitle or clear root's
// terminal), and exactly as written with -o cat, --json, or into a pipe.
func TestLogsAndStatusEscapeOnTerminal(t *testing.T) {
	shared(t)
	sandbox.Need(t, sbOf(t))
	name := runName(t)
	script := `printf 'title \033]0;pwned\007 clear \033[2J c1 \302\233 bad \260 tab\tend\n'; exec sleep 1000`
	if r := runctl(t, "run", "-d", "--uid", "daemon", "-n", name, "--", "sh", "-c", script, "\x1b[31mred"); r.code != 0 {
		t.Fatal(r)
	}
	raw := "title \x1b]0;pwned\x07 clear \x1b[2J c1 \u009b bad \xb0 tab\tend"
	escaped := `title \x1b]0;pwned\x07 clear \x1b[2J c1 \xc2\x9b bad \xb0 tab` + "\tend"
	waitFor(t, func() bool { return strings.Contains(runctl(t, "logs", name).stdout, raw) }, "the run's line")

	for _, args := range [][]string{{"logs", name}, {"logs", "-o", "short", name}, {"status", name}} {
		got, code := onTerminal(t, nil, args...)
		if code != 0 || !strings.Contains(got, escaped) || strings.ContainsAny(got, "\x1b\x07\u009b") || strings.Contains(got, "\xb0") {
			t.Errorf("runctl %q on a terminal: exit %d, %q; want the line as %q and no control characters", args, code, got, escaped)
		}
		if args[0] == "status" && !strings.Contains(got, `\x1b[31mred`) {
			t.Errorf("status on a terminal does not escape the command line: %q", got)
		}
	}
	if got, _ := onTerminal(t, nil, "logs", "-o", "cat", name); !strings.Contains(got, "\n"+raw+"\n") {
		t.Errorf("logs -o cat on a terminal: %q, want the bytes as written", got)
	}
	if got, _ := onTerminal(t, nil, "--json", "logs", name); !strings.Contains(got, `\u001b]0;pwned\u0007`) {
		t.Errorf("logs --json on a terminal: %q", got)
	}
	if r := runctl(t, "logs", name); !strings.Contains(r.stdout, raw) {
		t.Errorf("logs into a pipe: %q, want the bytes as written", r.stdout)
	}
}

// A journal kept in memory (Raspberry Pi OS: Storage=volatile) loses the
// logs of earlier boots: logs and status say so, once, on stderr; a
// persistent journal gets no such note.
func TestVolatileJournalSaysSo(t *testing.T) {
	alone(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", "echo hello; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	note := "the logs of earlier boots are gone"
	for _, args := range [][]string{{"logs", name}, {"status", name}} {
		if r := runctl(t, args...); strings.Contains(r.stderr, note) {
			t.Errorf("%q with a persistent journal: %v", args, r)
		}
	}
	conf := sbOf(t).Path("/etc/systemd/journald.conf.d/50-runctl-volatile.conf")
	if err := os.MkdirAll(filepath.Dir(conf), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte("[Journal]\nStorage=volatile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(conf)
		sbOf(t).Command(context.Background(), "systemctl", "restart", "systemd-journald").Run()
		sbOf(t).Command(context.Background(), "journalctl", "--flush").Run()
	})
	inside(t, "systemctl", "restart", "systemd-journald")
	for _, args := range [][]string{{"logs", name}, {"status", name}, {"--json", "status", name}} {
		if r := runctl(t, args...); strings.Count(r.stderr, note) != 1 {
			t.Errorf("%q with a volatile journal: %v; want the note once on stderr", args, r)
		}
	}
}
