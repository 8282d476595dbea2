package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

type fnRow struct {
	Name    string
	HTTP    bool
	Size    int64
	Startup startup
	Bench   benchResult
}

type report struct {
	fns               []fnRow
	refresh, nearby   map[string]benchResult
	crypto, pushBench map[string]benchResult
	load              []loadResult
	loadDur           time.Duration
	loadMax           int
	goVersion         string
	cpus              int
	machine           string
	took              time.Duration
	date              string
}

// needs says, per function, what its benchmarked request is, the fewest
// DynamoDB calls that request can make and why.
var needs = map[string]struct {
	request string
	min     int
	why     string
}{
	"ticketpush":      {"a new verify ticket push", 1, "one transaction writes the push's fingerprint together with its effect, so a repeated push has no second effect"},
	"authcallback":    {"WeChat's redirect after the admin confirmed", 4, "consume the single-use state (conditional delete), claim the code's outcome so the push and the callback exchange it once (conditional put), read the bindings the transaction's conditions guard so a refusal can name the other party, bind in one transaction (binding by appid, by tenant, refresh token, history); the two reads are one batch"},
	"adminbinding":    {"GET the connection status", 3, "the binding by tenant, its authorizer token's health and the last attempt's error are three items in three partitions; a batch read would make them one round trip (not done: an admin page, not a hot path)"},
	"userlogin":       {"login from a tenant's QR scene (public mini program)", 3, "the signed scene's record, the tenant's access settings, then the user upsert (one conditional update)"},
	"portalregister":  {"GET /portal/me", 2, "the user and the tenant's settings (two partitions)"},
	"adminportal":     {"create a device QR scene", 1, "one conditional put"},
	"workordercreate": {"create a work order", 2, "one batch read (user, tenant settings, idempotency record, duplicate marker) and one transaction (order, hourly counter, idempotency record, duplicate marker); the reads must come first because a replay or a duplicate returns the existing order instead of writing"},
	"workorders":      {"GET one of my work orders", 1, "one consistent get"},
	"engineerapi":     {"nearby open work orders", 9, "the engineer's geohash cell and its 8 neighbours, one index query each (run concurrently); the cell size bounds what each returns"},
	"reviewsubmit":    {"submit for review", 4, "the binding, the pipeline, the tenant's settings, then the pipeline's revision-checked write"},
	"wechatevents":    {"WeChat's audit result push", 4, "the binding by the mini program's user name, the event's fingerprint (conditional put, de-duplication), the pipeline, its revision-checked write"},
	"releaseadmin":    {"GET the release status", 2, "the binding and the pipeline"},
	"tokenrefresh":    {"a scheduled run with nothing due", 2, "the component token and one query of the due index"},
	"auditreconcile":  {"a scheduled run with nothing waiting", 2, "one query of each pending index (release pipelines, authorization events)"},
}

func (r *report) write(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Benchmark report\n\n")
	p("Written by `make bench` (`go run ./cmd/benchreport`) on %s in %s: %s, %d cores, %s. ", r.date, r.took.Round(time.Second), r.machine, r.cpus, r.goVersion)
	p("Storage is the embedded DynamoDB-protocol server and WeChat is the simulator, both on loopback; nothing reaches AWS or WeChat.\n\n")

	p("## Per function\n\n")
	p("| function | binary (linux/arm64) | start-up: ready | start-up: first response | request | µs/op | our code µs/op | storage µs/op | DynamoDB calls | minimum | WeChat calls |\n")
	p("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, f := range r.fns {
		nd := needs[f.Name]
		m := f.Bench.Metrics
		first := "—"
		if f.HTTP {
			first = ms(f.Startup.Served)
		}
		p("| %s | %.1f MB | %s | %s | %s | %.0f | %.0f | %.0f | %s | %d | %s |\n", f.Name, float64(f.Size)/1e6, ms(f.Startup.Ready), first,
			nd.request, m["ns/op"]/1000, m["handler-µs/op"], m["storage-µs/op"], calls(m), nd.min, num(m["wechat-calls/op"]))
	}
	p("\nHow each figure is measured:\n\n")
	p("- **binary**: `go build -trimpath -tags lambda.norpc -ldflags '-s -w'` for linux/arm64, as `make build` and SAM build it.\n")
	p("- **start-up**: the bootstrap built for this machine, started %d times against a stand-in Lambda Runtime API on loopback; median time from exec until its first `GET /runtime/invocation/next` (ready), and for HTTP functions until it answered one API Gateway v2 event for its health route (first response). ", 7)
	p("DynamoDB, the WeChat API and an HTTP(S) proxy for every AWS endpoint (the secret is configured as a Secrets Manager ARN, as deployed) point at a listener that counts connections: every function made **0** connections before it was ready — configuration is read at init, secrets and clients on first use.\n")
	p("- **µs/op, our code, storage**: `go test -bench BenchmarkFunction ./functions/` — one representative request through the function's own handler behind the API Gateway v2 adapter (`functions/bench_test.go`); setup such as a fresh wx.login code or a fresh sealed push is outside the timer. *Storage* is the time the DynamoDB server spent serving the request's calls; *our code* is the rest: adapter, middleware, validation, crypto, the SDK's marshalling and the loopback round trips.\n")
	p("- **DynamoDB calls**: counted at the server per request, by operation; **minimum** is the fewest calls the request can make and still be correct:\n\n")
	for _, f := range r.fns {
		p("  - `%s` (%s): %s.\n", f.Name, needs[f.Name].request, needs[f.Name].why)
	}

	p("\n## Token refresher scaling\n\n")
	p("One scheduled run where every authorizer token is due: found through the due index, refreshed 8 at a time against the simulator (`go test -bench BenchmarkRefreshRun -benchtime 1x ./shared/tokens/`).\n\n")
	p("| authorizers | run | per token | DynamoDB calls per token | index queries | WeChat calls |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range sortedByN(r.refresh) {
		m := r.refresh[k].Metrics
		p("| %s | %s | %.0f µs | %.2f | %.0f | %.0f |\n", strings.TrimPrefix(k, "RefreshRun/authorizers="), secs(m["ns/op"]), m["µs/token"], m["ddb-calls/token"], m["ddb-queries/run"], m["wechat-calls/run"])
	}
	p("\nPer token: the lease (conditional put), a consistent read under the lease (the index is eventually consistent), the version-checked write of the new token and the lease's release — 4 calls, plus the index query shared by the run. ")
	p("At 10,000 authorizers a run takes seconds, far inside the 5-minute schedule and the tokens' 2-hour life; WeChat's own limits on `api_authorizer_token` come first.\n")

	p("\n## Nearby query scaling\n\n")
	p("Open work orders spread over 25° × 22°; one engineer's query for a 15 km radius (`go test -bench BenchmarkNearby -benchtime 1x ./shared/workorder/`).\n\n")
	p("| open orders | per query | index queries | results | allocated |\n|---:|---:|---:|---:|---:|\n")
	for _, k := range sortedByN(r.nearby) {
		m := r.nearby[k].Metrics
		p("| %s | %s | %.0f | %.0f | %.0f MB |\n", strings.TrimPrefix(k, "Nearby/orders="), secs(m["ns/op"]), m["queries/op"], m["results/op"], m["B/op"]/1e6)
	}
	p("\nThe query count is constant (the 9 cells around the engineer). The time grows with the table only because the embedded server walks the whole index on every query and copies it (the allocations column); DynamoDB reads only the items under the queried keys, so there the cost follows the results, not the table.\n")

	p("\n## Message crypto against the standard library\n\n")
	p("Verifying both signatures and decrypting a ticket push, same run (`go test -bench 'BenchmarkOpenTicketPush|BenchmarkStdlibBaseline' ./shared/wxcrypt/`): our `wxcrypt.Open` against the same algorithm written inline with nothing but the standard library.\n\n")
	p("| implementation | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
	for _, k := range []string{"OpenTicketPush", "StdlibBaseline"} {
		m := r.crypto[k].Metrics
		p("| %s | %.0f | %.0f | %.0f |\n", k, m["ns/op"], m["B/op"], m["allocs/op"])
	}
	if m, ok := r.pushBench["TicketPushDecryptVerify"]; ok {
		p("\nThe ticket push's whole verification (parameters, time window, XML, appid checks, crypto): %.0f ns/op, %.0f allocs/op.\n", m.Metrics["ns/op"], m.Metrics["allocs/op"])
	}

	p("\n## Load on loopback\n\n")
	p("The dev stack (`shared/devstack`: every function mounted, embedded DynamoDB, simulator) on a loopback port, all in one process with the load generator; each level runs for %s or %d requests, whichever ends first; requests are prepared before each level (sealed pushes, wx.login codes, logged-in users, ten orders per user for the hourly limit).\n\n", r.loadDur, r.loadMax)
	p("| endpoint | concurrency | requests | throughput | p50 | p99 | errors |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.load {
		p("| %s | %d | %d | %.0f/s | %s | %s | %d |\n", l.Endpoint, l.Concurrency, l.Requests, l.throughput(), ms(l.P50), ms(l.P99), l.Errors)
		if l.FirstError != "" {
			p("|  | first error: %s |  |  |  |  |  |\n", strings.ReplaceAll(l.FirstError, "|", "/"))
		}
	}
	p("\nWhat this machine holds: the figures above with no errors; throughput stops growing once both cores are busy (the product, the embedded DynamoDB server and the load generator share them), and beyond that more concurrency only adds queueing to p99. ")
	p("Work-order create slows as the table grows because the embedded server copies tables for each transaction; in DynamoDB a transaction's cost does not depend on the table's size. In AWS each request is its own Lambda invocation, so these figures bound the code path, not the deployment.\n")
}

func calls(m map[string]float64) string {
	total := m["ddb-calls/op"]
	var parts []string
	for _, k := range sortedKeys(m) {
		if strings.HasPrefix(k, "ddb-") && k != "ddb-calls/op" {
			parts = append(parts, fmt.Sprintf("%s %s", num(m[k]), strings.TrimSuffix(strings.TrimPrefix(k, "ddb-"), "/op")))
		}
	}
	if len(parts) == 0 {
		return num(total)
	}
	return fmt.Sprintf("%s (%s)", num(total), strings.Join(parts, ", "))
}

func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

func ms(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func secs(ns float64) string {
	d := time.Duration(ns)
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return ms(d)
}

// sortedByN orders "Name/key=N" results by N.
func sortedByN(m map[string]benchResult) []string {
	keys := sortedKeys(m)
	n := func(k string) int {
		_, v, _ := strings.Cut(k, "=")
		i := 0
		fmt.Sscanf(v, "%d", &i)
		return i
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && n(keys[j]) < n(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
