package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// downtime: how long a restarted program is not running, from the old
// process's SIGTERM to the new one's start (each writes the time), for
// runctl restart against systemctl restart, and for the seed's approach
// (SIGTERM, poll every 0.1 s whether it is gone, then exec) against
// systemctl restart.
func (b *bench) downtime() (Comparison, Comparison, error) {
	if err := b.reset(); err != nil {
		return Comparison{}, Comparison{}, err
	}
	self, err := os.Executable()
	if err != nil {
		return Comparison{}, Comparison{}, fmt.Errorf("cannot find this program, the downtime runs' program: %w", err)
	}
	stampA, stampB, stampS := filepath.Join(b.r.dir, "down-runctl"), filepath.Join(b.r.dir, "down-reference"), filepath.Join(b.r.dir, "down-seed")
	name, unit := runName("down", 0), refUnit("down", 0)
	if err := b.startStamper(stampA, func() error { return b.startRun(name, self, "-stamp-on-term", stampA) }); err != nil {
		return Comparison{}, Comparison{}, err
	}
	if err := b.startStamper(stampB, func() error {
		return b.startRef(unit, "-p", "StartLimitIntervalSec=0", self, "-stamp-on-term", stampB)
	}); err != nil {
		return Comparison{}, Comparison{}, err
	}
	restarted := func(cmd string, argv []string, stamp string) side {
		return side{
			cmd:   cmd,
			argv:  func(int) []string { return argv },
			setup: func(int) error { return forget(stamp) },
			value: func(int, sample) (float64, error) { return downtimeMS(stamp) },
		}
	}
	a := restarted("runctl restart --settle 0 X", []string{"runctl", "restart", "--settle", "0", name}, stampA)
	ref := restarted("systemctl restart Y", []string{"systemctl", "restart", unit}, stampB)
	c, err := b.compare("downtime", "restart downtime (SIGTERM → exec)", b.cfg.manyReps, 1.1, a, ref)
	if err != nil {
		return c, Comparison{}, err
	}
	c.Note = "from the old process's SIGTERM to the new one's start, as each writes the time; runctl stops, waits until the unit is inactive, then starts: one job more than RestartUnit"

	seed := &seedRun{argv: []string{self, "-stamp-on-term", stampS}}
	if err := b.startStamper(stampS, seed.start); err != nil {
		return c, Comparison{}, err
	}
	defer seed.stop()
	s := side{
		cmd:   "SIGTERM, poll every 0.1 s, exec",
		do:    func(int) error { return seed.restart() },
		setup: func(int) error { return forget(stampS) },
		value: func(int, sample) (float64, error) { return downtimeMS(stampS) },
	}
	cs, err := b.compare("downtime-seed", "restart downtime, the seed's way", b.cfg.reps, 0, s, ref)
	cs.Note = "the seed's restart: SIGTERM to the pid, a check every 0.1 s whether it is gone, then a new process (kept by this benchmark, not a unit)"
	return c, cs, err
}

// forget removes a stamper's files before a restart: the old process's
// start and readiness, so that the new one's are waited for.
func forget(stamp string) error {
	for _, f := range []string{stamp, stamp + ".start", stamp + ".ready"} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// downtimeMS waits until the new process is ready and returns the ms from
// the old one's SIGTERM to the new one's start.
func downtimeMS(stamp string) (float64, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(stamp + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the restarted program did not get ready within 5s (no %s.ready)", stamp)
		}
		time.Sleep(time.Millisecond)
	}
	term, err := readStamp(stamp)
	if err != nil {
		return 0, err
	}
	start, err := readStamp(stamp + ".start")
	if err != nil {
		return 0, err
	}
	return ms(start.Sub(term)), nil
}

func readStamp(file string) (time.Time, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot read a time the program wrote: %w", err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot read a time the program wrote: %s holds %q", file, data)
	}
	return time.Unix(0, ns), nil
}

// seedRun is a program kept the way the seed kept runs: a pid, signals, and
// polling.
type seedRun struct {
	argv []string
	cmd  *exec.Cmd
	gone chan struct{} // closed once the process has exited
}

func (s *seedRun) start() error {
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the seed-style run: %w", err)
	}
	gone := make(chan struct{})
	go func() { cmd.Wait(); close(gone) }()
	s.cmd, s.gone = cmd, gone
	return nil
}

// restart is the seed's: SIGTERM, then every 0.1 s a check whether the
// process is gone, then a new one.
func (s *seedRun) restart() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("cannot signal the seed-style run: %w", err)
	}
	for {
		time.Sleep(100 * time.Millisecond)
		select {
		case <-s.gone:
			return s.start()
		default:
		}
	}
}

func (s *seedRun) stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		<-s.gone
	}
}
