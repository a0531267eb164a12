package main

// The command line's own consistency: exit codes, --json errors, names.

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every mistake in how runctl is called exits 2, as kong's own do, and
// touches nothing.
func TestUsageErrorsExit2(t *testing.T) {
	shared(t)
	for _, args := range [][]string{
		{"run", "-x", "true"},
		{"run", "--restart=bad", "--", "true"},
		{"run", "-d", "-n", "bad/name", "--", "true"},
		{"run", "-d", "--settle", "-1s", "--", "true"},
		{"run", "-d", "-p", "NoSuchKey=1", "--", "true"},
		{"stop", "--timeout", "-1s", "x"},
		{"stop", "--all", "x"},
		{"restart", "a/b"},
		{"disable"},
		{"logs", "-n", "-1", "x"},
		{"logs", "-I", "nonsense", "x"},
		{"status", "a/b"},
		{"no-such-verb"},
	} {
		if r := runctl(t, args...); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 && !strings.Contains(r.stderr, "Usage") {
			t.Errorf("runctl %q: want exit 2 with one line; got %v", args, r)
		}
	}
}

// With --json, a failing verb prints one JSON document with the error, the
// same text as on stderr, and exits non-zero.
func TestJSONErrorShape(t *testing.T) {
	shared(t)
	for _, args := range [][]string{
		{"--json", "restart", "no-such-run"},
		{"--json", "start", "no-such-run"},
		{"--json", "stop", "no-such-run"},
		{"--json", "enable", "no-such-run"},
		{"--json", "rm", "no-such-run"},
		{"--json", "run", "-d", "--", "no-such-command-xyz"},
	} {
		r := runctl(t, args...)
		var doc map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code == 0 {
			t.Errorf("runctl %q: want one JSON document and a non-zero exit; got %v (%v)", args, r, err)
			continue
		}
		msg, _ := doc["error"].(string)
		if msg == "" || !strings.Contains(r.stderr, msg) {
			t.Errorf("runctl %q: JSON error %q is not the error on stderr:\n%v", args, msg, r)
		}
	}
}

// stop takes several names, as rm does.
func TestStopSeveralNames(t *testing.T) {
	shared(t)
	a, b := runName(t), runName(t)
	for _, n := range []string{a, b} {
		if r := runctl(t, "run", "-d", "--settle", "0", "-n", n, "--", "sleep", "1000"); r.code != 0 {
			t.Fatal(r)
		}
	}
	r := runctl(t, "stop", a, b)
	if r.code != 0 || !strings.Contains(r.stdout, "stopped "+a) || !strings.Contains(r.stdout, "stopped "+b) {
		t.Fatalf("stop %s %s: %v", a, b, r)
	}
	for _, n := range []string{a, b} {
		if u := unitLeft(t, n); u != "" {
			t.Fatalf("units left after stop:\n%s", u)
		}
	}
}

// Running the same command over a stopped run's name says it replaces the
// kept spec (another command is refused: TestRunRefusesStoppedRunsOtherCommand).
func TestRunOverStoppedNameSaysSo(t *testing.T) {
	shared(t)
	name := runName(t)
	for _, args := range [][]string{
		{"run", "-d", "--settle", "0", "-n", name, "--", "sleep", "1000"},
		{"stop", name},
	} {
		if r := runctl(t, args...); r.code != 0 {
			t.Fatal(r)
		}
	}
	r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sleep", "1000")
	if r.code != 0 || !strings.Contains(r.stdout, "replaced the kept spec of the stopped run "+name) {
		t.Fatalf("run over a stopped name: %v", r)
	}
}

// -E PATH=... is where the command is looked up, as the run's own PATH.
func TestEnvPATHFindsTheCommand(t *testing.T) {
	shared(t)
	name := runName(t)
	inside(t, "sh", "-c", "mkdir -p /opt/envpath && printf '#!/bin/sh\\nexec sleep 1000\\n' > /opt/envpath/only-here && chmod 755 /opt/envpath/only-here")
	r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "-E", "PATH=/opt/envpath:/usr/bin:/bin", "--", "only-here")
	if r.code != 0 {
		t.Fatalf("run with -E PATH: %v", r)
	}
	if show := inside(t, "systemctl", "show", "-p", "ExecStart", "runctl-"+name+".service"); !strings.Contains(show, "/opt/envpath/only-here") {
		t.Fatalf("ExecStart does not name the command found in -E PATH:\n%s", show)
	}
}
