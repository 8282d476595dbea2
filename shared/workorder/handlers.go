// Package workorder holds work orders: creation from the portal, follow-up,
// and the engineers' side (nearby orders, status, on-site visits, mileage),
// with the photos of orders and visits and who may see them.
package workorder

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/notify"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tenant"
	"wxchannel/shared/uploads"
	"wxchannel/shared/usersession"
)

var idempotencyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// serviceFrom builds a function's one work-order service over its one
// upload-bucket client (uploads.NewBucket: no network call).
func serviceFrom(d *app.Deps) (*Service, *uploads.Bucket, error) {
	bucket, err := uploads.NewBucket(d.Config)
	if err != nil {
		return nil, nil, err
	}
	return NewService(NewStore(d.DB), qrscene.FromDeps(d), tenant.NewStore(d.DB), bucket, d.Now).WithStaff(staffFrom(d)), bucket, nil
}

// formSigner signs upload forms to the bucket within the owners' slots,
// counted in the service table on the functions' clock. The forms are
// signed on the wall clock: S3 checks their date and expiry against its
// own, as it checks the SDK's signatures (made on the wall clock too).
func formSigner(d *app.Deps, bucket *uploads.Bucket) *uploads.FormSigner {
	return uploads.NewFormSigner(bucket, uploads.NewSlots(d.DB, d.Now), time.Now)
}

// signUploads answers an upload request with forms for owner's folder.
func signUploads(w http.ResponseWriter, r *http.Request, forms *uploads.FormSigner, owner uploads.Owner) error {
	var req uploads.Request
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	ups, err := forms.Sign(r.Context(), owner, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"uploads": ups, "max_bytes": uploads.MaxBytes})
	return nil
}

// createHandler is the workordercreate function: new orders and photo
// uploads from the portal.
type createHandler struct {
	orders   *Service
	sessions *usersession.Sessions
	forms    *uploads.FormSigner
	notify   *notify.Portal
	log      *slog.Logger
}

// NewCreateHandler builds the workordercreate function's handler. One
// upload-bucket client serves the upload forms and the checks and tagging
// of a new order's photos.
func NewCreateHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	orders, bucket, err := serviceFrom(d)
	if err != nil {
		return nil, err
	}
	h := &createHandler{orders: orders, sessions: usersession.FromDeps(d), forms: formSigner(d, bucket),
		notify: notify.PortalFromDeps(d), log: d.Log}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *createHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /portal/work-orders", h.sessions.Require(h.handleCreate))
	rt.Handle("POST /portal/uploads", h.sessions.Require(h.handleUploads))
	return rt
}

func (h *createHandler) handleCreate(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !idempotencyPattern.MatchString(key) {
		return apperr.BadRequest("invalid_idempotency_key", "Idempotency-Key: 8–64 letters, digits, _ or -")
	}
	var req CreateRequest
	if err := httpapi.DecodeJSON(r, &req, 16<<10); err != nil {
		return err
	}
	res, err := h.orders.Submit(r.Context(), c, key, req)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Replayed || res.Duplicate {
		status = http.StatusOK
	}
	out := map[string]any{"work_order": res.Order, "duplicate": res.Duplicate, "replayed": res.Replayed}
	// What the mini program asks the user to accept next, so that they
	// hear how the order goes (wx.requestSubscribeMessage with these ids).
	// The order is saved either way: a failed read only leaves it out.
	if subs, err := h.notify.RequestNext(r.Context(), c); err == nil {
		out["subscribe"] = subs
	} else {
		h.log.WarnContext(r.Context(), "subscriptions to request", "err", err.Error())
	}
	httpapi.WriteJSON(w, status, out)
	return nil
}

func (h *createHandler) handleUploads(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	return signUploads(w, r, h.forms, uploads.TerminalUser(c.TenantID, c.UserID))
}

// followUpHandler is the workorders function: a terminal user's own
// orders, detail with timeline and photos, cancel and rating.
type followUpHandler struct {
	orders   *Service
	sessions *usersession.Sessions
}

// NewFollowUpHandler builds the workorders function's handler.
func NewFollowUpHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	orders, _, err := serviceFrom(d)
	if err != nil {
		return nil, err
	}
	h := &followUpHandler{orders: orders, sessions: usersession.FromDeps(d)}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *followUpHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /portal/work-orders", h.sessions.Require(h.handleList))
	rt.Handle("GET /portal/work-orders/{id}", h.sessions.Require(h.handleDetail))
	rt.Handle("POST /portal/work-orders/{id}/cancel", h.sessions.Require(h.handleCancel))
	rt.Handle("POST /portal/work-orders/{id}/rating", h.sessions.Require(h.handleRate))
	return rt
}

func (h *followUpHandler) handleList(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return apperr.InvalidField("limit", "between 1 and 50")
		}
		limit = n
	}
	page, err := h.orders.Mine(r.Context(), c, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	for i, o := range page.Orders {
		page.Orders[i] = forCustomer(o)
	}
	httpapi.WriteJSON(w, http.StatusOK, page)
	return nil
}

func (h *followUpHandler) handleDetail(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	o, err := h.orders.OwnDetail(r.Context(), c, r.PathValue("id"))
	o.Order = forCustomer(o.Order)
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *followUpHandler) handleCancel(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	o, err := h.orders.Cancel(r.Context(), c, r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, forCustomer(o), err)
}

func (h *followUpHandler) handleRate(w http.ResponseWriter, r *http.Request, c usersession.Claims) error {
	var req RatingRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	o, err := h.orders.Rate(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, forCustomer(o), err)
}

// engineerHandler is the engineerapi function: nearby orders, acceptance,
// status, visits with their photos, and mileage.
type engineerHandler struct {
	orders *Service
	staff  *staffauth.Verifier
	forms  *uploads.FormSigner
}

// NewEngineerHandler builds the engineerapi function's handler.
func NewEngineerHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	orders, bucket, err := serviceFrom(d)
	if err != nil {
		return nil, err
	}
	h := &engineerHandler{orders: orders, staff: staff, forms: formSigner(d, bucket)}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *engineerHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /engineer/work-orders/nearby", h.staff.Engineer(h.handleNearby))
	rt.Handle("GET /engineer/work-orders/{id}", h.staff.Engineer(h.handleDetail))
	rt.Handle("POST /engineer/work-orders/{id}/accept", h.staff.Engineer(h.handleAccept))
	rt.Handle("POST /engineer/work-orders/{id}/status", h.staff.Engineer(h.handleMove))
	rt.Handle("POST /engineer/work-orders/{id}/check-in", h.staff.Engineer(h.handleCheckIn))
	rt.Handle("POST /engineer/work-orders/{id}/check-out", h.staff.Engineer(h.handleCheckOut))
	rt.Handle("POST /engineer/work-orders/{id}/visit-photos", h.staff.Engineer(h.handleVisitPhotos))
	rt.Handle("POST /engineer/uploads", h.staff.Engineer(h.handleUploads))
	rt.Handle("GET /engineer/mileage", h.staff.Engineer(h.handleMileage))
	rt.Handle("GET /engineer/work-orders", h.staff.Engineer(h.handleMyDay))
	rt.Handle("POST /engineer/work-orders/{id}/decline", h.staff.Engineer(h.engineerMove(h.orders.Decline)))
	rt.Handle("POST /engineer/work-orders/{id}/transfer", h.staff.Engineer(h.handleTransfer))
	rt.Handle("POST /engineer/work-orders/{id}/hold", h.staff.Engineer(h.engineerMove(h.orders.Hold)))
	rt.Handle("POST /engineer/work-orders/{id}/resume", h.staff.Engineer(h.handleResume))
	rt.Handle("POST /engineer/work-orders/{id}/cannot-complete", h.staff.Engineer(h.engineerMove(h.orders.CannotComplete)))
	return rt
}

func (h *engineerHandler) handleNearby(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	q := r.URL.Query()
	lat, err1 := strconv.ParseFloat(q.Get("lat"), 64)
	lng, err2 := strconv.ParseFloat(q.Get("lng"), 64)
	if err1 != nil || err2 != nil {
		return apperr.BadRequest("invalid_location", "lat and lng are required numbers")
	}
	query := NearbyQuery{Latitude: lat, Longitude: lng, RadiusKm: 10}
	if v := q.Get("radius_km"); v != "" {
		radius, err := strconv.ParseFloat(v, 64)
		if err != nil {
			radius = -1 // refused with the range message
		}
		query.RadiusKm = radius
	}
	orders, err := h.orders.Nearby(r.Context(), c, query)
	return httpapi.Reply(w, http.StatusOK, map[string]any{"work_orders": orders}, err)
}

func (h *engineerHandler) handleDetail(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	o, err := h.orders.EngineerDetail(r.Context(), c, r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *engineerHandler) handleAccept(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	o, err := h.orders.Accept(r.Context(), c, r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *engineerHandler) handleMove(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req MoveRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	o, err := h.orders.Move(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *engineerHandler) handleCheckIn(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var at Location
	if err := httpapi.DecodeJSON(r, &at, 1<<10); err != nil {
		return err
	}
	v, err := h.orders.CheckIn(r.Context(), c, r.PathValue("id"), at)
	return httpapi.Reply(w, http.StatusCreated, v, err)
}

func (h *engineerHandler) handleCheckOut(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req CheckOutRequest
	if err := httpapi.DecodeJSON(r, &req, visitPhotosBodyLimit); err != nil {
		return err
	}
	v, err := h.orders.CheckOut(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, v, err)
}

// visitPhotosBodyLimit bounds a body with a visit's photos: 19 keys of at
// most 159 bytes (uploads' key pattern), quoted, and the rest.
const visitPhotosBodyLimit = 4 << 10

func (h *engineerHandler) handleVisitPhotos(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req VisitPhotosRequest
	if err := httpapi.DecodeJSON(r, &req, visitPhotosBodyLimit); err != nil {
		return err
	}
	v, err := h.orders.AddVisitPhotos(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, v, err)
}

func (h *engineerHandler) handleUploads(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	return signUploads(w, r, h.forms, uploads.Engineer(c.TenantID, c.Subject))
}

func (h *engineerHandler) handleMileage(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	rep, err := h.orders.Mileage(r.Context(), c, r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	return httpapi.Reply(w, http.StatusOK, rep, err)
}
