package main

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// machineInfo describes the machine the numbers are taken on. Inside the
// sandbox, /proc and the kernel are the host's.
func machineInfo(r *runner) (Machine, error) {
	m := Machine{
		NProc:  runtime.NumCPU(),
		Kernel: strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		CPU:    field("/proc/cpuinfo", "model name", ":"),
		OS:     strings.Trim(field("/etc/os-release", "PRETTY_NAME", "="), `"`),
		Go:     runtime.Version(),
		Where:  "systemd as PID 1",
	}
	if kb, err := strconv.Atoi(strings.TrimSuffix(field("/proc/meminfo", "MemTotal", ":"), " kB")); err == nil {
		m.MemoryMB = kb / 1024
	}
	if strings.Contains(readFile("/proc/1/environ"), "container=runctl-sandbox") {
		m.Where = "runctl-sandbox: a throwaway systemd in namespaces over a tmpfs overlay of the host"
	}
	out, err := r.run("systemctl", "--version")
	if err != nil {
		return m, err
	}
	m.Systemd, _, _ = strings.Cut(out, "\n")
	out, err = r.run("runctl", "--version")
	if err != nil {
		return m, err
	}
	m.Runctl = strings.TrimPrefix(strings.TrimSpace(out), "runctl ")
	return m, nil
}

func readFile(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// field is the value of the first line "KEY<sep>value" of a file, trimmed.
func field(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
