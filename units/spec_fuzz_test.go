package units

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A kept spec reads back exactly as it was written, whatever it holds.
func FuzzSpecJSON(f *testing.F) {
	f.Add("nav", "python3\x00nav.py\x00--speed=$FAST", "/opt/bot", "A=1\x00SECRET=p\"a$s\nw", int64(10*time.Second), "on-failure", 3)
	f.Add("x", "\x00", "/", "", int64(1), "", 0)
	f.Fuzz(func(t *testing.T, name, argv, dir, env string, stop int64, restart string, max int) {
		s := &Spec{Version: SpecVersion, Name: name, Argv: strings.Split(argv, "\x00"), Path: "/usr/bin/x", Dir: dir,
			StopTimeout: Duration(stop), Restart: restart, MaxRestarts: max, Created: time.Unix(1700000000, 0).UTC()}
		if env != "" {
			s.Env = strings.Split(env, "\x00")
		}
		if s.MaxRestarts > 0 {
			s.Within = Duration(time.Second)
		}
		if s.Validate() != nil {
			return // only valid specs are kept
		}
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a valid spec does not marshal: %v", err)
		}
		var back Spec
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("cannot read back %s: %v", data, err)
		}
		if !reflect.DeepEqual(&back, s) {
			t.Fatalf("spec changed through JSON:\n%+v\n%+v", s, &back)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("a spec read back is not valid: %v", err)
		}
	})
}

// Any duration string is either refused or kept exactly.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"10s"`, `"1m30s"`, `"-1s"`, `"0"`, `"1.5h"`, `"bogus"`, `10`, `null`, `"9223372036854775807ns"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var again Duration
		if err := json.Unmarshal(out, &again); err != nil || again != d {
			t.Fatalf("%s → %v → %s → %v (%v)", in, d, out, again, err)
		}
	})
}
