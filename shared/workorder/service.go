package workorder

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

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
	photos   *uploads.Bucket
	attacher *uploads.Attacher
	// staff looks engineers up in the tenant's directory (nil where the
	// function does not dispatch).
	staff StaffLookup
	now   func() time.Time
}

// WithStaff lets the service dispatch with the tenant's engineer
// directory.
func (s *Service) WithStaff(lookup StaffLookup) *Service { s.staff = lookup; return s }

// NewService returns the work-order flows over their collaborators. photos
// is the upload bucket: the photos of new orders and visits are verified
// and tagged attached there, and the detail of an order links its photos.
func NewService(store *Store, scenes *qrscene.Codec, settings *tenant.Store, photos *uploads.Bucket, now func() time.Time) *Service {
	s := &Service{store: store, scenes: scenes, settings: settings, photos: photos, now: now}
	if photos != nil {
		s.attacher = uploads.NewAttacher(photos)
	}
	return s
}

// Submit creates a terminal user's order: the photos must be the user's own
// uploads, a scanned device QR names the device, and the tenant's settings
// decide whether the user may submit at all. A new order's photos are
// verified (uploaded images of at most uploads.MaxBytes) and tagged
// attached before the order is written, so they never outlive an order's
// record by expiring; a replay or an open duplicate reads and tags nothing.
func (s *Service) Submit(ctx context.Context, c usersession.Claims, idemKey string, req CreateRequest) (CreateResult, error) {
	if err := req.Validate(); err != nil {
		return CreateResult{}, err
	}
	owner := uploads.TerminalUser(c.TenantID, c.UserID)
	for i, photo := range req.Photos {
		field := "photos[" + strconv.Itoa(i) + "]"
		if !owner.Owns(photo) {
			return CreateResult{}, apperr.InvalidField(field, "use a key returned by /portal/uploads for you")
		}
		if slices.Contains(req.Photos[:i], photo) {
			return CreateResult{}, apperr.InvalidField(field, "a photo is sent once")
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
	return s.store.CreateFor(ctx, sub, mayCreate, s.photosOfNewOrder(req.Photos))
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

// photosOfNewOrder verifies and attaches a new order's photos before it is
// written (never for a replay or a duplicate).
func (s *Service) photosOfNewOrder(keys []string) BeforeWrite {
	if len(keys) == 0 {
		return nil
	}
	return func(ctx context.Context) error { return s.takePhotos(ctx, keys) }
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

// OwnDetail returns one of the user's orders with links to its photos and
// its visits' photos; another user's is not found.
func (s *Service) OwnDetail(ctx context.Context, c usersession.Claims, id string) (Detail, error) {
	o, visits, err := s.store.Detail(ctx, c.TenantID, id)
	if err != nil {
		return Detail{}, err
	}
	if o.UserID != c.UserID {
		return Detail{}, apperr.Missing("no such work order")
	}
	return s.detail(ctx, o, visits)
}

// AdminDetail returns an order of the admin's tenant with links to its
// photos and its visits' photos.
func (s *Service) AdminDetail(ctx context.Context, c staffauth.Claims, id string) (Detail, error) {
	o, visits, err := s.store.Detail(ctx, c.TenantID, id)
	if err != nil {
		return Detail{}, err
	}
	return s.detail(ctx, o, visits)
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
	return s.store.transition(ctx, o, StatusCancelled, "You cancelled the request", s.now(), nil)
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
	return s.store.Rate(ctx, o, r, s.now())
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
	offered := o.Status == StatusSubmitted && o.EngineerID == ""
	if !offered && (o.Status != StatusAssigned || o.EngineerID != c.Subject) {
		return Order{}, apperr.E(apperr.Conflict, "not_available", "this work order is no longer open for acceptance")
	}
	name := o.EngineerName
	if offered && s.staff != nil { // taken from the nearby list: the directory names them, if it has them
		if eng, err := s.staff(ctx, c.TenantID, c.Subject); err == nil {
			name = eng.Name
		} else if !apperr.Is(err, "not_found") {
			return Order{}, err
		}
	}
	return s.store.transition(ctx, o, StatusAccepted, "", s.now(), func(next *Order) {
		if offered {
			next.AssignedAt = s.now().Unix()
		}
		next.EngineerID, next.EngineerName = c.Subject, name
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
// the whole order once it is assigned to them (a Detail, with links to the
// photos), the OfferedOrder while it is offered (the number of photos, no
// links), and not found otherwise (assigned to someone else, closed before
// they took it), so an engineer learns nothing of others' work.
func (s *Service) EngineerDetail(ctx context.Context, c staffauth.Claims, id string) (any, error) {
	o, visits, err := s.store.Detail(ctx, c.TenantID, id)
	switch {
	case err != nil:
		return nil, err
	case o.EngineerID == c.Subject:
		return s.detail(ctx, o, visits)
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
	now := s.now()
	var eta time.Time
	if req.ETA != 0 {
		eta = time.Unix(req.ETA, 0)
		if req.Status != StatusEnRoute || !eta.After(now) || eta.Sub(now) > maxETA {
			return Order{}, apperr.InvalidField("eta", "with en_route only: the expected arrival (unix seconds), within 24 hours")
		}
	}
	note := req.Note
	if note == "" && req.Status == StatusEnRoute {
		st, err := s.settings.Settings(ctx, c.TenantID)
		if err != nil {
			return Order{}, err
		}
		note = etaWords(o.EngineerName, eta, st.Location())
	}
	return s.store.transition(ctx, o, req.Status, note, now, func(next *Order) {
		if req.Status == StatusEnRoute {
			next.ETA = req.ETA
		}
	})
}

// CheckIn records the engineer on site, within the tenant's distance of
// the order's location and the check-in limits; the visit is filed under
// the local date in the tenant's time zone.
func (s *Service) CheckIn(ctx context.Context, c staffauth.Claims, id string, at Location) (Visit, error) {
	if err := terminaluser.ValidLocation(at.Latitude, at.Longitude); err != nil {
		return Visit{}, err
	}
	if err := validEngineerID(c.Subject); err != nil {
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
	return s.store.CheckIn(ctx, checkIn{TenantID: c.TenantID, EngineerID: c.Subject, Order: o,
		Latitude: at.Latitude, Longitude: at.Longitude, At: s.now(), Settings: st})
}

// CheckOutRequest is where the engineer checks out, with the visit's
// photos not sent yet (optional).
type CheckOutRequest struct {
	Location
	VisitPhotosRequest
}

// CheckOut closes the engineer's open visit at the order where they stand,
// with the photos sent along (as AddVisitPhotos); farther from the site
// than the tenant's check-out distance is accepted and flagged. The visit
// holds the site, so the order is not read: an order reassigned meanwhile
// can still be checked out of.
func (s *Service) CheckOut(ctx context.Context, c staffauth.Claims, id string, req CheckOutRequest) (Visit, error) {
	if err := terminaluser.ValidLocation(req.Latitude, req.Longitude); err != nil {
		return Visit{}, err
	}
	if err := s.visitRequest(c, id, req.VisitPhotosRequest); err != nil {
		return Visit{}, err
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return Visit{}, err
	}
	return s.writeOpenVisit(ctx, c, id, req.VisitPhotosRequest, func(open openVisit, v Visit, photos *VisitPhotos) (Visit, error) {
		return s.store.CheckOut(ctx, checkOut{TenantID: c.TenantID, Latitude: req.Latitude, Longitude: req.Longitude, At: s.now(),
			MaxDistanceM: st.MaxCheckoutDistanceM, Open: open, Visit: v, Photos: photos})
	})
}

// AddVisitPhotos adds the engineer's photos (before and after the work)
// and the customer's signature to their open visit at the order: keys of
// the engineer's own uploads, verified and tagged attached before the
// visit is written. Keys the visit holds already are skipped, so a retry
// changes nothing; the answer is the visit with links to its photos.
func (s *Service) AddVisitPhotos(ctx context.Context, c staffauth.Claims, id string, req VisitPhotosRequest) (Visit, error) {
	if err := s.visitRequest(c, id, req); err != nil {
		return Visit{}, err
	}
	if req.empty() {
		return Visit{}, apperr.BadRequest("no_photos", "send photos before or after the work, or the customer's signature")
	}
	return s.writeOpenVisit(ctx, c, id, req, func(_ openVisit, v Visit, photos *VisitPhotos) (Visit, error) {
		if photos == nil {
			return v, nil // nothing new: a retry
		}
		return s.store.SaveVisitPhotos(ctx, c.TenantID, v, *photos, s.now())
	})
}

// visitRequest checks an engineer's request to their open visit at the
// order: an order id and engineer id that can name one (else they are not
// checked in there), and photos of their own.
func (s *Service) visitRequest(c staffauth.Claims, id string, req VisitPhotosRequest) error {
	if !orderIDPattern.MatchString(id) || validEngineerID(c.Subject) != nil {
		return apperr.E(apperr.Conflict, "not_checked_in", "you are not checked in at this work order")
	}
	return req.validate(uploads.Engineer(c.TenantID, c.Subject))
}

// visitWriteAttempts bounds the writes of one request to an open visit
// that lose to another change of its photos: each loss means another
// request's write landed, so the next attempt reads afresh at once. A
// mini program attaching photos as their uploads finish sends a few such
// requests together.
const visitWriteAttempts = 5

// writeOpenVisit reads the engineer's open visit at the order, merges the
// request's photos into the visit's, verifies and attaches those new to
// it, and runs write with the visit as read and the photos to store (nil
// when nothing is new). A write that lost to another change of the
// visit's photos (visit_changed) runs again on a fresh read; photos
// already taken are not checked again. The answer links the photos.
func (s *Service) writeOpenVisit(ctx context.Context, c staffauth.Claims, id string, req VisitPhotosRequest,
	write func(open openVisit, v Visit, photos *VisitPhotos) (Visit, error),
) (Visit, error) {
	taken := map[string]bool{}
	for attempt := 1; ; attempt++ {
		open, v, err := s.store.readOpenVisit(ctx, c.TenantID, c.Subject, id)
		if err != nil {
			return Visit{}, err
		}
		var photos *VisitPhotos
		if !req.empty() {
			merged, fresh, err := v.merge(req)
			if err != nil {
				return Visit{}, err
			}
			if len(fresh) > 0 {
				photos = &merged
			}
			fresh = slices.DeleteFunc(fresh, func(key string) bool { return taken[key] })
			if err := s.takePhotos(ctx, fresh); err != nil {
				return Visit{}, err
			}
			for _, key := range fresh {
				taken[key] = true
			}
		}
		v, err = write(open, v, photos)
		if apperr.Is(err, codeVisitChanged) && attempt < visitWriteAttempts {
			continue
		}
		if err != nil {
			return Visit{}, err
		}
		return s.withViews(ctx, v)
	}
}
