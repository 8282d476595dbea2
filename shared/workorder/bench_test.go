package workorder_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"
	"github.com/mmcloughlin/geohash"

	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/storage"
	"wxchannel/shared/workorder"
)

func BenchmarkWorkOrderCreate(b *testing.B) {
	env := testenv.New(b)
	s := workorder.NewStore(env.DB)
	ctx := context.Background()
	req := workorder.CreateRequest{Category: "repair", Description: "The compressor makes a grinding noise",
		ContactName: "Li Lei", Phone: "13800138000", Address: "88 Century Avenue, Shanghai", Latitude: 31.23, Longitude: 121.47}
	env.Calls.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A user per order keeps the hourly limit out of the way.
		req.DeviceSN = fmt.Sprintf("SN-%08d", i)
		if _, err := s.Create(ctx, workorder.Submission{TenantID: "acme", UserID: fmt.Sprintf("user%d", i),
			IdempotencyKey: fmt.Sprintf("key-%08d", i), Request: req, At: env.Clock.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	total := 0
	for _, n := range env.Calls.Calls() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "ddb-calls/op")
}

// nearbyWorld is a benchmark's table of open orders, read through a
// metered and recording client, with the nearby index as it is now or, for
// the baseline, as it was (whole orders under gsi2pk =
// open#<tenant>#<geohash4>, sorted by created time and id).
type nearbyWorld struct {
	env    *testenv.Env
	dyn    *dynamoserver.Server
	meter  *readMeter
	replay *replay
	live   *storage.DB // metered, recorded
	played *storage.DB // answered by the replay
	legacy bool
}

func newNearbyWorld(b testing.TB, legacy bool) *nearbyWorld {
	env := testenv.New(b)
	w := &nearbyWorld{env: env, dyn: env.Embedded(b, "it meters the embedded server's time"), meter: &readMeter{},
		replay: newReplay(b), legacy: legacy}
	cfg := env.Deps.Config
	w.live = storage.NewDB(dynamodb.New(env.DB.Client.Options(), w.meter.Install, w.replay.record), cfg.PlatformTable, cfg.ServiceTable)
	w.played = storage.NewDB(dynamodb.New(env.DB.Client.Options(), w.replay.answer), cfg.PlatformTable, cfg.ServiceTable)
	if legacy {
		useLegacyNearbyIndex(b, env)
	}
	return w
}

// useLegacyNearbyIndex creates the service table again with gsi2
// projecting whole orders, as it did before the ring search.
func useLegacyNearbyIndex(b testing.TB, env *testenv.Env) {
	ctx, name := context.Background(), env.Deps.Config.ServiceTable
	var spec storage.TableSpec
	for _, t := range storage.Tables {
		if t.Logical == "ServiceTable" {
			spec = t
		}
	}
	spec.Indexes = slices.Clone(spec.Indexes)
	for i := range spec.Indexes {
		if spec.Indexes[i].Name == storage.IndexGSI2 {
			spec.Indexes[i].ProjectionType, spec.Indexes[i].NonKeyAttributes = "", nil
		}
	}
	if _, err := env.DB.Client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
		b.Fatal(err)
	}
	if _, err := env.DB.Client.CreateTable(ctx, spec.CreateInput(name)); err != nil {
		b.Fatal(err)
	}
}

// seed writes open orders of itemBytes each (about; 0 for small ones)
// with the world's index keys.
func (w *nearbyWorld) seed(b testing.TB, offers []offer, itemBytes int) {
	b.Helper()
	if !w.legacy {
		seedOffers(b, w.env.DB, offers, itemBytes)
		return
	}
	legacy := slices.Clone(offers)
	for i := range legacy {
		legacy[i].legacyKeys = true
	}
	seedOffers(b, w.env.DB, legacy, itemBytes)
}

// search runs the world's nearby search on db: the store's, or the
// baseline's.
func (w *nearbyWorld) search(ctx context.Context, db *storage.DB, lat, lng, radiusKm float64) (int, error) {
	if w.legacy {
		orders, err := baselineNearby(ctx, db.Service, "acme", lat, lng, radiusKm, 50)
		return len(orders), err
	}
	orders, err := workorder.NewStore(db).Nearby(ctx, "acme", lat, lng, radiusKm, 50)
	return len(orders), err
}

// replay is a DynamoDB that answers at once the requests of a search from
// a recording of the same search against the embedded server. Our CPU is
// measured while it serves: the embedded server takes 0.1–0.2 s of CPU per
// query on a table of 10,000 orders (it walks the whole index), and the Go
// runtime's own work during such long calls (about 1% of their time, in
// other threads) would be counted as ours. A search takes its pages in the
// order it sent the queries, so the replayed search sends the same ones.
type replay struct {
	mu      sync.Mutex
	answers map[string][]byte
	misses  int
	meter   cputime.Meter
	url     string
}

func newReplay(tb testing.TB) *replay {
	r := &replay{answers: map[string][]byte{}}
	srv := httptest.NewServer(r.meter.Wrap(http.HandlerFunc(r.serve)))
	tb.Cleanup(srv.Close)
	r.url = srv.URL
	r.meter.SetOn(true)
	return r
}

// requestKey is a request's operation and body, its JSON objects' keys
// sorted (the SDK writes maps in any order).
func requestKey(target string, body []byte) string {
	var v any
	if json.Unmarshal(body, &v) == nil {
		body, _ = json.Marshal(v)
	}
	return target + " " + string(body)
}

// record is a client option that records every answer the client gets.
func (r *replay) record(o *dynamodb.Options) {
	o.HTTPClient = recordingClient{inner: o.HTTPClient, replay: r}
}

// answer is a client option that sends every request to the replay.
func (r *replay) answer(o *dynamodb.Options) { o.BaseEndpoint = aws.String(r.url) }

func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	answer, ok := r.answers[requestKey(req.Header.Get("X-Amz-Target"), body)]
	if !ok {
		r.misses++
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"com.amazon.coral.validate#ValidationException","message":"not recorded"}`))
		return
	}
	_, _ = w.Write(answer)
}

// reset forgets the recording and the misses.
func (r *replay) reset() {
	r.mu.Lock()
	r.answers, r.misses = map[string][]byte{}, 0
	r.mu.Unlock()
	r.meter.Reset()
}

type recordingClient struct {
	inner  dynamodb.HTTPClient
	replay *replay
}

func (c recordingClient) Do(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := c.inner.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	answer, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	c.replay.mu.Lock()
	c.replay.answers[requestKey(req.Header.Get("X-Amz-Target"), body)] = answer
	c.replay.mu.Unlock()
	return resp, nil
}

// baselineNearby is the nearby search before the ring search, kept as the
// benchmarks' baseline until it lands: the point's geohash-4 cell and its 8
// neighbours, each read to its end (All) on an index projecting whole
// orders, 9 queries at once, then the exact distance.
func baselineNearby(ctx context.Context, table dynamo.Table, tenantID string, lat, lng, radiusKm float64, limit int) (
	[]workorder.Order, error,
) {
	cell := geohash.EncodeWithPrecision(lat, lng, 4)
	cells := append([]string{cell}, geohash.Neighbors(cell)...)
	batches := make([][]workorder.Order, len(cells))
	errs := make([]error, len(cells))
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Go(func() {
			errs[i] = table.Get(storage.AttrGSI2PK, "open#"+tenantID+"#"+c).Index(storage.IndexGSI2).All(ctx, &batches[i])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("nearby query: %w", err)
	}
	var out []workorder.Order
	var km []float64
	for _, batch := range batches {
		for _, o := range batch {
			if d := workorder.DistanceKm(lat, lng, o.Latitude, o.Longitude); o.Status.Offered() && d <= radiusKm {
				out, km = append(out, o), append(km, d)
			}
		}
	}
	sort.Sort(byDistance{out, km})
	return out[:min(limit, len(out))], nil
}

type byDistance struct {
	orders []workorder.Order
	km     []float64
}

func (s byDistance) Len() int           { return len(s.orders) }
func (s byDistance) Less(i, j int) bool { return s.km[i] < s.km[j] }
func (s byDistance) Swap(i, j int) {
	s.orders[i], s.orders[j] = s.orders[j], s.orders[i]
	s.km[i], s.km[j] = s.km[j], s.km[i]
}

// measureNearby times b.N searches at the points where(i) gives and
// reports per search: the queries, the orders returned, the index entries
// read and their read units (readMeter), the embedded server's busy time
// and CPU, and our CPU: measured on the search replayed (cpu-µs/op), and
// as the process's CPU less the embedded server's during the search
// (cpu-live-µs/op, which includes the Go runtime's work during the
// server's long calls). The garbage collector runs between searches, not
// during them, so the CPU split is not blurred by collecting the embedded
// server's copies.
func measureNearby(b *testing.B, w *nearbyWorld, radiusKm float64, where func(i int) (lat, lng float64)) {
	w.dyn.MeterCPU(true)
	defer w.dyn.MeterCPU(false)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(16 << 30))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var m nearbyMetrics
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		debug.FreeOSMemory() // collect and return memory now, not while timed
		lat, lng := where(i)
		w.meter.reset()
		w.replay.reset()
		w.dyn.ResetCalls()
		cpu0 := cputime.Process()
		b.StartTimer()
		n, err := w.search(context.Background(), w.live, lat, lng, radiusKm)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("no order found near %v, %v", lat, lng)
		}
		m.liveCPU += cputime.Process() - cpu0 - w.dyn.CPU()
		m.storageCPU += w.dyn.CPU()
		m.storageWall += w.dyn.Busy()
		q, it, u := w.meter.reset()
		m.queries, m.items, m.units, m.found = m.queries+q, m.items+it, m.units+u, m.found+n
		m.cpu += replayed(b, w, lat, lng, radiusKm, n)
		b.StartTimer()
	}
	b.StopTimer()
	m.report(b)
}

// replayed runs the search again on the replay and returns our CPU.
func replayed(b *testing.B, w *nearbyWorld, lat, lng, radiusKm float64, want int) time.Duration {
	debug.FreeOSMemory()
	cpu0 := cputime.Process()
	n, err := w.search(context.Background(), w.played, lat, lng, radiusKm)
	cpu := cputime.Process() - cpu0 - w.replay.meter.Total()
	if err != nil || n != want || w.replay.misses > 0 {
		b.Fatalf("replayed search: %d orders (want %d), %d requests not recorded, %v", n, want, w.replay.misses, err)
	}
	return cpu
}

// nearbyMetrics are the sums over a benchmark's searches.
type nearbyMetrics struct {
	found, queries, items                 int
	units                                 float64
	cpu, liveCPU, storageCPU, storageWall time.Duration
}

func (m nearbyMetrics) report(b *testing.B) {
	nf := float64(b.N)
	b.ReportMetric(float64(m.queries)/nf, "queries/op")
	b.ReportMetric(float64(m.found)/nf, "results/op")
	b.ReportMetric(float64(m.items)/nf, "items-read/op")
	b.ReportMetric(m.units/nf, "read-units/op")
	b.ReportMetric(float64(m.storageWall.Microseconds())/nf, "storage-µs/op")
	if cputime.Supported() {
		b.ReportMetric(float64(m.cpu.Microseconds())/nf, "cpu-µs/op")
		b.ReportMetric(float64(m.liveCPU.Microseconds())/nf, "cpu-live-µs/op")
		b.ReportMetric(float64(m.storageCPU.Microseconds())/nf, "storage-cpu-µs/op")
	}
}

// benchSparse seeds n open orders over eastern China and queries from 1 km
// beside a random open order (engineers are where the work is), so every
// query has at least that order to find.
func benchSparse(b *testing.B, n int, legacy bool) {
	w := newNearbyWorld(b, legacy)
	offers := sparseFixture(n)
	w.seed(b, offers, 0)
	r := rand.New(rand.NewPCG(3, 4))
	measureNearby(b, w, workorder.MaxNearbyKm, func(int) (float64, float64) {
		o := offers[r.IntN(len(offers))]
		return o.lat + 0.009, o.lng
	})
}

// BenchmarkNearby measures the nearby search over a growing number of open
// work orders spread over 25° × 22° of eastern China, each engineer asking
// for those within 15 km: its wall time, the CPU of our code (cpu-µs/op)
// and of the embedded DynamoDB server, the queries and the index entries
// read (items-read/op, read-units/op).
//
//	go test -run '^$' -bench BenchmarkNearby -benchtime 3x -cpu 1 ./shared/workorder/
func BenchmarkNearby(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			if testing.Short() && n > 10000 {
				b.Skip("seeds 100,000 work orders")
			}
			benchSparse(b, n, false)
		})
	}
}

// BenchmarkNearbyBaseline is BenchmarkNearby for the search as it was (the
// 9 geohash-4 cells read whole, whole orders projected).
func BenchmarkNearbyBaseline(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			if testing.Short() && n > 10000 {
				b.Skip("seeds 100,000 work orders")
			}
			benchSparse(b, n, true)
		})
	}
}

// BenchmarkNearbyDenseCity measures the search in a dense city: 10,000
// open orders of 1 KB in a disc of 40 km around People's Square, Shanghai
// (5,000 km², 2 orders a km²); an engineer at the centre and one 1 km
// inside the edge ask for the nearest 50 within 5, 10 and 15 km, with the
// search as it is (algorithm=new) and as it was (algorithm=baseline).
func BenchmarkNearbyDenseCity(b *testing.B) {
	if testing.Short() {
		b.Skip("seeds 10,000 work orders twice")
	}
	city := denseCity(10000, 40, false, 7)
	edgeLat, edgeLng := kmFrom(cityLat, cityLng, 39, 0)
	engineers := []struct {
		name     string
		lat, lng float64
	}{{"centre", cityLat, cityLng}, {"edge", edgeLat, edgeLng}}
	for _, legacy := range []bool{false, true} {
		w := newNearbyWorld(b, legacy)
		w.seed(b, city, 1024)
		algorithm := map[bool]string{false: "new", true: "baseline"}[legacy]
		for _, at := range engineers {
			for _, radius := range []float64{5, 10, 15} {
				b.Run(fmt.Sprintf("algorithm=%s/engineer=%s/radius_km=%.0f", algorithm, at.name, radius), func(b *testing.B) {
					measureNearby(b, w, radius, func(int) (float64, float64) { return at.lat, at.lng })
				})
			}
		}
	}
}
