package cli

import (
	"reflect"
	"testing"
)

// A command line naming its verb is parsed by a model of that verb alone:
// it must come out exactly as the whole CLI parses it.
func TestParseOneVerbAsTheWholeCLI(t *testing.T) {
	for _, args := range [][]string{
		{"run", "-d", "-n", "x", "-E", "A=1", "--stop-timeout", "3s", "--", "/bin/sleep", "--help", "1"},
		{"--user", "--json", "run", "sh", "-c", "echo hi"},
		{"--log-level=debug", "stop", "--timeout", "2s", "-f", "nav"},
		{"ps", "-q"},
		{"list"},
		{"--system", "restart", "--update-env", "nav"},
		{"status", "a", "b"},
		{"logs", "-f", "nav"},
		{"logs", "-b", "-1", "-g", "x", "-o", "cat", "-n", "all", "nav"},
		{"rm", "-f", "a", "b"},
		{"enable", "nav"},
		{"start", "nav"},
		{"-H=robot-1,robot-2", "--inventory=/etc/runctl/hosts", "--host-timeout=5s", "restart", "nav"},
		{"--fleet-protocol=1", "ls", "--json"},
		{"serve-ssh"},
	} {
		verb, ok := verbField(args)
		if !ok {
			t.Errorf("%q: no verb found", args)
			continue
		}
		kctx, globals, err := parse(args, "test")
		if err != nil {
			t.Errorf("%q: %v", args, err)
			continue
		}
		var whole CLI
		wctx, err := Parser(&whole, "test").Parse(args)
		if err != nil {
			t.Fatalf("%q: the whole CLI refuses it: %v", args, err)
		}
		if kctx.Command() != wctx.Command() {
			t.Errorf("%q: command %q, the whole CLI says %q", args, kctx.Command(), wctx.Command())
		}
		if !reflect.DeepEqual(*globals, whole.Globals) {
			t.Errorf("%q: globals %+v, the whole CLI says %+v", args, *globals, whole.Globals)
		}
		one := kctx.Model.Target.FieldByName(reflect.TypeFor[CLI]().Field(verb).Name).Interface()
		if all := reflect.ValueOf(whole).Field(verb).Interface(); !reflect.DeepEqual(one, all) {
			t.Errorf("%q: parsed %+v, the whole CLI says %+v", args, one, all)
		}
	}
}

// Whatever the one-verb model does not parse falls to the whole CLI.
func TestParseFallsBackToTheWholeCLI(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"run", "--help"}, {"--log-level", "debug", "ls"}, {"nosuchverb"}, {}} {
		if _, ok := verbField(args); ok {
			t.Errorf("%q: parsed by one verb's model, want the whole CLI", args)
		}
	}
}

func BenchmarkParseStop(b *testing.B) {
	for b.Loop() {
		parse([]string{"stop", "nav"}, "test")
	}
}

func BenchmarkParseWholeStop(b *testing.B) {
	for b.Loop() {
		var root CLI
		Parser(&root, "test").Parse([]string{"stop", "nav"})
	}
}
