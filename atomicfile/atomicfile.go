// Package atomicfile replaces files so that readers see the old content or
// the new, never a part, even across a crash or power loss.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data, with permissions perm: a temporary file in
// the same folder, synced, renamed over path, and the folder synced.
func Write(path string, data []byte, perm os.FileMode) error {
	tmp, err := Temp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return &pathError{path, err}
	}
	return SyncDir(filepath.Dir(path))
}

// Temp writes data to a new temporary file beside path, with permissions
// perm, and syncs it; renaming it over path then replaces path atomically,
// and syncing the folder makes that durable.
func Temp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return "", &pathError{path, err}
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", &pathError{path, err}
	}
	return f.Name(), nil
}

// SyncDir makes the renames and removals in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return &pathError{dir, err}
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return &pathError{dir, err}
	}
	return nil
}

// pathError says which file could not be written, and why, as "PATH: REASON":
// the caller says what it was doing. The reason is the system's, without
// the temporary file's name; Unwrap gives the error the system returned.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string {
	return e.path + ": " + Cause(e.err).Error()
}

// Cause is err without the operation and path that *fs.PathError and
// *os.LinkError add: what the system said, for a message that names the
// file once itself.
func Cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

func (e *pathError) Unwrap() error { return e.err }
