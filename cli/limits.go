package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/runctl/runctl/units"
)

// Limit is a limit a run asked for (-p) as the kernel has it for the
// running program: systemd clamps what it may not grant (a user manager
// cannot raise a hard limit or lower the OOM score adjustment) and says
// nothing of it.
type Limit struct {
	Key     string `json:"key"`      // the -p key
	Asked   string `json:"asked"`    // soft:hard, or the adjustment
	InForce string `json:"in_force"` // as /proc/PID/limits or oom_score_adj has it
	Less    bool   `json:"less_than_asked"`
}

// limitsInForce reads the limits spec asks for from the process pid; none
// if it cannot be read (not running, gone meanwhile).
func limitsInForce(pid uint32, spec *units.Spec) []Limit {
	asked := spec.AskedLimits()
	if pid == 0 || len(asked) == 0 {
		return nil
	}
	limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	var out []Limit
	for _, a := range asked {
		if a.Key == "OOMScoreAdjust" {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid))
			n, perr := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || perr != nil {
				continue
			}
			out = append(out, Limit{Key: a.Key, Asked: strconv.Itoa(a.OOM), InForce: strconv.Itoa(n), Less: n != a.OOM})
			continue
		}
		soft, hard, ok := procLimit(string(limits), units.ProcLimitNames[a.Key])
		if !ok {
			continue
		}
		out = append(out, Limit{
			Key: a.Key, Asked: limitPair(a.Soft, a.Hard), InForce: limitPair(soft, hard),
			Less: soft < a.Soft || hard < a.Hard,
		})
	}
	return out
}

// procLimit finds the soft and hard values of the row name of
// /proc/PID/limits ("Max open files  1024  524288  files").
func procLimit(limits, name string) (soft, hard uint64, ok bool) {
	for _, line := range strings.Split(limits, "\n") {
		rest, found := strings.CutPrefix(line, name+" ")
		if !found {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return 0, 0, false
		}
		var err1, err2 error
		soft, err1 = limitValue(f[0])
		hard, err2 = limitValue(f[1])
		return soft, hard, err1 == nil && err2 == nil
	}
	return 0, 0, false
}

func limitValue(s string) (uint64, error) {
	if s == "unlimited" {
		return units.Unlimited, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

func limitPair(soft, hard uint64) string {
	one := func(v uint64) string {
		if v == units.Unlimited {
			return "infinity"
		}
		return strconv.FormatUint(v, 10)
	}
	if soft == hard {
		return one(soft)
	}
	return one(soft) + ":" + one(hard)
}

// limitsText is the Limits row of status.
func limitsText(ls []Limit) string {
	var parts []string
	for _, l := range ls {
		p := l.Key + "=" + l.InForce
		if l.Less {
			p += " (asked " + l.Asked + ": the kernel granted less)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
