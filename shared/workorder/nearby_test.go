package workorder_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/guregu/dynamo/v2"
	"github.com/mmcloughlin/geohash"

	"wxchannel/functions"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/workorder"
)

// readMeter sums what the Query calls of a client read: the index entries
// (ScannedCount) and the read units DynamoDB charges for them, computed as
// DynamoDB does since no local server reports ConsumedCapacity: per Query,
// the size of the entries read (DynamoDB's item size rules) rounded up to
// 4 KB, half a unit per 4 KB for an eventually consistent read, and half a
// unit for a Query that reads nothing. It counts at the client, so it
// holds against any DynamoDB endpoint.
type readMeter struct {
	mu      sync.Mutex
	queries int
	items   int
	units   float64
}

// Install adds the meter to a client's options.
func (m *readMeter) Install(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("MeterReads", m.meter), middleware.After)
	})
}

func (m *readMeter) meter(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error,
) {
	out, md, err := next.HandleInitialize(ctx, in)
	if q, ok := out.Result.(*dynamodb.QueryOutput); ok && err == nil {
		bytes := 0
		for _, it := range q.Items {
			bytes += itemSize(it)
		}
		m.mu.Lock()
		m.queries++
		m.items += int(q.ScannedCount)
		m.units += 0.5 * math.Max(1, math.Ceil(float64(bytes)/4096))
		m.mu.Unlock()
	}
	return out, md, err
}

// reset zeroes the meter and returns what it had counted.
func (m *readMeter) reset() (queries, items int, units float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	queries, items, units = m.queries, m.items, m.units
	m.queries, m.items, m.units = 0, 0, 0
	return queries, items, units
}

// itemSize is an item's size as DynamoDB counts it ("Item sizes and
// formats"): each attribute's name and value; a number one byte plus a
// byte per two significant digits of its integer part and of its fraction.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberL:
		n := 3 + len(v.Value)
		for _, e := range v.Value {
			n += valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + len(v.Value) + itemSize(v.Value)
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	default: // BOOL, NULL; no sets of numbers or binaries in these items
		return 1
	}
}

func numberSize(s string) int {
	s = strings.TrimLeft(s, "-")
	whole, fraction, _ := strings.Cut(s, ".")
	whole, fraction = strings.TrimLeft(whole, "0"), strings.TrimRight(fraction, "0")
	return 1 + (len(whole)+1)/2 + (len(fraction)+1)/2
}

// meteredAPI is the whole product with the functions' DynamoDB reads
// metered (reads of the returned env.DB are not).
func meteredAPI(t *testing.T) (*testenv.API, *readMeter) {
	t.Helper()
	m := &readMeter{}
	a := testenv.SetupWith(t, functions.Mount, func(env *testenv.Env) {
		cfg := env.Deps.Config
		env.Deps.DB = storage.NewDB(dynamodb.New(env.DB.Client.Options(), m.Install), cfg.PlatformTable, cfg.ServiceTable)
	})
	return a, m
}

// offer is an open order seeded straight into the table, as a create
// writes it.
type offer struct {
	tenant   string
	id       string
	lat, lng float64
	// legacyKeys gives it the nearby index keys as they were (the
	// benchmarks' baseline): its geohash-4, then its created time.
	legacyKeys bool
}

func (o offer) order(at time.Time, description string) workorder.Order {
	cellPK, cellSK := workorder.NearbyKeys(o.tenant, o.lat, o.lng, at, o.id)
	if o.legacyKeys {
		cellPK, cellSK = "open#"+o.tenant+"#"+geohash.EncodeWithPrecision(o.lat, o.lng, 4), fmt.Sprintf("%019d#%s", at.UnixNano(), o.id)
	}
	return workorder.Order{
		PK: "tenant#" + o.tenant + "#wo#" + o.id, SK: "order", ID: o.id, TenantID: o.tenant, UserID: "seeded",
		UserPK: "tenant#" + o.tenant + "#user#seeded#orders", UserSK: fmt.Sprintf("%019d#%s", at.UnixNano(), o.id),
		CellPK: cellPK, CellSK: cellSK, Category: "repair", Description: description,
		ContactName: "Li Lei", Phone: "13800138000", Address: "88 Century Avenue, Pudong, Shanghai",
		Latitude: o.lat, Longitude: o.lng, Status: workorder.StatusSubmitted, CreatedAt: at.Unix(), Version: 1,
		Timeline: []workorder.Event{{Status: workorder.StatusSubmitted, At: at.Unix()}},
	}
}

// seedOffers writes open orders with batch writes, each of about
// itemBytes (its description padded; 0 for a short description).
func seedOffers(tb testing.TB, db *storage.DB, offers []offer, itemBytes int) {
	tb.Helper()
	created := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	description := "The compressor makes a grinding noise"
	if itemBytes > 0 {
		item, err := dynamo.MarshalItem(offers[0].order(created, "d"))
		if err != nil {
			tb.Fatal(err)
		}
		description = strings.Repeat("d", max(1, itemBytes-itemSize(item)+1))
	}
	items := make([]any, 0, 25)
	for i, o := range offers {
		items = append(items, o.order(created.Add(time.Duration(i)*time.Second), description))
		if len(items) == cap(items) || i == len(offers)-1 {
			if _, err := db.Service.Batch().Write().Put(items...).Run(context.Background()); err != nil {
				tb.Fatal(err)
			}
			items = items[:0]
		}
	}
}

// nearbyReference is the nearby list by brute force: the tenant's offers
// within the radius, nearest first (ties by id), at most limit.
func nearbyReference(offers []offer, tenant string, lat, lng, radiusKm float64, limit int) []string {
	type hit struct {
		id string
		km float64
	}
	var hits []hit
	for _, o := range offers {
		if km := workorder.DistanceKm(lat, lng, o.lat, o.lng); o.tenant == tenant && km <= radiusKm {
			hits = append(hits, hit{o.id, km})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].km != hits[j].km {
			return hits[i].km < hits[j].km
		}
		return hits[i].id < hits[j].id
	})
	out := []string{}
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, fmt.Sprintf("%s %.2f", h.id, math.Floor(h.km*100)/100))
	}
	return out
}

// nearbyIDs asks the API for the nearby list and returns it as the
// reference does: id and distance.
func nearbyIDs(t *testing.T, a *testenv.API, engineer string, lat, lng, radiusKm float64) []string {
	t.Helper()
	r := a.Must(a.Do("GET", fmt.Sprintf("/engineer/work-orders/nearby?lat=%v&lng=%v&radius_km=%v", lat, lng, radiusKm), engineer, nil), 200)
	out := []string{}
	for _, o := range r.Body["work_orders"].([]any) {
		m := o.(map[string]any)
		out = append(out, fmt.Sprintf("%s %.2f", m["id"], m["distance_km"]))
	}
	return out
}

func offerID(i int) string { return fmt.Sprintf("261124%012x", i) }

// boundaryFixture lays orders around 31.29N 121.47E, where the geohash-4
// cells wtw3 and wtw9 meet (latitude 31.2890625), on a finer cell edge
// (121.46484375), exactly on both, and for another tenant at the same
// places.
func boundaryFixture(n int) []offer {
	r := rand.New(rand.NewPCG(11, 12))
	const edgeLat, edgeLng = 31.2890625, 121.46484375
	var out []offer
	for i := range n {
		lat, lng := edgeLat+(r.Float64()*2-1)*0.1, edgeLng+(r.Float64()*2-1)*0.12
		switch i % 10 {
		case 0:
			lat = edgeLat // on the partition edge
		case 1:
			lat = math.Nextafter(edgeLat, 0) // just south of it
		case 2:
			lng = edgeLng
		case 3:
			lat, lng = edgeLat, edgeLng
		}
		tenant := "acme"
		if i%7 == 0 {
			tenant = "globex"
		}
		out = append(out, offer{tenant: tenant, id: offerID(i), lat: lat, lng: lng})
	}
	return out
}

func TestNearbyListsWhatABruteForceSearchFinds(t *testing.T) {
	a, _ := meteredAPI(t)
	offers := boundaryFixture(700)
	seedOffers(t, a.DB, offers, 0)
	engineer := a.Staff("acme", "eng-1", staffauth.RoleEngineer)
	points := [][2]float64{
		{31.2890625, 121.46484375}, // where the cells meet
		{31.2304, 121.4737},        // 6.5 km south of the partition edge
		{31.36, 121.56},            // the fixture's north-east corner
		{31.5, 121.1},              // 30 km off: nothing within 15 km
	}
	for _, p := range points {
		for _, radius := range []float64{0.5, 2, 5, 10, 15} {
			got := nearbyIDs(t, a, engineer, p[0], p[1], radius)
			if want := nearbyReference(offers, "acme", p[0], p[1], radius, 50); !slices.Equal(got, want) {
				t.Errorf("at %v within %v km:\ngot  %v\nwant %v", p, radius, got, want)
			}
		}
	}
}

// TestNearbyShowsTheListFieldsOnly: the list carries what the index
// projects and the distance; the index projects what NearbyOrder decodes.
func TestNearbyShowsTheListFieldsOnly(t *testing.T) {
	var projected []string
	for _, spec := range storage.Tables {
		for _, ix := range spec.Indexes {
			if spec.Logical == "ServiceTable" && ix.Name == storage.IndexGSI2 {
				projected = slices.Sorted(slices.Values(ix.NonKeyAttributes))
			}
		}
	}
	var decoded []string
	typ := reflect.TypeFor[workorder.NearbyOrder]()
	for field := range typ.Fields() {
		if name, _, _ := strings.Cut(field.Tag.Get("dynamo"), ","); name != "" && name != "-" {
			decoded = append(decoded, name)
		}
	}
	slices.Sort(decoded)
	if !slices.Equal(projected, decoded) {
		t.Fatalf("gsi2 projects %v, the nearby list decodes %v", projected, decoded)
	}

	a := newAPI(t)
	seedOffers(t, a.DB, []offer{{tenant: "acme", id: offerID(1), lat: 31.2304, lng: 121.4737}}, 0)
	r := a.Must(a.Do("GET", "/engineer/work-orders/nearby?lat=31.2404&lng=121.49&radius_km=5",
		a.Staff("acme", "eng-1", staffauth.RoleEngineer), nil), 200)
	list := r.Body["work_orders"].([]any)
	if len(list) != 1 {
		t.Fatalf("nearby %s", r.Raw)
	}
	fields := slices.Sorted(func(yield func(string) bool) {
		for k := range list[0].(map[string]any) {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"area", "category", "created_at", "distance_km", "id", "status"}
	if !slices.Equal(fields, want) {
		t.Fatalf("a nearby order has %v, want %v", fields, want)
	}
}

// An order leaves the nearby list once accepted or cancelled; the others
// stay, nearest first.
func TestAcceptedAndCancelledOrdersLeaveTheNearbyList(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	session := a.Must(a.Login(a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene"), "openid-li"), 200).
		Str("session_token")
	var ids []string
	for i, km := range []float64{1, 2, 3} {
		body := order(31.2304+km/110.57, 121.4737, fmt.Sprintf("SN-%04d", i))
		ids = append(ids, a.Must(a.Do("POST", "/portal/work-orders", session, body), 201).Str("work_order", "id"))
	}
	engineer := a.Staff("acme", "eng-1", staffauth.RoleEngineer)
	list := func() []string {
		var out []string
		for _, s := range nearbyIDs(t, a, engineer, 31.2304, 121.4737, 5) {
			out = append(out, strings.Fields(s)[0])
		}
		return out
	}
	if got := list(); !slices.Equal(got, ids) {
		t.Fatalf("nearby %v, want %v", got, ids)
	}
	a.Must(a.Do("POST", "/engineer/work-orders/"+ids[0]+"/accept", engineer, nil), 200)
	a.Must(a.Do("POST", "/portal/work-orders/"+ids[2]+"/cancel", session, nil), 200)
	if got := list(); !slices.Equal(got, ids[1:2]) {
		t.Fatalf("after accepting %s and cancelling %s: %v", ids[0], ids[2], got)
	}
}

// sparseFixture spreads orders over eastern China (25° × 22°), as the
// sparse-map benchmark does.
func sparseFixture(n int) []offer {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]offer, n)
	for i := range out {
		out[i] = offer{tenant: "acme", id: offerID(i), lat: 20 + r.Float64()*25, lng: 100 + r.Float64()*22}
	}
	return out
}

// denseCity lays n orders in a disc of radiusKm around People's Square,
// Shanghai: uniformly, or clustered towards the centre.
func denseCity(n int, radiusKm float64, clustered bool, seed uint64) []offer {
	r := rand.New(rand.NewPCG(seed, 5))
	out := make([]offer, n)
	for i := range out {
		dist := radiusKm * math.Sqrt(r.Float64())
		if clustered {
			dist = radiusKm * r.Float64() * r.Float64()
		}
		lat, lng := kmFrom(cityLat, cityLng, dist, r.Float64()*2*math.Pi)
		out[i] = offer{tenant: "acme", id: offerID(i), lat: lat, lng: lng}
	}
	return out
}

// People's Square, Shanghai.
const cityLat, cityLng = 31.2304, 121.4737

// kmFrom is the point dist km from a point in direction angle (radians,
// counterclockwise from east), on a local flat approximation.
func kmFrom(lat, lng, dist, angle float64) (float64, float64) {
	return lat + dist*math.Sin(angle)/110.57, lng + dist*math.Cos(angle)/(111.32*math.Cos(lat*math.Pi/180))
}

// readSlack is the constant of the read bound: items read ≤ 3 × returned
// + readSlack. It pays for finding out how dense the orders are (a page
// from the engineer's position on, then a few small probes).
const readSlack = 48

// TestNearbyReadsLittleMoreThanItReturns: in a dense city (uniform, and
// clustered towards the centre), on a sparse map and at a city's edge,
// each request reads at most 3 entries per order it returns, plus a small
// constant, and lists what a brute-force search finds.
func TestNearbyReadsLittleMoreThanItReturns(t *testing.T) {
	city := 2000
	if testing.Short() {
		city = 500
	}
	cases := []struct {
		name   string
		offers []offer
		points [][2]float64
	}{
		{"uniform city", denseCity(city, 12, false, 1), cityPoints(12)},
		{"clustered city", denseCity(city, 12, true, 2), cityPoints(12)},
		{"sparse map", sparseFixture(3000), [][2]float64{{31.2304, 121.4737}, {39.9, 116.4}, {23.13, 113.26}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, meter := meteredAPI(t)
			seedOffers(t, a.DB, tc.offers, 0)
			engineer := a.Staff("acme", "eng-1", staffauth.RoleEngineer)
			for _, p := range tc.points {
				for _, radius := range []float64{5, 10, 15} {
					meter.reset()
					got := nearbyIDs(t, a, engineer, p[0], p[1], radius)
					queries, items, units := meter.reset()
					if want := nearbyReference(tc.offers, "acme", p[0], p[1], radius, 50); !slices.Equal(got, want) {
						t.Errorf("at %v within %v km:\ngot  %v\nwant %v", p, radius, got, want)
					}
					if items > 3*len(got)+readSlack {
						t.Errorf("at %v within %v km: read %d entries for %d orders", p, radius, items, len(got))
					}
					t.Logf("at %v within %v km: %d orders, %d entries read, %d queries, %.1f read units", p, radius, len(got), items, queries, units)
				}
			}
		})
	}
}

// cityPoints are an engineer at the centre of a city of radiusKm, halfway
// out, and at its edge.
func cityPoints(radiusKm float64) [][2]float64 {
	var out [][2]float64
	for _, dist := range []float64{0, radiusKm / 2, radiusKm} {
		lat, lng := kmFrom(cityLat, cityLng, dist, 0.3)
		out = append(out, [2]float64{lat, lng})
	}
	return out
}

// Every request keeps its DynamoDB connections few: at most 4 queries in
// flight (the SDK keeps up to 10 idle connections per host for reuse).
func TestNearbyKeepsAtMostFourQueriesInFlight(t *testing.T) {
	a, _ := meteredAPI(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	count := func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("InFlight", func(ctx context.Context, in middleware.InitializeInput,
			next middleware.InitializeHandler,
		) (middleware.InitializeOutput, middleware.Metadata, error) {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
			time.Sleep(2 * time.Millisecond) // let the others start
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	}
	offers := denseCity(1000, 8, false, 3)
	seedOffers(t, a.DB, offers, 0)
	s := workorder.NewStore(storage.NewDB(dynamodb.New(a.DB.Client.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, count)
	}), a.Deps.Config.PlatformTable, a.Deps.Config.ServiceTable))
	if _, err := s.Nearby(context.Background(), "acme", cityLat, cityLng, 15, 50); err != nil {
		t.Fatal(err)
	}
	if most > 4 || most < 2 {
		t.Fatalf("at most %d queries were in flight at once; want 2 to 4", most)
	}
}

// An engineer opening an order from the nearby list sees the work and the
// place, not the customer's name and phone; the engineer who accepts it
// sees everything, and the others nothing any more.
func TestAnOfferedOrderShowsTheWorkNotTheCustomer(t *testing.T) {
	a := newAPI(t)
	admin := a.Staff("acme", "admin-1", staffauth.RoleAdmin)
	session := a.Must(a.Login(a.Must(a.Do("POST", "/admin/qr-scenes", admin, map[string]any{}), 201).Str("scene"), "openid-li"), 200).
		Str("session_token")
	id := a.Must(a.Do("POST", "/portal/work-orders", session, order(31.2304, 121.4737, "SN-0001")), 201).Str("work_order", "id")
	first, second := a.Staff("acme", "eng-1", staffauth.RoleEngineer), a.Staff("acme", "eng-2", staffauth.RoleEngineer)

	offered := a.Must(a.Do("GET", "/engineer/work-orders/"+id, first, nil), 200)
	for _, hidden := range []string{"contact_name", "phone", "address", "latitude", "longitude", "photos", "timeline", "engineer_id"} {
		if _, ok := offered.Body[hidden]; ok {
			t.Errorf("an offered order shows %s: %s", hidden, offered.Raw)
		}
	}
	area, _ := offered.Body["area"].(map[string]any)
	if offered.Str("description") == "" || offered.Str("status") != "submitted" || area == nil {
		t.Fatalf("an offered order lacks the work or its area: %s", offered.Raw)
	}
	// The area is near the site but not the site.
	lat, lng, within := area["latitude"].(float64), area["longitude"].(float64), area["within_m"].(float64)
	if off := workorder.DistanceKm(lat, lng, 31.2304, 121.4737) * 1000; off == 0 || off > within || within > 800 {
		t.Fatalf("area %v is %.0f m from the site", area, off)
	}
	a.Must(a.Do("GET", "/engineer/work-orders/"+id, a.Staff("globex", "eng-9", staffauth.RoleEngineer), nil), 404)

	a.Must(a.Do("POST", "/engineer/work-orders/"+id+"/accept", second, nil), 200)
	assigned := a.Must(a.Do("GET", "/engineer/work-orders/"+id, second, nil), 200)
	if assigned.Str("phone") == "" || assigned.Str("contact_name") == "" || assigned.Str("engineer_id") != "eng-2" {
		t.Fatalf("the assigned engineer does not see the whole order: %s", assigned.Raw)
	}
	gone := a.Must(a.Do("GET", "/engineer/work-orders/"+id, first, nil), 404)
	if strings.Contains(gone.Raw, "138") {
		t.Fatalf("another engineer's order leaks: %s", gone.Raw)
	}
	a.Must(a.Do("GET", "/engineer/work-orders/not-an-id", first, nil), 404)
}

func TestDeskIndexProjectsWhatTheDeskShows(t *testing.T) {
	for _, spec := range storage.Tables {
		for _, ix := range spec.Indexes {
			if ix.Name == storage.IndexGSI3 && !slices.Equal(ix.NonKeyAttributes, workorder.DeskAttributes) {
				t.Fatalf("gsi3 projects %v, the desk reads %v", ix.NonKeyAttributes, workorder.DeskAttributes)
			}
		}
	}
}
