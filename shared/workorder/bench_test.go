package workorder_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"testing"
	"time"

	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/testenv"
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

// seed writes n open orders spread over mainland China (lat 20–45, lng
// 100–122) directly with batch writes, and returns their locations.
func seed(b *testing.B, env *testenv.Env, n int) [][2]float64 {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	items := make([]any, 0, 25)
	at := make([][2]float64, 0, n)
	flush := func() {
		if len(items) == 0 {
			return
		}
		if _, err := env.DB.Service.Batch().Write().Put(items...).Run(ctx); err != nil {
			b.Fatal(err)
		}
		items = items[:0]
	}
	for i := range n {
		lat, lng := 20+r.Float64()*25, 100+r.Float64()*22
		at = append(at, [2]float64{lat, lng})
		id := fmt.Sprintf("261124%012x", i)
		cell := workorder.Cell(lat, lng)
		items = append(items, workorder.Order{PK: "tenant#acme#wo#" + id, SK: "order", ID: id, TenantID: "acme",
			CellPK: "open#acme#" + cell, CellSK: fmt.Sprintf("%019d#%s", i, id), Category: "repair", Status: workorder.StatusSubmitted,
			Latitude: lat, Longitude: lng, Version: 1, Timeline: []workorder.Event{{Status: workorder.StatusSubmitted, At: 1795507200}}})
		if len(items) == 25 {
			flush()
		}
	}
	flush()
	return at
}

// benchNearby queries from 1 km beside a random open order (engineers
// are where the work is), so every query has at least that order to find.
// The garbage collector runs between queries, not during them, so the
// CPU split is not blurred by collecting the embedded server's copies.
func benchNearby(b *testing.B, n int) {
	env := testenv.New(b)
	at := seed(b, env, n)
	s := workorder.NewStore(env.DB)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	dyn := env.Embedded(b, "it meters the embedded server's time")
	dyn.MeterCPU(true)
	defer dyn.MeterCPU(false)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(16 << 30))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	env.Calls.Reset()
	var found, queries int
	var cpu, storageCPU, storageWall time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		debug.FreeOSMemory() // collect and return memory now, not while timed
		site := at[r.IntN(len(at))]
		env.Calls.Reset()
		dyn.ResetCalls()
		cpu0 := cputime.Process()
		b.StartTimer()
		orders, err := s.Nearby(ctx, "acme", site[0]+0.009, site[1], workorder.MaxNearbyKm, 50)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - cpu0 - dyn.CPU()
		storageCPU += dyn.CPU()
		storageWall += dyn.Busy()
		queries += env.Calls.Calls()["Query"]
		found += len(orders)
		if len(orders) == 0 {
			b.Fatalf("no order found 1 km from an open order at %v", site)
		}
		b.StartTimer()
	}
	b.StopTimer()
	nf := float64(b.N)
	b.ReportMetric(float64(queries)/nf, "queries/op")
	b.ReportMetric(float64(found)/nf, "results/op")
	b.ReportMetric(float64(storageWall.Microseconds())/nf, "storage-µs/op")
	if cputime.Supported() {
		b.ReportMetric(float64(cpu.Microseconds())/nf, "cpu-µs/op")
		b.ReportMetric(float64(storageCPU.Microseconds())/nf, "storage-cpu-µs/op")
	}
}

// BenchmarkNearby measures the nearby query over a growing number of open
// work orders spread over 25° × 22° of eastern China: its wall time, the
// CPU of our code (cpu-µs/op) and of the embedded DynamoDB server.
//
//	go test -run '^$' -bench BenchmarkNearby -benchtime 3x -cpu 1 ./shared/workorder/
func BenchmarkNearby(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			if testing.Short() && n > 10000 {
				b.Skip("seeds 100,000 work orders")
			}
			benchNearby(b, n)
		})
	}
}
