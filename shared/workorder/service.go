package workorder

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/uploads"
	"wxchannel/shared/usersession"
)

// Service is what terminal users and engineers do with work orders; the
// handlers decode a request, call one method and encode its result.
type Service struct {
	store    *Store
	scenes   *qrscene.Codec
	settings *tenant.Store
	photos   *uploads.Attacher
	now      func() time.Time
}

// NewService returns the work-order flows over their collaborators. photos
// marks a new order's photos as attached; only the function that creates
// orders has one (nil elsewhere).
func NewService(store *Store, scenes *qrscene.Codec, settings *tenant.Store, photos *uploads.Attacher, now func() time.Time) *Service {
	return &Service{store: store, scenes: scenes, settings: settings, photos: photos, now: now}
}

// Submit creates a terminal user's order: the photos must be the user's own
// uploads, a scanned device QR names the device, and the tenant's settings
// decide whether the user may submit at all. The photos are tagged attached
// before the order is written, so they never outlive an order's record by
// expiring; a replay or an open duplicate tags nothing.
func (s *Service) Submit(ctx context.Context, c usersession.Claims, idemKey string, req CreateRequest) (CreateResult, error) {
	if err := req.Validate(); err != nil {
		return CreateResult{}, err
	}
	for i, photo := range req.Photos {
		if !strings.HasPrefix(photo, "uploads/"+c.TenantID+"/"+c.UserID+"/") {
			return CreateResult{}, apperr.InvalidField("photos["+strconv.Itoa(i)+"]", "use a key returned by /portal/uploads for you")
		}
	}
	if req.Scene != "" {
		sc, err := s.scenes.Decode(ctx, req.Scene)
		if errors.Is(err, qrscene.ErrInvalid) || (err == nil && sc.TenantID != c.TenantID) {
			return CreateResult{}, apperr.InvalidField("scene", "not a device QR code of this enterprise")
		}
		if err != nil {
			return CreateResult{}, err
		}
		if sc.DeviceSN != "" {
			req.DeviceSN = sc.DeviceSN
		}
	}
	sub := Submission{TenantID: c.TenantID, UserID: c.UserID, IdempotencyKey: idemKey, Request: req, At: s.now()}
	return s.store.CreateFor(ctx, sub, mayCreate, s.attachPhotos(req.Photos))
}

// mayCreate lets a known user submit where the tenant's settings allow it.
func mayCreate(user terminaluser.User, found bool, st tenant.Settings) error {
	if !found {
		return apperr.E(apperr.Unauthenticated, "invalid_session", "log in again")
	}
	if !terminaluser.CanCreate(st, user) {
		return apperr.E(apperr.Forbidden, "registration_required", "this enterprise requires registration before you can submit work orders")
	}
	return nil
}

// attachPhotos tags a new order's photos attached before it is written.
func (s *Service) attachPhotos(keys []string) BeforeWrite {
	if len(keys) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		if s.photos == nil {
			return errors.New("attach photos: this function does not create work orders")
		}
		return s.photos.Attach(ctx, keys)
	}
}

// Page is one page of a user's orders and the cursor of the next.
type Page struct {
	Orders     []Order `json:"work_orders"`
	NextCursor string  `json:"next_cursor"`
}

// Mine lists the user's orders newest first; cursor is the previous page's.
func (s *Service) Mine(ctx context.Context, c usersession.Claims, limit int, cursor string) (Page, error) {
	if limit < 1 || limit > 50 {
		return Page{}, apperr.InvalidField("limit", "between 1 and 50")
	}
	start, err := decodeCursor(cursor, c.TenantID, c.UserID)
	if err != nil {
		return Page{}, err
	}
	orders, next, err := s.store.Mine(ctx, c.TenantID, c.UserID, limit, start)
	if err != nil {
		return Page{}, err
	}
	if orders == nil {
		orders = []Order{}
	}
	return Page{Orders: orders, NextCursor: encodeCursor(next)}, nil
}

// Own returns one of the user's orders; another user's is not found.
func (s *Service) Own(ctx context.Context, c usersession.Claims, id string) (Order, error) {
	o, err := s.store.Get(ctx, c.TenantID, id)
	if err != nil {
		return Order{}, err
	}
	if o.UserID != c.UserID {
		return Order{}, apperr.Missing("no such work order")
	}
	return o, nil
}

// Cancel cancels the user's order while nobody is on the way yet.
func (s *Service) Cancel(ctx context.Context, c usersession.Claims, id string) (Order, error) {
	o, err := s.Own(ctx, c, id)
	if err != nil {
		return Order{}, err
	}
	if !slices.Contains(customerCancellable, o.Status) {
		return Order{}, apperr.E(apperr.Conflict, "cannot_cancel", "an engineer is already on the way; contact the service desk to cancel")
	}
	return s.store.transition(ctx, o, StatusCancelled, "cancelled by the customer", s.now(), nil)
}

// Rate records the user's rating of a completed order, once.
func (s *Service) Rate(ctx context.Context, c usersession.Claims, id string, r RatingRequest) (Order, error) {
	o, err := s.Own(ctx, c, id)
	if err != nil {
		return Order{}, err
	}
	if err := r.Validate(); err != nil {
		return Order{}, err
	}
	if o.Status != StatusCompleted {
		return Order{}, apperr.E(apperr.Conflict, "not_completed", "rate the work order after it is completed")
	}
	return s.store.Rate(ctx, o, r)
}

// NearbyQuery is where an engineer looks for work.
type NearbyQuery struct {
	Latitude, Longitude, RadiusKm float64
}

// Nearby lists the open, unassigned orders of the engineer's tenant near a
// point, nearest first.
func (s *Service) Nearby(ctx context.Context, c staffauth.Claims, q NearbyQuery) ([]NearbyOrder, error) {
	if err := terminaluser.ValidLocation(q.Latitude, q.Longitude); err != nil {
		return nil, err
	}
	if q.RadiusKm <= 0 || q.RadiusKm > MaxNearbyKm {
		return nil, apperr.InvalidField("radius_km", "greater than 0 and at most 15")
	}
	orders, err := s.store.Nearby(ctx, c.TenantID, q.Latitude, q.Longitude, q.RadiusKm, 50)
	if orders == nil {
		orders = []NearbyOrder{}
	}
	return orders, err
}

// Accept assigns an open order to the engineer.
func (s *Service) Accept(ctx context.Context, c staffauth.Claims, id string) (Order, error) {
	o, err := s.store.Get(ctx, c.TenantID, id)
	if err != nil {
		return Order{}, err
	}
	if o.Status != StatusSubmitted {
		return Order{}, apperr.E(apperr.Conflict, "not_available", "this work order is no longer open for acceptance")
	}
	return s.store.transition(ctx, o, StatusAccepted, "accepted by engineer "+c.Subject, s.now(), func(u *dynamo.Update) *dynamo.Update {
		return u.Set("engineer_id", c.Subject)
	})
}

// OfferedOrder is an order offered to the tenant's engineers as one of
// them sees it before accepting it: what the work is and the area it is
// in, without the customer's name, phone, address and photos, which the
// engineer who accepts it gets.
type OfferedOrder struct {
	ID          string `json:"id"`
	Category    string `json:"category"`
	Description string `json:"description"`
	DeviceSN    string `json:"device_sn,omitempty"`
	Area        Area   `json:"area"`
	Status      Status `json:"status"`
	CreatedAt   int64  `json:"created_at"`
	Photos      int    `json:"photo_count"`
}

// EngineerDetail is an order of the engineer's tenant as they may see it:
// the whole order once it is assigned to them, the OfferedOrder while it
// is offered, and not found otherwise (assigned to someone else, closed
// before they took it), so an engineer learns nothing of others' work.
func (s *Service) EngineerDetail(ctx context.Context, c staffauth.Claims, id string) (any, error) {
	o, err := s.store.Get(ctx, c.TenantID, id)
	switch {
	case err != nil:
		return nil, err
	case o.EngineerID == c.Subject:
		return o, nil
	case o.Status.Offered() && o.EngineerID == "":
		return OfferedOrder{ID: o.ID, Category: o.Category, Description: o.Description, DeviceSN: o.DeviceSN,
			Area: AreaOf(o.Latitude, o.Longitude), Status: o.Status, CreatedAt: o.CreatedAt, Photos: len(o.Photos)}, nil
	default:
		return nil, apperr.Missing("no such work order")
	}
}

// assigned returns an order of the engineer's tenant assigned to them.
func (s *Service) assigned(ctx context.Context, c staffauth.Claims, id string) (Order, error) {
	o, err := s.store.Get(ctx, c.TenantID, id)
	if err != nil {
		return Order{}, err
	}
	if o.EngineerID != c.Subject {
		return Order{}, apperr.E(apperr.Forbidden, "not_assigned", "this work order is assigned to another engineer")
	}
	return o, nil
}

// Move changes the status of an order assigned to the engineer along the
// transition table.
func (s *Service) Move(ctx context.Context, c staffauth.Claims, id string, req MoveRequest) (Order, error) {
	if err := req.Validate(); err != nil {
		return Order{}, err
	}
	o, err := s.assigned(ctx, c, id)
	if err != nil {
		return Order{}, err
	}
	if !slices.Contains(engineerMoves[o.Status], req.Status) {
		return Order{}, apperr.Errorf(apperr.Conflict, "invalid_transition", "cannot move a work order from %s to %s", o.Status, req.Status)
	}
	return s.store.transition(ctx, o, req.Status, req.Note, s.now(), nil)
}

// CheckIn records the engineer on site, within the tenant's distance of
// the order's location.
func (s *Service) CheckIn(ctx context.Context, c staffauth.Claims, id string, at Location) (Visit, error) {
	if err := terminaluser.ValidLocation(at.Latitude, at.Longitude); err != nil {
		return Visit{}, err
	}
	o, err := s.assigned(ctx, c, id)
	if err != nil {
		return Visit{}, err
	}
	if !slices.Contains(checkInAllowed, o.Status) {
		return Visit{}, apperr.E(apperr.Conflict, "invalid_state", "check in when you are on the way or working on the order")
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return Visit{}, err
	}
	return s.store.CheckIn(ctx, c.TenantID, c.Subject, o, at.Latitude, at.Longitude, st.MaxCheckinDistanceM, s.now())
}

// CheckOut closes the engineer's open visit at the order.
func (s *Service) CheckOut(ctx context.Context, c staffauth.Claims, id string, at Location) (Visit, error) {
	if err := terminaluser.ValidLocation(at.Latitude, at.Longitude); err != nil {
		return Visit{}, err
	}
	o, err := s.assigned(ctx, c, id)
	if err != nil {
		return Visit{}, err
	}
	return s.store.CheckOut(ctx, c.TenantID, c.Subject, o.ID, s.now())
}

// MileageReport is an engineer's reimbursable distance over a period.
type MileageReport struct {
	Engineer string       `json:"engineer"`
	From     string       `json:"from"`
	To       string       `json:"to"`
	Days     []DayMileage `json:"days"`
	TotalKm  float64      `json:"total_km"`
}

// Mileage reports the engineer's daily distances between dates from and to
// (YYYY-MM-DD, at most 92 days apart).
func (s *Service) Mileage(ctx context.Context, c staffauth.Claims, from, to string) (MileageReport, error) {
	start, err1 := time.Parse(time.DateOnly, from)
	end, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || end.Before(start) || end.Sub(start) > 92*24*time.Hour {
		return MileageReport{}, apperr.BadRequest("invalid_period",
			"from and to are dates (YYYY-MM-DD), to not before from, at most 92 days apart")
	}
	days, total, err := s.store.Mileage(ctx, c.TenantID, c.Subject, start, end)
	if err != nil {
		return MileageReport{}, err
	}
	if days == nil {
		days = []DayMileage{}
	}
	return MileageReport{Engineer: c.Subject, From: from, To: to, Days: days, TotalKm: total}, nil
}
