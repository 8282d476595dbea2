package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// condition is what the machine was doing during one section of the
// report: a rerun on a busy machine gives other figures, and the report
// says so instead of hiding it.
type condition struct {
	Section     string
	Took        time.Duration
	LoadBefore  float64 // 1-minute load average when the section started
	LoadAfter   float64
	MachineBusy float64 // share of all CPUs' time that was not idle during the section, this process included
	Latency     string  // the latencies injected into the stand-ins, "" for none
}

// cpuTimes reads the machine's total and idle CPU time (jiffies) from
// /proc/stat; ok is false where there is none.
func cpuTimes() (total, idle uint64, ok bool) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total, idle, true
}

// loadAverage reads the 1-minute load average (0 where there is none).
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// measured runs one section of the report and records the machine's
// conditions around it.
func (r *report) measured(ctx context.Context, section, latency string, run func(context.Context) error) error {
	c := condition{Section: section, Latency: latency, LoadBefore: loadAverage()}
	t0, i0, ok0 := cpuTimes()
	start := time.Now()
	err := run(ctx)
	c.Took = time.Since(start)
	c.LoadAfter = loadAverage()
	if t1, i1, ok1 := cpuTimes(); ok0 && ok1 && t1 > t0 {
		c.MachineBusy = 1 - float64(i1-i0)/float64(t1-t0)
	}
	r.conditions = append(r.conditions, c)
	if err != nil {
		return fmt.Errorf("%s: %w", section, err)
	}
	return nil
}
