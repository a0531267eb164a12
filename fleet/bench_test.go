package fleet_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkFleetRestart measures `runctl -H ... restart` of 1, 3, 30 and
// 100 targets at -j 1, 4 and 16 (go test -run NONE -bench FleetRestart
// -benchtime 1x ./fleet). More targets than robots are simulated: ssh
// aliases onto the 3 robots, each its own connection and its own run (the
// alias reaches the robot in RUNCTL_SIM, which a wrapper puts in place of
// the run name SIM). Each cell runs twice: cold (every connection made
// anew) and warm (through the connections the cold run left open); the
// difference is the share of ssh connection setup. Connections opened are
// the control sockets the cold run made (one per connection).
func BenchmarkFleetRestart(b *testing.B) {
	if fl == nil {
		b.Fatal("no test robots")
	}
	dir := b.TempDir()
	cfg := filepath.Join(dir, "ssh_config")
	var sb strings.Builder
	var all []string
	for i := range 100 {
		a := fmt.Sprintf("sim-%03d", i+1)
		all = append(all, a)
		fmt.Fprintf(&sb, "Host %s\n  HostName %s\n  SetEnv RUNCTL_SIM=%s\n", a, fl.Addr(i%3), a)
	}
	base, _ := os.ReadFile(fl.SSHConfig)
	_, star, _ := strings.Cut(string(base), "Host *")
	sb.WriteString("Host *" + star)
	os.WriteFile(cfg, []byte(sb.String()), 0o644)
	wrapper := "#!/bin/sh\nfor a; do shift; [ \"$a\" = SIM ] && a=$RUNCTL_SIM; set -- \"$@\" \"$a\"; done\nexec /usr/local/bin/runctl \"$@\"\n"
	for i := range fl.Robots {
		os.WriteFile(fl.Robots[i].Path("/usr/local/bin/runctl-sim"), []byte(wrapper), 0o755)
		f, _ := os.OpenFile(fl.Robots[i].Path("/etc/ssh/sshd_config"), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("\nAcceptEnv RUNCTL_SIM\nMaxStartups 100\n")
		f.Close()
		if out, err := fl.Robots[i].Command(context.Background(), "systemctl", "reload", "ssh").CombinedOutput(); err != nil {
			b.Fatalf("reload sshd: %v\n%s", err, out)
		}
	}
	rt := filepath.Join(dir, "rt")
	os.MkdirAll(rt, 0o700)
	run := func(targets []string, j int, args ...string) (time.Duration, int) {
		start := time.Now()
		cmd := exec.Command(binDir+"/runctl", append([]string{"-H", strings.Join(targets, ","), "-j", strconv.Itoa(j), "--remote-runctl", "/usr/local/bin/runctl-sim"}, args...)...)
		cmd.Env = append(os.Environ(), "RUNCTL_SSH=ssh -F "+cfg, "XDG_RUNTIME_DIR="+rt)
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			b.Fatalf("runctl %q: %v\n%s", args, err, out)
		}
		socks, _ := filepath.Glob(rt + "/runctl-ssh/*")
		return took, len(socks)
	}
	closeAll := func() {
		socks, _ := filepath.Glob(rt + "/runctl-ssh/*")
		for _, s := range socks {
			exec.Command("ssh", "-F", cfg, "-o", "ControlPath="+s, "-O", "exit", "sim-001").Run()
		}
		os.RemoveAll(rt)
		os.MkdirAll(rt, 0o700)
	}
	closeAll()
	run(all, 16, "run", "-d", "--replace", "-n", "SIM", "--", "sleep", "100000")
	b.Cleanup(func() {
		defer closeAll()
		exec.Command(binDir+"/runctl", "-H", strings.Join(all, ","), "--remote-runctl", "/usr/local/bin/runctl-sim", "rm", "-f", "SIM").Run()
	})
	// 1 robot against 3, alternating, 5 rounds: the medians.
	b.Run("one-vs-three", func(b *testing.B) {
		var t1, t3 []float64
		for range 5 {
			for _, n := range []int{1, 3} {
				closeAll()
				took, _ := run(all[:n], 16, "restart", "SIM")
				if n == 1 {
					t1 = append(t1, took.Seconds())
				} else {
					t3 = append(t3, took.Seconds())
				}
			}
		}
		b.ReportMetric(median(t1), "one-s")
		b.ReportMetric(median(t3), "three-s")
		b.ReportMetric(median(t3)/median(t1), "ratio")
	})
	for _, n := range []int{1, 3, 30, 100} {
		for _, j := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("targets=%d/j=%d", n, j), func(b *testing.B) {
				// One target per robot first, so 3 targets are 3 robots.
				targets := append([]string(nil), all[:n]...)
				for range b.N {
					closeAll()
					cold, conns := run(targets, j, "restart", "SIM")
					warm, _ := run(targets, j, "restart", "SIM")
					b.ReportMetric(cold.Seconds(), "cold-s")
					b.ReportMetric(warm.Seconds(), "warm-s")
					b.ReportMetric(float64(conns), "ssh-conns")
					b.ReportMetric(100*max(0, (cold-warm).Seconds())/cold.Seconds(), "setup-%")
					b.ReportMetric(float64(masterPSS())/1024, "masters-MB")
				}
			})
		}
	}
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// masterPSS is the memory (KiB, proportional set size: shared pages
// divided among their users) of the ssh connection masters left running.
func masterPSS() int {
	total := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmd, _ := os.ReadFile(p)
		if !strings.HasPrefix(string(cmd), "ssh: ") || !strings.Contains(string(cmd), "[mux]") {
			continue
		}
		st, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "smaps_rollup"))
		for _, l := range strings.Split(string(st), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
				kb, _ := strconv.Atoi(f[1])
				total += kb
			}
		}
	}
	return total
}
