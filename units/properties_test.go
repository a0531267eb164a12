package units

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"slices"
	"testing"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

func propNames(props []sdbus.Property) []string {
	var names []string
	for _, p := range props {
		names = append(names, p.Name)
	}
	return names
}

func propMap(props []sdbus.Property) map[string]dbus.Variant {
	m := make(map[string]dbus.Variant)
	for _, p := range props {
		m[p.Name] = p.Value
	}
	return m
}

func TestProperties(t *testing.T) {
	s := validSpec()
	s.User = "bot"
	s.StopTimeout = Duration(90 * time.Second)
	props := Properties(s, "/run/runctl/nav.env", ExitRecorder{}, 252)

	wantNames := []string{
		"Description", "ExecStart", "Type", "WorkingDirectory", "Environment", "EnvironmentFiles",
		"StandardOutput", "StandardError", "SyslogIdentifier", "KillMode", "SendSIGKILL",
		"CPUAccounting", "TimeoutStopUSec", "User",
	}
	if got := propNames(props); !slices.Equal(got, wantNames) {
		t.Fatalf("property names\n got %q\nwant %q", got, wantNames)
	}

	want := map[string]struct {
		sig   string
		value any
	}{
		"Description": {"s", "runctl run nav: python3 nav.py '--speed=$FAST'"},
		"ExecStart": {"a(sasb)", []execCommand{{
			Path: "/usr/bin/python3",
			Argv: []string{"python3", "nav.py", "--speed=$$FAST"},
		}}},
		"Type":             {"s", "exec"},
		"WorkingDirectory": {"s", "/opt/bot"},
		"Environment":      {"as", []string{"PYTHONUNBUFFERED=1", "RCUTILS_LOGGING_BUFFERED_STREAM=1"}},
		"EnvironmentFiles": {"a(sb)", []environmentFile{{Path: "/run/runctl/nav.env", Ignore: false}}},
		"StandardOutput":   {"s", "journal"},
		"StandardError":    {"s", "inherit"},
		"SyslogIdentifier": {"s", "nav"},
		"KillMode":         {"s", "control-group"},
		"SendSIGKILL":      {"b", true},
		"CPUAccounting":    {"b", true},
		"TimeoutStopUSec":  {"t", uint64(90_000_000)},
		"User":             {"s", "bot"},
	}
	for name, v := range propMap(props) {
		w := want[name]
		if got := v.Signature().String(); got != w.sig {
			t.Errorf("%s has D-Bus signature %q, want %q", name, got, w.sig)
		}
		if !reflect.DeepEqual(v.Value(), w.value) {
			t.Errorf("%s = %#v, want %#v", name, v.Value(), w.value)
		}
	}
}

func TestPropertiesOptional(t *testing.T) {
	s := validSpec()
	s.Buffered = true
	props := Properties(s, "", ExitRecorder{}, 252)
	names := propNames(props)
	for _, absent := range []string{"EnvironmentFiles", "User", "Environment"} {
		if slices.Contains(names, absent) {
			t.Errorf("Properties(no env file, no user, --buffered) has %s: %q", absent, names)
		}
	}
	if len(names) != 11 {
		t.Errorf("Properties(no env file, no user) = %q, want 11 properties", names)
	}
}

func TestPropertiesDoNotAliasSpec(t *testing.T) {
	s := validSpec()
	props := Properties(s, "", ExitRecorder{}, 0)
	s.Argv[1] = "changed.py"
	got := propMap(props)["ExecStart"].Value().([]execCommand)[0].Argv[1]
	if got != "nav.py" {
		t.Errorf("changing the spec after Properties changed ExecStart argv to %q", got)
	}
}

// TestPropertiesMarshal encodes a whole StartTransientUnit call the way
// go-systemd sends it, so a property godbus cannot marshal fails here and not
// at the first real start.
func TestPropertiesMarshal(t *testing.T) {
	s := validSpec()
	s.User = "bot"
	s.Argv = append(s.Argv, "$HOME%n", "", "日本語", "a\nb")
	props := Properties(s, "/run/runctl/nav.env", ExitRecorder{}, 0)
	aux := []sdbus.PropertyCollection{}
	body := []any{UnitName(s.Name), "fail", props, aux}
	msg := &dbus.Message{
		Type: dbus.TypeMethodCall,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/systemd1")),
			dbus.FieldInterface:   dbus.MakeVariant("org.freedesktop.systemd1.Manager"),
			dbus.FieldMember:      dbus.MakeVariant("StartTransientUnit"),
			dbus.FieldDestination: dbus.MakeVariant("org.freedesktop.systemd1"),
			dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(body...)),
		},
		Body: body,
	}
	if got, want := dbus.SignatureOf(body...).String(), "ssa(sv)a(sa(sv))"; got != want {
		t.Fatalf("StartTransientUnit body signature = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		t.Fatalf("cannot encode StartTransientUnit: %v", err)
	}
	back, err := dbus.DecodeMessage(&buf)
	if err != nil {
		t.Fatalf("cannot decode StartTransientUnit: %v", err)
	}
	var decoded []struct {
		Name  string
		Value dbus.Variant
	}
	if err := dbus.Store(back.Body[2:3], &decoded); err != nil {
		t.Fatalf("cannot read properties back: %v", err)
	}
	if len(decoded) != len(props) {
		t.Fatalf("decoded %d properties, sent %d", len(decoded), len(props))
	}
	for i, p := range decoded {
		if p.Name != props[i].Name || p.Value.Signature() != props[i].Value.Signature() {
			t.Errorf("property %d decoded as %s %s, sent %s %s", i, p.Name, p.Value.Signature(), props[i].Name, props[i].Value.Signature())
		}
	}
	var exec []execCommand
	if err := dbus.Store([]any{propMap(props)["ExecStart"].Value()}, &exec); err != nil {
		t.Fatal(err)
	}
	for _, p := range decoded {
		if p.Name != "ExecStart" {
			continue
		}
		var got []execCommand
		if err := dbus.Store([]any{p.Value.Value()}, &got); err != nil {
			t.Fatalf("cannot read ExecStart back: %v", err)
		}
		if !reflect.DeepEqual(got, exec) {
			t.Errorf("ExecStart decoded as %+v, sent %+v", got, exec)
		}
	}
}
