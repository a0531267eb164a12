package runs

import (
	"testing"
)

// Where the runs' control groups are not to be read (a manager reached
// through a bus, as here from outside the sandbox: no Layout.CgroupRoot),
// List asks the manager for the memory and CPU time of the running runs,
// and only when asked to.
func TestListUsageFromTheManager(t *testing.T) {
	r := newRuns(t)
	running, stopped := spec(t, "sleep", "1000"), spec(t, "sleep", "1000")
	start(t, r, running)
	start(t, r, stopped)
	if _, err := r.Stop(t.Context(), stopped.Name, 0, false); err != nil {
		t.Fatal(err)
	}
	listed := func(opt ListOptions) map[string]Run {
		t.Helper()
		list, err := r.List(t.Context(), opt)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]Run{}
		for _, run := range list {
			seen[run.Name] = run
		}
		return seen
	}
	seen := listed(ListOptions{Usage: true})
	if run := seen[running.Name]; run.MemoryBytes == nil || *run.MemoryBytes == 0 {
		t.Errorf("List with usage shows the running run's memory as %v, want what systemd counts", run.MemoryBytes)
	}
	if run := seen[stopped.Name]; run.MemoryBytes != nil || run.CPUSec != nil {
		t.Errorf("List with usage shows a stopped run's memory %v and CPU %v, want none", run.MemoryBytes, run.CPUSec)
	}
	if run := listed(ListOptions{})[running.Name]; run.MemoryBytes != nil || run.CPUSec != nil {
		t.Errorf("List without usage shows memory %v and CPU %v, want none read", run.MemoryBytes, run.CPUSec)
	}
}
