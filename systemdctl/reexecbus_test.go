package systemdctl

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Through a bus, a daemon-reexec keeps our connection up: the calls the
// manager had not answered when it let go of the bus end with NoReply
// ("Message recipient disconnected from message bus without replying").
// Under repeated reexecs, 1 runctl restart in 60 failed "cannot subscribe"
// so. Here the calls land in that gap every time: PID 1 is stopped, a
// Reexecute and then the calls are queued to it, and it is let go. A
// subscribe, a read of the unit list and property reads are answered once
// the manager is back, and the subscription then works. A start, which
// must not be sent twice, is sent again only once the manager, back, has
// no unit of the name and nothing was heard of it: it never read it.
func TestBusCallsDuringReexec(t *testing.T) {
	m, m2 := connect(t), connect(t)
	name, name2 := unitName(t, m), unitName(t, m)
	// m2 has its signals already: its start goes out at once.
	if err := m2.subscribe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out, err := sb.Command(t.Context(), "systemd-run", "--unit="+name, "-p", "Type=exec", "/bin/sleep", "100").CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v\n%s", err, out)
	}
	// A monitor sees each call as the bus routes it to the manager, and the
	// bus's answers for a manager gone.
	var rules []string
	for _, c := range []*Manager{m, m2} {
		rules = append(rules, "type='method_call',sender='"+c.bus().Names()[0]+"',destination='org.freedesktop.systemd1'",
			"type='error',destination='"+c.bus().Names()[0]+"'")
	}
	seen := monitor(t, rules...)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// routed waits until the bus has routed these calls to the manager.
	noReplies := 0
	routed := func(want map[string]int) {
		t.Helper()
		for len(want) > 0 {
			select {
			case msg := <-seen:
				member, _ := msg.Headers[dbus.FieldMember].Value().(string)
				if e, _ := msg.Headers[dbus.FieldErrorName].Value().(string); e == "org.freedesktop.DBus.Error.NoReply" {
					noReplies++
				}
				if msg.Type == dbus.TypeMethodCall {
					if want[member]--; want[member] <= 0 {
						delete(want, member)
					}
				}
			case <-ctx.Done():
				t.Fatalf("the bus never routed these calls to the stopped manager: %v", want)
			}
		}
	}

	if err := syscall.Kill(sb.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	cont := func() {
		if stopped {
			stopped = false
			if err := syscall.Kill(sb.PID, syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(cont)
	// Routed before the calls: the manager reads it first, and re-executes
	// without reading further.
	m.systemd().Go("org.freedesktop.systemd1.Manager.Reexecute", dbus.FlagNoReplyExpected, nil)
	routed(map[string]int{"Reexecute": 1})
	type result struct {
		what string
		err  error
	}
	results := make(chan result, 5)
	var (
		w     *Watch
		brief State
		props = []State{{Unit: name}}
		procs [][]Process
	)
	var started State
	go func() {
		var err error
		started, err = m2.startTransient(ctx, name2, execProps("/bin/sleep", "sleep", "100"))
		results <- result{"StartTransientUnit", err}
	}()
	go func() {
		var err error
		w, err = m.Watch(ctx, name)
		results <- result{"subscribe (Watch)", err}
	}()
	go func() {
		var err error
		brief, err = m.Brief(ctx, name)
		results <- result{"ListUnitsByNames (Brief)", err}
	}()
	go func() {
		err := m.getProps(ctx, props, []dbus.ObjectPath{unitPath(name)}, func(int) []string { return []string{"MainPID", "InvocationID"} })
		results <- result{"Get (getProps)", err}
	}()
	go func() {
		var err error
		_, procs, err = m.Details(ctx, []string{name}, func(string) []string { return nil })
		results <- result{"Details", err}
	}()
	// The first call of each, routed to the stopped manager.
	routed(map[string]int{"Subscribe": 1, "ListUnitsByNames": 2, "Get": 2, "StartTransientUnit": 1})
	cont()

	errs := map[string]error{}
	for range 5 {
		r := <-results
		errs[r.what] = r.err
		if r.err != nil {
			t.Errorf("%s sent while the manager re-executed: %v; want it answered once the manager is back", r.what, r.err)
		}
	}
	defer w.Close()
	// Each of the six first calls got NoReply: they landed in the gap.
	for wait := time.After(5 * time.Second); noReplies < 6; {
		select {
		case msg := <-seen:
			if e, _ := msg.Headers[dbus.FieldErrorName].Value().(string); e == "org.freedesktop.DBus.Error.NoReply" {
				noReplies++
			}
		case <-wait:
			t.Fatalf("%d calls got NoReply, want 6: the calls did not land while the manager re-executed", noReplies)
		}
	}
	if errs["StartTransientUnit"] == nil && (!started.Running() || started.MainPID == 0) {
		t.Errorf("the start the manager left unanswered: %+v; want it made once it was back, and running", started)
	}
	if errs["ListUnitsByNames (Brief)"] == nil && !brief.Running() {
		t.Errorf("Brief: %+v; want the running unit", brief)
	}
	if errs["Get (getProps)"] == nil && (props[0].MainPID == 0 || props[0].InvocationID == "") {
		t.Errorf("properties read without an error: MainPID %d, InvocationID %q; want both (the Gets the manager left unanswered were not asked again)", props[0].MainPID, props[0].InvocationID)
	}
	if errs["Details"] == nil && (len(procs) != 1 || len(procs[0]) == 0) {
		t.Errorf("Details' processes: %v; want the unit's sleep", procs)
	}
	if errs["subscribe (Watch)"] != nil {
		return
	}
	// The subscription holds: the stop by someone else is signalled.
	if out, err := sb.Command(t.Context(), "systemctl", "stop", "--no-block", name).CombinedOutput(); err != nil {
		t.Fatalf("systemctl stop: %v\n%s", err, out)
	}
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if st, err := w.Wait(wctx, func(st State, _ map[uint32]string) bool {
		return st.ActiveState == "inactive" || st.ActiveState == "failed"
	}); err != nil {
		t.Errorf("no signal of the unit's stop after the reexec (state seen %+v): %v; the subscription did not hold", st, err)
	}
}

// monitor makes a new connection to the sandbox's bus a monitor of the
// messages that match rules, and returns them as the bus routes them.
func monitor(t *testing.T, rules ...string) <-chan *dbus.Message {
	t.Helper()
	c, err := busDial(sb.SystemBus())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.BusObject().CallWithContext(t.Context(), "org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, rules, uint32(0)).Err; err != nil {
		t.Fatalf("BecomeMonitor: %v", err)
	}
	ch := make(chan *dbus.Message, 256)
	c.Eavesdrop(ch)
	return ch
}
