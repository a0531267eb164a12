package fleet

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQuoteSplitRoundTrip(t *testing.T) {
	argv := []string{"runctl", "run", "--", "sh", "-c", "echo $HOME; `id` && x | y", "it's", `back\slash`, "", "a b", "ünï", "*"}
	got, err := SplitWords(quoteWords(argv))
	if err != nil || !slices.Equal(got, argv) {
		t.Fatalf("SplitWords(quoteWords(%q)) = %q, %v", argv, got, err)
	}
	for _, s := range []string{"cat /etc/shadow", `runctl ls "a b" c\ d`} {
		if _, err := SplitWords(s); err != nil {
			t.Errorf("SplitWords(%q): %v", s, err)
		}
	}
	for _, s := range []string{"runctl ls; sh", "runctl ls && sh", "runctl ls | sh", "runctl $(id)", "runctl `id`", "runctl ls > /etc/x",
		"runctl ls\nsh", `runctl "$HOME"`, "runctl 'open", `runctl "open`, "runctl ls &", "runctl *", "runctl ls #x"} {
		if w, err := SplitWords(s); err == nil {
			t.Errorf("SplitWords(%q) = %q, want refused", s, w)
		}
	}
}

func TestParseCount(t *testing.T) {
	for s, want := range map[string]int{"3": 3, "0": 0, "25%": 2, "100%": 10, "5%": 0} {
		c, err := ParseCount("--serial", s)
		if err != nil || c.Of(10) != want {
			t.Errorf("%q of 10 = %d, %v; want %d", s, c.Of(10), err, want)
		}
	}
	for _, s := range []string{"-1", "x", "101%", "%"} {
		if _, err := ParseCount("--serial", s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no default inventory
	ts, err := Resolve([]string{"robot-1,ops@10.0.0.5", "ssh://me@h:2222"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{Name: "robot-1", Dest: "robot-1"}, {Name: "ops@10.0.0.5", Dest: "ops@10.0.0.5"}, {Name: "ssh://me@h:2222", Dest: "me@h", Port: 2222}}
	if !slices.Equal(ts, want) {
		t.Errorf("Resolve = %+v, want %+v", ts, want)
	}
	inv := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(inv, []byte("[g]\nr1 ansible_host=10.0.0.1 ansible_user=u ansible_port=2\nr2\n"), 0o644)
	ts, err = Resolve([]string{"@g", "r9"}, inv)
	want = []Target{{Name: "r1", Dest: "u@10.0.0.1", Port: 2}, {Name: "r2", Dest: "r2"}, {Name: "r9", Dest: "r9"}}
	if err != nil || !slices.Equal(ts, want) {
		t.Errorf("Resolve with inventory = %+v, %v; want %+v", ts, err, want)
	}
	for _, c := range [][]string{{"@g"}, {"-oProxyCommand=x"}, {"a", "a"}, {","}, {"ssh://h:99999"}} {
		if _, err := Resolve(c, ""); err == nil {
			t.Errorf("Resolve(%q) accepted", c)
		}
	}
	if _, err := Resolve([]string{"@nope"}, inv); err == nil || !strings.Contains(err.Error(), `no group "nope"`) {
		t.Errorf("unknown group: %v", err)
	}
}

// fakeSSH answers as hosts would: by the destination's name, ok, fail
// (runctl failed), down (ssh cannot connect), nort (no runctl), slow, and
// shared (the program exits 3 after ssh's note that it could not become
// the connection master).
const fakeSSH = `#!/bin/sh
while [ "$1" != "--" ]; do [ "$1" = -G ] && exit 0; shift; done
echo "$2" >> "$FAKE_LOG"
case "$2" in
ok*) echo '{"fleet_protocol":1,"version":"t","exit":0,"result":{"name":"nav","pid":7}}' ;;
fail*) echo '{"fleet_protocol":1,"version":"t","exit":1,"error":"cannot restart nav: gone"}'; exit 1 ;;
down*) echo "ssh: connect to host down port 22: No route to host" >&2; exit 255 ;;
nort*) echo "sh: 1: runctl: not found" >&2; exit 127 ;;
slow*) sleep 5 ;;
shared*) echo "ControlSocket /run/user/0/runctl-ssh/8a65 already exists, disabling multiplexing" >&2; exit 3 ;;
esac
`

func TestRunBatches(t *testing.T) {
	dir := t.TempDir()
	ssh := filepath.Join(dir, "ssh")
	os.WriteFile(ssh, []byte(fakeSSH), 0o755)
	log := filepath.Join(dir, "log")
	t.Setenv("FAKE_LOG", log)
	targets := func(names ...string) []Target {
		var ts []Target
		for _, n := range names {
			ts = append(ts, Target{Name: n, Dest: n})
		}
		return ts
	}
	outcomes := func(rs []Result) string {
		var s []string
		for _, r := range rs {
			s = append(s, string(r.Outcome))
		}
		return strings.Join(s, ",")
	}
	o := Options{SSH: []string{ssh}, Parallel: 4, HostTimeout: time.Second, RemoteRunctl: "runctl"}
	for _, c := range []struct {
		hosts           []string
		serial, maxFail string
		want            string
		touched         int
	}{
		{[]string{"ok1", "down1", "fail1", "nort1", "slow1", "ok2"}, "", "", "ok,unreachable,failed,failed,timeout,ok", 6},
		{[]string{"ok1", "fail1", "ok2", "ok3"}, "1", "0", "ok,failed,skipped,skipped", 2},
		{[]string{"ok1", "fail1", "down1", "ok2", "ok3"}, "1", "1", "ok,failed,unreachable,skipped,skipped", 3},
		{[]string{"ok1", "ok2", "fail1", "ok3", "ok4", "ok5"}, "50%", "0", "ok,ok,failed,skipped,skipped,skipped", 3},
		{[]string{"fail1", "ok1", "ok2", "ok3"}, "25%", "25%", "failed,ok,ok,ok", 4},
		{[]string{"fail1", "fail2", "ok1", "ok2"}, "25%", "25%", "failed,failed,skipped,skipped", 2},
	} {
		os.Remove(log)
		o.Serial, _ = ParseCount("--serial", c.serial)
		o.MaxFail, _ = ParseCount("--max-fail", c.maxFail)
		rs := Run(context.Background(), o, targets(c.hosts...), []string{"restart", "nav"})
		b, _ := os.ReadFile(log)
		if got := outcomes(rs); got != c.want || strings.Count(string(b), "\n") != c.touched {
			t.Errorf("%q --serial %q --max-fail %q: %s, %d hosts touched; want %s, %d", c.hosts, c.serial, c.maxFail, got, strings.Count(string(b), "\n"), c.want, c.touched)
		}
	}
	o.Serial, o.MaxFail = Count{}, Count{}
	rs := Run(context.Background(), o, targets("fail1", "nort1", "down1"), []string{"ls"})
	for i, want := range []string{"cannot restart nav: gone", "not on the remote PATH", "No route to host"} {
		if !strings.Contains(rs[i].Error, want) {
			t.Errorf("%s: error %q, want one with %q", rs[i].Host, rs[i].Error, want)
		}
	}
	if s := Summary(rs); s != "2 failed, 1 unreachable" {
		t.Errorf("Summary = %q", s)
	}
}

// Two runctl -H starting at once both try to become the ssh master; the
// loser's note on stderr is not why the remote command failed.
func TestSharingNoteIsNotTheError(t *testing.T) {
	dir := t.TempDir()
	ssh := filepath.Join(dir, "ssh")
	os.WriteFile(ssh, []byte(fakeSSH), 0o755)
	t.Setenv("FAKE_LOG", filepath.Join(dir, "log"))
	o := Options{SSH: []string{ssh}, Parallel: 1, HostTimeout: 5 * time.Second, RemoteRunctl: "runctl"}
	rs := Stream(context.Background(), o, []Target{{Name: "shared1", Dest: "shared1"}}, []string{"run", "--", "false"}, func(string, string) {})
	if rs[0].Outcome != Failed || rs[0].Error != "exit status 3" {
		t.Errorf("Stream: %s, %q; want failed, \"exit status 3\"", rs[0].Outcome, rs[0].Error)
	}
	rs = Run(context.Background(), o, []Target{{Name: "shared1", Dest: "shared1"}}, []string{"ls"})
	if rs[0].Outcome != Failed || strings.Contains(rs[0].Error, "ControlSocket") {
		t.Errorf("Run: %s, %q; want failed, without ssh's note", rs[0].Outcome, rs[0].Error)
	}
}
