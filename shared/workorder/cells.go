package workorder

import (
	"math"

	"github.com/mmcloughlin/geohash"
)

// Geohash cells of the nearby index. A geohash interleaves the bits of the
// longitude and latitude, longitude first; a cell here is any prefix of
// those bits, whole characters (5 bits) or not, so a cell can be halved or
// quartered as finely as the orders' density asks. Geohash characters sort
// in the order of the bits they encode, so the sort keys of the orders in a
// cell (which start with their geohash-8) form one contiguous range.
const (
	// partitionBits is the precision of the index partition (geohash-4,
	// about 39 × 20 km at the equator, 33 × 20 km at Shanghai).
	partitionBits = 20
	// keyChars is the length of the geohash at the head of the sort key
	// (geohash-8, about 38 × 19 m): the finest cell a search reads.
	keyChars = 8
	keyBits  = 5 * keyChars
)

// cell is the geohash cell of the bits-long prefix hash.
type cell struct {
	hash uint64
	bits uint
}

// cellAt is the cell of bits precision holding a point.
func cellAt(lat, lng float64, bits uint) cell {
	return cell{hash: geohash.EncodeIntWithPrecision(clampLat(lat), wrapLng(lng), bits), bits: bits}
}

// clampLat keeps 90° itself out of the encoding, which maps [-90, 90).
func clampLat(lat float64) float64 { return math.Min(lat, math.Nextafter(90, 0)) }

// wrapLng brings a longitude into [-180, 180).
func wrapLng(lng float64) float64 {
	lng = math.Mod(lng+180, 360)
	if lng < 0 {
		lng += 360
	}
	return lng - 180
}

func (c cell) box() geohash.Box { return geohash.BoundingBoxIntWithPrecision(c.hash, c.bits) }

// partition is the geohash-4 of the partition holding the cell.
func (c cell) partition() string {
	return geohash.ConvertIntToString(c.hash>>(c.bits-partitionBits), partitionBits/5)
}

// zSpan is the cell's first and last position along the sort order, in
// geohash-8 units.
func (c cell) zSpan() (first, last uint64) {
	shift := keyBits - c.bits
	first = c.hash << shift
	return first, first | (1<<shift - 1)
}

// keyRange returns the sort keys bounding the cell's orders: gsi2sk
// BETWEEN lo AND hi selects exactly them. A cell of a whole number of
// characters is its prefix; otherwise the range of its last, partial
// character.
func (c cell) keyRange() (lo, hi string) {
	chars := (c.bits + 4) / 5
	shift := 5*chars - c.bits
	first := c.hash << shift
	last := first | (1<<shift - 1)
	return geohash.ConvertIntToString(first, chars), geohash.ConvertIntToString(last, chars) + "~"
}

// children lists the cell's subcells of bits precision, in sort order.
func (c cell) children(bits uint) []cell {
	n := uint64(1) << (bits - c.bits)
	out := make([]cell, 0, n)
	for i := range n {
		out = append(out, cell{hash: c.hash<<(bits-c.bits) | i, bits: bits})
	}
	return out
}

// neighbours lists the up to 8 cells of the same precision around c
// (fewer at the poles), across the antimeridian.
func (c cell) neighbours() []cell {
	b := c.box()
	lat, lng := b.Center()
	dLat, dLng := b.MaxLat-b.MinLat, b.MaxLng-b.MinLng
	var out []cell
	for _, dy := range []float64{-1, 0, 1} {
		for _, dx := range []float64{-1, 0, 1} {
			y := lat + dy*dLat
			if (dx == 0 && dy == 0) || y < -90 || y >= 90 {
				continue
			}
			out = append(out, cellAt(y, lng+dx*dLng, c.bits))
		}
	}
	return out
}

// zOfKey is the position of a sort key (its leading geohash-8).
func zOfKey(sk string) uint64 {
	hash, _ := geohash.ConvertStringToInt(sk[:keyChars])
	return hash
}

// minDistanceKm is the great-circle distance from a point to the nearest
// point of a cell (0 inside it), less a metre for rounding, so that no
// order in the cell is nearer than it says. Off the cell's longitudes the
// nearest point lies on its nearer meridian edge, at the foot of the
// perpendicular from the point when that falls on the edge; within them,
// straight north or south.
func minDistanceKm(lat, lng float64, b geohash.Box) float64 {
	if lat >= b.MinLat && lat <= b.MaxLat && lng >= b.MinLng && lng <= b.MaxLng {
		return 0
	}
	if lng >= b.MinLng && lng <= b.MaxLng {
		return math.Max(0, DistanceKm(lat, lng, math.Min(math.Max(lat, b.MinLat), b.MaxLat), lng)-0.001)
	}
	edge := b.MinLng
	if lngGap(lng, b.MaxLng) < lngGap(lng, b.MinLng) {
		edge = b.MaxLng
	}
	gap := lngGap(lng, edge)
	if gap >= 90 {
		return 0 // beyond a quarter of the globe (near a pole): no pruning
	}
	rad := math.Pi / 180
	foot := math.Atan(math.Tan(lat*rad)/math.Cos(gap*rad)) / rad
	return math.Max(0, DistanceKm(lat, lng, math.Min(math.Max(foot, b.MinLat), b.MaxLat), edge)-0.001)
}

// lngGap is the angle between two longitudes, the short way round.
func lngGap(a, b float64) float64 { return math.Abs(math.Remainder(a-b, 360)) }
