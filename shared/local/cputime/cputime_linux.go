package cputime

import (
	"syscall"
	"time"
	"unsafe"
)

const supported = true

// Clock ids of clock_gettime(2). These clocks are exact to the
// nanosecond; getrusage(2) would only move on scheduler ticks.
const (
	clockProcessCPUTime = 2 // CLOCK_PROCESS_CPUTIME_ID
	clockThreadCPUTime  = 3 // CLOCK_THREAD_CPUTIME_ID
)

func processCPU() time.Duration { return clock(clockProcessCPUTime) }

func threadCPU() time.Duration { return clock(clockThreadCPUTime) }

func clock(id uintptr) time.Duration {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
