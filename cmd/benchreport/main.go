// Command benchreport measures the product and writes one report
// (docs/bench-report.md by default): per function its binary size, the
// start-up time of its bootstrap, the cost of a representative request
// split into our code and storage, its DynamoDB calls against the minimum it
// needs, the scaling of the token refresher and the nearby query, the
// message crypto against a plain standard-library version, and a bounded
// loopback load test of ticket push, login and work-order create.
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
	out := flag.String("out", "docs/bench-report.md", "where to write the report")
	benchtime := flag.String("benchtime", "200x", "go test -benchtime for the per-request benchmarks")
	quick := flag.Bool("quick", false, "smaller scaling runs and a shorter load test (for a check, not for the report)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *benchtime, *quick); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, outPath, benchtime string, quick bool) error {
	started := time.Now()
	var names []string
	httpFn := map[string]bool{}
	for _, f := range functions.All {
		names = append(names, f.Name)
		httpFn[f.Name] = f.HTTP != nil
	}
	tmp, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &report{}

	step("building every function for linux/arm64 (as deployed) and for this machine")
	arm, err := buildAll(ctx, tmp, "linux", "arm64", names)
	if err != nil {
		return err
	}
	goos, goarch := hostArch()
	host, err := buildAll(ctx, tmp, goos, goarch, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		fi, err := os.Stat(arm[n])
		if err != nil {
			return err
		}
		row := fnRow{Name: n, HTTP: httpFn[n], Size: fi.Size()}
		step("start-up of " + n)
		row.Startup, err = measureStartup(ctx, host[n], n, httpFn[n], 7)
		if err != nil {
			return err
		}
		r.fns = append(r.fns, row)
	}

	step("per-request benchmarks (" + benchtime + " each)")
	perReq, err := goBench(ctx, "./functions/", "BenchmarkFunction", benchtime, false)
	if err != nil {
		return err
	}
	for i := range r.fns {
		r.fns[i].Bench = perReq["Function/"+r.fns[i].Name]
	}

	step("scaling: token refresher and nearby query")
	r.refresh, err = goBench(ctx, "./shared/tokens/", "BenchmarkRefreshRun", "1x", quick)
	if err != nil {
		return err
	}
	r.nearby, err = goBench(ctx, "./shared/workorder/", "BenchmarkNearby", "1x", quick)
	if err != nil {
		return err
	}
	step("crypto against the standard-library baseline")
	r.crypto, err = goBench(ctx, "./shared/wxcrypt/", "BenchmarkOpenTicketPush|BenchmarkStdlibBaseline", "1s", false)
	if err != nil {
		return err
	}
	r.pushBench, err = goBench(ctx, "./shared/componentpush/", "BenchmarkTicketPushDecryptVerify", "1s", false)
	if err != nil {
		return err
	}

	step("load test on loopback")
	levels, dur, maxReq := []int{1, 4, 16, 64}, 5*time.Second, 3000
	if quick {
		levels, dur, maxReq = []int{1, 8}, time.Second, 200
	}
	r.loadDur, r.loadMax = dur, maxReq
	r.load, err = loadTest(ctx, levels, dur, maxReq)
	if err != nil {
		return err
	}
	r.goVersion = runtime.Version()
	r.cpus = runtime.NumCPU()
	r.machine = cpuModel()
	r.took = time.Since(started)
	r.date = time.Now().UTC().Format("2006-01-02")
	var buf bytes.Buffer
	r.write(&buf)
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(outPath, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s in %s\n", outPath, r.took.Round(time.Second))
	return nil
}

func step(s string) { fmt.Fprintln(os.Stderr, "benchreport:", s) }

// benchResult is one benchmark line: iterations and metrics by unit.
type benchResult struct {
	N       int
	Metrics map[string]float64
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// goBench runs go test -bench and returns results by benchmark name
// (without the Benchmark prefix and the -GOMAXPROCS suffix).
func goBench(ctx context.Context, pkg, pattern, benchtime string, short bool) (map[string]benchResult, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime, "-benchmem", "-count", "1", "-timeout", "60m"}
	if short {
		args = append(args, "-short")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	res := map[string]benchResult{}
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
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				br.Metrics[f[i+1]] = v
			}
		}
		res[m[1]] = br
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no benchmark results from %s %s:\n%s", pkg, pattern, out.String())
	}
	return res, nil
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(raw), "\n") {
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
