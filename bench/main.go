// Command runctl-bench measures runctl against systemd's own tools
// (systemd-run, systemctl) in one run on one machine: the two sides are
// interleaved (A, B, A, B...), every process is timed from fork to exit, and
// the medians, spreads and ratios are checked against runctl's targets.
//
// It needs a running systemd, so `make bench` runs it inside a throwaway one
// and renders the results on the host:
//
//	bin/runctl-sandbox --bin bin -- runctl-bench > bench/results.json
//	bin/runctl-bench -report bench/results.json -md docs/BENCHMARKS.md
//
// Files written inside the sandbox vanish with its overlay, which is why the
// measuring run sends its JSON to stdout and a second, host-side run renders
// it. On a machine whose PID 1 is systemd, one run can do both:
//
//	runctl-bench -out results.json -md BENCHMARKS.md
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	quick := flag.Bool("quick", false, "smoke run: few repetitions and small sizes")
	reps := flag.Int("reps", 0, "repetitions per comparison (default 30, 3 with -quick); the fast commands get 3 times as many")
	out := flag.String("out", "-", "write the results as JSON to this file (- for stdout)")
	md := flag.String("md", "", "rewrite the generated part of this Markdown file with the results")
	report := flag.String("report", "", "do not measure: render the results read from this JSON file (- for stdin)")
	ext4 := flag.String("ext4", "", "a block device to format as ext4 and mount for a second store (the fsyncs of a disk); make bench makes a loop device")
	stamp := flag.String("stamp-on-term", "", "internal: the program of the stop-latency and downtime runs (writes its start time to FILE.start, waits for SIGTERM, writes the time to FILE, exits 0)")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: runctl-bench [-quick] [-reps N] [-ext4 DEV] [-out FILE] [-md FILE] | -report FILE [-md FILE]")
		os.Exit(2)
	}
	var err error
	switch {
	case *stamp != "":
		err = stampOnTerm(*stamp)
	case *report != "":
		err = render(*report, *md)
	default:
		err = measure(newConfig(*quick, *reps, *ext4), *out, *md)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "runctl-bench: %v\n", err)
		os.Exit(1)
	}
}

// measure runs every benchmark and writes the results. The table goes to
// stdout unless stdout carries the JSON (render it with -report then).
func measure(cfg config, out, md string) error {
	if err := checkSystemd(); err != nil {
		return err
	}
	res, err := runAll(cfg)
	if err != nil {
		return err
	}
	if err := writeJSON(res, out); err != nil {
		return err
	}
	if out != "-" {
		printTable(os.Stdout, res)
	}
	if md != "" {
		return writeMarkdown(md, res)
	}
	return nil
}

// render prints the table of saved results and rewrites the Markdown file.
func render(in, md string) error {
	res, err := readJSON(in)
	if err != nil {
		return err
	}
	printTable(os.Stdout, res)
	if md != "" {
		if err := writeMarkdown(md, res); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", md)
	}
	return nil
}

// checkSystemd refuses to run where systemd is not PID 1: the benchmark
// starts and stops units, and must do so in the sandbox, not on a host.
func checkSystemd() error {
	comm, err := os.ReadFile("/proc/1/comm")
	if err != nil || string(comm) != "systemd\n" {
		return errors.New("cannot measure: PID 1 is not systemd here; run inside the sandbox: bin/runctl-sandbox --bin bin -- runctl-bench (or make bench)")
	}
	return nil
}

func writeJSON(res *Results, path string) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the results: %w", err)
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write the results: %w", err)
	}
	return nil
}

func readJSON(path string) (*Results, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the results: %w", err)
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("cannot read the results in %s: %w", path, err)
	}
	return &res, nil
}
