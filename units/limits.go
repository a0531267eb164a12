package units

import (
	"math"
	"strconv"
)

// Asked is a process setting a run's -p asks for, as the kernel reports it
// in /proc/PID/limits (Limit*: Soft and Hard, math.MaxUint64 for
// unlimited) or /proc/PID/oom_score_adj (OOMScoreAdjust: Soft).
type Asked struct {
	Key        string // the -p key
	Soft, Hard uint64
	OOM        int // OOMScoreAdjust
}

// ProcLimitNames are the rows of /proc/PID/limits of the Limit* settings.
var ProcLimitNames = map[string]string{
	"LimitNOFILE":  "Max open files",
	"LimitCORE":    "Max core file size",
	"LimitRTPRIO":  "Max realtime priority",
	"LimitMEMLOCK": "Max locked memory",
}

// AskedLimits are the resource limits and OOM score adjustment s asks for
// (-p), in the order given; the last of a key wins, as in a unit file.
func (s *Spec) AskedLimits() []Asked {
	var out []Asked
	seen := map[string]int{}
	for _, kv := range s.Properties {
		key, props, err := parseProperty(kv)
		if err != nil {
			continue
		}
		var a Asked
		switch {
		case key == "OOMScoreAdjust":
			v, _ := property([]string{kv}, key)
			n, err := strconv.Atoi(v)
			if err != nil {
				continue
			}
			a = Asked{Key: key, OOM: n}
		case ProcLimitNames[key] != "" && len(props) == 2:
			hard, _ := props[0].Value.Value().(uint64)
			soft, _ := props[1].Value.Value().(uint64)
			a = Asked{Key: key, Soft: soft, Hard: hard}
		default:
			continue
		}
		if i, ok := seen[key]; ok {
			out[i] = a
			continue
		}
		seen[key] = len(out)
		out = append(out, a)
	}
	return out
}

// Unlimited is RLIM_INFINITY as Asked and /proc/PID/limits have it.
const Unlimited = math.MaxUint64
