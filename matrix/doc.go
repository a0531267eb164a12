// Package matrix holds no code: its test runs a subset of runctl's command
// line checks on several systemd versions, each booted in a sandbox from a
// Debian root (sandbox.EnsureRoot) or the host's own.
//
// One version by hand:
//
//	RUNCTL_MATRIX=bullseye go test -count=1 -v ./matrix
//
// RUNCTL_MATRIX lists the versions to run, space-separated: host (the
// host's systemd), bullseye (247), trixie (257), sid (the newest: 262 on
// the day its root was built); by default all four. The roots are built on first use in
// /var/cache/runctl-test-roots ($RUNCTL_TEST_ROOTS), about a minute each.
package matrix
