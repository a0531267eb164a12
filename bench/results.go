package main

import (
	"math"
	"sort"
)

// Results is everything one benchmark run measured: the JSON file.
type Results struct {
	Date    string  `json:"date"` // RFC 3339, UTC, when the run began
	TookSec float64 `json:"took_sec"`
	Quick   bool    `json:"quick"`
	Reps    int     `json:"reps"`     // per comparison; the fast commands got 3 times as many
	Warmup  int     `json:"warmup"`   // rounds run first and not kept
	Gap     string  `json:"idle_gap"` // idle before each timed command
	Machine Machine `json:"machine"`
	// Comparisons are runctl (A) against a reference (B), with targets.
	Comparisons []Comparison `json:"comparisons"`
	// StopLatency is the time from the run's main process exiting to the
	// stop command returning, for runctl stop (A) and systemctl stop (B).
	StopLatency Comparison `json:"stop_latency"`
	PeakRSS     PeakRSS    `json:"ls_peak_rss"`
	LsGrowth    Growth     `json:"ls_growth"`
	// Calls are the D-Bus method calls PID 1 received per verb.
	Calls []CallCount `json:"dbus_calls"`
}

// Machine is where the numbers were taken.
type Machine struct {
	NProc    int    `json:"nproc"`
	MemoryMB int    `json:"memory_mb"`
	Kernel   string `json:"kernel"`
	CPU      string `json:"cpu_model"`
	OS       string `json:"os"`
	Systemd  string `json:"systemd"`
	Runctl   string `json:"runctl"`
	Go       string `json:"go"`
	Where    string `json:"where"`
}

// Verdicts.
const (
	pass   = "pass"
	miss   = "miss"
	report = "report" // no target: the figure is only reported
	na     = "n/a"    // runctl lacks the command
)

// Comparison is one runctl command against a reference, sample by sample.
type Comparison struct {
	ID   string `json:"id"`
	What string `json:"what"`
	// The commands timed: runctl's (A) and the reference (B).
	RunctlCmd    string  `json:"runctl_cmd"`
	ReferenceCmd string  `json:"reference_cmd"`
	A            *Series `json:"runctl,omitempty"`
	B            *Series `json:"reference,omitempty"`
	Ratio        float64 `json:"ratio_of_medians,omitempty"` // A over B
	Target       float64 `json:"target_max_ratio,omitempty"` // 0: none
	// Verdict is pass or miss against the target, report without one, n/a
	// when runctl does not have the command.
	Verdict string `json:"verdict"`
	Note    string `json:"note,omitempty"`
}

// judge fills in the ratio and the verdict.
func (c *Comparison) judge() {
	if c.A == nil || c.B == nil {
		c.Verdict = na
		return
	}
	c.Ratio = round(c.A.Median/c.B.Median, 3)
	switch {
	case c.Target == 0:
		c.Verdict = report
	case c.Ratio <= c.Target:
		c.Verdict = pass
	default:
		c.Verdict = miss
	}
}

// Series is one side of a comparison: every sample, in the order taken,
// and their summary.
type Series struct {
	Unit    string    `json:"unit"` // of the samples: ms or MB
	Samples []float64 `json:"samples"`
	// MaxRSSKB is each process's peak resident set (getrusage ru_maxrss).
	MaxRSSKB []int64 `json:"max_rss_kb,omitempty"`
	// CPUMS is each process's user and system CPU time, in ms: how much of
	// the time it spent computing rather than waiting.
	CPUMS  []float64 `json:"cpu_ms,omitempty"`
	Median float64   `json:"median"`
	P10    float64   `json:"p10"`
	P90    float64   `json:"p90"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
}

func newSeries(unit string, samples []float64, rss []int64, cpu []float64) *Series {
	s := &Series{Unit: unit, Samples: samples, MaxRSSKB: rss, CPUMS: cpu}
	sorted := append([]float64(nil), samples...)
	sort.Float64s(sorted)
	s.Median = round(median(sorted), 3)
	s.P10 = round(percentile(sorted, 0.10), 3)
	s.P90 = round(percentile(sorted, 0.90), 3)
	s.Min = round(sorted[0], 3)
	s.Max = round(sorted[len(sorted)-1], 3)
	return s
}

// PeakRSS is the peak resident set of listing the largest number of runs.
type PeakRSS struct {
	Runs     int     `json:"runs"`
	A        *Series `json:"runctl"`    // MB, one per runctl ls
	B        *Series `json:"reference"` // MB, one per systemctl list-units
	TargetMB float64 `json:"target_max_mb"`
	Verdict  string  `json:"verdict"` // on the largest runctl sample
}

// Growth is how the time to list runs grows with their number: the ratio
// of the medians at the largest and the smallest size.
type Growth struct {
	From      int     `json:"from_runs"`
	To        int     `json:"to_runs"`
	Runctl    float64 `json:"runctl"`
	Reference float64 `json:"reference"`
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// percentile is the nearest-rank percentile p (0..1) of sorted samples.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}
