package stack

import (
	"slices"
	"testing"

	"github.com/runctl/runctl/units"
)

// after and wants take systemd units as --after and --wants do: kept in
// the spec, back in the file by FromSpec, and never refused as runs the
// file lacks; a run named in wants must be one.
func TestSystemdUnitDeps(t *testing.T) {
	r := Run{Name: "nav", Command: []string{"/bin/sh"}, After: []string{"network-online.target"}, Wants: []string{"time-sync.target", "lidar"}}
	s, err := r.Spec("robot", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.After, r.After) || !slices.Equal(s.Wants, r.Wants) {
		t.Fatalf("Spec: after %q wants %q", s.After, s.Wants)
	}
	if back, _ := FromSpec(s, false); !slices.Equal(back.Wants, r.Wants) || !slices.Equal(back.After, r.After) {
		t.Errorf("FromSpec: after %q wants %q", back.After, back.Wants)
	}
	lidar := spec("lidar")
	steps, err := Plan("robot", []*units.Spec{s, lidar}, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if st.Action != Start {
			t.Errorf("%s: %s %s, want start", st.Name, st.Action, st.Error)
		}
	}
	steps, _ = Plan("robot", []*units.Spec{s}, nil, nil, false)
	if len(steps) != 1 || steps[0].Action != Refuse || steps[0].Error != "it wants lidar, which is neither in the file nor a run runctl keeps" {
		t.Errorf("a file whose run wants a run it lacks: %+v", steps)
	}
	if c := Changed(s, with(s, func(c *units.Spec) { c.Wants = nil })); !slices.Equal(c, []string{"wants"}) {
		t.Errorf("Changed without wants: %v", c)
	}
}

// buffered (run --buffered) goes to the spec and back to the file.
func TestBuffered(t *testing.T) {
	r := Run{Name: "nav", Command: []string{"/bin/sh"}, Buffered: true}
	s, err := r.Spec("robot", "/", nil)
	if err != nil || !s.Buffered {
		t.Fatalf("Spec: %v, buffered %v", err, s != nil && s.Buffered)
	}
	if back, _ := FromSpec(s, false); !back.Buffered {
		t.Errorf("FromSpec lost buffered")
	}
}
