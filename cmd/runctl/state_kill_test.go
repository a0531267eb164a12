package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runctl killed (SIGKILL) at random points of run, enable, disable,
// restart and restart --update-env, at least 100 times: what the next
// restart runs is always exactly the kept spec, ls shows autostart only
// when the boot link is there, and a restart of an enabled run repairs a
// half-done enable. Ctrl-C during enable never leaves it half-done.
func TestStateSurvivesRandomKills(t *testing.T) {
	aloneLong(t)
	name := runName(t)
	unitFile := "/etc/systemd/system/runctl-" + name + ".service"
	link := "/etc/systemd/system/multi-user.target.wants/runctl-" + name + ".service"
	t.Cleanup(func() {
		runctl(t, "rm", "-f", name)
		os.Remove(sbOf(t).Path(unitFile))
		os.Remove(sbOf(t).Path(link))
		sbOf(t).Command(context.Background(), "systemctl", "daemon-reload").Run()
	})
	gen := 0
	argv := func() []string { return []string{"sh", "-c", "sleep 1000; :", "gen-" + strconv.Itoa(gen)} }
	if r := runctl(t, append([]string{"run", "-d", "-n", name, "-E", "GEN=0", "--"}, argv()...)...); r.code != 0 {
		t.Fatal(r)
	}
	// exists follows a link as the sandbox sees it (absolute targets).
	exists := func(p string) bool {
		if target, err := os.Readlink(sbOf(t).Path(p)); err == nil {
			p = target
		}
		_, err := os.Stat(sbOf(t).Path(p))
		return err == nil
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kills, interrupts := 0, 0
	for i := 0; kills < 100 && i < 400; i++ {
		gen++
		g := strconv.Itoa(gen)
		var args, env []string
		sig := "KILL"
		switch op := rng.IntN(6); op {
		case 0:
			args = append([]string{"run", "-d", "--settle", "0", "--replace", "-n", name, "-E", "GEN=" + g, "--"}, argv()...)
		case 1:
			args = append([]string{"run", "-d", "--settle", "0", "--replace", "--enable", "-n", name, "-E", "GEN=" + g, "--"}, argv()...)
		case 2, 3:
			args = []string{"enable", name}
			if op == 3 {
				sig = "INT"
			}
		case 4:
			args = []string{"disable", name}
		default:
			args, env = []string{"restart", "--settle", "0", "--update-env", name}, []string{"GEN=" + g}
		}
		after := fmt.Sprintf("%.3f", float64(1+rng.IntN(45))/1000)
		cmd := runctlCmd(t, "/", args...)
		cmd.Args = slices.Insert(cmd.Args, slices.Index(cmd.Args, binDir+"/runctl"), "timeout", "-s", sig, after)
		cmd.Env = append(cmd.Env, env...)
		r := finish(t, cmd)
		when := fmt.Sprintf("after %q (exit %d)", args, r.code)
		switch {
		case r.code == 137 || r.code == 128+9:
			kills++
		case r.code == 124 || r.code == 130:
			interrupts++
		}
		if sig == "INT" && exists(unitFile) != exists(link) {
			t.Fatalf("%s: Ctrl-C during enable left the unit file %v and its boot link %v\n%v", when, exists(unitFile), exists(link), r)
		}
		if run, ok := lsAutostart(t, name); ok && run && !exists(link) {
			t.Fatalf("%s: ls says BOOT on, but nothing links the unit file into multi-user.target", when)
		}
		if r := runctl(t, "restart", "--settle", "0", name); r.code != 0 {
			t.Fatalf("%s: restart: %v", when, r)
		}
		checkRunsSpec(t, storeDir, name, when)
		if exists(unitFile) {
			show := inside(t, "systemctl", "show", "-p", "UnitFileState,FragmentPath", "runctl-"+name+".service")
			if !strings.Contains(show, "UnitFileState=enabled\n") || !strings.Contains(show, "FragmentPath="+unitFile+"\n") {
				t.Fatalf("%s: the run has its unit file, but after a restart it does not run from it enabled:\n%s", when, show)
			}
		}
	}
	if kills < 100 {
		t.Fatalf("only %d of the commands were killed mid-way", kills)
	}
	t.Logf("%d commands, %d killed mid-way, %d interrupted", gen, kills, interrupts)
}
