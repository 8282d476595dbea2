// Command benchreport measures the product and writes one report
// (docs/bench-report.md by default): per function its binary size, the
// start-up time of its bootstrap, the cost of a representative request
// split into our code and storage, its DynamoDB calls against the minimum it
// needs; the public request path with DynamoDB and WeChat latencies
// injected; the token refresher and the nearby query as they are and as
// they were; the message crypto against a plain standard-library version;
// the events each change writes and the event pipeline's delivery rate on
// loopback; a bounded loopback load test of ticket push, login and
// work-order create; and the machine's load during each section.
//
//	make bench            (go run ./cmd/benchreport)
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"wxchannel/functions"
)

func main() {
	os.Exit(benchreport())
}

// benchreport runs the measurements the flags ask for and returns the
// process's exit code; it returns rather than exits so that the interrupt
// handler is stopped first.
func benchreport() int {
	out := flag.String("out", "docs/bench-report.md", "where to write the report")
	benchtime := flag.String("benchtime", "200x", "go test -benchtime for the per-request benchmarks")
	quick := flag.Bool("quick", false, "smaller scaling runs and a shorter load test (for a check, not for the report)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *benchtime, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		return 1
	}
	return 0
}

// startupRuns is how often each function's bootstrap is started; the
// report gives the median.
const startupRuns = 7

func run(ctx context.Context, outPath, benchtime string, quick bool) error {
	started := time.Now()
	tmp, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &report{}
	if err := r.measured(ctx, "binaries and start-up", noLatency, func(ctx context.Context) (err error) {
		r.fns, err = measureFunctions(ctx, tmp)
		return err
	}); err != nil {
		return err
	}
	if err := r.benchmark(ctx, benchtime, quick); err != nil {
		return err
	}
	if err := r.loadTest(ctx, quick); err != nil {
		return err
	}
	r.goVersion = runtime.Version()
	r.cpus = runtime.NumCPU()
	r.machine = cpuModel()
	r.took = time.Since(started)
	r.date = time.Now().UTC().Format("2006-01-02")
	var buf bytes.Buffer
	if err := r.write(&buf); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(outPath, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s in %s\n", outPath, r.took.Round(time.Second))
	return nil
}

// measureFunctions builds every function (in tmp) for linux/arm64, as
// deployed, for its binary size, and for this machine, for its start-up.
func measureFunctions(ctx context.Context, tmp string) ([]fnRow, error) {
	var names []string
	httpFn := map[string]bool{}
	for _, f := range functions.All {
		names = append(names, f.Name)
		httpFn[f.Name] = f.HTTP != nil
	}
	step("building every function for linux/arm64 (as deployed) and for this machine")
	arm, err := buildAll(ctx, tmp, "linux", "arm64", names)
	if err != nil {
		return nil, err
	}
	goos, goarch := hostArch()
	host, err := buildAll(ctx, tmp, goos, goarch, names)
	if err != nil {
		return nil, err
	}
	var rows []fnRow
	for _, n := range names {
		fi, err := os.Stat(arm[n])
		if err != nil {
			return nil, err
		}
		row := fnRow{Name: n, HTTP: httpFn[n], Size: fi.Size()}
		step("start-up of " + n)
		row.Startup, err = measureStartup(ctx, host[n], n, httpFn[n], startupRuns)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Latencies the latency sections inject into the stand-ins (the
// benchmarks' own constants; the report names them).
const (
	injectedLatency = "DynamoDB 5 ms, WeChat 50 ms a call"
	noLatency       = ""
)

// functionsPkg holds the benchmarks that run requests through the
// functions' own handlers.
const functionsPkg = "./functions/"

// requestRuns is how often the per-request benchmarks run, each in its own
// process, in turn: the report gives the median with the fastest and the
// slowest run.
const requestRuns = 3

// benchmark runs the Go benchmarks: each function's representative
// request, at loopback speed and with injected latency; the token
// refresher and the nearby query, as they are and as they were; the
// message crypto; and the event pipeline: the events each change writes
// and the delivery rate. Each section records the machine's conditions.
func (r *report) benchmark(ctx context.Context, benchtime string, quick bool) error {
	sections := []struct {
		name, latency string
		run           func(context.Context) error
	}{
		{"per-request benchmarks", noLatency, func(ctx context.Context) error {
			perReq, err := goBench(ctx, benchRun{
				pkg: functionsPkg, pattern: "BenchmarkFunction", benchtime: benchtime, cpu: 1, count: requestRuns,
			})
			for i := range r.fns {
				r.fns[i].Bench = perReq["Function/"+r.fns[i].Name]
			}
			return err
		}},
		{"request path with latency", injectedLatency, func(ctx context.Context) (err error) {
			r.latency, err = goBench(ctx, benchRun{pkg: functionsPkg, pattern: "BenchmarkLatency", benchtime: "50x", cpu: 1, count: requestRuns})
			return err
		}},
		{"token refresh with latency", injectedLatency, func(ctx context.Context) (err error) {
			r.refreshLatency, err = goBench(ctx, benchRun{
				pkg: "./shared/tokens/", pattern: "BenchmarkRefreshRunWithLatency", benchtime: "1x", short: quick,
			})
			return err
		}},
		{"token refresh scaling", noLatency, func(ctx context.Context) (err error) {
			r.refresh, err = goBench(ctx, benchRun{pkg: "./shared/tokens/", pattern: "BenchmarkRefreshRun$", benchtime: "1x", short: quick})
			return err
		}},
		{"nearby in a dense city", noLatency, func(ctx context.Context) (err error) {
			if quick {
				return nil // seeds 10,000 orders twice; no -short variant
			}
			r.nearbyDense, err = goBench(ctx, benchRun{pkg: "./shared/workorder/", pattern: "BenchmarkNearbyDenseCity", benchtime: "3x", cpu: 1})
			return err
		}},
		{"nearby on a sparse map", noLatency, func(ctx context.Context) (err error) {
			r.nearby, err = goBench(ctx, benchRun{
				// -short: 1,000 and 10,000 orders. At 100,000 the embedded
				// server's full index walk per query takes the run past 30
				// minutes and measures the server, not the search.
				pkg: "./shared/workorder/", pattern: "BenchmarkNearby$|BenchmarkNearbyBaseline$", benchtime: "3x", cpu: 1, short: true,
			})
			return err
		}},
		{"message crypto", noLatency, func(ctx context.Context) (err error) {
			r.crypto, err = goBench(ctx, benchRun{
				pkg: "./shared/wxcrypt/", pattern: "BenchmarkOpenTicketPush|BenchmarkStdlibBaseline", benchtime: "1s", count: cryptoRuns,
			})
			if err != nil {
				return err
			}
			r.pushBench, err = goBench(ctx, benchRun{
				pkg: "./shared/componentpush/", pattern: "BenchmarkTicketPushDecryptVerify", benchtime: "1s", count: cryptoRuns,
			})
			return err
		}},
		{"events per change", noLatency, func(ctx context.Context) (err error) {
			r.eventChanges, err = goBench(ctx, benchRun{
				pkg: functionsPkg, pattern: "BenchmarkEventsPerChange", benchtime: eventChangeTimes(quick), cpu: 1,
			})
			return err
		}},
		{"event delivery on loopback", noLatency, func(ctx context.Context) (err error) {
			r.eventDelivery, err = goBench(ctx, benchRun{
				// -short: 400 events of 40 work orders instead of 2,000 of 200.
				pkg: functionsPkg, pattern: "BenchmarkEventDelivery", benchtime: "1x", count: deliveryRuns(quick), short: quick,
			})
			return err
		}},
	}
	for _, sec := range sections {
		step(sec.name)
		if err := r.measured(ctx, sec.name, sec.latency, sec.run); err != nil {
			return err
		}
	}
	return nil
}

// loadTest runs the load test on loopback: a few seconds per level, or
// one second and two levels when quick.
func (r *report) loadTest(ctx context.Context, quick bool) error {
	levels, dur, maxReq := []int{1, 4, 16, 64}, 5*time.Second, 3000
	if quick {
		levels, dur, maxReq = []int{1, 8}, time.Second, 200
	}
	r.loadDur, r.loadMax = dur, maxReq
	step("load test on loopback")
	return r.measured(ctx, "load test", noLatency, func(ctx context.Context) (err error) {
		r.load, err = loadTest(ctx, levels, dur, maxReq)
		return err
	})
}

func step(s string) { fmt.Fprintln(os.Stderr, "benchreport:", s) }

// benchResult is one benchmark line: iterations and metrics by unit.
type benchResult struct {
	N        int
	Runs     int     // how many runs this is the median of
	Min, Max float64 // the fastest and slowest run's ns/op
	Metrics  map[string]float64
}

// benchRun is one `go test -bench` run.
type benchRun struct {
	pkg, pattern, benchtime string
	cpu                     int  // -cpu (GOMAXPROCS); 0 keeps the machine's
	count                   int  // runs in turn; the median by ns/op is kept
	short                   bool // -short: skip the largest scaling runs
}

// eventChangeTimes is how often each change is made: the counts are the
// same every time, so a quick run makes each once.
func eventChangeTimes(quick bool) string {
	if quick {
		return "1x"
	}
	return "5x"
}

// deliveryRuns is how often the delivery benchmark runs, in turn, each in
// its own process: its rate moves with what else the machine does, so the
// report gives the median run.
func deliveryRuns(quick bool) int {
	if quick {
		return 1
	}
	return 3
}

// cryptoRuns is how often the crypto benchmarks run: the median of several
// runs taken in turn, because a single run's figure moves with what the
// machine did just before.
const cryptoRuns = 7

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// goBench runs go test -bench and returns results by benchmark name
// (without the Benchmark prefix and the -GOMAXPROCS suffix). With a count,
// the package's benchmarks run that many times in turn (A B A B …, one
// process each) and each keeps its median run by ns/op.
func goBench(ctx context.Context, b benchRun) (map[string]benchResult, error) {
	args := []string{
		"test", "-run", "^$", "-bench", b.pattern, "-benchtime", b.benchtime, "-benchmem", "-count", "1", "-timeout", "60m",
	}
	if b.cpu > 0 {
		args = append(args, "-cpu", strconv.Itoa(b.cpu))
	}
	if b.short {
		args = append(args, "-short")
	}
	args = append(args, b.pkg)
	all := map[string][]benchResult{}
	for range max(b.count, 1) {
		cmd := exec.CommandContext(ctx, "go", args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
		}
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			m := benchLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			br := benchResult{N: n, Metrics: map[string]float64{}}
			f := strings.Fields(m[3])
			for i := 0; i+1 < len(f); i += 2 {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					br.Metrics[f[i+1]] = v
				}
			}
			all[m[1]] = append(all[m[1]], br)
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("no benchmark results from %s %s:\n%s", b.pkg, b.pattern, out.String())
		}
	}
	res := map[string]benchResult{}
	for name, runs := range all {
		sort.Slice(runs, func(i, j int) bool { return runs[i].Metrics["ns/op"] < runs[j].Metrics["ns/op"] })
		med := runs[len(runs)/2]
		med.Runs = len(runs)
		med.Min, med.Max = runs[0].Metrics["ns/op"], runs[len(runs)-1].Metrics["ns/op"]
		res[name] = med
	}
	return res, nil
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
