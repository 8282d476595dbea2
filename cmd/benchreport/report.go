package main

import (
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"wxchannel/shared/outbox"
)

type fnRow struct {
	Name    string
	HTTP    bool
	Size    int64
	Startup startup
	Bench   benchResult
}

type report struct {
	fns []fnRow
	// latency is the public request path with injected latency;
	// refreshLatency the refresher's run at that latency, as it is and as
	// it was; nearbyDense the dense-city search, as it is and as it was.
	latency, refreshLatency, nearbyDense map[string]benchResult
	refresh, nearby                      map[string]benchResult
	crypto, pushBench                    map[string]benchResult
	// eventChanges is the events and DynamoDB calls of each change;
	// eventDelivery the event pipeline's delivery runs.
	eventChanges, eventDelivery map[string]benchResult
	load                        []loadResult
	conditions                  []condition
	loadDur                     time.Duration
	loadMax                     int
	goVersion                   string
	cpus                        int
	machine                     string
	took                        time.Duration
	date                        string
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
	"userlogin": {"login from a tenant's QR scene (public mini program)", 4,
		"the failed-login counters (one batch read: guessing codes costs the guesser), the signed scene's record, the " +
			"tenant's settings (a retired public code is refused before WeChat is asked), the user upsert (one conditional " +
			"update), the session's refresh chain (one conditional put); the scene's key is known from the request, so its " +
			"read could join the counters' batch: 4"},
	"portalregister": {"GET /portal/me", 1, "one consistent batch read of the user and the tenant's settings (two partitions)"},
	"adminportal":    {"create a device QR scene", 1, "one conditional put"},
	"workordercreate": {"create a work order", 2,
		"one batch read (user, tenant settings, idempotency record, duplicate marker) and one transaction (order, " +
			"hourly counter, idempotency record, duplicate marker); the reads must come first because a replay or a " +
			"duplicate returns the existing order instead of writing"},
	"workorders": {"GET one of my work orders", 1, "one consistent get"},
	"engineerapi": {"nearby open work orders", 1,
		"one query could do if the 50 nearest orders lay in one sort-key range of one partition; the search reads the " +
			"cells nearest the engineer first, a page or a probe at a time, and the benchmark's 200-odd orders lie on a " +
			"5.5 km north-south line (100 points 55 m apart, two orders each), a layout whose density the search " +
			"estimates poorly, so it reads many small cells (the dense-city section below: 20 queries for 10,000 " +
			"orders over a city)"},
	"reviewsubmit": {"submit for review", 3,
		"one batch read of the binding with the tenant's settings (for ext.json; two tables, one call), the pipeline " +
			"(its key is the appid the binding names), then the pipeline's revision-checked write; the component and " +
			"authorizer tokens come from an in-process copy kept up to 60 s, so a function instance reads each from " +
			"DynamoDB at most once a minute (the fraction above 3: the benchmark moves to a freshly bound mini program " +
			"every 18 submissions, WeChat's weekly limit being 20)"},
	"wechatevents": {"WeChat's audit result push", 2,
		"one batch read of the binding and the pipeline (same partition), then the pipeline's revision-checked write; " +
			"a repeated push finds the pipeline no longer waiting for it and writes nothing, so no de-duplication record " +
			"is needed"},
	"releaseadmin": {"GET the release status", 2, "the binding and the pipeline"},
	"adminmileage": {"GET a week's mileage report", 8,
		"the tenant's settings (time zone, rate), then one query of the visits index per local day of the period"},
	"tokenrefresh":   {"a scheduled run with nothing due", 2, "the component token and one query of the due index"},
	"visitclose":     {"a scheduled run with nothing overdue", 1, "one query of the open-visit index up to now"},
	"auditreconcile": {"a scheduled run with nothing waiting", 2, "one query of each pending index (release pipelines, authorization events)"},
	"admindesk":      {"the desk's submitted orders", 1, "one query of the desk index's partition of that status"},
	"adminevents": {"GET the delivery status", 3,
		"the tenant's delivery counters, whether a webhook is set, and the oldest dead letters (a query)"},
	"eventfanout": {"a stream batch of one event", 1,
		"the event is queued (SQS, not DynamoDB); one update counts it queued for the tenant's status"},
	"eventdelivery": {"a queue batch of one event, delivered", 3,
		"per tenant in the batch, its webhook and its delivery status (two gets), then one update of the status"},
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
	Latency                        []latencyView
	InjectedLatency                string
	RefreshLatency                 []refreshLatencyView
	Refresh                        []refreshView
	Dense                          []denseView
	DenseSlack                     int
	Nearby                         []nearbyView
	NearbySpread                   *nearbySpread // nil unless there are several table sizes
	Conditions                     []conditionView
	RequestRuns                    int
	CryptoRuns                     int
	Crypto                         []cryptoView
	CryptoRatio                    float64 // ours / the standard-library baseline, by ns/op
	Push                           *cryptoView
	LoadDuration                   string
	LoadMax                        int
	Load                           []loadView
	EventChanges                   []eventChangeView
	EventChangeTimes               int  // how often each change was made
	EventsGoalMet                  bool // every change wrote one event, in its transaction
	Delivery                       []deliveryView
	DeliveryLoad                   *deliveryLoad // nil without a delivery run
}

type functionView struct {
	Name, Request, Why   string
	SizeMB               float64
	Ready, FirstResponse string
	Wall                 string // µs: median (fastest–slowest run)
	CPU, StorageCPU      string
	Calls                string
	Minimum              int
	WeChatCalls          string
}

// latencyView is one request of the public path with injected latency.
type latencyView struct {
	Name, Request, Wall string
	Calls, WeChatCalls  string
	// Waits is the injected latency the request's calls add up to if made
	// one after another: a floor for its wall time.
	Waits string
}

// refreshLatencyView is one run over due tokens with injected latency.
type refreshLatencyView struct {
	Algorithm, Authorizers, Run                string
	WeChatPerToken, DDBPerToken, Left, CPUSecs float64
	StorageCPUSecs                             float64
}

// denseView is one search of the dense-city fixture.
type denseView struct {
	Algorithm, Engineer, Radius string
	Results, ItemsRead, Queries float64
	ReadUnits, ItemsPerResult   float64
	CPU                         string
	MeetsItems, MeetsCPU        bool
}

// conditionView is what the machine did during one section.
type conditionView struct {
	Section, Took, Latency string
	LoadBefore, LoadAfter  float64
	BusyPercent            float64
}

type refreshView struct {
	Authorizers, Run                                     string
	PerTokenUS, CallsPerToken, IndexQueries, WeChatCalls float64
}

type nearbyView struct {
	Orders, Wall, CPU, StorageCPU      string
	IndexQueries, Results, AllocatedMB float64
	ItemsRead, ReadUnits               float64
	// The search as it was, on the same fixture.
	BaselineQueries, BaselineItemsRead, BaselineReadUnits float64
	BaselineCPU                                           string
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

// eventChangeView is one change: the events it wrote and what it asked of
// DynamoDB.
type eventChangeView struct {
	Change, Event            string
	Events, TxItems, TxEvent float64
	Calls                    string
	// WithoutEvent is the transaction's items less the event's: what the
	// change writes for itself.
	WithoutEvent float64
	Meets        bool
}

// deliveryView is one run of the event pipeline.
type deliveryView struct {
	Run                string
	Queued, Delivered  float64
	Took               string // the median run's, with the fastest and slowest runs'
	Rate               float64
	Backlog, DownCalls float64
	CallsPerEvent      float64
	CPUPerEvent        string // µs, "n/a" where the platform cannot tell
}

// deliveryLoad is what the delivery runs carried, and how the run with a
// CRM down compares with the one without.
type deliveryLoad struct {
	Events, WorkOrders, Tenants, Runs int
	// OthersPercent is the other tenants' delivery rate with one CRM down,
	// in percent of the rate with every CRM up; 0 without both runs.
	OthersPercent float64
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
		StartupRuns:     startupRuns,
		Functions:       r.functionViews(),
		Latency:         r.latencyViews(),
		InjectedLatency: injectedLatency,
		RefreshLatency:  r.refreshLatencyViews(),
		Refresh:         r.refreshViews(),
		Dense:           r.denseViews(),
		DenseSlack:      denseItemsSlack,
		Nearby:          r.nearbyViews(),
		NearbySpread:    r.nearbySpread(),
		Conditions:      r.conditionViews(),
		RequestRuns:     requestRuns,
		CryptoRuns:      cryptoRuns,
		Crypto:          []cryptoView{r.cryptoView("OpenTicketPush"), r.cryptoView("StdlibBaseline")},
		CryptoRatio:     r.crypto["OpenTicketPush"].Metrics["ns/op"] / r.crypto["StdlibBaseline"].Metrics["ns/op"],
		LoadDuration:    r.loadDur.String(),
		LoadMax:         r.loadMax,
		Load:            r.loadViews(),
		EventChanges:    r.eventChangeViews(),
		Delivery:        r.deliveryViews(),
		DeliveryLoad:    r.deliveryLoad(),
	}
	v.EventsGoalMet = len(v.EventChanges) > 0
	for _, c := range v.EventChanges {
		v.EventsGoalMet = v.EventsGoalMet && c.Meets
	}
	for _, res := range r.eventChanges {
		v.EventChangeTimes = res.N
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
			Wall: spread(f.Bench, 1e3, "%.0f"), CPU: cpuFigure(m, "cpu-µs/op"), StorageCPU: cpuFigure(m, "storage-cpu-µs/op"),
			Calls: calls(m), Minimum: nd.minimum, WeChatCalls: num(m["wechat-calls/op"]),
		})
	}
	return out
}

// latencyRequests names the requests of BenchmarkLatency.
var latencyRequests = []string{"ticketpush", "userlogin", "workordercreate"}

// Per-call latencies injected by the latency benchmarks (their constants).
const (
	dynamoLatencyMS = 5.0
	wechatLatencyMS = 50.0
)

func (r *report) latencyViews() []latencyView {
	var out []latencyView
	for _, name := range latencyRequests {
		res, ok := r.latency["Latency/"+name]
		if !ok {
			continue
		}
		m := res.Metrics
		out = append(out, latencyView{
			Name: name, Request: needs[name].request, Wall: spread(res, 1e6, "%.1f"),
			Calls: calls(m), WeChatCalls: num(m["wechat-calls/op"]),
			Waits: fmt.Sprintf("%.0f", m["ddb-calls/op"]*dynamoLatencyMS+m["wechat-calls/op"]*wechatLatencyMS),
		})
	}
	return out
}

func (r *report) refreshLatencyViews() []refreshLatencyView {
	var out []refreshLatencyView
	for _, k := range sortedKeys(r.refreshLatency) {
		m := r.refreshLatency[k].Metrics
		n, algorithm, _ := strings.Cut(strings.TrimPrefix(k, "RefreshRunWithLatency/authorizers="), "/")
		out = append(out, refreshLatencyView{
			Algorithm: algorithm, Authorizers: n, Run: secs(m["ns/op"]),
			WeChatPerToken: m["wechat-calls/token"], DDBPerToken: m["ddb-calls/token"], Left: m["left/run"],
			CPUSecs: m["cpu-s/run"], StorageCPUSecs: m["storage-cpu-s/run"],
		})
	}
	// The current algorithm first.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Algorithm != "baseline" && out[j].Algorithm == "baseline" })
	return out
}

// Goals of the dense-city search: items read at most 3 × the results plus
// a small constant, and our CPU per request at most 10 ms.
const (
	denseItemsSlack = 16
	denseCPUGoalUS  = 10000
)

func (r *report) denseViews() []denseView {
	var out []denseView
	for _, k := range sortedKeys(r.nearbyDense) {
		m := r.nearbyDense[k].Metrics
		v := denseView{
			Results: m["results/op"], ItemsRead: m["items-read/op"], Queries: m["queries/op"],
			ReadUnits: m["read-units/op"], CPU: usFigure(m["cpu-µs/op"]),
		}
		for part := range strings.SplitSeq(strings.TrimPrefix(k, "NearbyDenseCity/"), "/") {
			key, val, _ := strings.Cut(part, "=")
			switch key {
			case "algorithm":
				v.Algorithm = val
			case "engineer":
				v.Engineer = val
			case "radius_km":
				v.Radius = val
			}
		}
		if v.Results > 0 {
			v.ItemsPerResult = v.ItemsRead / v.Results
		}
		v.MeetsItems = v.ItemsRead <= 3*v.Results+denseItemsSlack
		v.MeetsCPU = m["cpu-µs/op"] <= denseCPUGoalUS
		out = append(out, v)
	}
	radius := func(v denseView) int { i, _ := strconv.Atoi(v.Radius); return i }
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Algorithm != b.Algorithm {
			return a.Algorithm == "new"
		}
		if a.Engineer != b.Engineer {
			return a.Engineer < b.Engineer
		}
		return radius(a) < radius(b)
	})
	return out
}

func (r *report) conditionViews() []conditionView {
	out := make([]conditionView, 0, len(r.conditions))
	for _, c := range r.conditions {
		lat := c.Latency
		if lat == "" {
			lat = "none (loopback)"
		}
		out = append(out, conditionView{
			Section: c.Section, Took: c.Took.Round(time.Second).String(), Latency: lat,
			LoadBefore: c.LoadBefore, LoadAfter: c.LoadAfter, BusyPercent: 100 * c.MachineBusy,
		})
	}
	return out
}

// spread is a benchmark's time per operation, divided by unit, as
// "median (fastest–slowest)" when it ran several times.
func spread(b benchResult, unit float64, format string) string {
	med := fmt.Sprintf(format, b.Metrics["ns/op"]/unit)
	if b.Runs < 2 {
		return med
	}
	return fmt.Sprintf("%s ("+format+"–"+format+")", med, b.Min/unit, b.Max/unit)
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
		if !strings.HasPrefix(k, "Nearby/") {
			continue
		}
		m := r.nearby[k].Metrics
		orders := strings.TrimPrefix(k, "Nearby/orders=")
		base := r.nearby["NearbyBaseline/orders="+orders].Metrics
		out = append(out, nearbyView{
			Orders: orders, Wall: secs(m["ns/op"]),
			CPU: usFigure(m["cpu-µs/op"]), StorageCPU: usFigure(m["storage-cpu-µs/op"]),
			IndexQueries: m["queries/op"], Results: m["results/op"], AllocatedMB: m["B/op"] / 1e6,
			ItemsRead: m["items-read/op"], ReadUnits: m["read-units/op"],
			BaselineQueries: base["queries/op"], BaselineItemsRead: base["items-read/op"], BaselineReadUnits: base["read-units/op"],
			BaselineCPU: usFigure(base["cpu-µs/op"]),
		})
	}
	return out
}

func (r *report) nearbySpread() *nearbySpread {
	var keys []string
	for _, k := range sortedByN(r.nearby) {
		if strings.HasPrefix(k, "Nearby/") {
			keys = append(keys, k)
		}
	}
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

// calls is a request's DynamoDB calls, with the count of each operation.
func calls(m map[string]float64) string { return callsPer(m, "/op") }

// callsPer is calls for metrics per unit ("/op", "/change").
func callsPer(m map[string]float64, per string) string {
	total := m["ddb-calls"+per]
	var parts []string
	for _, k := range sortedKeys(m) {
		if op, ok := strings.CutSuffix(strings.TrimPrefix(k, "ddb-"), per); ok && strings.HasPrefix(k, "ddb-") && op != "calls" {
			parts = append(parts, fmt.Sprintf("%s %s", num(m[k]), op))
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

// eventChanges are the changes of BenchmarkEventsPerChange in a work
// order's life order, with the event each writes.
var eventChanges = []struct{ name, change, event string }{
	{"create", "a customer submits a work order", outbox.WorkOrderCreated},
	{"accept", "an engineer accepts it", outbox.WorkOrderAccepted},
	{"en_route", "the engineer is on the way", outbox.WorkOrderEnRoute},
	{"check_in", "the engineer checks in on site", outbox.WorkOrderCheckedIn},
	{"in_progress", "the engineer starts the work", outbox.WorkOrderInProgress},
	{"check_out", "the engineer checks out", outbox.WorkOrderCheckedOut},
	{"complete", "the engineer finishes", outbox.WorkOrderCompleted},
	{"rate", "the customer rates the work", outbox.WorkOrderRated},
	{"cancel", "the customer cancels a submitted order", outbox.WorkOrderCancelled},
	{"registration_pending", "a customer registers by serial number", outbox.RegistrationPending},
	{"registration_approve", "the admin approves the registration", outbox.RegistrationApproved},
	{"registration_reject", "the admin rejects a registration", outbox.RegistrationRejected},
}

// eventChangeViews lists the measured changes in a work order's life
// order, then any the list above does not know, by name.
func (r *report) eventChangeViews() []eventChangeView {
	var out []eventChangeView
	view := func(change, event string, m map[string]float64) eventChangeView {
		return eventChangeView{Change: change, Event: event, Events: m["events/change"], Calls: callsPer(m, "/change"),
			TxItems: m["tx-items/change"], TxEvent: m["tx-events/change"], WithoutEvent: m["tx-items/change"] - m["tx-events/change"],
			Meets: m["events/change"] == 1 && m["tx-events/change"] == 1}
	}
	known := map[string]bool{}
	for _, c := range eventChanges {
		known["EventsPerChange/"+c.name] = true
		if res, ok := r.eventChanges["EventsPerChange/"+c.name]; ok {
			out = append(out, view(c.change, c.event, res.Metrics))
		}
	}
	for _, k := range sortedKeys(r.eventChanges) {
		if !known[k] {
			out = append(out, view(strings.TrimPrefix(k, "EventsPerChange/"), "—", r.eventChanges[k].Metrics))
		}
	}
	return out
}

// The delivery benchmark's runs: every CRM up, and one tenant's down.
const (
	deliveryAllUp   = "EventDelivery/crm=all_up"
	deliveryOneDown = "EventDelivery/crm=one_down"
)

func (r *report) deliveryViews() []deliveryView {
	var out []deliveryView
	for _, run := range []struct{ key, name string }{
		{deliveryAllUp, "every CRM up"}, {deliveryOneDown, "one tenant's CRM down (503)"},
	} {
		res, ok := r.eventDelivery[run.key]
		if !ok {
			continue
		}
		m := res.Metrics
		took := secs(m["ns/op"])
		if res.Runs > 1 {
			took = fmt.Sprintf("%s (%s–%s)", took, secs(res.Min), secs(res.Max))
		}
		out = append(out, deliveryView{Run: run.name, Queued: m["events/run"], Delivered: m["delivered/run"], Took: took,
			Rate: m["events/s"], Backlog: m["backlog/run"], DownCalls: m["down-crm-calls/run"],
			CallsPerEvent: m["ddb-calls/event"], CPUPerEvent: cpuFigure(m, "cpu-µs/event")})
	}
	return out
}

func (r *report) deliveryLoad() *deliveryLoad {
	up, ok := r.eventDelivery[deliveryAllUp]
	if !ok {
		return nil
	}
	l := &deliveryLoad{Events: int(up.Metrics["events/run"]), WorkOrders: int(up.Metrics["work-orders"]),
		Tenants: int(up.Metrics["tenants"]), Runs: max(up.Runs, 1)}
	if down, ok := r.eventDelivery[deliveryOneDown]; ok && up.Metrics["events/s"] > 0 {
		l.OthersPercent = 100 * down.Metrics["events/s"] / up.Metrics["events/s"]
	}
	return l
}
