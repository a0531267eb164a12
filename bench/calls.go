package main

import (
	"fmt"
	"strings"
)

// CallCount is how many D-Bus method calls PID 1 received for one command
// of runctl and of its reference, and which.
type CallCount struct {
	What         string   `json:"what"`
	RunctlCmd    string   `json:"runctl_cmd"`
	ReferenceCmd string   `json:"reference_cmd"`
	Runctl       []string `json:"runctl"` // interface.member of each call, in order
	Reference    []string `json:"reference"`
}

// calls counts the D-Bus method calls PID 1 receives per verb, from its
// own debug log ("Got message type=method_call ..."): a count, not a time,
// so it does not drift with the machine's load.
func (b *bench) calls() ([]CallCount, error) {
	if err := b.reset(); err != nil {
		return nil, err
	}
	level, err := b.r.run("systemd-analyze", "log-level")
	if err != nil {
		return nil, err
	}
	if _, err := b.r.run("systemd-analyze", "log-level", "debug"); err != nil {
		return nil, err
	}
	defer b.r.run("systemd-analyze", "log-level", strings.TrimSpace(level))
	for i := range 3 {
		if err := b.startRun(runName("calls-ls", i), sleeper...); err != nil {
			return nil, err
		}
	}
	name, unit := runName("calls", 0), refUnit("calls", 0)
	pairs := []struct {
		what   string
		a, ref []string
	}{
		{what: "start a run", a: append([]string{"runctl", "run", "-d", "--settle", "0", "-n", name, "--"}, sleeper...),
			ref: append([]string{"systemd-run", "--unit=" + unit, "-p", "Type=exec", "-p", "StartLimitIntervalSec=0"}, sleeper...)},
		{what: "restart a run", a: []string{"runctl", "restart", "--settle", "0", name}, ref: []string{"systemctl", "restart", unit}},
		{what: "ls, 4 runs", a: []string{"runctl", "ls"}, ref: []string{"systemctl", "list-units", "--all", "--no-pager", "runctl-*"}},
		{what: "status of a run", a: []string{"runctl", "status", name}, ref: []string{"systemctl", "status", "--no-pager", unit}},
		{what: "stop a run", a: []string{"runctl", "stop", name}, ref: []string{"systemctl", "stop", unit}},
	}
	var counts []CallCount
	for _, p := range pairs {
		ca, err := b.callsOf(p.a)
		if err != nil {
			return nil, err
		}
		cb, err := b.callsOf(p.ref)
		if err != nil {
			return nil, err
		}
		counts = append(counts, CallCount{What: p.what, RunctlCmd: strings.Join(p.a, " "), ReferenceCmd: strings.Join(p.ref, " "), Runctl: ca, Reference: cb})
		progress("%-28s D-Bus calls at PID 1: runctl %d, reference %d", p.what, len(ca), len(cb))
	}
	return counts, nil
}

// callsOf runs argv (status may exit 3 for a stopped unit: not an error
// here) and returns the method calls PID 1 logged meanwhile.
func (b *bench) callsOf(argv []string) ([]string, error) {
	out, err := b.r.run("journalctl", "-q", "-n", "0", "--show-cursor")
	if err != nil {
		return nil, err
	}
	cursor := strings.TrimPrefix(strings.TrimSpace(out), "-- cursor: ")
	if _, err := b.r.run(argv...); err != nil {
		return nil, fmt.Errorf("cannot count the D-Bus calls of %s: %w", strings.Join(argv, " "), err)
	}
	// journald reads what PID 1 sent it before it syncs.
	if _, err := b.r.run("journalctl", "--sync"); err != nil {
		return nil, err
	}
	log, err := b.r.run("journalctl", "-q", "_PID=1", "--after-cursor="+cursor, "-o", "cat")
	if err != nil {
		return nil, err
	}
	var calls []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "Got message type=method_call") {
			continue
		}
		var iface, member string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "interface="); ok {
				iface = v
			} else if v, ok := strings.CutPrefix(f, "member="); ok {
				member = v
			}
		}
		calls = append(calls, strings.TrimPrefix(strings.TrimPrefix(iface, "org.freedesktop."), "systemd1.")+"."+member)
	}
	return calls, nil
}
