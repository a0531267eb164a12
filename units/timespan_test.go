package units

import (
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Time spans at the edge of systemd's range: runctl takes exactly what
// systemd's own parser takes, with the same value, and refuses the rest
// (they used to wrap: 18446744073709.999616s was sent as 448 ms).
var timespanEdges = []struct {
	v    string
	usec uint64 // 0: out of range
}{
	{"18446744073709.999616s", 0},
	{"18446744073709s", 0},
	{"18446744073709", 0},
	{"18446744073708s", 18446744073708000000},
	{"18446744073708", 18446744073708000000},
	{"18446744073708.999999s", 18446744073708999999},
	{"18446744073708s 1551615us", 0},
	{"18446744073708s 1551614us", math.MaxUint64 - 1},
	{"18446744073708s 551615us", 18446744073708551615},
	{"18446744073709551us", 18446744073709551},
	{"9223372036854775807us", 9223372036854775807},
	{"9223372036854775808us", 0},
	{"18446744073709551614us", 0},
	{"99999999999999999999999us", 0},
	{"5124095576h", 0},
	{"5124095575h 59min", 18446744073540000000},
	{"213503982min", 12810238920000000},
}

func TestTimespanRange(t *testing.T) {
	for _, c := range timespanEdges {
		got, err := parseTimespan(c.v)
		switch {
		case c.usec == 0 && (err == nil || !strings.Contains(err.Error(), "out of systemd's range")):
			t.Errorf("parseTimespan(%q) = %d, %v; want out of range", c.v, got, err)
		case c.usec != 0 && (err != nil || got != c.usec):
			t.Errorf("parseTimespan(%q) = %d, %v; want %d", c.v, got, err, c.usec)
		}
		if c.usec != 0 {
			continue
		}
		// Refused on both paths: Validate checks the spec before either a
		// transient unit's properties or a unit file is made of it.
		for _, key := range []string{"TimeoutStopSec", "TimeoutStartSec"} {
			s := validSpec()
			s.Properties = []string{key + "=" + c.v}
			if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "out of systemd's range") || !strings.Contains(err.Error(), key) {
				t.Errorf("-p %s=%s: %v; want it refused as out of range", key, c.v, err)
			}
		}
	}
}

// The table above is systemd's verdict: systemd-analyze timespan parses
// each span with parse_time(), as PID 1 does a unit file's.
func TestTimespanRangeIsSystemds(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here to compare with")
	}
	for _, c := range timespanEdges {
		out, err := exec.Command(analyze, "timespan", c.v).CombinedOutput()
		var usec uint64
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "μs: "); ok {
				usec, _ = strconv.ParseUint(v, 10, 64)
			}
		}
		switch {
		case c.usec == 0 && (err == nil || !strings.Contains(string(out), "out of range")):
			t.Errorf("systemd-analyze timespan %q takes it (%v):\n%s", c.v, err, out)
		case c.usec != 0 && usec != c.usec:
			t.Errorf("systemd-analyze timespan %q: %d μs, the table says %d (%v):\n%s", c.v, usec, c.usec, err, out)
		}
	}
}
