package cli

import (
	"slices"
	"testing"
)

func TestRemoteArgs(t *testing.T) {
	for _, c := range []struct{ args, want []string }{
		{[]string{"-H", "r1", "--json", "restart", "-f", "nav"}, []string{"restart", "-f", "nav"}},
		{[]string{"run", "-H", "r1", "-d", "-n", "x", "-E", "A=B", "--", "sleep", "5"}, []string{"run", "--clean-env", "-d", "-n", "x", "-E", "A=B", "--", "sleep", "5"}},
		{[]string{"-j", "4", "--serial", "25%", "run", "-n", "h", "sleep", "-H", "x"}, []string{"run", "--clean-env", "-n", "h", "--", "sleep", "-H", "x"}},
		{[]string{"--host=r1", "--user", "logs", "-f", "-n", "5", "--max-fail=1", "nav"}, []string{"--user", "logs", "-f", "-n", "5", "nav"}},
		{[]string{"-Hr1,r2", "--inventory", "/x", "--host-timeout", "5s", "--remote-runctl", "/opt/runctl", "ps"}, []string{"ls"}},
		{[]string{"-H", "r1", "status", "-n", "3", "a", "b"}, []string{"status", "-n", "3", "a", "b"}},
		// -b's value is optional: a flag after it is not its value.
		{[]string{"logs", "-b", "-H", "r1", "nav"}, []string{"logs", "-b", "nav"}},
		{[]string{"-H", "r1", "logs", "-b", "-1", "-g", "x", "nav"}, []string{"logs", "-b", "-1", "-g", "x", "nav"}},
		{[]string{"-H", "r1", "logs", "nav", "--boot"}, []string{"logs", "nav", "--boot"}},
		// -H run together with other short flags is never passed on.
		{[]string{"ls", "-qH10.77.0.12"}, []string{"ls", "-q"}},
		{[]string{"-j4", "ls", "-qH", "r2"}, []string{"ls", "-q"}},
		{[]string{"-H", "r1", "run", "-dHr2", "-n", "x", "sleep", "1"}, []string{"run", "--clean-env", "-d", "-n", "x", "--", "sleep", "1"}},
		{[]string{"-H", "r1", "logs", "-fn5", "nav"}, []string{"logs", "-f", "-n", "5", "nav"}},
	} {
		var root CLI
		kctx, err := Parser(&root, "test").Parse(c.args)
		if err != nil {
			t.Fatalf("%q: %v", c.args, err)
		}
		got, err := remoteArgs(kctx, c.args)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("remoteArgs(%q) = %q, %v; want %q", c.args, got, err, c.want)
		}
	}
}
