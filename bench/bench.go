package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// scratchDir holds the stamp files of the stop-latency runs and the timed
// commands' stderr: the sandbox's own /run, a tmpfs.
const scratchDir = "/run/runctl-bench"

// specDir is where runctl keeps the specs of the system manager's runs.
const specDir = "/var/lib/runctl/runs"

// config is how much to measure.
type config struct {
	quick      bool
	reps       int   // per comparison
	manyReps   int   // for the commands whose spread needs more samples (3x)
	warmup     int   // rounds run first and not kept
	sizes      []int // numbers of runs to list, smallest first
	statusSize int   // number of runs given to status
	parallel   int   // runs started at once when making the runs to list
	// gap is the idle time before each timed command: what ran just
	// before changes what the next costs (PID 1 moves a new unit's cgroup
	// in ~0.04 ms right after another move, ~8 ms after 20 ms of idle).
	gap time.Duration
	// ext4 is a block device for a second store, on ext4 (the fsyncs of
	// a real disk); "" leaves that comparison out.
	ext4 string
}

func newConfig(quick bool, reps int, ext4 string) config {
	c := config{reps: 30, warmup: 3, sizes: []int{10, 100, 1000}, statusSize: 100, parallel: 8, gap: 30 * time.Millisecond, ext4: ext4}
	if quick {
		c = config{quick: true, reps: 3, warmup: 1, sizes: []int{5, 20, 50}, statusSize: 20, parallel: 8, gap: 30 * time.Millisecond, ext4: ext4}
	}
	if reps > 0 {
		c.reps = reps
	}
	c.manyReps = 3 * c.reps
	return c
}

// bench is one benchmark run.
type bench struct {
	cfg config
	r   *runner
}

// side is one side of a comparison: the timed command of round i, and what
// is done untimed around it.
type side struct {
	cmd  string // as shown in the table
	argv func(i int) []string
	env  []string // added to the timed command's environment
	// do, if set, is timed instead of a command: a procedure of the
	// bench itself (the seed's restart).
	do    func(i int) error
	setup func(i int) error // before the timed command; optional
	clean func(i int) error // after it; optional
	// value is the figure kept for the round; default: ms from fork to exit.
	value func(i int, s sample) (float64, error)
}

// runAll measures everything, in an order that lets each phase start from
// no runs, and assembles the results in the order they are shown.
func runAll(cfg config) (*Results, error) {
	began := time.Now()
	r, err := newRunner(scratchDir)
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, r: r}
	res := &Results{Date: began.UTC().Format(time.RFC3339), Quick: cfg.quick, Reps: cfg.reps, Warmup: cfg.warmup, Gap: cfg.gap.String()}
	if res.Machine, err = machineInfo(r); err != nil {
		return nil, err
	}
	progress("%s, %s, %d CPUs; %d repetitions (%d for the commands with many)",
		res.Machine.Runctl, res.Machine.Systemd, res.Machine.NProc, cfg.reps, cfg.manyReps)

	start, err := b.start()
	if err != nil {
		return nil, err
	}
	starts := []Comparison{start}
	if cfg.ext4 != "" {
		store, unmount, err := mountExt4(r, cfg.ext4)
		if err != nil {
			return nil, err
		}
		c, err := b.startExt4(store)
		unmount()
		if err != nil {
			return nil, err
		}
		starts = append(starts, c)
	}
	settle, err := b.settleCost()
	if err != nil {
		return nil, err
	}
	restart, err := b.restart()
	if err != nil {
		return nil, err
	}
	down, downSeed, err := b.downtime()
	if err != nil {
		return nil, err
	}
	stop, err := b.stop()
	if err != nil {
		return nil, err
	}
	if res.StopLatency, err = b.stopLatency(); err != nil {
		return nil, err
	}
	version, err := b.version()
	if err != nil {
		return nil, err
	}
	lists, status, err := b.lists()
	if err != nil {
		return nil, err
	}
	if res.Calls, err = b.calls(); err != nil {
		return nil, err
	}
	res.Comparisons = append(starts, settle, restart, down, downSeed, stop)
	res.Comparisons = append(res.Comparisons, lists...)
	res.Comparisons = append(res.Comparisons, status, version)
	first, last := lists[0], lists[len(lists)-1]
	res.PeakRSS = peakRSS(last, cfg.sizes[len(cfg.sizes)-1])
	res.LsGrowth = Growth{
		From: cfg.sizes[0], To: cfg.sizes[len(cfg.sizes)-1],
		Runctl:    round(last.A.Median/first.A.Median, 2),
		Reference: round(last.B.Median/first.B.Median, 2),
	}
	res.TookSec = round(time.Since(began).Seconds(), 1)
	progress("done in %.0f s", res.TookSec)
	return res, nil
}

// compare times a against ref for warmup+reps rounds, and keeps the last
// reps. Which side goes first alternates from round to round (a, ref;
// ref, a; ...), so that neither always follows the other.
func (b *bench) compare(id, what string, reps int, target float64, a, ref side) (Comparison, error) {
	began := time.Now()
	sides := [2]side{a, ref}
	var got [2]collected
	for i := range b.cfg.warmup + reps {
		for j := range 2 {
			k := j ^ i%2
			v, s, err := b.once(sides[k], i)
			if err != nil {
				return Comparison{}, fmt.Errorf("cannot measure %s: %w", what, err)
			}
			if i >= b.cfg.warmup {
				got[k].add(v, s)
			}
		}
	}
	ca, cb := got[0], got[1]
	c := Comparison{ID: id, What: what, Target: target, RunctlCmd: a.cmd, ReferenceCmd: ref.cmd,
		A: ca.series(), B: cb.series()}
	c.judge()
	progress("%-28s %3d× runctl %7.2f ms  reference %7.2f ms  ratio %5.2f  %-6s (%.1f s)",
		what, reps, c.A.Median, c.B.Median, c.Ratio, c.Verdict, time.Since(began).Seconds())
	return c, nil
}

// once runs one side's round: setup, the timed command, clean. It returns
// the round's figure and the timed process's sample.
func (b *bench) once(s side, i int) (float64, sample, error) {
	if s.setup != nil {
		if err := s.setup(i); err != nil {
			return 0, sample{}, err
		}
	}
	time.Sleep(b.cfg.gap)
	var smp sample
	var err error
	if s.do != nil {
		began := time.Now()
		err = s.do(i)
		smp = sample{took: time.Since(began), end: time.Now()}
	} else {
		smp, err = b.r.timed(s.argv(i), s.env)
	}
	if err != nil {
		return 0, smp, err
	}
	v := ms(smp.took)
	if s.value != nil {
		if v, err = s.value(i, smp); err != nil {
			return 0, smp, err
		}
	}
	if s.clean != nil {
		if err := s.clean(i); err != nil {
			return 0, smp, err
		}
	}
	return v, smp, nil
}

// collected is what one side's kept rounds gave.
type collected struct {
	values []float64
	rss    []int64
	cpu    []float64
}

func (c *collected) add(v float64, s sample) {
	c.values = append(c.values, round(v, 3))
	c.rss = append(c.rss, s.maxRSS)
	c.cpu = append(c.cpu, round(ms(s.cpu), 3))
}

func (c *collected) series() *Series { return newSeries("ms", c.values, c.rss, c.cpu) }

// notAvailable is the comparison of a verb this runctl lacks.
func notAvailable(id, what, verb string, target float64, a, ref side) Comparison {
	progress("%-28s n/a: runctl %s --help fails, the command is not there yet", what, verb)
	return Comparison{ID: id, What: what, Target: target, RunctlCmd: a.cmd, ReferenceCmd: ref.cmd, Verdict: na,
		Note: "runctl " + verb + " is not in this build (runctl " + verb + " --help fails)"}
}

// ext4Dir is where the ext4 store's device is mounted.
const ext4Dir = scratchDir + "/ext4"

// mountExt4 formats dev as ext4 and mounts it inside the sandbox (a mount
// namespace of its own); the store is a folder on it.
func mountExt4(r *runner, dev string) (store string, unmount func(), err error) {
	if _, err := r.run("mkfs.ext4", "-q", "-F", dev); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(ext4Dir, 0o755); err != nil {
		return "", nil, err
	}
	if _, err := r.run("mount", "-t", "ext4", dev, ext4Dir); err != nil {
		return "", nil, err
	}
	progress("store on ext4: %s mounted on %s", dev, ext4Dir)
	return filepath.Join(ext4Dir, "runs"), func() { r.run("umount", ext4Dir) }, nil
}

// reset stops every unit the benchmark started and forgets the runs runctl
// keeps for them, so that each phase begins with no runs and ls lists
// exactly the runs of its phase. Only names starting with bench- are
// touched, inside the throwaway sandbox.
func (b *bench) reset() error {
	if _, err := b.r.run("systemctl", "stop", "runctl-bench-*", "bench-*"); err != nil {
		return fmt.Errorf("cannot clean up between phases: %w", err)
	}
	_, _ = b.r.run("systemctl", "reset-failed", "runctl-bench-*", "bench-*")
	kept, err := filepath.Glob(filepath.Join(specDir, "bench-*"))
	if err != nil {
		return err
	}
	onExt4, _ := filepath.Glob(filepath.Join(ext4Dir, "runs", "bench-*"))
	kept = append(kept, onExt4...)
	for _, f := range kept {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("cannot forget a benchmark run: %w", err)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// progress tells what is being done, on stderr (stdout may carry the JSON).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}
