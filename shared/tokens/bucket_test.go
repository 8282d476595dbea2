package tokens

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// In a synctest bubble time moves only when every goroutine waits, so the
// start times are exact.
func TestTheBucketStartsABurstAtOnceThenPacesTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBucket(10, 3) // 10 a second, 3 at once
		start := time.Now()
		var at []time.Duration
		for range 7 {
			if err := b.wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			at = append(at, time.Since(start))
		}
		ms := time.Millisecond
		if want := []time.Duration{0, 0, 0, 100 * ms, 200 * ms, 300 * ms, 400 * ms}; !slices.Equal(at, want) {
			t.Fatalf("starts at %v, want %v", at, want)
		}
		// After a lull the burst is back, and no more.
		time.Sleep(time.Second)
		start = time.Now()
		at = at[:0]
		for range 4 {
			_ = b.wait(t.Context())
			at = append(at, time.Since(start))
		}
		if want := []time.Duration{0, 0, 0, 100 * ms}; !slices.Equal(at, want) {
			t.Fatalf("after a lull, starts at %v, want %v", at, want)
		}
	})
}
