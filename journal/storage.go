package journal

import (
	"os"
	"path/filepath"
	"strings"
)

// VolatileNote says what a journal kept in memory means for a run's logs.
const VolatileNote = "the journal is kept in memory (journald Storage=volatile, or auto without /var/log/journal): the logs of earlier boots are gone; Storage=persistent in /etc/systemd/journald.conf keeps them"

// Volatile says whether journald writes the journal to memory only: its
// current file is under /run/log/journal, which a persistent journal
// leaves (and empties) when it is flushed to /var at boot.
func Volatile() bool {
	id, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		return false
	}
	// A file under /var may be left from before Storage=volatile, and one
	// under /run from before a flush: the one written last is in use.
	rt, err := os.Stat(filepath.Join("/run/log/journal", strings.TrimSpace(string(id)), "system.journal"))
	if err != nil {
		return false
	}
	p, err := os.Stat(filepath.Join("/var/log/journal", strings.TrimSpace(string(id)), "system.journal"))
	return err != nil || rt.ModTime().After(p.ModTime())
}
