//go:build !faults

package runs

// crashpoint is a no-op in release builds; see crash_faults.go.
func crashpoint(string) {}
