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
		eventChanges: map[string]benchResult{
			"EventsPerChange/accept": res(3e6, map[string]float64{"events/change": 1, "ddb-calls/change": 2, "ddb-GetItem/change": 1,
				"ddb-TransactWriteItems/change": 1, "tx-items/change": 2, "tx-events/change": 1}),
			"EventsPerChange/create": res(3e6, map[string]float64{"events/change": 1, "ddb-calls/change": 2, "ddb-BatchGetItem/change": 1,
				"ddb-TransactWriteItems/change": 1, "tx-items/change": 6, "tx-events/change": 1}),
		},
		eventDelivery: map[string]benchResult{
			"EventDelivery/crm=all_up": res(2e9, map[string]float64{"events/run": 2000, "delivered/run": 2000, "events/s": 1000,
				"ddb-calls/event": 0.4, "cpu-µs/event": 420, "tenants": 20, "work-orders": 200}),
			"EventDelivery/crm=one_down": res(2e9, map[string]float64{"events/run": 2000, "delivered/run": 1900, "events/s": 950,
				"backlog/run": 100, "down-crm-calls/run": 1, "ddb-calls/event": 0.42, "cpu-µs/event": 430, "tenants": 20, "work-orders": 200}),
		},
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
		"| a customer submits a work order | `work_order.created` | 1 | 2 (1 BatchGetItem, 1 TransactWriteItems) | 6 | 1 | 5 | yes |",
		"| an engineer accepts it | `work_order.accepted` | 1 | 2 (1 GetItem, 1 TransactWriteItems) | 2 | 1 | 1 | yes |",
		"Every change met it.",
		"2000 events of 200 work orders of 20 tenants",
		"| every CRM up | 2000 | 2000 | 2.00 s (1.80 s–2.40 s) | 1000/s | 0 | 0 | 0.40 | 420 µs |",
		"| one tenant's CRM down (503) | 2000 | 1900 | 2.00 s (1.80 s–2.40 s) | 950/s | 100 | 1 | 0.42 | 430 µs |",
		"at 95% of the rate with every CRM up",
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
	if i, j := strings.Index(out, "| a customer submits"), strings.Index(out, "| an engineer accepts"); i < 0 || j < i {
		t.Error("the changes are not listed in a work order's life order")
	}
}

// A change that wrote no event, or its event outside its transaction, is
// marked and the goal is reported missed.
func TestReportMarksAChangeWithoutItsOneEvent(t *testing.T) {
	r := &report{eventChanges: map[string]benchResult{
		"EventsPerChange/rate": {N: 5, Runs: 1, Metrics: map[string]float64{"events/change": 1, "ddb-calls/change": 3,
			"ddb-UpdateItem/change": 1, "ddb-PutItem/change": 1, "ddb-GetItem/change": 1, "tx-items/change": 0, "tx-events/change": 0}},
		"EventsPerChange/cancel": {N: 5, Runs: 1, Metrics: map[string]float64{"events/change": 1, "ddb-calls/change": 2,
			"ddb-GetItem/change": 1, "ddb-TransactWriteItems/change": 1, "tx-items/change": 2, "tx-events/change": 1}},
	}}
	var buf bytes.Buffer
	if err := r.write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"| the customer rates the work | `work_order.rated` | 1 | 3 (1 GetItem, 1 PutItem, 1 UpdateItem) | 0 | 0 | 0 | no |",
		"| the customer cancels a submitted order | `work_order.cancelled` | 1 | 2 (1 GetItem, 1 TransactWriteItems) | 2 | 1 | 1 | yes |",
		"**Not every change met it.**",
		"-benchtime 5x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}
