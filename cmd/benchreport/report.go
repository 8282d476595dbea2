package main

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"text/template"
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

// need is what a function's benchmarked request is, the fewest DynamoDB
// calls that request can make and why.
type need struct {
	request string
	minimum int
	why     string
}

// needs says, per function, what its benchmarked request needs.
var needs = map[string]need{
	"ticketpush": {"a new verify ticket push", 1,
		"one transaction writes the push's fingerprint together with its effect, so a repeated push has no second effect"},
	"authcallback": {"WeChat's redirect after the admin confirmed", 4,
		"consume the single-use state (conditional delete), look up the code's outcome (the push may have exchanged the code " +
			"already), read the mini program's previous binding (a re-authorization keeps its first bound time), then one " +
			"transaction: the binding by appid and by tenant under conditions that keep one mini program per tenant and one " +
			"tenant per mini program, the refresh token, a history entry and the code's outcome"},
	"adminbinding": {"GET the connection status", 2,
		"one batch read of the tenant's binding and its last failed attempt (same partition), then the bound mini " +
			"program's token health, whose key is the appid the binding names"},
	"userlogin": {"login from a tenant's QR scene (public mini program)", 3,
		"the signed scene's record, the tenant's access settings, then the user upsert (one conditional update)"},
	"portalregister": {"GET /portal/me", 2, "the user and the tenant's settings (two partitions)"},
	"adminportal":    {"create a device QR scene", 1, "one conditional put"},
	"workordercreate": {"create a work order", 2,
		"one batch read (user, tenant settings, idempotency record, duplicate marker) and one transaction (order, " +
			"hourly counter, idempotency record, duplicate marker); the reads must come first because a replay or a " +
			"duplicate returns the existing order instead of writing"},
	"workorders": {"GET one of my work orders", 1, "one consistent get"},
	"engineerapi": {"nearby open work orders", 9,
		"the engineer's geohash cell and its 8 neighbours, one index query each (run concurrently); each query returns " +
			"every open order of its cell, and the benchmark's 200-odd open orders all lie in these cells, so our CPU " +
			"here is mostly decoding them before the distance filter keeps the nearest 50"},
	"reviewsubmit": {"submit for review", 4,
		"the binding, the pipeline, the tenant's settings (for ext.json), then the pipeline's revision-checked write; " +
			"the component and authorizer tokens come from an in-process copy kept up to 60 s, so a function instance " +
			"reads each from DynamoDB at most once a minute (the fraction above 4: the benchmark moves to a freshly " +
			"bound mini program every 18 submissions, WeChat's weekly limit being 20)"},
	"wechatevents": {"WeChat's audit result push", 4,
		"the binding by the mini program's user name, the event's fingerprint (conditional put, de-duplication), " +
			"the pipeline, its revision-checked write"},
	"releaseadmin":   {"GET the release status", 2, "the binding and the pipeline"},
	"tokenrefresh":   {"a scheduled run with nothing due", 2, "the component token and one query of the due index"},
	"auditreconcile": {"a scheduled run with nothing waiting", 2, "one query of each pending index (release pipelines, authorization events)"},
}

//go:embed report.md.tmpl
var reportText string

// reportTemplate lays out the report; its prose lives in report.md.tmpl.
var reportTemplate = template.Must(template.New("report").Parse(reportText))

// reportView is what the report template shows: the run's figures picked
// out of the benchmark metrics, durations already formatted.
type reportView struct {
	Date, Took, Machine, GoVersion string
	CPUs                           int
	StartupRuns                    int
	Functions                      []functionView
	Refresh                        []refreshView
	Nearby                         []nearbyView
	NearbySpread                   *nearbySpread // nil unless there are several table sizes
	CryptoRuns                     int
	Crypto                         []cryptoView
	CryptoRatio                    float64 // ours / the standard-library baseline, by ns/op
	Push                           *cryptoView
	LoadDuration                   string
	LoadMax                        int
	Load                           []loadView
}

type functionView struct {
	Name, Request, Why   string
	SizeMB               float64
	Ready, FirstResponse string
	WallUS               float64
	CPU, StorageCPU      string
	Calls                string
	Minimum              int
	WeChatCalls          string
}

type refreshView struct {
	Authorizers, Run                                     string
	PerTokenUS, CallsPerToken, IndexQueries, WeChatCalls float64
}

type nearbyView struct {
	Orders, Wall, CPU, StorageCPU      string
	IndexQueries, Results, AllocatedMB float64
}

// nearbySpread is our and the embedded server's CPU per query on the
// smallest and the largest table.
type nearbySpread struct {
	FromCPU, ToCPU, FromStorageCPU, ToStorageCPU string
}

type cryptoView struct {
	Name                             string
	NsPerOp, BytesPerOp, AllocsPerOp float64
}

type loadView struct {
	Endpoint                      string
	Concurrency, Requests, Errors int
	Throughput, BusyPercent       float64
	P50, P99                      string
	FirstError                    string // table-safe: no "|"
}

func (r *report) write(w io.Writer) error {
	return reportTemplate.Execute(w, r.view())
}

func (r *report) view() reportView {
	v := reportView{
		Date: r.date, Took: r.took.Round(time.Second).String(), Machine: r.machine, GoVersion: r.goVersion, CPUs: r.cpus,
		StartupRuns:  startupRuns,
		Functions:    r.functionViews(),
		Refresh:      r.refreshViews(),
		Nearby:       r.nearbyViews(),
		NearbySpread: r.nearbySpread(),
		CryptoRuns:   cryptoRuns,
		Crypto:       []cryptoView{r.cryptoView("OpenTicketPush"), r.cryptoView("StdlibBaseline")},
		CryptoRatio:  r.crypto["OpenTicketPush"].Metrics["ns/op"] / r.crypto["StdlibBaseline"].Metrics["ns/op"],
		LoadDuration: r.loadDur.String(),
		LoadMax:      r.loadMax,
		Load:         r.loadViews(),
	}
	if m, ok := r.pushBench["TicketPushDecryptVerify"]; ok {
		v.Push = &cryptoView{NsPerOp: m.Metrics["ns/op"], AllocsPerOp: m.Metrics["allocs/op"]}
	}
	return v
}

func (r *report) functionViews() []functionView {
	out := make([]functionView, 0, len(r.fns))
	for _, f := range r.fns {
		nd, m := needs[f.Name], f.Bench.Metrics
		first := "—"
		if f.HTTP {
			first = ms(f.Startup.Served)
		}
		out = append(out, functionView{
			Name: f.Name, Request: nd.request, Why: nd.why,
			SizeMB: float64(f.Size) / 1e6, Ready: ms(f.Startup.Ready), FirstResponse: first,
			WallUS: m["ns/op"] / 1000, CPU: cpuFigure(m, "cpu-µs/op"), StorageCPU: cpuFigure(m, "storage-cpu-µs/op"),
			Calls: calls(m), Minimum: nd.minimum, WeChatCalls: num(m["wechat-calls/op"]),
		})
	}
	return out
}

func (r *report) refreshViews() []refreshView {
	var out []refreshView
	for _, k := range sortedByN(r.refresh) {
		m := r.refresh[k].Metrics
		out = append(out, refreshView{
			Authorizers: strings.TrimPrefix(k, "RefreshRun/authorizers="), Run: secs(m["ns/op"]),
			PerTokenUS: m["µs/token"], CallsPerToken: m["ddb-calls/token"],
			IndexQueries: m["ddb-queries/run"], WeChatCalls: m["wechat-calls/run"],
		})
	}
	return out
}

func (r *report) nearbyViews() []nearbyView {
	var out []nearbyView
	for _, k := range sortedByN(r.nearby) {
		m := r.nearby[k].Metrics
		out = append(out, nearbyView{
			Orders: strings.TrimPrefix(k, "Nearby/orders="), Wall: secs(m["ns/op"]),
			CPU: usFigure(m["cpu-µs/op"]), StorageCPU: usFigure(m["storage-cpu-µs/op"]),
			IndexQueries: m["queries/op"], Results: m["results/op"], AllocatedMB: m["B/op"] / 1e6,
		})
	}
	return out
}

func (r *report) nearbySpread() *nearbySpread {
	keys := sortedByN(r.nearby)
	if len(keys) < 2 {
		return nil
	}
	lo, hi := r.nearby[keys[0]].Metrics, r.nearby[keys[len(keys)-1]].Metrics
	return &nearbySpread{
		FromCPU: usFigure(lo["cpu-µs/op"]), ToCPU: usFigure(hi["cpu-µs/op"]),
		FromStorageCPU: usFigure(lo["storage-cpu-µs/op"]), ToStorageCPU: usFigure(hi["storage-cpu-µs/op"]),
	}
}

func (r *report) cryptoView(name string) cryptoView {
	m := r.crypto[name].Metrics
	return cryptoView{Name: name, NsPerOp: m["ns/op"], BytesPerOp: m["B/op"], AllocsPerOp: m["allocs/op"]}
}

func (r *report) loadViews() []loadView {
	out := make([]loadView, 0, len(r.load))
	for _, l := range r.load {
		out = append(out, loadView{
			Endpoint: l.Endpoint, Concurrency: l.Concurrency, Requests: l.Requests, Errors: l.Errors,
			Throughput: l.throughput(), BusyPercent: 100 * l.storageShare(), P50: ms(l.P50), P99: ms(l.P99),
			FirstError: strings.ReplaceAll(l.FirstError, "|", "/"),
		})
	}
	return out
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

// cpuFigure is a CPU metric in µs, or "n/a" where the platform cannot
// measure it (cputime reads thread CPU time on Linux only).
func cpuFigure(m map[string]float64, key string) string {
	v, ok := m[key]
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

// usFigure is a duration in µs, as ms when large.
func usFigure(us float64) string { return ms(time.Duration(us * 1000)) }

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
		if _, err := fmt.Sscanf(v, "%d", &i); err != nil {
			return 0
		}
		return i
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && n(keys[j]) < n(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
