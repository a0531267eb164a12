package units

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		wantErr string // substring; "" means valid
	}{
		{"nav", ""},
		{"a", ""},
		{"7", ""},
		{"my-bot_2.prod", ""},
		{"A.b-C_d", ""},
		{"x.", ""},
		{"foo.service", ""},
		{strings.Repeat("x", 64), ""},

		{"", "it is empty"},
		{"a/b", `"/" is not allowed`},
		{"..", `it starts with "."`},
		{"a..b", `".." is not allowed`},
		{".hidden", `it starts with "."`},
		{"-x", `it starts with "-"`},
		{"_x", `it starts with "_"`},
		{strings.Repeat("x", 65), "it is 65 characters long"},
		{"my bot", `" " is not allowed`},
		{"café", `"é" is not allowed`},
		{"a\xffb", `"\xff" is not allowed`},
		{"a@b", `"@" is not allowed`},
		{"a\x00", `"\x00" is not allowed`},
		{"a\nb", `"\n" is not allowed`},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateName(%q) = %v, want nil", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidateName(%q) = nil, want error containing %q", tt.name, tt.wantErr)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.wantErr) || !strings.HasPrefix(msg, "invalid run name ") || !strings.Contains(msg, nameRule) {
			t.Errorf("ValidateName(%q) = %q, want it to contain %q and the rule", tt.name, msg, tt.wantErr)
		}
	}
}

func TestValidateNameMessage(t *testing.T) {
	err := ValidateName("a/b")
	want := `invalid run name "a/b": "/" is not allowed; use 1-64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit`
	if err == nil || err.Error() != want {
		t.Errorf("ValidateName(%q) = %v, want %q", "a/b", err, want)
	}
}

func TestSanitizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"python3", "python3"},
		{"/usr/bin/my prog!", "my-prog"},
		{"...", "run"},
		{"my.script.py", "my.script.py"},
		{"./bot.py", "bot.py"},
		{"", "run"},
		{"/", "run"},
		{"-", "run"},
		{"dir/", "dir"},
		{"a..b", "a.b"},
		{"a...b---c", "a.b-c"},
		{"a .b", "a.b"},
		{"a. b", "a.b"},
		{"my node (v2).py", "my-node-v2.py"},
		{"--help", "help"},
		{"_private", "private"},
		{".bashrc", "bashrc"},
		{"café au lait", "caf-au-lait"},
		{"日本語", "run"},
		{"x日本語y", "x-y"},
		{"a\xff\xfeb", "a-b"},
		{"trail.", "trail"},
		{"trail_", "trail"},
		{"a/b/c/node", "node"},
		{strings.Repeat("x", 70), strings.Repeat("x", 64)},
		{strings.Repeat("x", 63) + ".y", strings.Repeat("x", 63)},
		{strings.Repeat("x", 63) + "-yz", strings.Repeat("x", 63)},
	}
	for _, tt := range tests {
		got := sanitizeName(tt.in)
		if got != tt.want {
			t.Errorf("sanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if err := ValidateName(got); err != nil {
			t.Errorf("sanitizeName(%q) = %q, which is invalid: %v", tt.in, got, err)
		}
	}
}

func TestUnitName(t *testing.T) {
	if got, want := UnitName("nav"), "runctl-nav.service"; got != want {
		t.Errorf("UnitName(%q) = %q, want %q", "nav", got, want)
	}
}

func TestNameFromUnit(t *testing.T) {
	tests := []struct {
		unit string
		name string
		ok   bool
	}{
		{"runctl-nav.service", "nav", true},
		{"runctl-a.b.service", "a.b", true},
		{"runctl-foo.service.service", "foo.service", true},
		{"runctl-runctl-x.service", "runctl-x", true},
		{"runctl-.service", "", false},
		{"runctl-nav.scope", "", false},
		{"runctl-nav", "", false},
		{"nav.service", "", false},
		{"ssh.service", "", false},
		{"runctl-a@b.service", "", false},
		{"runctl--x.service", "", false},
		{"Runctl-nav.service", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		name, ok := NameFromUnit(tt.unit)
		if name != tt.name || ok != tt.ok {
			t.Errorf("NameFromUnit(%q) = %q, %v; want %q, %v", tt.unit, name, ok, tt.name, tt.ok)
		}
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"python3", "/usr/bin/my prog!", "...", "my.script.py", "", "a..b", "日本", "\xff", strings.Repeat("a.", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := sanitizeName(s)
		if err := ValidateName(got); err != nil {
			t.Fatalf("sanitizeName(%q) = %q, which is invalid: %v", s, got, err)
		}
		if again := sanitizeName(got); again != got {
			t.Fatalf("sanitizeName is not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"nav", "", "a/b", "..", "a..b", strings.Repeat("x", 65), "café", "my bot", "x.", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateName(s)
		unit := UnitName(s)
		name, ok := NameFromUnit(unit)
		if err != nil {
			if ok {
				t.Fatalf("ValidateName(%q) failed (%v) but NameFromUnit(%q) accepted it", s, err, unit)
			}
			return
		}
		if !ok || name != s {
			t.Fatalf("NameFromUnit(UnitName(%q)) = %q, %v; want %q, true", s, name, ok, s)
		}
	})
}
