package specstore

import (
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/runctl/runctl/units"
)

func testSpec(name string) *units.Spec {
	return &units.Spec{
		Version: units.SpecVersion, Name: name,
		Argv: []string{"bot", "--x", "$HOME", ""}, Path: "/usr/bin/bot", Dir: "/",
		Env:         []string{"A=1", "SECRET=p\"a$s\nw"},
		StopTimeout: units.Duration(10 * time.Second),
		Created:     time.Unix(1700000000, 0).UTC(),
	}
}

func TestSaveLoadListRemove(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/runs"}
	if specs, err := s.List(); err != nil || len(specs) != 0 {
		t.Fatalf("empty store: %v, %v", specs, err)
	}
	want := testSpec("nav")
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("nav")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	envFile, _, err := s.EnvFile(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.Dir, s.specPath("nav"), envFile} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; others must not read it", p, fi.Mode().Perm())
		}
	}
	env, _ := os.ReadFile(envFile)
	if parsed, err := units.ParseEnvFile(env); err != nil || !reflect.DeepEqual(parsed, want.Env) {
		t.Fatalf("env file parses to %q, %v; want %q", parsed, err, want.Env)
	}
	if err := s.Save(testSpec("arm")); err != nil {
		t.Fatal(err)
	}
	specs, err := s.List()
	if err != nil || len(specs) != 2 || specs[0].Name != "arm" || specs[1].Name != "nav" {
		t.Fatalf("List = %v, %v; want arm, nav", specs, err)
	}
	if err := s.Remove("nav"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("nav"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Remove: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(envFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("env file left after Remove: %v", err)
	}
	ents, _ := os.ReadDir(s.Dir)
	if len(ents) != 2 {
		t.Fatalf("store holds %d files, want arm's 2 (no temp files or lock left)", len(ents))
	}
}
