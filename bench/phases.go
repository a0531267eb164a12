package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Both sides of every comparison run the same program as a Type=exec
// transient unit: runctl's units are Type=exec, and systemd-run is told so.
var sleeper = []string{"/bin/sleep", "infinity"}

// runName is the name of runctl's run in round i of a phase; its unit is
// runctl-NAME.service.
func runName(phase string, i int) string { return fmt.Sprintf("bench-%s-%04d", phase, i) }

// refUnit is the unit systemd-run makes in round i of a phase.
func refUnit(phase string, i int) string { return fmt.Sprintf("bench-ref-%s-%04d.service", phase, i) }

func runctlUnit(name string) string { return "runctl-" + name + ".service" }

// start: runctl run -d against systemd-run, each a new unit stopped after.
// --settle 0 makes runctl's promise systemd-run's: the program was executed.
func (b *bench) start() (Comparison, error) {
	if err := b.reset(); err != nil {
		return Comparison{}, err
	}
	a := side{
		cmd: "runctl run -d --settle 0 -n X -- /bin/sleep infinity",
		argv: func(i int) []string {
			return append([]string{"runctl", "run", "-d", "--settle", "0", "-n", runName("run", i), "--"}, sleeper...)
		},
		clean: func(i int) error { return b.stopUnit(runctlUnit(runName("run", i))) },
	}
	ref := side{
		cmd: "systemd-run --unit=X -p Type=exec /bin/sleep infinity",
		argv: func(i int) []string {
			return append([]string{"systemd-run", "--unit=" + refUnit("run", i), "-p", "Type=exec"}, sleeper...)
		},
		clean: func(i int) error { return b.stopUnit(refUnit("run", i)) },
	}
	return b.compare("run", "start a run", b.cfg.manyReps, 1.0, a, ref)
}

// startExt4: run -d with runctl's store on ext4 over a loop device (its
// fsyncs reach a disk) against systemd-run, which keeps nothing.
func (b *bench) startExt4(store string) (Comparison, error) {
	if err := b.reset(); err != nil {
		return Comparison{}, err
	}
	a := side{
		cmd: "RUNCTL_STATE_DIR=EXT4 runctl run -d --settle 0 -n X -- /bin/sleep infinity",
		argv: func(i int) []string {
			return append([]string{"runctl", "run", "-d", "--settle", "0", "-n", runName("run4", i), "--"}, sleeper...)
		},
		env:   []string{"RUNCTL_STATE_DIR=" + store},
		clean: func(i int) error { return b.stopUnit(runctlUnit(runName("run4", i))) },
	}
	ref := side{
		cmd: "systemd-run --unit=X -p Type=exec /bin/sleep infinity",
		argv: func(i int) []string {
			return append([]string{"systemd-run", "--unit=" + refUnit("run4", i), "-p", "Type=exec"}, sleeper...)
		},
		clean: func(i int) error { return b.stopUnit(refUnit("run4", i)) },
	}
	c, err := b.compare("run-ext4", "start a run, store on ext4", b.cfg.manyReps, 1.0, a, ref)
	c.Note = "runctl's store on ext4 over a loop device whose file is on the host's disk: the fsyncs of the durable spec reach the disk"
	return c, err
}

// settleCost: what the default settle window adds to run -d, against
// run -d --settle 0; no target, the figure is reported.
func (b *bench) settleCost() (Comparison, error) {
	if err := b.reset(); err != nil {
		return Comparison{}, err
	}
	run := func(phase string, flags ...string) side {
		return side{
			cmd: "runctl run -d " + strings.Join(append(flags, "-n X -- /bin/sleep infinity"), " "),
			argv: func(i int) []string {
				return append(append(append([]string{"runctl", "run", "-d"}, flags...), "-n", runName(phase, i), "--"), sleeper...)
			},
			clean: func(i int) error { return b.stopUnit(runctlUnit(runName(phase, i))) },
		}
	}
	// Each default round takes the window: a few rounds show it.
	return b.compare("settle", "run -d: default settle window", min(b.cfg.reps, 5), 0, run("settle"), run("nosettle", "--settle", "0"))
}

// restart: runctl restart against systemctl restart, each of one running
// unit restarted again and again; --settle 0, as systemctl restart makes
// no promise beyond the start job.
func (b *bench) restart() (Comparison, error) {
	const what = "restart a run"
	name, unit := runName("restart", 0), refUnit("restart", 0)
	a := side{cmd: "runctl restart --settle 0 X", argv: func(int) []string { return []string{"runctl", "restart", "--settle", "0", name} }}
	ref := side{cmd: "systemctl restart Y", argv: func(int) []string { return []string{"systemctl", "restart", unit} }}
	if !hasVerb("restart") {
		return notAvailable("restart", what, "restart", 1.1, a, ref), nil
	}
	if err := b.reset(); err != nil {
		return Comparison{}, err
	}
	if err := b.startRun(name, sleeper...); err != nil {
		return Comparison{}, err
	}
	// Restarted again and again, a unit hits systemd's start limit (5 starts
	// in 10s) unless it is lifted; lifting it does not change what a restart costs.
	if err := b.startRef(unit, append([]string{"-p", "StartLimitIntervalSec=0"}, sleeper...)...); err != nil {
		return Comparison{}, err
	}
	pidA, pidB := b.mainPID(runctlUnit(name)), b.mainPID(unit)
	c, err := b.compare("restart", what, b.cfg.manyReps, 1.1, a, ref)
	if err != nil {
		return c, err
	}
	c.Note = "Y is made with systemd-run -p Type=exec -p StartLimitIntervalSec=0: restarted again and again, it would hit the start limit (5 starts in 10 s)"
	// Both must have run a new main process.
	if pid := b.mainPID(runctlUnit(name)); pid == "" || pid == pidA {
		return c, fmt.Errorf("runctl restart did not restart %s: main pid %q before, %q after", name, pidA, pid)
	}
	if pid := b.mainPID(unit); pid == "" || pid == pidB {
		return c, fmt.Errorf("systemctl restart did not restart %s: main pid %q before, %q after", unit, pidB, pid)
	}
	return c, nil
}

// stop: runctl stop against systemctl stop, each of a unit started
// (untimed) just before.
func (b *bench) stop() (Comparison, error) {
	if err := b.reset(); err != nil {
		return Comparison{}, err
	}
	a := side{
		cmd:   "runctl stop X",
		setup: func(i int) error { return b.startRun(runName("stop", i), sleeper...) },
		argv:  func(i int) []string { return []string{"runctl", "stop", runName("stop", i)} },
	}
	ref := side{
		cmd:   "systemctl stop Y",
		setup: func(i int) error { return b.startRef(refUnit("stop", i), sleeper...) },
		argv:  func(i int) []string { return []string{"systemctl", "stop", refUnit("stop", i)} },
	}
	return b.compare("stop", "stop a run", b.cfg.manyReps, 1.0, a, ref)
}

// stopLatency: how long after the run's main process exited the stop
// command returns. The program is this binary with -stamp-on-term: on
// SIGTERM it writes the time and exits 0.
func (b *bench) stopLatency() (Comparison, error) {
	if err := b.reset(); err != nil {
		return Comparison{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return Comparison{}, fmt.Errorf("cannot find this program, the stop-latency runs' program: %w", err)
	}
	stampA, stampB := filepath.Join(b.r.dir, "exit-runctl"), filepath.Join(b.r.dir, "exit-reference")
	a := side{
		cmd: "runctl stop X",
		setup: func(i int) error {
			return b.startStamper(stampA, func() error { return b.startRun(runName("lat", i), self, "-stamp-on-term", stampA) })
		},
		argv:  func(i int) []string { return []string{"runctl", "stop", runName("lat", i)} },
		value: func(_ int, s sample) (float64, error) { return sinceStamp(stampA, s.end) },
	}
	ref := side{
		cmd: "systemctl stop Y",
		setup: func(i int) error {
			return b.startStamper(stampB, func() error { return b.startRef(refUnit("lat", i), self, "-stamp-on-term", stampB) })
		},
		argv:  func(i int) []string { return []string{"systemctl", "stop", refUnit("lat", i)} },
		value: func(_ int, s sample) (float64, error) { return sinceStamp(stampB, s.end) },
	}
	c, err := b.compare("stop-latency", "stop latency (exit → return)", b.cfg.reps, 0, a, ref)
	c.Note = "from the main process's exit (it writes the time on SIGTERM, then exits) to the stop command's return"
	return c, err
}

// version: runctl --version against /bin/true, the cost of starting runctl.
func (b *bench) version() (Comparison, error) {
	return b.compare("version", "runctl --version", b.cfg.manyReps, 0,
		side{cmd: "runctl --version", argv: func(int) []string { return []string{"runctl", "--version"} }},
		side{cmd: "/bin/true", argv: func(int) []string { return []string{"/bin/true"} }})
}

// lists: runctl ls against systemctl list-units at each size, the same
// runctl runs listed by both; status is measured when there are
// cfg.statusSize runs.
func (b *bench) lists() ([]Comparison, Comparison, error) {
	if err := b.reset(); err != nil {
		return nil, Comparison{}, err
	}
	var status Comparison
	hasStatus := hasVerb("status")
	if !hasStatus {
		a, ref := statusSides(b.cfg.statusSize)
		status = notAvailable("status", fmt.Sprintf("status of %d runs", b.cfg.statusSize), "status", 0.5, a, ref)
	}
	var lists []Comparison
	made := 0
	for k, n := range b.cfg.sizes {
		if err := b.startRuns(made, n); err != nil {
			return nil, Comparison{}, err
		}
		made = n
		if err := b.checkListed(n); err != nil {
			return nil, Comparison{}, err
		}
		reps := b.cfg.manyReps
		if k == len(b.cfg.sizes)-1 {
			reps = b.cfg.reps
		}
		target := 1.5
		if k == len(b.cfg.sizes)-1 {
			target = 4 // every run's pid and uptime are a property read each
		}
		c, err := b.compare(fmt.Sprintf("ls-%d", n), fmt.Sprintf("ls, %d runs", n), reps, target,
			side{cmd: "runctl ls", argv: func(int) []string { return []string{"runctl", "ls"} }},
			side{cmd: "systemctl list-units --all 'runctl-*'", argv: func(int) []string {
				return []string{"systemctl", "list-units", "--all", "--no-pager", "runctl-*"}
			}})
		if err != nil {
			return nil, Comparison{}, err
		}
		lists = append(lists, c)
		if n == b.cfg.statusSize && hasStatus {
			if status, err = b.status(n); err != nil {
				return nil, Comparison{}, err
			}
		}
	}
	return lists, status, nil
}

// status: runctl status of n runs by name against systemctl status of the
// same n units by pattern.
func (b *bench) status(n int) (Comparison, error) {
	a, ref := statusSides(n)
	return b.compare("status", fmt.Sprintf("status of %d runs", n), b.cfg.reps, 0.5, a, ref)
}

// statusSides are the two commands of the status comparison.
func statusSides(n int) (side, side) {
	args := []string{"runctl", "status"}
	for i := range n {
		args = append(args, runName("ls", i))
	}
	return side{cmd: fmt.Sprintf("runctl status NAME... (%d names)", n), argv: func(int) []string { return args }},
		side{cmd: "systemctl status 'runctl-*'", argv: func(int) []string {
			return []string{"systemctl", "status", "--no-pager", "runctl-*"}
		}}
}

// peakRSS gathers the peak resident sets of a listing comparison, in MB.
// The verdict is on the largest runctl sample.
func peakRSS(c Comparison, runs int) PeakRSS {
	p := PeakRSS{Runs: runs, TargetMB: 20,
		A: newSeries("MB", megabytes(c.A.MaxRSSKB), nil, nil),
		B: newSeries("MB", megabytes(c.B.MaxRSSKB), nil, nil)}
	p.Verdict = pass
	if p.A.Max > p.TargetMB {
		p.Verdict = miss
	}
	return p
}

func megabytes(kb []int64) []float64 {
	mb := make([]float64, len(kb))
	for i, k := range kb {
		mb[i] = round(float64(k)/1024, 2)
	}
	return mb
}

// startRuns starts the runs numbered from..to-1 of the listing phase,
// cfg.parallel at a time.
func (b *bench) startRuns(from, to int) error {
	began := time.Now()
	jobs := make(chan int)
	errs := make(chan error, to-from)
	var wg sync.WaitGroup
	for range b.cfg.parallel {
		wg.Go(func() {
			for i := range jobs {
				if err := b.startRun(runName("ls", i), sleeper...); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := from; i < to; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("cannot start the runs to list: %w", err)
	}
	progress("started %d runs to list (now %d) in %.1f s", to-from, to, time.Since(began).Seconds())
	return nil
}

// checkListed makes sure both tools see exactly n runs before timing them.
func (b *bench) checkListed(n int) error {
	out, err := b.r.run("runctl", "ls", "--json")
	if err != nil {
		return err
	}
	var runs []json.RawMessage
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		return fmt.Errorf("cannot read runctl ls --json: %w", err)
	}
	out, err = b.r.run("systemctl", "list-units", "--all", "--plain", "--no-legend", "--no-pager", "runctl-*")
	if err != nil {
		return err
	}
	units := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) != "" {
			units++
		}
	}
	if len(runs) != n || units != n {
		return fmt.Errorf("cannot list the same runs: expected %d, runctl ls shows %d, systemctl list-units %d", n, len(runs), units)
	}
	return nil
}

// startRun starts a runctl run in the background, untimed.
func (b *bench) startRun(name string, argv ...string) error {
	_, err := b.r.run(append([]string{"runctl", "run", "-d", "--settle", "0", "-n", name, "--"}, argv...)...)
	return err
}

// startRef starts the reference transient unit, untimed; args are more
// systemd-run options, then the command.
func (b *bench) startRef(unit string, args ...string) error {
	_, err := b.r.run(append([]string{"systemd-run", "--unit=" + unit, "-p", "Type=exec"}, args...)...)
	return err
}

func (b *bench) stopUnit(unit string) error {
	_, err := b.r.run("systemctl", "stop", unit)
	return err
}

func (b *bench) mainPID(unit string) string {
	out, _ := b.r.run("systemctl", "show", "-p", "MainPID", "--value", unit)
	pid := strings.TrimSpace(out)
	if pid == "0" {
		return ""
	}
	return pid
}

// startStamper starts a stop-latency run and waits until its program is
// ready for SIGTERM (a signal before that would end it without a stamp).
func (b *bench) startStamper(stamp string, start func() error) error {
	os.Remove(stamp)
	os.Remove(stamp + ".ready")
	if err := start(); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(stamp + ".ready"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the stop-latency program did not get ready within 5s (no %s.ready)", stamp)
		}
		time.Sleep(time.Millisecond)
	}
}

// sinceStamp is the time in ms from the instant written in stamp to end.
func sinceStamp(stamp string, end time.Time) (float64, error) {
	data, err := os.ReadFile(stamp)
	if err != nil {
		return 0, fmt.Errorf("cannot read when the program exited: %w", err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read when the program exited: %s holds %q", stamp, data)
	}
	return ms(end.Sub(time.Unix(0, ns))), nil
}

// stampOnTerm is the program of the stop-latency and downtime runs: it
// writes when it started to FILE.start, says it is ready, waits for
// SIGTERM, writes the time to FILE and exits 0. Times are ns since the
// epoch.
func stampOnTerm(file string) error {
	began := time.Now().UnixNano()
	if err := os.WriteFile(file+".start", []byte(strconv.FormatInt(began, 10)), 0o644); err != nil {
		return fmt.Errorf("cannot write when the program started: %w", err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if err := os.WriteFile(file+".ready", nil, 0o644); err != nil {
		return fmt.Errorf("cannot say the program is ready: %w", err)
	}
	<-term
	now := time.Now().UnixNano()
	return os.WriteFile(file, []byte(strconv.FormatInt(now, 10)), 0o644)
}
