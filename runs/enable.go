package runs

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Enabled is what Enable did.
type Enabled struct {
	Name     string `json:"name"`
	UnitFile string `json:"unit_file"`
	// Transient: the run keeps running as a transient unit until its next
	// restart; from then on, and at boot, it runs from the unit file.
	Transient bool `json:"transient"`
	// Linger: what enabling a user run at boot still needs, if anything.
	Linger string `json:"linger,omitempty"`
	// Interrupted: Ctrl-C or SIGTERM came while enabling, which finished
	// first; the caller should stop there.
	Interrupted bool `json:"-"`
}

// Enable writes the run's unit file and enables it, so it starts at boot.
func (r *Runs) Enable(ctx context.Context, name string) (Enabled, error) {
	res := Enabled{Name: name, UnitFile: r.slots().Layout.Paths(name).UnitFile}
	if err := r.supported(ctx, "enable "+name); err != nil {
		return res, err
	}
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return res, err
	}
	defer unlock()
	spec, err := r.load(name)
	if err != nil {
		return res, err
	}
	if res.Interrupted, err = r.enableLocked(ctx, spec); err != nil {
		return res, err
	}
	if st, err := r.Manager.Brief(ctx, units.UnitName(name)); err == nil && st.Running() {
		res.Transient = true
	}
	if r.Scope() == systemdctl.User {
		res.Linger = ensureLinger(ctx)
	}
	return res, nil
}

// enableLocked writes and enables the unit file; the caller holds the lock.
// Ctrl-C and SIGTERM wait until both are done (interrupted says one came);
// a SIGKILL in between leaves the file without its link, which the next
// enable, start or restart adds.
func (r *Runs) enableLocked(ctx context.Context, spec *units.Spec) (interrupted bool, err error) {
	name, slots := spec.Name, r.slots()
	held := make(chan os.Signal, 2)
	signal.Notify(held, syscall.SIGINT, syscall.SIGTERM)
	defer func() {
		signal.Stop(held)
		interrupted = len(held) > 0
	}()
	if err := slots.CheckUnitName(ctx, name); err != nil {
		return false, fmt.Errorf("cannot enable %s: %w", name, err)
	}
	envFile, err := r.Store.EnsureEnvFile(spec)
	if err != nil {
		return false, r.permissionHint(fmt.Errorf("cannot enable %s: %w", name, err))
	}
	if _, err := slots.SyncUnitFile(ctx, spec, envFile); err != nil {
		return false, r.permissionHint(fmt.Errorf("cannot enable %s: %w", name, err))
	}
	if err := slots.LinkUnitFile(ctx, name); err != nil {
		return false, r.permissionHint(fmt.Errorf("cannot enable %s: %w", name, err))
	}
	return false, nil
}

// Disabled is what Disable did.
type Disabled struct {
	Name string `json:"name"`
	// Running: the run keeps running until stopped.
	Running bool `json:"running"`
}

// Disable removes the unit file runctl wrote and its links.
func (r *Runs) Disable(ctx context.Context, name string) (Disabled, error) {
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return Disabled{Name: name}, err
	}
	defer unlock()
	return r.disableLocked(ctx, name)
}

// DisableAll disables every run runctl enabled, by name.
func (r *Runs) DisableAll(ctx context.Context) ([]Disabled, error) {
	var out []Disabled
	for _, name := range r.slots().EnabledNames() {
		d, err := r.Disable(ctx, name)
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (r *Runs) disableLocked(ctx context.Context, name string) (Disabled, error) {
	res := Disabled{Name: name}
	slots := r.slots()
	link, _ := slots.WantsLink(name)
	if _, err := os.Lstat(link); err != nil && !slots.Enabled(name) {
		return res, fmt.Errorf("%s is not enabled (runctl enable %s makes it start at boot)", name, name)
	}
	if err := slots.RemoveUnitFile(ctx, name); err != nil {
		return res, r.permissionHint(fmt.Errorf("cannot disable %s: %w", name, err))
	}
	st, _ := r.Manager.Brief(ctx, units.UnitName(name))
	res.Running = st.Running()
	return res, nil
}

// ensureLinger makes a user's manager start at boot, without which their
// enabled runs would wait for a login. It asks logind (allowed for oneself
// where polkit permits) and otherwise says what to run.
func ensureLinger(ctx context.Context) string {
	u := os.Getenv("USER")
	if u == "" {
		u = fmt.Sprint(os.Getuid())
	}
	if _, err := os.Stat("/var/lib/systemd/linger/" + u); err == nil {
		return ""
	}
	if err := systemdctl.EnableLinger(ctx, uint32(os.Getuid())); err == nil {
		return fmt.Sprintf("enabled lingering for %s, so your manager and its enabled runs start at boot", u)
	}
	return fmt.Sprintf("your user manager does not start at boot until lingering is on: sudo loginctl enable-linger %s", strings.TrimSpace(u))
}
