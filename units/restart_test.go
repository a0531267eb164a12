package units

import (
	"strings"
	"testing"
	"time"
)

// The restart properties a manager gets for each version: backoff only
// where systemd has RestartSteps= (254+), and no start limit for
// --max-restarts none on every version.
func TestRestartProperties(t *testing.T) {
	backoff := func(s *Spec) {
		s.Restart = "always"
		s.RestartDelay = Duration(200 * time.Millisecond)
		s.RestartMaxDelay = Duration(30 * time.Second)
		s.NoRestartLimit = true
	}
	for _, tt := range []struct {
		name    string
		spec    func(*Spec)
		version int
		want    map[string]any // property: value; nil value: absent
		lines   []string       // in the unit file
		absent  []string       // not in the unit file
	}{
		{
			name: "backoff on 254", spec: backoff, version: 254,
			want: map[string]any{
				"Restart": "always", "RestartUSec": uint64(200000), "RestartSteps": uint32(8),
				"RestartMaxDelayUSec": uint64(30000000), "StartLimitIntervalUSec": uint64(0), "StartLimitBurst": nil,
			},
			lines: []string{"Restart=always", "RestartSec=200ms", "RestartSteps=8", "RestartMaxDelaySec=30s", "StartLimitIntervalSec=0"},
		},
		{
			name: "fixed delay on 252", spec: backoff, version: 252,
			want: map[string]any{
				"Restart": "always", "RestartUSec": uint64(200000), "RestartSteps": nil,
				"RestartMaxDelayUSec": nil, "StartLimitIntervalUSec": uint64(0),
			},
			lines:  []string{"RestartSec=200ms", "StartLimitIntervalSec=0"},
			absent: []string{"RestartSteps", "RestartMaxDelaySec"},
		},
		{
			name: "fixed delay when the version is unknown", spec: backoff, version: 0,
			want:   map[string]any{"RestartSteps": nil, "RestartMaxDelayUSec": nil, "StartLimitIntervalUSec": uint64(0)},
			absent: []string{"RestartSteps"},
		},
		{
			name: "a bound", version: 254,
			spec: func(s *Spec) {
				s.Restart = "on-failure"
				s.RestartDelay = Duration(time.Second)
				s.MaxRestarts, s.Within = 7, Duration(90*time.Second)
			},
			want:  map[string]any{"StartLimitBurst": uint32(8), "StartLimitIntervalUSec": uint64(90000000), "RestartSteps": nil},
			lines: []string{"StartLimitBurst=8", "StartLimitIntervalSec=1min 30s", "RestartSec=1s"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.spec(s)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			props := propMap(Properties(s, "", ExitRecorder{}, tt.version))
			for k, want := range tt.want {
				v, ok := props[k]
				switch {
				case want == nil && ok:
					t.Errorf("%s = %v, want it absent", k, v)
				case want != nil && !ok:
					t.Errorf("%s absent, want %v", k, want)
				case want != nil && v.Value() != want:
					t.Errorf("%s = %#v, want %#v", k, v.Value(), want)
				}
			}
			data, err := RenderUnitFile(s, "", ExitRecorder{}, "system", tt.version)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.lines {
				if !strings.Contains(string(data), "\n"+l+"\n") {
					t.Errorf("unit file has no line %q:\n%s", l, data)
				}
			}
			for _, k := range tt.absent {
				if strings.Contains(string(data), "\n"+k+"=") {
					t.Errorf("unit file has %s=, want none:\n%s", k, data)
				}
			}
		})
	}
}

// Each restart waits about twice as long as the one before.
func TestRestartSteps(t *testing.T) {
	for _, tt := range []struct {
		delay, max time.Duration
		want       uint32
	}{
		{200 * time.Millisecond, 30 * time.Second, 8}, // 150x: 2^7.2
		{time.Second, 2 * time.Second, 1},
		{time.Second, 1024 * time.Second, 10},
		{time.Second, time.Second, 0},
		{time.Microsecond, 1000 * time.Hour, 42},
	} {
		s := Spec{RestartDelay: Duration(tt.delay), RestartMaxDelay: Duration(tt.max)}
		if got := s.restartSteps(); got != tt.want {
			t.Errorf("RestartSteps(%s to %s) = %d, want %d", tt.delay, tt.max, got, tt.want)
		}
	}
}

func TestRestartValidate(t *testing.T) {
	for _, tt := range []struct {
		spec func(*Spec)
		want string
	}{
		{func(s *Spec) { s.NoRestartLimit, s.MaxRestarts, s.Within = true, 3, Duration(time.Second) }, "a restart limit and no restart limit at once"},
		{func(s *Spec) { s.RestartDelay, s.RestartMaxDelay = Duration(time.Second), Duration(time.Millisecond) }, "the longest restart delay 1ms is below the first one 1s"},
		{func(s *Spec) { s.RestartMaxDelay = Duration(time.Second) }, "a growing restart delay needs a first delay of at least 1us"},
	} {
		s := validSpec()
		s.Restart = "always"
		tt.spec(s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want %q", err, tt.want)
		}
	}
}

// Durations in unit files read as a person writes them, and systemd's
// parser gives back the same microseconds.
func TestTimespanValue(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Second, "10s"},
		{90 * time.Second, "1min 30s"},
		{1500 * time.Millisecond, "1s 500ms"},
		{100 * time.Millisecond, "100ms"},
		{3*time.Hour + 2*time.Microsecond, "3h 2us"},
		{999, "0"},
		{0, "0"},
	} {
		got := timespanValue(tt.d)
		if got != tt.want {
			t.Errorf("timespanValue(%s) = %q, want %q", tt.d, got, tt.want)
		}
		us, err := parseTimespan(got)
		if err != nil || us != uint64(tt.d/time.Microsecond) {
			t.Errorf("parseTimespan(%q) = %d, %v; want %d", got, us, err, tt.d/time.Microsecond)
		}
	}
}
