package workorder

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/engineer"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// staffFrom looks engineers up in the tenant's directory.
func staffFrom(d *app.Deps) StaffLookup {
	dir := engineer.NewStore(d.DB)
	return func(ctx context.Context, tenantID, id string) (Staff, error) {
		e, err := dir.Get(ctx, tenantID, id)
		if storage.IsNotFound(err) {
			return Staff{}, apperr.Missing("no such engineer in the directory")
		}
		if err != nil {
			return Staff{}, err
		}
		return Staff{ID: e.ID, Name: e.DisplayName, Skills: e.Skills, Active: e.Active}, nil
	}
}

// validCategory is a work-order category (an engineer's skill).
func validCategory(c string) bool { return slices.Contains(Categories, c) }

// deskHandler is the admindesk function: the work-order desk and the
// engineer directory.
type deskHandler struct {
	orders *Service
	staff  *staffauth.Verifier
}

// NewDeskHandler builds the admindesk function's handler.
func NewDeskHandler(_ context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	orders := NewService(NewStore(d.DB), nil, tenant.NewStore(d.DB), nil, d.Now).WithStaff(staffFrom(d))
	h := &deskHandler{orders: orders, staff: staff}
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("GET /admin/work-orders", staff.Admin(h.handleList))
	rt.Handle("POST /admin/work-orders/{id}/assign", staff.Admin(h.handleAssign))
	rt.Handle("POST /admin/work-orders/{id}/priority", staff.Admin(h.handlePriority))
	rt.Handle("POST /admin/work-orders/{id}/cancel", staff.Admin(h.handleCancel))
	return engineer.Routes(rt, staff, engineer.NewStore(d.DB), d.Now, validCategory), nil
}

func (h *deskHandler) handleList(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	q, err := deskQuery(r)
	if err != nil {
		return err
	}
	page, err := h.orders.store.Desk(r.Context(), c.TenantID, q, h.orders.now())
	return httpapi.Reply(w, http.StatusOK, page, err)
}

// deskQuery reads the desk list's query string.
func deskQuery(r *http.Request) (DeskQuery, error) {
	v := r.URL.Query()
	q := DeskQuery{Category: v.Get("category"), EngineerID: v.Get("engineer"), CustomerID: v.Get("customer"),
		DeviceSN: v.Get("device_sn"), Overdue: v.Get("overdue") == "true", Cursor: v.Get("cursor")}
	for _, s := range splitCSV(v.Get("status")) {
		q.Statuses = append(q.Statuses, Status(s))
	}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if raw := v.Get(name); raw != "" {
			sec, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || sec <= 0 {
				return DeskQuery{}, apperr.InvalidField(name, "unix seconds")
			}
			*dst = time.Unix(sec, 0)
		}
	}
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return DeskQuery{}, apperr.InvalidField("limit", "between 1 and 100")
		}
		q.Limit = n
	}
	return q, nil
}

func splitCSV(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (h *deskHandler) handleAssign(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req AssignRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	o, err := h.orders.Assign(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *deskHandler) handlePriority(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req PriorityRequest
	if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
		return err
	}
	o, err := h.orders.SetPriority(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *deskHandler) handleCancel(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req ReasonRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	o, err := h.orders.DeskCancel(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, o, err)
}

// The engineer's day and moves (engineerapi).

func (h *engineerHandler) handleMyDay(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	v := r.URL.Query()
	var statuses []Status
	for _, s := range splitCSV(v.Get("status")) {
		st := Status(s)
		if !st.WithEngineer() {
			return apperr.InvalidField("status", "assigned, accepted, en_route, in_progress or on_hold")
		}
		statuses = append(statuses, st)
	}
	limit := 0
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return apperr.InvalidField("limit", "between 1 and 100")
		}
		limit = n
	}
	page, err := h.orders.EngineerDay(r.Context(), c.TenantID, c.Subject, statuses, v.Get("day"), v.Get("cursor"), limit)
	return httpapi.Reply(w, http.StatusOK, page, err)
}

// engineerMove answers an engineer's move that takes a reason.
func (h *engineerHandler) engineerMove(
	move func(context.Context, staffauth.Claims, string, ReasonRequest) (Order, error),
) staffauth.StaffHandler {
	return func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		var req ReasonRequest
		if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
			return err
		}
		o, err := move(r.Context(), c, r.PathValue("id"), req)
		return httpapi.Reply(w, http.StatusOK, o, err)
	}
}

func (h *engineerHandler) handleTransfer(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req TransferRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	o, err := h.orders.Transfer(r.Context(), c, r.PathValue("id"), req)
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *engineerHandler) handleResume(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	o, err := h.orders.Resume(r.Context(), c, r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, o, err)
}

// forCustomer is o as its customer sees it: the desk's and engineers'
// reasons left out (the timeline's words stay).
func forCustomer(o Order) Order {
	o.Timeline = slices.Clone(o.Timeline)
	for i := range o.Timeline {
		o.Timeline[i].Reason = ""
	}
	return o
}
