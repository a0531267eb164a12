package cli

import (
	"strings"
	"testing"
)

func TestCPUText(t *testing.T) {
	for sec, want := range map[float64]string{0: "0.00s", 0.421: "0.42s", 9.994: "9.99s", 9.996: "10.0s", 12.34: "12.3s", 59.96: "1m00s", 192: "3m12s", 18120: "5h02m"} {
		if got := cpuText(sec); got != want {
			t.Errorf("cpuText(%v) = %q, want %q", sec, got, want)
		}
	}
}

// On a narrow terminal COMMAND gets what the other columns leave of its
// width, at least 20 characters; piped, or on a wide one, 80.
func TestCommandWidth(t *testing.T) {
	rows := [][]string{
		{"NAME", "STATE", "PID", "UPTIME", "CPU", "MEM", "RESTARTS", "BOOT", "COMMAND"},
		{"nav", "active", "4242", "3m12s", "0.42s", "12.3M", "0", "-", strings.Repeat("x", 100)},
	}
	// NAME 4, STATE 6, PID 4, UPTIME 6, CPU 5, MEM 5, RESTARTS 8, BOOT 4: 42, plus 2 each: 58.
	for cols, want := range map[int]int{0: 80, 200: 80, 138: 80, 100: 42, 80: 22, 60: 20} {
		if got := commandWidth(rows, cols); got != want {
			t.Errorf("commandWidth at %d columns = %d, want %d", cols, got, want)
		}
	}
}
