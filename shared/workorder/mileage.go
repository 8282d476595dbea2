package workorder

import (
	"cmp"
	"math"
	"slices"
)

// MaxLegSpeedKmh bounds the straight-line speed of a leg: the distance
// between two sites over the time from the check-out at one to the
// check-in at the next. Roads are longer than the straight line and
// China's motorway limit is 120 km/h, so a faster leg did not happen as
// claimed (or the visits were cycled to claim distance): it is flagged and
// not counted unless an admin corrects it.
const MaxLegSpeedKmh = 120

// Leg is the reimbursable trip between two consecutive visits of one
// engineer on one local day at different work orders, measured between the
// orders' sites. A return to the same order is no leg.
type Leg struct {
	// ID is the visit the leg ends at; a correction names it.
	ID          string `json:"id"`
	FromVisitID string `json:"from_visit_id"`
	FromOrderID string `json:"from_order_id"`
	ToOrderID   string `json:"to_order_id"`
	DepartedAt  int64  `json:"departed_at"`
	ArrivedAt   int64  `json:"arrived_at"`
	// ComputedKm is the distance between the sites; Km is what counts:
	// ComputedKm, 0 for a flagged leg, or the admin's correction.
	ComputedKm float64 `json:"computed_km"`
	// SpeedKmh is absent when no time passed between the two visits.
	SpeedKmh   *float64    `json:"speed_kmh,omitempty"`
	Km         float64     `json:"km"`
	Counted    bool        `json:"counted"`
	Flags      []Flag      `json:"flags,omitempty"`
	Correction *Correction `json:"correction,omitempty"`

	computedM, countedM int
}

// Correction is an admin's correction of a leg, as the report shows it.
type Correction struct {
	Km     float64 `json:"km"`
	Reason string  `json:"reason"`
	By     string  `json:"by"`
	At     int64   `json:"at"`
}

// DayMileage is one engineer's legs of one local day.
type DayMileage struct {
	Date   string  `json:"date"`
	Visits int     `json:"visits"`
	Km     float64 `json:"km"`
	Legs   []Leg   `json:"legs"`

	countedM int
}

// Flagged is a visit or a leg the admin should look at.
type Flagged struct {
	EngineerID string `json:"engineer_id"`
	Date       string `json:"date"`
	// Kind is "visit" or "leg"; ID is the visit's (a leg's is the visit it
	// ends at).
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	OrderID   string `json:"order_id"`
	Flags     []Flag `json:"flags"`
	Corrected bool   `json:"corrected,omitempty"`
	// A visit's times and how far from the site it was checked out.
	CheckInAt         int64 `json:"check_in_at,omitempty"`
	CheckOutAt        int64 `json:"check_out_at,omitempty"`
	CheckOutDistanceM *int  `json:"check_out_distance_m,omitempty"`
}

func flaggedVisit(v Visit) Flagged {
	f := Flagged{EngineerID: v.EngineerID, Date: v.Date, Kind: "visit", ID: v.ID, OrderID: v.OrderID, Flags: v.Flags,
		CheckInAt: v.CheckInAt, CheckOutAt: v.CheckOutAt}
	if v.CheckOut != nil {
		f.CheckOutDistanceM = &v.CheckOut.DistanceInM
	}
	return f
}

// EngineerMileage is one engineer's mileage over a period.
type EngineerMileage struct {
	EngineerID string       `json:"engineer_id"`
	Days       []DayMileage `json:"days"`
	TotalKm    float64      `json:"total_km"`
	// AmountFen is TotalKm at the tenant's rate, in fen (0.01 CNY).
	AmountFen int64     `json:"amount_fen"`
	Flagged   []Flagged `json:"flagged"`

	countedM int
}

func km(m int) float64 { return math.Round(float64(m)/10) / 100 }

// amountFen is the reimbursement of m metres at rate fen per km, rounded
// to the nearest fen.
func amountFen(m, rate int) int64 { return (int64(m)*int64(rate) + 500) / 1000 }

// mileageOf computes an engineer's days, legs and flags from their visits
// (in any order).
func mileageOf(engineerID string, visits []Visit, rateFenPerKm int) EngineerMileage {
	visits = slices.Clone(visits)
	slices.SortFunc(visits, func(a, b Visit) int { return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.ID, b.ID)) })
	out := EngineerMileage{EngineerID: engineerID, Days: []DayMileage{}, Flagged: []Flagged{}}
	for i, v := range visits {
		if len(v.Flags) > 0 {
			out.Flagged = append(out.Flagged, flaggedVisit(v))
		}
		if i == 0 || visits[i-1].Date != v.Date {
			out.Days = append(out.Days, DayMileage{Date: v.Date, Legs: []Leg{}})
		}
		day := &out.Days[len(out.Days)-1]
		day.Visits++
		if day.Visits == 1 {
			continue
		}
		leg, ok := legBetween(visits[i-1], v)
		if !ok {
			continue
		}
		day.Legs = append(day.Legs, leg)
		day.countedM += leg.countedM
		if len(leg.Flags) > 0 {
			out.Flagged = append(out.Flagged, Flagged{EngineerID: engineerID, Date: v.Date, Kind: "leg", ID: leg.ID, OrderID: v.OrderID,
				Flags: leg.Flags, Corrected: leg.Correction != nil})
		}
	}
	for i := range out.Days {
		out.Days[i].Km = km(out.Days[i].countedM)
		out.countedM += out.Days[i].countedM
	}
	out.TotalKm, out.AmountFen = km(out.countedM), amountFen(out.countedM, rateFenPerKm)
	return out
}

// legBetween is the leg from prev to cur, consecutive visits of one day;
// none when both are at the same order.
func legBetween(prev, cur Visit) (Leg, bool) {
	if prev.OrderID == cur.OrderID {
		return Leg{}, false
	}
	departed := prev.CheckOutAt
	if departed == 0 {
		departed = prev.CheckInAt
	}
	m := meters(DistanceKm(prev.SiteLatitude, prev.SiteLongitude, cur.SiteLatitude, cur.SiteLongitude))
	leg := Leg{ID: cur.ID, FromVisitID: prev.ID, FromOrderID: prev.OrderID, ToOrderID: cur.OrderID, DepartedAt: departed,
		ArrivedAt: cur.CheckInAt, ComputedKm: km(m), computedM: m, countedM: m, Counted: true}
	if gap := cur.CheckInAt - departed; gap > 0 {
		speed := math.Round(float64(m)/float64(gap)*3.6*10) / 10
		leg.SpeedKmh = &speed
	}
	if m > 0 && (leg.SpeedKmh == nil || *leg.SpeedKmh > MaxLegSpeedKmh) {
		leg.Flags = append(leg.Flags, FlagImplausibleSpeed)
		leg.countedM, leg.Counted = 0, false
	}
	if c := cur.LegCorrection; c != nil {
		leg.countedM, leg.Counted = c.Meters, true
		leg.Correction = &Correction{Km: km(c.Meters), Reason: c.Reason, By: c.By, At: c.At}
	}
	leg.Km = km(leg.countedM)
	return leg, true
}
