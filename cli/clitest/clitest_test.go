package clitest

import (
	"slices"
	"testing"
	"time"

	"github.com/runctl/runctl/cli"
	"github.com/runctl/runctl/runs"
)

func TestNoSettle(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{[]string{"run", "-d", "-n", "x", "--", "sleep", "1"}, []string{"run", "--settle=0", "-d", "-n", "x", "--", "sleep", "1"}},
		{[]string{"--json", "restart", "x"}, []string{"--json", "restart", "--settle=0", "x"}},
		{[]string{"--log-level", "debug", "start", "x"}, []string{"--log-level", "debug", "start", "--settle=0", "x"}},
		{[]string{"-H", "robot-1,robot-2", "--serial", "1", "restart", "x"}, []string{"-H", "robot-1,robot-2", "--serial", "1", "restart", "--settle=0", "x"}},
		// The test asks for a window itself.
		{[]string{"run", "-d", "--settle", "2s", "--", "true"}, []string{"run", "-d", "--settle", "2s", "--", "true"}},
		{[]string{"restart", "--settle=1s", "x"}, []string{"restart", "--settle=1s", "x"}},
		// Verbs without a window, and the command after "--".
		{[]string{"stop", "x"}, []string{"stop", "x"}},
		{[]string{"logs", "run"}, []string{"logs", "run"}},
		{[]string{"run", "-d", "--", "prog", "--settle=5s"}, []string{"run", "--settle=0", "-d", "--", "prog", "--settle=5s"}},
		{[]string{"--version"}, []string{"--version"}},
		{nil, nil},
	} {
		if got := NoSettle(tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("NoSettle(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// What NoSettle takes away is the default window a user gets: run -d,
// start and restart watch for runs.DefaultSettle unless told otherwise.
func TestNoSettleDropsTheDefaultWindow(t *testing.T) {
	for _, args := range [][]string{{"run", "-d", "--", "true"}, {"start", "x"}, {"restart", "x"}} {
		for _, tc := range []struct {
			args []string
			want time.Duration
		}{{args, runs.DefaultSettle}, {NoSettle(args), 0}} {
			var c cli.CLI
			kctx, err := cli.Parser(&c, "test").Parse(tc.args)
			if err != nil {
				t.Fatalf("parse %q: %v", tc.args, err)
			}
			got := map[string]time.Duration{"run": c.Run.Settle, "start": c.Start.Settle, "restart": c.Restart.Settle}[kctx.Selected().Name]
			if got != tc.want {
				t.Errorf("%q: --settle is %v, want %v", tc.args, got, tc.want)
			}
		}
	}
}
