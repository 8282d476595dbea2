// Package workorder holds work orders: creation from the portal, follow-up,
// and the engineers' side (nearby orders, status, on-site visits, mileage).
package workorder

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/portal"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/uploads"
)

var (
	idempotencyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	orderIDPattern     = regexp.MustCompile(`^[0-9]{6}[0-9a-f]{12}$`)
)

type portalDeps struct {
	d        *app.Deps
	store    *Store
	sessions *portal.Sessions
	users    *terminaluser.Store
	settings *tenant.Store
}

func newPortalDeps(d *app.Deps) *portalDeps {
	return &portalDeps{d: d, store: NewStore(d.DB), sessions: portal.NewSessions(d), users: terminaluser.NewStore(d.DB), settings: tenant.NewStore(d.DB)}
}

// NewHandler builds the workordercreate function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	p := newPortalDeps(d)
	presigner, err := uploads.NewPresigner(d)
	if err != nil {
		return nil, err
	}
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("POST /portal/work-orders", p.create)
	rt.Handle("POST /portal/uploads", presigner.Handle(p.sessions))
	return rt, nil
}

func (p *portalDeps) create(w http.ResponseWriter, r *http.Request) error {
	c, err := p.sessions.Authenticate(r)
	if err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !idempotencyPattern.MatchString(key) {
		return apperr.BadRequest("invalid_idempotency_key", "Idempotency-Key: 8–64 letters, digits, _ or -")
	}
	var req CreateRequest
	if err := httpapi.DecodeJSON(r, &req, 16<<10); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	for i, photo := range req.Photos {
		if !strings.HasPrefix(photo, "uploads/"+c.TenantID+"/"+c.UserID+"/") {
			return apperr.InvalidField("photos["+strconv.Itoa(i)+"]", "use a key returned by /portal/uploads for you")
		}
	}
	ctx := r.Context()
	if req.Scene != "" {
		sc, err := p.sessions.DecodeScene(ctx, req.Scene)
		if errors.Is(err, portal.ErrBadScene) || (err == nil && sc.TenantID != c.TenantID) {
			return apperr.InvalidField("scene", "not a device QR code of this enterprise")
		}
		if err != nil {
			return err
		}
		if sc.DeviceSN != "" {
			req.DeviceSN = sc.DeviceSN
		}
	}
	sub := Submission{TenantID: c.TenantID, UserID: c.UserID, IdempotencyKey: key, Request: req, At: p.d.Now()}
	res, err := p.store.CreateFor(ctx, sub, func(user terminaluser.User, found bool, st tenant.Settings) error {
		if !found {
			return apperr.E(apperr.Unauthenticated, "invalid_session", "log in again")
		}
		if !terminaluser.CanCreate(st, user) {
			return apperr.E(apperr.Forbidden, "registration_required", "this enterprise requires registration before you can submit work orders")
		}
		return nil
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Replayed || res.Duplicate {
		status = http.StatusOK
	}
	httpapi.WriteJSON(w, status, map[string]any{"work_order": res.Order, "duplicate": res.Duplicate, "replayed": res.Replayed})
	return nil
}

// NewFollowUpHandler builds the workorders function's handler: a terminal
// user's own orders, detail with timeline, cancel and rating.
func NewFollowUpHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	p := newPortalDeps(d)
	rt := httpapi.NewRouter(d.Log)
	mine := func(r *http.Request) (portal.Claims, Order, error) {
		c, err := p.sessions.Authenticate(r)
		if err != nil {
			return c, Order{}, err
		}
		id := r.PathValue("id")
		if !orderIDPattern.MatchString(id) {
			return c, Order{}, apperr.Missing("no such work order")
		}
		o, err := p.store.Get(r.Context(), c.TenantID, id)
		if err != nil {
			return c, Order{}, err
		}
		if o.UserID != c.UserID {
			return c, Order{}, apperr.Missing("no such work order")
		}
		return c, o, nil
	}
	rt.Handle("GET /portal/work-orders", func(w http.ResponseWriter, r *http.Request) error {
		c, err := p.sessions.Authenticate(r)
		if err != nil {
			return err
		}
		limit := 20
		if v := r.URL.Query().Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 50 {
				return apperr.InvalidField("limit", "between 1 and 50")
			}
		}
		cursor, err := decodeCursor(r.URL.Query().Get("cursor"), c.TenantID, c.UserID)
		if err != nil {
			return err
		}
		orders, next, err := p.store.Mine(r.Context(), c.TenantID, c.UserID, limit, cursor)
		if err != nil {
			return err
		}
		if orders == nil {
			orders = []Order{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"work_orders": orders, "next_cursor": encodeCursor(next)})
		return nil
	})
	rt.Handle("GET /portal/work-orders/{id}", func(w http.ResponseWriter, r *http.Request) error {
		_, o, err := mine(r)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, o)
		return nil
	})
	rt.Handle("POST /portal/work-orders/{id}/cancel", func(w http.ResponseWriter, r *http.Request) error {
		_, o, err := mine(r)
		if err != nil {
			return err
		}
		if o.Status != StatusSubmitted && o.Status != StatusAccepted {
			return apperr.E(apperr.Conflict, "cannot_cancel", "an engineer is already on the way; contact the service desk to cancel")
		}
		out, err := p.store.transition(r.Context(), o, StatusCancelled, "cancelled by the customer", p.d.Now(), nil)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	})
	rt.Handle("POST /portal/work-orders/{id}/rating", func(w http.ResponseWriter, r *http.Request) error {
		_, o, err := mine(r)
		if err != nil {
			return err
		}
		var req struct {
			Stars   int    `json:"stars"`
			Comment string `json:"comment"`
		}
		if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
			return err
		}
		if req.Stars < 1 || req.Stars > 5 {
			return apperr.InvalidField("stars", "between 1 and 5")
		}
		if len([]rune(req.Comment)) > 500 {
			return apperr.InvalidField("comment", "at most 500 characters")
		}
		if o.Status != StatusCompleted {
			return apperr.E(apperr.Conflict, "not_completed", "rate the work order after it is completed")
		}
		err = p.store.table.Update("pk", o.PK).Range("sk", "order").Set("rating", req.Stars).Set("comment", req.Comment).
			Add("version", 1).If("attribute_not_exists('rating') AND 'status' = ?", StatusCompleted).Value(r.Context(), &o)
		if dynamo.IsCondCheckFailed(err) {
			return apperr.E(apperr.Conflict, "already_rated", "this work order was already rated")
		}
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, o)
		return nil
	})
	return rt, nil
}

// Cursors are opaque to clients but bound to the user: a cursor of another
// user's list is refused. Every key attribute is a string.
func encodeCursor(k dynamo.PagingKey) string {
	if k == nil {
		return ""
	}
	plain := map[string]string{}
	for name, v := range k {
		if sv, ok := v.(*types.AttributeValueMemberS); ok {
			plain[name] = sv.Value
		}
	}
	raw, _ := json.Marshal(plain)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(s, tenantID, userID string) (dynamo.PagingKey, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 2048 {
		return nil, apperr.InvalidField("cursor", "malformed")
	}
	var plain map[string]string
	if err := json.Unmarshal(raw, &plain); err != nil || len(plain) != 4 {
		return nil, apperr.InvalidField("cursor", "malformed")
	}
	if plain["gsi1pk"] != userOrdersPK(tenantID, userID) {
		return nil, apperr.InvalidField("cursor", "not a cursor of your list")
	}
	k := dynamo.PagingKey{}
	for _, name := range []string{"pk", "sk", "gsi1pk", "gsi1sk"} {
		v, ok := plain[name]
		if !ok {
			return nil, apperr.InvalidField("cursor", "malformed")
		}
		k[name] = &types.AttributeValueMemberS{Value: v}
	}
	return k, nil
}
