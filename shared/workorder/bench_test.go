package workorder_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"wxchannel/shared/testenv"
	"wxchannel/shared/workorder"
)

func BenchmarkWorkOrderCreate(b *testing.B) {
	env := testenv.New(b)
	s := workorder.NewStore(env.DB)
	ctx := context.Background()
	req := workorder.CreateRequest{Category: "repair", Description: "The compressor makes a grinding noise",
		ContactName: "Li Lei", Phone: "13800138000", Address: "88 Century Avenue, Shanghai", Latitude: 31.23, Longitude: 121.47}
	env.Dynamo.ResetCalls()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A user per order keeps the hourly limit out of the way.
		req.DeviceSN = fmt.Sprintf("SN-%08d", i)
		if _, err := s.Create(ctx, "acme", fmt.Sprintf("user%d", i), fmt.Sprintf("key-%08d", i), req, env.Clock.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	total := 0
	for _, n := range env.Dynamo.Calls() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "ddb-calls/op")
}

// seed writes n open orders spread over mainland China (lat 20–45, lng
// 100–122) directly with batch writes.
func seed(b *testing.B, env *testenv.Env, n int) {
	b.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	items := make([]any, 0, 25)
	flush := func() {
		if len(items) == 0 {
			return
		}
		if _, err := env.DB.Service.Batch().Write().Put(items...).Run(ctx); err != nil {
			b.Fatal(err)
		}
		items = items[:0]
	}
	for i := 0; i < n; i++ {
		lat, lng := 20+r.Float64()*25, 100+r.Float64()*22
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
}

func benchNearby(b *testing.B, n int) {
	env := testenv.New(b)
	seed(b, env, n)
	s := workorder.NewStore(env.DB)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	env.Dynamo.ResetCalls()
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		orders, err := s.Nearby(ctx, "acme", 20+r.Float64()*25, 100+r.Float64()*22, workorder.MaxNearbyKm, 50)
		if err != nil {
			b.Fatal(err)
		}
		found += len(orders)
	}
	b.StopTimer()
	b.ReportMetric(float64(env.Dynamo.Calls()["Query"])/float64(b.N), "queries/op")
	b.ReportMetric(float64(found)/float64(b.N), "results/op")
}

// BenchmarkNearby measures the nearby query over a growing number of open
// work orders spread over 25° × 22° of eastern China.
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
