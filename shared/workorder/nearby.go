package workorder

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// MaxNearbyKm is the largest radius an engineer may search.
const MaxNearbyKm = 15

// How a nearby search reads the index (docs/data-model.md, "nearby").
const (
	// nearbyPage is the Limit of a query: a cell is read a page at a time,
	// so a dense cell is never read to its end before it is known to be
	// needed. A page of index entries (~200 bytes each) fits in the 4 KB
	// of one read unit.
	nearbyPage = 16
	// nearbyProbe is the Limit of the first query of a cell that the
	// density seen so far says holds more than a page: it tells an empty
	// cell (answered at once) from a dense one (split) for a few orders.
	nearbyProbe = 4
	// nearbyParallel bounds the queries in flight, and so the connections
	// a request opens.
	nearbyParallel = 4
	// splitStep is the most bits a cell is split by at once (32 subcells),
	// so that a density seen in one part of a large cell is checked again
	// in each subcell before it is split further.
	splitStep = 5
)

// NearbyOrder is an order in an engineer's nearby list: what the nearby
// index projects (storage.Tables, gsi2) and its distance. The detail is
// read on demand.
type NearbyOrder struct {
	ID       string `dynamo:"id" json:"id"`
	Category string `dynamo:"category" json:"category"`
	Status   Status `dynamo:"status" json:"status"`
	// The site, read to measure the distance; the list shows its Area.
	Latitude  float64 `dynamo:"latitude" json:"-"`
	Longitude float64 `dynamo:"longitude" json:"-"`
	CreatedAt int64   `dynamo:"created_at" json:"created_at"`
	Area      Area    `dynamo:"-" json:"area"`
	// DistanceKm is rounded down to 10 m.
	DistanceKm float64 `dynamo:"-" json:"distance_km"`
	exactKm    float64
}

// Area is where an offered order's site is, to about a kilometre: the
// centre of its geohash-6 cell (about 1.2 × 0.6 km) and the distance from
// there to the cell's corners. An engineer sees the area and the distance
// before accepting; the address and the customer's contact go to the
// engineer who accepts.
type Area struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	WithinM   int     `json:"within_m"`
}

// areaBits is the precision of an Area: geohash-6.
const areaBits = 30

// AreaOf is the Area of a site.
func AreaOf(lat, lng float64) Area {
	box := cellAt(lat, lng, areaBits).box()
	cLat, cLng := box.Center()
	return Area{Latitude: cLat, Longitude: cLng, WithinM: int(math.Ceil(DistanceKm(cLat, cLng, box.MaxLat, box.MaxLng) * 1000))}
}

// NearbyKeys are the nearby index keys (gsi2pk, gsi2sk) of the tenant's
// order id created at created and offered at a location: the partition of
// its geohash-4, sorted by its geohash-8, then by time and id.
func NearbyKeys(tenantID string, lat, lng float64, created time.Time, id string) (pk, sk string) {
	c := cellAt(lat, lng, keyBits)
	return cellPK(tenantID, c.partition()), fmt.Sprintf("%s#%019d#%s", geohashString(c), created.UnixNano(), id)
}

func geohashString(c cell) string { lo, _ := c.keyRange(); return lo }

func cellPK(tenantID, partition string) string { return "open#" + tenantID + "#" + partition }

// Nearby lists the tenant's open, unassigned orders within radiusKm of a
// point, nearest first, at most limit of them. It reads the index cell by
// cell, nearest cells first, a page at a time, and stops once no unread
// cell can hold an order nearer than the farthest kept.
func (s *Store) Nearby(ctx context.Context, tenantID string, lat, lng, radiusKm float64, limit int) ([]NearbyOrder, error) {
	if limit < 1 {
		return nil, nil
	}
	ns := newNearbySearch(lat, lng, radiusKm, limit)
	read := func(ctx context.Context, sp span, pageLimit int) (nearbyPageResult, error) {
		return s.readSpan(ctx, tenantID, sp, pageLimit)
	}
	if err := ns.run(ctx, read); err != nil {
		return nil, fmt.Errorf("nearby query: %w", err)
	}
	return ns.result(), nil
}

// readSpan reads one page of a span.
func (s *Store) readSpan(ctx context.Context, tenantID string, sp span, limit int) (nearbyPageResult, error) {
	lo, hi := sp.keyRange()
	q := s.table.Get(storage.AttrGSI2PK, cellPK(tenantID, sp.cell.partition())).Index(storage.IndexGSI2).
		Range(storage.AttrGSI2SK, dynamo.Between, lo, hi).SearchLimit(limit)
	if sp.after != nil {
		q = q.StartFrom(sp.after)
	}
	var p nearbyPageResult
	var err error
	p.last, err = q.AllWithLastEvaluatedKey(ctx, &p.orders)
	return p, err
}

// span is what is left to read of a cell: the orders between two
// positions of it (in geohash-8 units, both included), after the last
// order a page read there if any.
type span struct {
	cell     cell
	from, to uint64
	after    dynamo.PagingKey // nil: from the position from
	minKm    float64          // no order in the cell is nearer
	seq      int              // queued order, which breaks ties of distance
}

// wholeCell is the span of all of a cell.
func wholeCell(c cell) span {
	first, last := c.zSpan()
	return span{cell: c, from: first, to: last}
}

// keyRange returns the sort keys bounding the span's orders: gsi2sk
// BETWEEN lo AND hi selects exactly them.
func (sp span) keyRange() (lo, hi string) {
	return geohashString(cell{hash: sp.from, bits: keyBits}), geohashString(cell{hash: sp.to, bits: keyBits}) + "~"
}

type nearbyPageResult struct {
	orders []NearbyOrder
	last   dynamo.PagingKey // nil when the span was read to its end
}

// pageReader reads one page of at most limit orders of a span.
type pageReader func(ctx context.Context, sp span, limit int) (nearbyPageResult, error)

// spanQueue holds the spans left to read, nearest first.
type spanQueue []span

func (q spanQueue) Len() int { return len(q) }
func (q spanQueue) Less(i, j int) bool {
	if q[i].minKm != q[j].minKm {
		return q[i].minKm < q[j].minKm
	}
	return q[i].seq < q[j].seq
}
func (q spanQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *spanQueue) Push(x any)   { *q = append(*q, x.(span)) }
func (q *spanQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// farthestFirst holds the nearest orders found, the farthest on top.
type farthestFirst []NearbyOrder

func (h farthestFirst) Len() int           { return len(h) }
func (h farthestFirst) Less(i, j int) bool { return nearer(h[j], h[i]) }
func (h farthestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *farthestFirst) Push(x any)        { *h = append(*h, x.(NearbyOrder)) }
func (h *farthestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// nearer orders results by exact distance, then id.
func nearer(a, b NearbyOrder) bool {
	if a.exactKm != b.exactKm {
		return a.exactKm < b.exactKm
	}
	return a.ID < b.ID
}

// nearbySearch is one request's search: the spans left, the orders kept,
// and what the pages read so far showed of the orders' density.
type nearbySearch struct {
	lat, lng, radiusKm float64
	limit              int
	todo               spanQueue
	found              farthestFirst
	pages, queued      int
	// densest is the most orders a position (a geohash-8 cell) a full
	// page showed: how dense the orders are where they are densest around
	// the point (0: no page was full).
	densest float64
}

// newNearbySearch starts a search from the partition cells within reach.
// The point's own cell is read first, from the point's position on: the
// orders that follow a point in sort order lie mostly around it, so that
// first page shows how dense the orders are where the engineer is.
func newNearbySearch(lat, lng, radiusKm float64, limit int) *nearbySearch {
	ns := &nearbySearch{lat: lat, lng: lng, radiusKm: radiusKm, limit: limit}
	here := cellAt(lat, lng, keyBits).hash
	for i, c := range startCells(lat, lng, radiusKm) {
		sp := wholeCell(c)
		if i == 0 && here > sp.from {
			before := sp
			sp.from, before.to = here, here-1
			ns.push(sp)
			ns.push(before)
			continue
		}
		ns.push(sp)
	}
	return ns
}

// startCells lists the partition cells within radiusKm of a point: the
// point's and, outwards, its neighbours within reach (at most 9 for radii
// up to 15 km anywhere in mainland China).
func startCells(lat, lng, radiusKm float64) []cell {
	first := cellAt(lat, lng, partitionBits)
	out, seen := []cell{first}, map[cell]bool{first: true}
	for i := 0; i < len(out) && len(out) < 64; i++ {
		for _, n := range out[i].neighbours() {
			if !seen[n] && minDistanceKm(lat, lng, n.box()) <= radiusKm {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// push queues a span unless it is beyond the radius.
func (ns *nearbySearch) push(sp span) {
	sp.minKm = minDistanceKm(ns.lat, ns.lng, sp.cell.box())
	if sp.minKm <= ns.radiusKm {
		ns.queued++
		sp.seq = ns.queued
		heap.Push(&ns.todo, sp)
	}
}

// bound is the distance beyond which nothing more is needed: the radius
// until limit orders are kept, then the farthest kept.
func (ns *nearbySearch) bound() float64 {
	if len(ns.found) < ns.limit {
		return ns.radiusKm
	}
	return ns.found[0].exactKm
}

// readAhead is how far the search reads while other pages are in flight:
// as far as the densest orders seen would fill the list, never beyond the
// bound; nothing before the first page. So up to nearbyParallel queries
// are in flight without reading much that a nearer page would have made
// unnecessary.
func (ns *nearbySearch) readAhead() float64 {
	if ns.pages == 0 {
		return -1
	}
	if ns.densest == 0 {
		return ns.bound()
	}
	// One position (a geohash-8 cell) is 2^-20 of the longitudes by 2^-20
	// of the latitudes.
	positionKm2 := 360.0 / (1 << 20) * 111.32 * math.Cos(ns.lat*math.Pi/180) * 180.0 / (1 << 20) * 110.57
	perKm2 := ns.densest / positionKm2
	return min(ns.bound(), math.Sqrt(float64(ns.limit)/(math.Pi*perKm2)))
}

type pageAnswer struct {
	sp    span
	limit int
	page  nearbyPageResult
	err   error
}

// run reads spans, nearest first, up to nearbyParallel at once, until
// none left could hold a nearer order than those kept. Pages are taken in
// the order their queries were sent, whatever order they arrive in, so a
// search reads the same spans whenever its pages come back (the tests and
// benchmarks depend on it).
func (ns *nearbySearch) run(ctx context.Context, read pageReader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var inFlight []chan pageAnswer // oldest first; buffered, so a query finishes even after an error
	for {
		for len(inFlight) < nearbyParallel {
			sp, limit, ok := ns.next(len(inFlight) == 0)
			if !ok {
				break
			}
			answer := make(chan pageAnswer, 1)
			inFlight = append(inFlight, answer)
			go func() {
				page, err := read(ctx, sp, limit)
				answer <- pageAnswer{sp: sp, limit: limit, page: page, err: err}
			}()
		}
		if len(inFlight) == 0 {
			return nil
		}
		a := <-inFlight[0]
		inFlight = inFlight[1:]
		if a.err != nil {
			return a.err
		}
		ns.take(a)
	}
}

// next picks the nearest span worth reading (when others are in flight,
// within readAhead) and the Limit to read it with: a probe where the span
// is, or may be, denser than a page.
func (ns *nearbySearch) next(alone bool) (span, int, bool) {
	reach := ns.bound()
	if !alone {
		reach = ns.readAhead()
	}
	if ns.todo.Len() == 0 || ns.todo[0].minKm > reach {
		return span{}, 0, false
	}
	sp := heap.Pop(&ns.todo).(span)
	if sp.after == nil && ns.densest*float64(sp.to-sp.from+1) > nearbyPage {
		return sp, nearbyProbe, true
	}
	return sp, nearbyPage, true
}

// split queues the parts of a span in the subcells of its cell of bits
// precision.
func (ns *nearbySearch) split(sp span, bits uint) {
	for _, c := range sp.cell.children(bits) {
		first, last := c.zSpan()
		if last < sp.from || first > sp.to {
			continue // read already, or not part of the span
		}
		part := span{cell: c, from: max(first, sp.from), to: min(last, sp.to)}
		if part.from == sp.from {
			part.after = sp.after
		}
		ns.push(part)
	}
}

// take keeps a page's orders within the radius and queues what is left of
// its span: in subcells of about half a page each at the density the page
// showed, at most splitStep bits finer at once.
func (ns *nearbySearch) take(a pageAnswer) {
	ns.pages++
	for _, o := range a.page.orders {
		ns.keep(o)
	}
	if a.page.last == nil {
		return // read to its end
	}
	rest := a.sp
	rest.after = a.page.last
	sk, ok := a.page.last[storage.AttrGSI2SK].(*types.AttributeValueMemberS)
	if !ok || len(sk.Value) < keyChars || rest.cell.bits >= keyBits {
		ns.push(rest) // one geohash-8 cell (or a key without its position): page on
		return
	}
	rest.from = zOfKey(sk.Value)
	here := float64(len(a.page.orders)) / float64(rest.from-a.sp.from+1)
	bits := densityBits(here)
	if a.limit == nearbyPage {
		ns.densest = max(ns.densest, here)
	} else {
		// A probe's few orders may lie closer together than the cell's
		// orders do; no closer than where they were densest, though.
		bits = min(bits, densityBits(ns.densest))
	}
	ns.split(rest, min(max(rest.cell.bits+1, bits), rest.cell.bits+splitStep, keyBits))
}

// densityBits is the precision at which a cell holds about half a page
// at a density of perPosition orders a position.
func densityBits(perPosition float64) uint {
	if perPosition <= 0 {
		return 0
	}
	positionsPerHalfPage := nearbyPage / 2 / perPosition
	if positionsPerHalfPage < 1 {
		return keyBits
	}
	return keyBits - min(keyBits, uint(math.Floor(math.Log2(positionsPerHalfPage))))
}

// keep adds an order offered within the radius to the nearest found.
// Index reads are eventually consistent: an order accepted a moment ago
// may still be listed, and is left out.
func (ns *nearbySearch) keep(o NearbyOrder) {
	if !o.Status.Offered() {
		return
	}
	o.exactKm = DistanceKm(ns.lat, ns.lng, o.Latitude, o.Longitude)
	if o.exactKm > ns.radiusKm {
		return
	}
	o.DistanceKm = float64(int(o.exactKm*100)) / 100
	o.Area = AreaOf(o.Latitude, o.Longitude)
	if len(ns.found) < ns.limit {
		heap.Push(&ns.found, o)
	} else if nearer(o, ns.found[0]) {
		ns.found[0] = o
		heap.Fix(&ns.found, 0)
	}
}

// result is the orders kept, nearest first.
func (ns *nearbySearch) result() []NearbyOrder {
	out := make([]NearbyOrder, len(ns.found))
	copy(out, ns.found)
	sort.Slice(out, func(i, j int) bool { return nearer(out[i], out[j]) })
	return out
}
