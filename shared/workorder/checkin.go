package workorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wxchannel/shared/apperr"

	"github.com/guregu/dynamo/v2"
)

// Visit is one on-site visit: check-in and check-out of an engineer at a
// work order's location.
type Visit struct {
	PK          string  `dynamo:"pk,hash" json:"-"`
	SK          string  `dynamo:"sk,range" json:"-"`
	OrderID     string  `dynamo:"order_id" json:"order_id"`
	Latitude    float64 `dynamo:"latitude" json:"latitude"`
	Longitude   float64 `dynamo:"longitude" json:"longitude"`
	CheckInAt   int64   `dynamo:"check_in_at" json:"check_in_at"`
	CheckOutAt  int64   `dynamo:"check_out_at,omitempty" json:"check_out_at,omitempty"`
	DistanceInM int     `dynamo:"distance_m" json:"distance_m"`
}

type openVisit struct {
	PK      string `dynamo:"pk,hash"`
	SK      string `dynamo:"sk,range"`
	OrderID string `dynamo:"order_id"`
	VisitSK string `dynamo:"visit_sk"`
}

func engineerPK(tenantID, engineerID string) string {
	return "tenant#" + tenantID + "#eng#" + engineerID
}

func visitSK(at time.Time, orderID string) string {
	return fmt.Sprintf("visit#%s#%019d#%s", at.UTC().Format("2006-01-02"), at.UnixNano(), orderID)
}

// CheckIn records the engineer on site if within maxM metres of the order;
// one open check-in per engineer (a conditional put of the marker).
func (s *Store) CheckIn(ctx context.Context, tenantID, engineerID string, o Order, lat, lng float64, maxM int, now time.Time) (
	Visit, error,
) {
	dist := int(DistanceKm(lat, lng, o.Latitude, o.Longitude) * 1000)
	if dist > maxM {
		return Visit{}, &apperr.Error{Kind: apperr.Rejected, Code: "too_far_from_site",
			Message: fmt.Sprintf("you are %d m from the work order's address; check in within %d m", dist, maxM)}
	}
	epk := engineerPK(tenantID, engineerID)
	v := Visit{PK: epk, SK: visitSK(now, o.ID), OrderID: o.ID, Latitude: lat, Longitude: lng, CheckInAt: now.Unix(), DistanceInM: dist}
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(openVisit{PK: epk, SK: "open-visit", OrderID: o.ID, VisitSK: v.SK}).If("attribute_not_exists('pk')"))
	tx.Put(s.table.Put(v))
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Visit{}, apperr.E(apperr.Conflict, "already_checked_in", "check out of your current work order first")
		}
		return Visit{}, err
	}
	return v, nil
}

// CheckOut closes the engineer's open visit at the order.
func (s *Store) CheckOut(ctx context.Context, tenantID, engineerID, orderID string, now time.Time) (Visit, error) {
	epk := engineerPK(tenantID, engineerID)
	var open openVisit
	err := s.table.Get("pk", epk).Range("sk", dynamo.Equal, "open-visit").Consistent(true).One(ctx, &open)
	if errors.Is(err, dynamo.ErrNotFound) || (err == nil && open.OrderID != orderID) {
		return Visit{}, apperr.E(apperr.Conflict, "not_checked_in", "you are not checked in at this work order")
	}
	if err != nil {
		return Visit{}, err
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Delete(s.table.Delete("pk", epk).Range("sk", "open-visit").If("'order_id' = ?", orderID))
	tx.Update(s.table.Update("pk", epk).Range("sk", open.VisitSK).Set("check_out_at", now.Unix()).If("attribute_exists('pk')"))
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Visit{}, apperr.E(apperr.Conflict, "not_checked_in", "you are not checked in at this work order")
		}
		return Visit{}, err
	}
	var v Visit
	err = s.table.Get("pk", epk).Range("sk", dynamo.Equal, open.VisitSK).Consistent(true).One(ctx, &v)
	return v, err
}

// DayMileage is the distance between consecutive check-ins of one day.
type DayMileage struct {
	Date   string  `json:"date"`
	Visits int     `json:"visits"`
	Km     float64 `json:"km"`
}

// Mileage sums, per day in [from, to], the great-circle distance between
// consecutive check-ins (the reimbursable route between sites).
func (s *Store) Mileage(ctx context.Context, tenantID, engineerID string, from, to time.Time) ([]DayMileage, float64, error) {
	var visits []Visit
	err := s.table.Get("pk", engineerPK(tenantID, engineerID)).
		Range("sk", dynamo.Between, "visit#"+from.UTC().Format("2006-01-02"), "visit#"+to.UTC().Format("2006-01-02")+"~").
		All(ctx, &visits)
	if err != nil {
		return nil, 0, err
	}
	var days []DayMileage
	total := 0.0
	for i, v := range visits {
		date := time.Unix(v.CheckInAt, 0).UTC().Format("2006-01-02")
		if len(days) == 0 || days[len(days)-1].Date != date {
			days = append(days, DayMileage{Date: date})
		}
		d := &days[len(days)-1]
		d.Visits++
		if d.Visits > 1 {
			prev := visits[i-1]
			km := DistanceKm(prev.Latitude, prev.Longitude, v.Latitude, v.Longitude)
			d.Km += km
			total += km
		}
	}
	for i := range days {
		days[i].Km = float64(int(days[i].Km*100+0.5)) / 100
	}
	return days, float64(int(total*100+0.5)) / 100, nil
}
