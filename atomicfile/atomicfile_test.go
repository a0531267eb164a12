package atomicfile

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

// An error names the file written, not the temporary one, and says why
// once; the system's error stays reachable for errors.Is and errors.As.
func TestErrorNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f")
	err := Write(path, []byte("x"), 0o600)
	if want := path + ": no such file or directory"; err == nil || err.Error() != want {
		t.Fatalf("Write in a missing folder: %v, want %q", err, want)
	}
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) {
		t.Errorf("Write's error %v does not unwrap to the system's", err)
	}
}
