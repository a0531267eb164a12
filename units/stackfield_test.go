package units

import (
	"bytes"
	"strings"
	"testing"
)

// The stack a run belongs to is not what its unit is made from: recording
// it (runctl apply) leaves the drop-in's spec line as it was.
func TestStackLeavesTheUnitAlone(t *testing.T) {
	plain := validSpec()
	member := validSpec()
	member.Stack = "robot"
	a, err := RenderDropIn(plain, "", ExitRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := RenderDropIn(member, "", ExitRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the drop-in changed with the stack:\n%s\n%s", a, b)
	}
	member.Stack = "no/such"
	if err := member.Validate(); err == nil || !strings.Contains(err.Error(), "stack: invalid run name") {
		t.Errorf("Validate of stack %q: %v", member.Stack, err)
	}
}
