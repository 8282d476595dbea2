package workorder

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
)

// NewEngineerHandler builds the engineerapi function's handler.
func NewEngineerHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	store := NewStore(d.DB)
	auth := staffauth.NewVerifier(d)
	settings := tenant.NewStore(d.DB)
	rt := httpapi.NewRouter(d.Log)
	engineer := func(h staffauth.StaffHandler) httpapi.HandlerFunc { return auth.Require(h, staffauth.RoleEngineer) }
	order := func(r *http.Request, c staffauth.Claims) (Order, error) {
		id := r.PathValue("id")
		if !orderIDPattern.MatchString(id) {
			return Order{}, apperr.Missing("no such work order")
		}
		return store.Get(r.Context(), c.TenantID, id)
	}
	location := func(lat, lng float64) error { return terminaluser.ValidLocation(lat, lng) }
	rt.Handle("GET /engineer/work-orders/nearby", engineer(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		q := r.URL.Query()
		lat, err1 := strconv.ParseFloat(q.Get("lat"), 64)
		lng, err2 := strconv.ParseFloat(q.Get("lng"), 64)
		if err1 != nil || err2 != nil {
			return apperr.BadRequest("invalid_location", "lat and lng are required numbers")
		}
		if err := location(lat, lng); err != nil {
			return err
		}
		radius := 10.0
		if v := q.Get("radius_km"); v != "" {
			var err error
			if radius, err = strconv.ParseFloat(v, 64); err != nil || radius <= 0 || radius > MaxNearbyKm {
				return apperr.InvalidField("radius_km", "greater than 0 and at most 15")
			}
		}
		orders, err := store.Nearby(r.Context(), c.TenantID, lat, lng, radius, 50)
		if err != nil {
			return err
		}
		if orders == nil {
			orders = []Order{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"work_orders": orders})
		return nil
	}))
	rt.Handle("POST /engineer/work-orders/{id}/accept", engineer(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		o, err := order(r, c)
		if err != nil {
			return err
		}
		if o.Status != StatusSubmitted {
			return apperr.E(apperr.Conflict, "not_available", "this work order is no longer open for acceptance")
		}
		out, err := store.transition(r.Context(), o, StatusAccepted, "accepted by engineer "+c.Subject, d.Now(), func(u *dynamo.Update) *dynamo.Update {
			return u.Set("engineer_id", c.Subject)
		})
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	}))
	rt.Handle("POST /engineer/work-orders/{id}/status", engineer(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		var req struct {
			Status string `json:"status"`
			Note   string `json:"note"`
		}
		if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
			return err
		}
		if len([]rune(req.Note)) > 500 {
			return apperr.InvalidField("note", "at most 500 characters")
		}
		o, err := order(r, c)
		if err != nil {
			return err
		}
		if o.EngineerID != c.Subject {
			return apperr.E(apperr.Forbidden, "not_assigned", "this work order is assigned to another engineer")
		}
		if !slices.Contains(engineerMoves[o.Status], req.Status) {
			return apperr.E(apperr.Conflict, "invalid_transition", "cannot move a work order from "+o.Status+" to "+req.Status)
		}
		out, err := store.transition(r.Context(), o, req.Status, req.Note, d.Now(), nil)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	}))
	visit := func(checkIn bool) httpapi.HandlerFunc {
		return engineer(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
			var req struct {
				Latitude  float64 `json:"latitude"`
				Longitude float64 `json:"longitude"`
			}
			if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
				return err
			}
			if err := location(req.Latitude, req.Longitude); err != nil {
				return err
			}
			o, err := order(r, c)
			if err != nil {
				return err
			}
			if o.EngineerID != c.Subject {
				return apperr.E(apperr.Forbidden, "not_assigned", "this work order is assigned to another engineer")
			}
			if checkIn {
				if o.Status != StatusEnRoute && o.Status != StatusInProgress {
					return apperr.E(apperr.Conflict, "invalid_state", "check in when you are on the way or working on the order")
				}
				st, err := settings.Settings(r.Context(), c.TenantID)
				if err != nil {
					return err
				}
				v, err := store.CheckIn(r.Context(), c.TenantID, c.Subject, o, req.Latitude, req.Longitude, st.MaxCheckinDistanceM, d.Now())
				if err != nil {
					return err
				}
				httpapi.WriteJSON(w, http.StatusCreated, v)
				return nil
			}
			v, err := store.CheckOut(r.Context(), c.TenantID, c.Subject, o.ID, d.Now())
			if err != nil {
				return err
			}
			httpapi.WriteJSON(w, http.StatusOK, v)
			return nil
		})
	}
	rt.Handle("POST /engineer/work-orders/{id}/check-in", visit(true))
	rt.Handle("POST /engineer/work-orders/{id}/check-out", visit(false))
	rt.Handle("GET /engineer/mileage", engineer(func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		from, err1 := time.Parse("2006-01-02", r.URL.Query().Get("from"))
		to, err2 := time.Parse("2006-01-02", r.URL.Query().Get("to"))
		if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > 92*24*time.Hour {
			return apperr.BadRequest("invalid_period", "from and to are dates (YYYY-MM-DD), to not before from, at most 92 days apart")
		}
		days, total, err := store.Mileage(r.Context(), c.TenantID, c.Subject, from, to)
		if err != nil {
			return err
		}
		if days == nil {
			days = []DayMileage{}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]any{"engineer": c.Subject, "from": r.URL.Query().Get("from"),
			"to": r.URL.Query().Get("to"), "days": days, "total_km": total})
		return nil
	}))
	return rt, nil
}
