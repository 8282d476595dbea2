package workorder

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tenant"
)

// mileageAdminHandler is the adminmileage function, the tenant admins'
// work-order function: the mileage report (JSON or CSV), corrections of
// legs, and an order's detail with its photos.
type mileageAdminHandler struct {
	orders *Service
	staff  *staffauth.Verifier
}

// NewMileageAdminHandler builds the adminmileage function's handler.
func NewMileageAdminHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	orders, _, err := serviceFrom(d)
	if err != nil {
		return nil, err
	}
	h := &mileageAdminHandler{orders: orders, staff: staff}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

func (h *mileageAdminHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /admin/mileage", h.staff.Admin(h.handleReport))
	rt.Handle("POST /admin/mileage/corrections", h.staff.Admin(h.handleCorrect))
	rt.Handle("GET /admin/mileage/corrections", h.staff.Admin(h.handleCorrections))
	rt.Handle("GET /admin/work-orders/{id}", h.staff.Admin(h.handleOrderDetail))
	return rt
}

func (h *mileageAdminHandler) handleOrderDetail(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	o, err := h.orders.AdminDetail(r.Context(), c, r.PathValue("id"))
	return httpapi.Reply(w, http.StatusOK, o, err)
}

func (h *mileageAdminHandler) handleReport(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return apperr.InvalidField("format", "json (the default) or csv")
	}
	rep, err := h.orders.TenantMileage(r.Context(), c, ReportQuery{From: q.Get("from"), To: q.Get("to"), EngineerID: q.Get("engineer_id")})
	if err != nil {
		return err
	}
	if format != "csv" {
		httpapi.WriteJSON(w, http.StatusOK, rep)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="mileage-%s-%s.csv"`, rep.From, rep.To))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = writeMileageCSV(w, rep) // the status is sent: an error here means the client went away
	return nil
}

func (h *mileageAdminHandler) handleCorrect(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req CorrectionRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	res, err := h.orders.CorrectLeg(r.Context(), c, req)
	return httpapi.Reply(w, http.StatusCreated, res, err)
}

func (h *mileageAdminHandler) handleCorrections(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	entries, err := h.orders.Corrections(r.Context(), c, r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	return httpapi.Reply(w, http.StatusOK, map[string]any{"corrections": entries}, err)
}

// mileageCSVHeader names the report's CSV columns. Each row is a leg, a
// flagged visit, an engineer's day or an engineer's period total (record).
var mileageCSVHeader = []string{"record", "engineer_id", "date", "id", "from_order_id", "to_order_id", "departed_at", "arrived_at",
	"computed_km", "speed_kmh", "flags", "km", "correction_reason", "corrected_by", "corrected_at", "rate_fen_per_km", "amount_fen"}

// writeMileageCSV writes the report as CSV, times in the tenant's zone. A
// UTF-8 byte order mark comes first so that Excel (the admins' tool) reads
// Chinese text as UTF-8, and every cell is formula-escaped.
func writeMileageCSV(w io.Writer, rep TenantMileage) error {
	loc := tenant.FieldWork{TimeZone: rep.TimeZone}.Location()
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	row := func(cells ...string) {
		for i := range cells {
			cells[i] = csvCell(cells[i])
		}
		_ = cw.Write(cells) // errors surface in cw.Error
	}
	at := func(unix int64) string {
		if unix == 0 {
			return ""
		}
		return time.Unix(unix, 0).In(loc).Format(time.RFC3339)
	}
	rate := strconv.Itoa(rep.RateFenPerKm)
	row(mileageCSVHeader...)
	for _, e := range rep.Engineers {
		for _, f := range e.Flagged {
			if f.Kind == "visit" {
				row("visit", e.EngineerID, f.Date, f.ID, "", f.OrderID, at(f.CheckOutAt), at(f.CheckInAt), "", "", flagList(f.Flags),
					"", "", "", "", "", "")
			}
		}
		for _, d := range e.Days {
			for _, l := range d.Legs {
				speed, reason, by, corrected := "", "", "", ""
				if l.SpeedKmh != nil {
					speed = kmText(*l.SpeedKmh)
				}
				if c := l.Correction; c != nil {
					reason, by, corrected = c.Reason, c.By, at(c.At)
				}
				row("leg", e.EngineerID, d.Date, l.ID, l.FromOrderID, l.ToOrderID, at(l.DepartedAt), at(l.ArrivedAt),
					kmText(l.ComputedKm), speed, flagList(l.Flags), kmText(l.Km), reason, by, corrected, "", "")
			}
			row("day", e.EngineerID, d.Date, "", "", "", "", "", "", "", "", kmText(d.Km), "", "", "", "", "")
		}
		row("engineer", e.EngineerID, rep.From+"/"+rep.To, "", "", "", "", "", "", "", "", kmText(e.TotalKm), "", "", "",
			rate, strconv.FormatInt(e.AmountFen, 10))
	}
	cw.Flush()
	return cw.Error()
}

// csvCell defuses formula injection: a spreadsheet runs a cell starting
// with = + - @ (or a tab or carriage return before one) as a formula, so
// such a cell gets a leading apostrophe and is shown as text (OWASP, "CSV
// Injection"). Our own numbers are never negative.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func kmText(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func flagList(flags []Flag) string {
	s := make([]string, len(flags))
	for i, f := range flags {
		s[i] = string(f)
	}
	return strings.Join(s, " ")
}
