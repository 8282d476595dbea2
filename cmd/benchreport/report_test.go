package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A report from a run's results shows every section with its figures, the
// goals judged from them and the machine's conditions, and no template
// field left empty.
func TestReportShowsEverySectionAndItsConditions(t *testing.T) {
	res := func(ns float64, m map[string]float64) benchResult {
		m["ns/op"] = ns
		return benchResult{N: 1, Runs: 3, Min: ns * 0.9, Max: ns * 1.2, Metrics: m}
	}
	r := &report{
		fns: []fnRow{{Name: "userlogin", HTTP: true, Size: 9e6, Bench: res(400e3, map[string]float64{"ddb-calls/op": 3, "ddb-GetItem/op": 2})}},
		latency: map[string]benchResult{
			"Latency/userlogin": res(79e6, map[string]float64{"ddb-calls/op": 5, "wechat-calls/op": 1}),
		},
		refreshLatency: map[string]benchResult{
			"RefreshRunWithLatency/authorizers=10000/baseline": res(95e9, map[string]float64{"wechat-calls/token": 1, "ddb-calls/token": 4}),
			"RefreshRunWithLatency/authorizers=10000/current":  res(14e9, map[string]float64{"wechat-calls/token": 1, "ddb-calls/token": 2}),
		},
		refresh: map[string]benchResult{"RefreshRun/authorizers=100": res(1e8, map[string]float64{"ddb-calls/token": 2})},
		nearbyDense: map[string]benchResult{
			"NearbyDenseCity/algorithm=new/engineer=centre/radius_km=5": res(1e9,
				map[string]float64{"results/op": 50, "items-read/op": 110, "cpu-µs/op": 4700}),
			"NearbyDenseCity/algorithm=baseline/engineer=centre/radius_km=5": res(1e9,
				map[string]float64{"results/op": 50, "items-read/op": 8336, "cpu-µs/op": 164000}),
		},
		nearby: map[string]benchResult{
			"Nearby/orders=1000":         res(1e7, map[string]float64{"items-read/op": 3}),
			"NearbyBaseline/orders=1000": res(1e7, map[string]float64{"items-read/op": 40}),
		},
		crypto: map[string]benchResult{"OpenTicketPush": res(9000, map[string]float64{}), "StdlibBaseline": res(9000, map[string]float64{})},
		conditions: []condition{
			{Section: "token refresh with latency", Took: 2 * time.Minute, LoadBefore: 0.5, LoadAfter: 2.1, MachineBusy: 0.8, Latency: injectedLatency},
		},
	}
	var buf bytes.Buffer
	if err := r.write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"| userlogin | login from a tenant's QR scene (public mini program) | 79.0 (71.1–94.8) | 5 | 1 | 75 |",
		"| current | 10000 | 14.00 s | 1.00 | 2.00 |",
		"| baseline | 10000 | 95.00 s | 1.00 | 4.00 |",
		"| new | centre | 5 | 50 | 110 | 2.2 |",
		"| 4.7 ms | yes | yes |",
		"| baseline | centre | 5 | 50 | 8336 | 166.7 |",
		"| 164.0 ms | no | no |",
		"| token refresh with latency | 2m0s | DynamoDB 5 ms, WeChat 50 ms a call | 0.50 | 2.10 | 80% |",
		"400 (360–480)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(out, "<no value>") {
		t.Errorf("the report has an empty field:\n%s", out)
	}
	if i, j := strings.Index(out, "| current |"), strings.Index(out, "| baseline | 10000"); i < 0 || j < i {
		t.Error("the current refresh run is not listed before the baseline")
	}
}
