package workorder

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/outbox"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// Flag marks a visit or a leg for the admin's review.
type Flag string

// Flags of visits and legs.
const (
	// FlagCheckoutFar: checked out farther from the site than the tenant's
	// check-out distance (accepted: engineers may leave before checking out).
	FlagCheckoutFar Flag = "checkout_far"
	// FlagAutoClosed: left open past the tenant's hours and closed at that
	// limit, by the visitclose job or by a late check-out.
	FlagAutoClosed Flag = "auto_closed"
	// FlagImplausibleSpeed: a leg faster than MaxLegSpeedKmh; not counted
	// unless an admin corrects it.
	FlagImplausibleSpeed Flag = "implausible_speed"
)

// Who closed a visit.
const (
	ClosedByEngineer = "engineer"
	// ClosedByLimit closed it at the tenant's auto-checkout limit.
	ClosedByLimit = "auto"
)

// MaxCheckinsPerHour bounds an engineer's check-ins per clock hour, besides
// the tenant's daily limit: nobody works more than six sites an hour, and a
// script cycling check-ins stops at once.
const MaxCheckinsPerHour = 6

// MaxEngineerIDLen bounds the staff token's subject where it becomes part
// of a key.
const MaxEngineerIDLen = 128

// CheckOutPoint is where an engineer checked out and how far from the site.
type CheckOutPoint struct {
	Latitude    float64 `dynamo:"latitude" json:"latitude"`
	Longitude   float64 `dynamo:"longitude" json:"longitude"`
	DistanceInM int     `dynamo:"distance_m" json:"distance_m"`
}

// legCorrection is an admin's correction of the leg that ends at a visit.
type legCorrection struct {
	Meters int    `dynamo:"meters"`
	Reason string `dynamo:"reason"`
	By     string `dynamo:"by"`
	At     int64  `dynamo:"at"`
}

// Visit is one on-site visit: check-in and check-out of an engineer at a
// work order's site. It is filed under the local date of its check-in in
// the tenant's time zone, in the engineer's partition and in the tenant's
// day partition of gsi1 (the admin's report).
type Visit struct {
	PK    string `dynamo:"pk,hash" json:"-"`
	SK    string `dynamo:"sk,range" json:"-"`
	DayPK string `dynamo:"gsi1pk" json:"-"`
	DaySK string `dynamo:"gsi1sk" json:"-"`
	// ID is <local date>.<check-in ns>.<order id>; a leg is named by the
	// visit it ends at.
	ID          string  `dynamo:"visit_id" json:"id"`
	EngineerID  string  `dynamo:"engineer_id" json:"engineer_id"`
	OrderID     string  `dynamo:"order_id" json:"order_id"`
	Date        string  `dynamo:"date" json:"date"`
	Latitude    float64 `dynamo:"latitude" json:"latitude"`
	Longitude   float64 `dynamo:"longitude" json:"longitude"`
	DistanceInM int     `dynamo:"distance_m" json:"distance_m"`
	// The order's site, copied at check-in: legs are measured between
	// sites, never between the points an engineer's phone claimed.
	SiteLatitude  float64        `dynamo:"site_latitude" json:"site_latitude"`
	SiteLongitude float64        `dynamo:"site_longitude" json:"site_longitude"`
	CheckInAt     int64          `dynamo:"check_in_at" json:"check_in_at"`
	CheckOutAt    int64          `dynamo:"check_out_at,omitempty" json:"check_out_at,omitempty"`
	CheckOut      *CheckOutPoint `dynamo:"check_out,omitempty" json:"check_out,omitempty"`
	ClosedBy      string         `dynamo:"closed_by,omitempty" json:"closed_by,omitempty"`
	Flags         []Flag         `dynamo:"flags,omitempty" json:"flags,omitempty"`
	LegCorrection *legCorrection `dynamo:"leg_correction,omitempty" json:"-"`
	// LegRev counts the corrections of the leg ending here (conditional writes).
	LegRev int `dynamo:"leg_rev,omitempty" json:"-"`
	// The engineer's photos and the customer's signature, added while the
	// visit is open; PhotosRev counts the changes (conditional writes).
	VisitPhotos
	PhotosRev int `dynamo:"photos_rev,omitempty" json:"-"`
	// Views link the photos in answers to the engineer; never stored.
	Views *VisitPhotoViews `dynamo:"-" json:"photo_views,omitempty"`
}

// OrderVisitPhotos is the copy of a visit's photos in its order's
// partition, written with the visit's in one transaction, so that the
// order's detail reads them with the order (one Query) for its owner, its
// engineer and the tenant's admins.
type OrderVisitPhotos struct {
	PK         string `dynamo:"pk,hash" json:"-"`
	SK         string `dynamo:"sk,range" json:"-"`
	VisitID    string `dynamo:"visit_id" json:"visit_id"`
	EngineerID string `dynamo:"engineer_id" json:"engineer_id"`
	CheckInAt  int64  `dynamo:"check_in_at" json:"check_in_at"`
	VisitPhotos
	Views *VisitPhotoViews `dynamo:"-" json:"photo_views,omitempty"`
}

// orderVisitPhotosSKPrefix starts the sort key of a visit's photos in its
// order's partition (after the order's own "order").
const orderVisitPhotosSKPrefix = "visitphotos#"

// orderVisitPhotos is the copy of v's photos p for its order's partition.
func orderVisitPhotos(tenantID string, v Visit, p VisitPhotos) OrderVisitPhotos {
	return OrderVisitPhotos{PK: orderPK(tenantID, v.OrderID), SK: orderVisitPhotosSKPrefix + v.ID, VisitID: v.ID,
		EngineerID: v.EngineerID, CheckInAt: v.CheckInAt, VisitPhotos: p}
}

// openVisit marks the engineer's one open visit. While it exists it is in
// the open-visits partition of gsi1, sorted by the time the visit is due to
// be closed, for the visitclose job.
type openVisit struct {
	PK         string `dynamo:"pk,hash"`
	SK         string `dynamo:"sk,range"`
	DuePK      string `dynamo:"gsi1pk"`
	DueSK      string `dynamo:"gsi1sk"`
	TenantID   string `dynamo:"tenant_id"`
	EngineerID string `dynamo:"engineer_id"`
	OrderID    string `dynamo:"order_id"`
	VisitSK    string `dynamo:"visit_sk"`
	CheckInAt  int64  `dynamo:"check_in_at"`
	DueAt      int64  `dynamo:"due_at"`
}

const (
	openVisitSK = "open-visit"
	// openVisitsPK is the gsi1 partition of every open visit of every
	// tenant (one item per engineer on site: far below a partition's
	// write capacity).
	openVisitsPK = "openvisits"
)

func engineerPK(tenantID, engineerID string) string {
	return storage.TenantPartition(tenantID) + "#eng#" + engineerID
}

var visitIDPattern = regexp.MustCompile(`^([0-9]{4}-[0-9]{2}-[0-9]{2})\.[0-9]{19}\.[0-9]{6}[0-9a-f]{12}$`)

func visitID(date string, at time.Time, orderID string) string {
	return fmt.Sprintf("%s.%019d.%s", date, at.UnixNano(), orderID)
}

// visitSK is the sort key of a visit in the engineer's partition.
func visitSK(id string) string { return "visit#" + strings.ReplaceAll(id, ".", "#") }

// visitDayPK is the tenant's gsi1 partition of one local date's visits.
func visitDayPK(tenantID, date string) string {
	return storage.TenantPartition(tenantID) + "#visits#" + date
}

func visitDaySK(engineerID string, at time.Time) string {
	return fmt.Sprintf("%s#%019d", engineerID, at.UnixNano())
}

func dueSK(due time.Time, visitID string) string { return fmt.Sprintf("%012d#%s", due.Unix(), visitID) }

func checkinDaySK(date string) string { return "checkins#" + date }

func checkinHourSK(at time.Time) string { return "checkins-hour#" + at.UTC().Format("2006010215") }

func meters(km float64) int { return int(km*1000 + 0.5) }

// validEngineerID refuses a staff subject that cannot be part of a key.
func validEngineerID(id string) error {
	if id == "" || len(id) > MaxEngineerIDLen || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return apperr.InvalidField("engineer_id", fmt.Sprintf("1–%d bytes without control characters", MaxEngineerIDLen))
	}
	return nil
}

// checkIn is one engineer's check-in at an order, as the service decided it.
type checkIn struct {
	TenantID, EngineerID string
	Order                Order
	Latitude, Longitude  float64
	At                   time.Time
	Settings             tenant.Settings
}

// CheckIn records the engineer on site if within the tenant's distance of
// the order, in one transaction: the open-visit marker if absent (one open
// visit per engineer), the visit, and the engineer's daily and hourly
// check-in counters if below their limits.
func (s *Store) CheckIn(ctx context.Context, in checkIn) (Visit, error) {
	o, st := in.Order, in.Settings
	dist := meters(DistanceKm(in.Latitude, in.Longitude, o.Latitude, o.Longitude))
	if dist > st.MaxCheckinDistanceM {
		return Visit{}, &apperr.Error{Kind: apperr.Rejected, Code: "too_far_from_site",
			Message: fmt.Sprintf("you are %d m from the work order's address; check in within %d m", dist, st.MaxCheckinDistanceM)}
	}
	date := in.At.In(st.Location()).Format(time.DateOnly)
	id := visitID(date, in.At, o.ID)
	epk := engineerPK(in.TenantID, in.EngineerID)
	v := Visit{PK: epk, SK: visitSK(id), DayPK: visitDayPK(in.TenantID, date), DaySK: visitDaySK(in.EngineerID, in.At),
		ID: id, EngineerID: in.EngineerID, OrderID: o.ID, Date: date, Latitude: in.Latitude, Longitude: in.Longitude,
		DistanceInM: dist, SiteLatitude: o.Latitude, SiteLongitude: o.Longitude, CheckInAt: in.At.Unix()}
	due := in.At.Add(st.AutoCheckoutAfter())
	marker := openVisit{PK: epk, SK: openVisitSK, DuePK: openVisitsPK, DueSK: dueSK(due, id), TenantID: in.TenantID,
		EngineerID: in.EngineerID, OrderID: o.ID, VisitSK: v.SK, CheckInAt: v.CheckInAt, DueAt: due.Unix()}
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(marker).If("attribute_not_exists('pk')"))
	tx.Put(s.table.Put(v).If("attribute_not_exists('pk')"))
	tx.Update(s.table.Update("pk", epk).Range("sk", checkinDaySK(date)).Add("count", 1).Set("ttl", in.At.Add(72*time.Hour).Unix()).
		If("attribute_not_exists('count') OR 'count' < ?", st.MaxCheckinsPerDay))
	tx.Update(s.table.Update("pk", epk).Range("sk", checkinHourSK(in.At)).Add("count", 1).Set("ttl", in.At.Add(2*time.Hour).Unix()).
		If("attribute_not_exists('count') OR 'count' < ?", MaxCheckinsPerHour))
	if err := s.addVisitEvent(tx, outbox.WorkOrderCheckedIn, in.TenantID, v, in.At); err != nil {
		return Visit{}, err
	}
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Visit{}, s.explainCheckInRefusal(ctx, epk, date, in.At, st)
		}
		return Visit{}, fmt.Errorf("check in: %w", err)
	}
	return v, nil
}

// explainCheckInRefusal reads what the check-in's conditions guard to tell
// the engineer which one refused it.
func (s *Store) explainCheckInRefusal(ctx context.Context, epk, date string, at time.Time, st tenant.Settings) error {
	var open openVisit
	err := s.table.Get("pk", epk).Range("sk", dynamo.Equal, openVisitSK).Consistent(true).One(ctx, &open)
	if err == nil {
		return apperr.Errorf(apperr.Conflict, "already_checked_in",
			"you are checked in at work order %s; check out there first", open.OrderID)
	}
	if !errors.Is(err, dynamo.ErrNotFound) {
		return fmt.Errorf("explain check-in: %w", err)
	}
	today, err := s.counter(ctx, epk, checkinDaySK(date))
	if err != nil {
		return err
	}
	if today >= st.MaxCheckinsPerDay {
		local := at.In(st.Location())
		y, m, d := local.Date()
		midnight := time.Date(y, m, d+1, 0, 0, 0, 0, local.Location())
		return apperr.Errorf(apperr.RateLimited, "checkin_limit",
			"at most %d check-ins a day; the limit is reached for today", st.MaxCheckinsPerDay).
			WithDetails(map[string]any{"limit": "day", "max": st.MaxCheckinsPerDay}).After(midnight.Sub(at))
	}
	thisHour, err := s.counter(ctx, epk, checkinHourSK(at))
	if err != nil {
		return err
	}
	if thisHour >= MaxCheckinsPerHour {
		return apperr.Errorf(apperr.RateLimited, "checkin_limit", "at most %d check-ins an hour; try again later", MaxCheckinsPerHour).
			WithDetails(map[string]any{"limit": "hour", "max": MaxCheckinsPerHour}).After(at.Truncate(time.Hour).Add(time.Hour).Sub(at))
	}
	return apperr.E(apperr.Conflict, "concurrent_checkin", "another check-in of yours was being recorded; reload and retry")
}

func (s *Store) counter(ctx context.Context, pk, sk string) (int, error) {
	var c rateItem
	err := s.table.Get("pk", pk).Range("sk", dynamo.Equal, sk).Consistent(true).One(ctx, &c)
	if errors.Is(err, dynamo.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read check-in counter: %w", err)
	}
	return c.Count, nil
}

// checkOut is an engineer's check-out, as the service decided it.
type checkOut struct {
	TenantID            string
	Latitude, Longitude float64
	At                  time.Time
	// MaxDistanceM: farther from the site is accepted but flagged.
	MaxDistanceM int
	// Open and Visit are the engineer's open visit as readOpenVisit read them.
	Open  openVisit
	Visit Visit
	// Photos, when not nil, are the visit's photos to store with the
	// check-out (the visit's merged with the request's).
	Photos *VisitPhotos
}

// readOpenVisit reads the engineer's open visit at the order: its marker and
// the visit (consistent reads). Not checked in there is a Conflict.
func (s *Store) readOpenVisit(ctx context.Context, tenantID, engineerID, orderID string) (openVisit, Visit, error) {
	epk := engineerPK(tenantID, engineerID)
	var open openVisit
	err := s.table.Get("pk", epk).Range("sk", dynamo.Equal, openVisitSK).Consistent(true).One(ctx, &open)
	if errors.Is(err, dynamo.ErrNotFound) || (err == nil && open.OrderID != orderID) {
		return openVisit{}, Visit{}, apperr.E(apperr.Conflict, "not_checked_in", "you are not checked in at this work order")
	}
	if err != nil {
		return openVisit{}, Visit{}, fmt.Errorf("read the open visit: %w", err)
	}
	var v Visit
	if err := s.table.Get("pk", epk).Range("sk", dynamo.Equal, open.VisitSK).Consistent(true).One(ctx, &v); err != nil {
		return openVisit{}, Visit{}, fmt.Errorf("read the open visit: %w", err)
	}
	return open, v, nil
}

// CheckOut closes the engineer's open visit at the order, storing where
// they checked out and how far from the site, and the photos sent with
// the check-out, in one transaction: the marker deleted if it still names
// the visit, the visit updated if still open (and its photos unchanged
// since read), the photos' copy put in the order's partition. A visit past
// its auto-checkout time closes at that time, flagged, as the visitclose
// job would have closed it: the outcome never depends on when the job
// runs.
func (s *Store) CheckOut(ctx context.Context, in checkOut) (Visit, error) {
	open, v := in.Open, in.Visit
	point := CheckOutPoint{Latitude: in.Latitude, Longitude: in.Longitude,
		DistanceInM: meters(DistanceKm(in.Latitude, in.Longitude, v.SiteLatitude, v.SiteLongitude))}
	v.CheckOutAt, v.CheckOut, v.ClosedBy, v.Flags = in.At.Unix(), &point, ClosedByEngineer, nil
	if point.DistanceInM > in.MaxDistanceM {
		v.Flags = append(v.Flags, FlagCheckoutFar)
	}
	if open.DueAt > 0 && in.At.Unix() > open.DueAt {
		v.CheckOutAt, v.ClosedBy = open.DueAt, ClosedByLimit
		v.Flags = append(v.Flags, FlagAutoClosed)
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Delete(s.table.Delete("pk", v.PK).Range("sk", openVisitSK).If("'visit_sk' = ?", open.VisitSK))
	u := s.table.Update("pk", v.PK).Range("sk", v.SK)
	if in.Photos != nil {
		u = setVisitPhotos(u, v.PhotosRev, *in.Photos)
		tx.Put(s.table.Put(orderVisitPhotos(in.TenantID, v, *in.Photos)))
		v.VisitPhotos, v.PhotosRev = *in.Photos, v.PhotosRev+1
	}
	tx.Update(closeVisit(u, v))
	if err := s.addVisitEvent(tx, outbox.WorkOrderCheckedOut, in.TenantID, v, in.At); err != nil {
		return Visit{}, err
	}
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Visit{}, s.explainVisitRefusal(ctx, v.PK, open.VisitSK)
		}
		return Visit{}, fmt.Errorf("check out: %w", err)
	}
	return v, nil
}

// SaveVisitPhotos stores the photos of the engineer's open visit v, in one
// transaction: the visit updated if still open and its photos unchanged
// since read, the photos' copy put in the order's partition.
func (s *Store) SaveVisitPhotos(ctx context.Context, tenantID string, v Visit, p VisitPhotos, now time.Time) (Visit, error) {
	tx := s.db.Dynamo.WriteTx()
	tx.Update(setVisitPhotos(s.table.Update("pk", v.PK).Range("sk", v.SK), v.PhotosRev, p).
		If("attribute_exists('pk') AND attribute_not_exists('check_out_at')"))
	tx.Put(s.table.Put(orderVisitPhotos(tenantID, v, p)))
	saved := v
	saved.VisitPhotos, saved.PhotosRev = p, v.PhotosRev+1
	if err := s.addVisitEvent(tx, outbox.WorkOrderPhotoAdded, tenantID, saved, now); err != nil {
		return Visit{}, err
	}
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Visit{}, s.explainVisitRefusal(ctx, v.PK, v.SK)
		}
		return Visit{}, fmt.Errorf("save the visit's photos: %w", err)
	}
	return saved, nil
}

// setVisitPhotos sets a visit's photos on u if they are still those of
// revision rev.
func setVisitPhotos(u *dynamo.Update, rev int, p VisitPhotos) *dynamo.Update {
	if len(p.Before) > 0 {
		u = u.Set("before_photos", p.Before)
	}
	if len(p.After) > 0 {
		u = u.Set("after_photos", p.After)
	}
	if p.Signature != "" {
		u = u.Set("signature", p.Signature)
	}
	u = u.Add("photos_rev", 1)
	if rev == 0 {
		return u.If("attribute_not_exists('photos_rev')")
	}
	return u.If("'photos_rev' = ?", rev)
}

// closeVisit sets a visit's closing attributes on u, if it is still open.
func closeVisit(u *dynamo.Update, v Visit) *dynamo.Update {
	u = u.Set("check_out_at", v.CheckOutAt).Set("closed_by", v.ClosedBy)
	if v.CheckOut != nil {
		u = u.Set("check_out", *v.CheckOut)
	}
	if len(v.Flags) > 0 {
		u = u.Set("flags", v.Flags)
	}
	return u.If("attribute_exists('pk') AND attribute_not_exists('check_out_at')")
}

// codeVisitChanged refuses a write to a visit whose photos changed since
// it was read (the service tries again).
const codeVisitChanged = "visit_changed"

// explainVisitRefusal tells a check-out or a photo upload to an open
// visit that lost to another change what happened: the visit was closed
// (by the visitclose job, or the engineer's own second tap), or its photos
// changed meanwhile.
func (s *Store) explainVisitRefusal(ctx context.Context, epk, sk string) error {
	var v Visit
	err := s.table.Get("pk", epk).Range("sk", dynamo.Equal, sk).Consistent(true).One(ctx, &v)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return fmt.Errorf("explain the visit's refusal: %w", err)
	}
	switch {
	case v.ClosedBy == ClosedByLimit:
		return apperr.E(apperr.Conflict, "visit_auto_closed",
			"the visit was closed automatically at the enterprise's time limit; ask your admin to correct it if needed")
	case err == nil && v.CheckOutAt == 0:
		return apperr.E(apperr.Conflict, codeVisitChanged, "the visit's photos changed meanwhile; send the request again")
	}
	return apperr.E(apperr.Conflict, "not_checked_in", "you are not checked in at this work order")
}

// dueOpenVisits streams the open-visit markers due by now, oldest first, a
// page (up to 1 MB read) at a time.
func (s *Store) dueOpenVisits(now time.Time) dynamo.PagingIter {
	return s.table.Get("gsi1pk", openVisitsPK).Index(storage.IndexGSI1).
		Range("gsi1sk", dynamo.LessOrEqual, fmt.Sprintf("%012d~", now.Unix())).Iter()
}

// closeOverdue closes the visit a due marker names at its due time, flagged
// auto_closed, in one transaction: the marker deleted if it still names
// that visit, the visit updated if still open. It reports false when the
// visit was closed already (the engineer checked out meanwhile, or the
// index showed a marker since deleted): running twice closes once.
func (s *Store) closeOverdue(ctx context.Context, m openVisit, now time.Time) (bool, error) {
	var v Visit
	err := s.table.Get("pk", m.PK).Range("sk", dynamo.Equal, m.VisitSK).Consistent(true).One(ctx, &v)
	if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) || (err == nil && v.CheckOutAt > 0) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read visit %s of %s: %w", m.VisitSK, m.PK, err)
	}
	v.CheckOutAt, v.ClosedBy, v.Flags = m.DueAt, ClosedByLimit, append(v.Flags, FlagAutoClosed)
	tx := s.db.Dynamo.WriteTx()
	tx.Delete(s.table.Delete("pk", m.PK).Range("sk", openVisitSK).If("'visit_sk' = ?", m.VisitSK))
	tx.Update(closeVisit(s.table.Update("pk", m.PK).Range("sk", m.VisitSK), v))
	if err := s.addVisitEvent(tx, outbox.WorkOrderCheckedOut, m.TenantID, v, now); err != nil {
		return false, err
	}
	err = tx.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("close visit %s of %s: %w", m.VisitSK, m.PK, err)
	}
	return true, nil
}
