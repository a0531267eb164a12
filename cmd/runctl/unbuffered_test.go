package main

import (
	"bufio"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A Python program's print() reaches the journal while the program still
// runs, without flush=True or -u: runctl adds PYTHONUNBUFFERED=1 (and
// ROS 2's RCUTILS_LOGGING_BUFFERED_STREAM=1) to the unit, not to the spec,
// so export shows only the user's environment and argv stays as typed;
// --buffered adds nothing, and a variable the user set is left as set.
// The runs get no captured environment (--clean-env): the caller's may
// have PYTHONUNBUFFERED already.
func TestPythonOutputArrivesAsPrinted(t *testing.T) {
	shared(t)
	name, buffered := runName(t), runName(t)
	argv := []string{"python3", "-c", "import time; print('ready', 'to', 'go'); time.sleep(1000)"}
	if r := runctl(t, append([]string{"run", "-d", "--clean-env", "-n", name, "-E", "RCUTILS_LOGGING_BUFFERED_STREAM=0", "--"}, argv...)...); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	follow := runctlCmd(t, "/", "logs", "-f", "-n", "all", name)
	stdout, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready to go") {
				seen <- true
				return
			}
		}
		seen <- false
	}()
	select {
	case ok := <-seen:
		if !ok {
			t.Fatalf("logs -f ended without the line")
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the line the program printed is not in the journal 15 s later, while it sleeps:\n%v", runctl(t, "status", name))
	}
	follow.Process.Kill()
	follow.Wait()

	pid := mainPID(t, name)
	if got := nulSplit([]byte(inside(t, "cat", "/proc/"+strconv.Itoa(pid)+"/cmdline"))); !slices.Equal(got, argv) {
		t.Errorf("argv = %q, want %q", got, argv)
	}
	env := nulSplit([]byte(inside(t, "cat", "/proc/"+strconv.Itoa(pid)+"/environ")))
	for _, want := range []string{"PYTHONUNBUFFERED=1", "RCUTILS_LOGGING_BUFFERED_STREAM=0"} {
		if !slices.Contains(env, want) {
			t.Errorf("the program's environment lacks %s: %q", want, env)
		}
	}
	if r := runctl(t, "export", "--stack", "robot", name); r.code != 0 || strings.Contains(r.stdout, "PYTHONUNBUFFERED") || !strings.Contains(r.stdout, "RCUTILS_LOGGING_BUFFERED_STREAM") {
		t.Errorf("export shows what runctl added, or not what the user gave: %v", r)
	}
	if r := runctl(t, "status", name); !strings.Contains(r.stdout, "runctl adds PYTHONUNBUFFERED=1 (run --buffered: not)") {
		t.Errorf("status does not say what runctl adds:\n%v", r)
	}

	if r := runctl(t, "run", "-d", "--clean-env", "--buffered", "-n", buffered, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run --buffered: %v", r)
	}
	env = nulSplit([]byte(inside(t, "cat", "/proc/"+strconv.Itoa(mainPID(t, buffered))+"/environ")))
	for _, kv := range env {
		if strings.HasPrefix(kv, "PYTHONUNBUFFERED=") || strings.HasPrefix(kv, "RCUTILS_LOGGING_BUFFERED_STREAM=") {
			t.Errorf("run --buffered got %s", kv)
		}
	}
	if r := runctl(t, "status", buffered); strings.Contains(r.stdout, "Output:") {
		t.Errorf("status of a --buffered run:\n%v", r)
	}
}
