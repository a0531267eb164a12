package units

import "strings"

// unbufferedEnv are the variables a run gets, unless Spec.Buffered or the
// run's environment sets them, so that what Python and ROS 2 nodes print
// reaches the journal as it is printed: with stdout a pipe to journald, not
// a terminal, Python's print() and C stdio buffer 4-8 KiB and flush late or
// at exit. They go to the unit (Environment=), not to the spec: ls,
// status --json and export show the environment the user gave.
//   - PYTHONUNBUFFERED=1: Python's stdout and stderr are unbuffered.
//   - RCUTILS_LOGGING_BUFFERED_STREAM=1: ROS 2's console logging (rcutils,
//     stderr or with RCUTILS_LOGGING_USE_STDOUT=1 stdout) is line-buffered
//     (setvbuf _IOLBF; 0 would be unbuffered, unset leaves libc's default,
//     full buffering for a pipe to stdout).
var unbufferedEnv = []string{"PYTHONUNBUFFERED=1", "RCUTILS_LOGGING_BUFFERED_STREAM=1"}

// AddedEnv are the unbufferedEnv variables runctl adds to s's environment:
// none with Buffered, and none the run's environment sets itself.
func (s *Spec) AddedEnv() []string {
	if s.Buffered {
		return nil
	}
	var out []string
	for _, kv := range unbufferedEnv {
		name, _, _ := strings.Cut(kv, "=")
		set := false
		for _, e := range s.Env {
			if strings.HasPrefix(e, name+"=") {
				set = true
				break
			}
		}
		if !set {
			out = append(out, kv)
		}
	}
	return out
}
