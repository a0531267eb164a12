package units

import (
	"strings"
	"testing"
)

func TestRenderDropIn(t *testing.T) {
	s := validSpec()
	s.Argv = []string{"python3", "-c", `echo "h=$HOME"; . /dev/null && x; %n \`}
	got, err := RenderDropIn(s, "/var/lib/runctl/runs/nav.env", ExitRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	want := dropInHeader + specLine(s) + `[Service]
ExecStart=
ExecStart=@:/usr/bin/python3 "python3" "-c" "echo \"h=$HOME\"; . /dev/null && x; %%n \\"
WorkingDirectory=/opt/bot
EnvironmentFile=
EnvironmentFile=/var/lib/runctl/runs/nav.env
`
	if string(got) != want {
		t.Errorf("RenderDropIn:\n%s\nwant:\n%s", got, want)
	}
}

// What a unit file cannot carry is refused, naming the run and the reason.
func TestRenderDropInRefuses(t *testing.T) {
	for what, change := range map[string]func(*Spec){
		"white space":  func(s *Spec) { s.Dir = "/opt/bot " },
		"noncharacter": func(s *Spec) { s.Argv = []string{"python3", "\uFDD0"} },
		"bytes":        func(s *Spec) { s.Argv = []string{"python3", strings.Repeat("x", maxUnitLine)} },
	} {
		s := validSpec()
		change(s)
		if _, err := RenderDropIn(s, "", ExitRecorder{}); err == nil || !strings.Contains(err.Error(), `"nav"`) || !strings.Contains(err.Error(), what) {
			t.Errorf("RenderDropIn with %s: %v", what, err)
		}
	}
}
