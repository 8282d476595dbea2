//go:build !linux

package cputime

import "time"

// Thread CPU time is read with Linux's RUSAGE_THREAD; elsewhere nothing is
// measured and benchmarks report no CPU figures.
const supported = false

func processCPU() time.Duration { return 0 }

func threadCPU() time.Duration { return 0 }
