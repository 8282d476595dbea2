package workorder

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// randomPoint is anywhere on the globe, often on a geohash-4 edge, near
// the antimeridian or at high latitudes.
func randomPoint(r *rand.Rand) (lat, lng float64) {
	lat, lng = r.Float64()*180-90, r.Float64()*360-180
	switch r.IntN(4) {
	case 0:
		lat = cellAt(lat, lng, partitionBits).box().MinLat
	case 1:
		lng = 180 - r.Float64()*0.5
		if r.IntN(2) == 0 {
			lng = -lng
		}
	case 2:
		lat = math.Copysign(60+r.Float64()*29, lat)
	}
	return lat, lng
}

// TestEveryCellIsOneRangeOfSortKeys: at every precision from the
// partition's to geohash-8, the sort key of an order lies in the key range
// of the cell holding it and outside those of the cell's neighbours, and
// the cell is in the order's partition.
func TestEveryCellIsOneRangeOfSortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		lat, lng := randomPoint(r)
		pk, sk := NearbyKeys("acme", lat, lng, time.Unix(1, 0), "261124000000000001")
		for bits := uint(partitionBits); bits <= keyBits; bits++ {
			c := cellAt(lat, lng, bits)
			if lo, hi := c.keyRange(); sk < lo || sk > hi {
				t.Fatalf("(%v, %v) at %d bits: key %s outside its cell's range %s–%s", lat, lng, bits, sk, lo, hi)
			}
			if !strings.HasSuffix(pk, "#"+c.partition()) {
				t.Fatalf("(%v, %v) at %d bits: cell in partition %s, order in %s", lat, lng, bits, c.partition(), pk)
			}
			for _, n := range c.neighbours() {
				if lo, hi := n.keyRange(); sk >= lo && sk <= hi && n.partition() == c.partition() {
					t.Fatalf("(%v, %v) at %d bits: key %s inside the neighbour's range %s–%s", lat, lng, bits, sk, lo, hi)
				}
			}
		}
	}
}

// TestNoPointOfACellIsNearerThanItsMinimumDistance: minDistanceKm is a
// lower bound of the distance to every point of a cell (its edges and
// corners sampled), across the antimeridian and near the poles too, and
// within a few metres of the nearest sample.
func TestNoPointOfACellIsNearerThanItsMinimumDistance(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		lat, lng := randomPoint(r)
		bits := partitionBits + uint(r.IntN(keyBits-partitionBits+1))
		// a cell a few cells away, possibly across the antimeridian
		b := cellAt(lat, lng, bits).box()
		dLat, dLng := (b.MaxLat-b.MinLat)*float64(r.IntN(7)-3), (b.MaxLng-b.MinLng)*float64(r.IntN(7)-3)
		if lat+dLat <= -90 || lat+dLat >= 90 {
			continue
		}
		box := cellAt(lat+dLat, lng+dLng, bits).box()
		bound := minDistanceKm(lat, lng, box)
		nearest := math.Inf(1)
		const steps = 200
		for i := range steps + 1 {
			f := float64(i) / steps
			for _, p := range [][2]float64{
				{box.MinLat + f*(box.MaxLat-box.MinLat), box.MinLng}, {box.MinLat + f*(box.MaxLat-box.MinLat), box.MaxLng},
				{box.MinLat, box.MinLng + f*(box.MaxLng-box.MinLng)}, {box.MaxLat, box.MinLng + f*(box.MaxLng-box.MinLng)},
			} {
				nearest = math.Min(nearest, DistanceKm(lat, lng, p[0], p[1]))
			}
		}
		if box.Contains(lat, lng) {
			nearest = 0
		}
		// samples lie up to half a step from the nearest point
		step := math.Max(DistanceKm(box.MinLat, box.MinLng, box.MaxLat, box.MinLng),
			DistanceKm(box.MinLat, box.MinLng, box.MinLat, box.MaxLng)) / steps
		if bound > nearest || (nearest < 1000 && nearest-bound > 0.005+step+nearest*0.01) {
			t.Fatalf("(%v, %v) to %+v: bound %.6f km, nearest sampled point %.6f km", lat, lng, box, bound, nearest)
		}
	}
}
