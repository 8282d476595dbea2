package workorder

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/textfield"
)

// Longest periods, in local days counted inclusively.
const (
	MaxEngineerMileageDays = 92
	MaxReportDays          = 31
	// MaxCorrectedKm bounds a corrected leg (a day's drive).
	MaxCorrectedKm = 2000
)

var correctionReasonText = textfield.Lines(5, 500)

// period is a range of local dates, both ends included.
type period struct {
	from, to   string
	start, end time.Time
}

func parsePeriod(from, to string, maxDays int) (period, error) {
	start, err1 := time.Parse(time.DateOnly, from)
	end, err2 := time.Parse(time.DateOnly, to)
	if err1 != nil || err2 != nil || end.Before(start) || end.Sub(start) >= time.Duration(maxDays)*24*time.Hour {
		return period{}, apperr.BadRequest("invalid_period",
			fmt.Sprintf("from and to are dates (YYYY-MM-DD), to not before from, at most %d days", maxDays))
	}
	return period{from: from, to: to, start: start, end: end}, nil
}

// dates lists the period's dates.
func (p period) dates() []string {
	var out []string
	for d := p.start; !d.After(p.end); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out
}

// MileageReport is an engineer's own reimbursable distance over a period.
type MileageReport struct {
	Engineer     string       `json:"engineer"`
	From         string       `json:"from"`
	To           string       `json:"to"`
	TimeZone     string       `json:"time_zone"`
	RateFenPerKm int          `json:"rate_fen_per_km"`
	Days         []DayMileage `json:"days"`
	TotalKm      float64      `json:"total_km"`
	AmountFen    int64        `json:"amount_fen"`
	Flagged      []Flagged    `json:"flagged"`
}

// Mileage reports the engineer's legs per local day between dates from and
// to (YYYY-MM-DD in the tenant's time zone, at most 92 days).
func (s *Service) Mileage(ctx context.Context, c staffauth.Claims, from, to string) (MileageReport, error) {
	p, err := parsePeriod(from, to, MaxEngineerMileageDays)
	if err != nil {
		return MileageReport{}, err
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return MileageReport{}, err
	}
	visits, err := s.store.engineerVisits(ctx, c.TenantID, c.Subject, p.from, p.to)
	if err != nil {
		return MileageReport{}, err
	}
	m := mileageOf(c.Subject, visits, st.MileageRateFenPerKm)
	return MileageReport{Engineer: c.Subject, From: from, To: to, TimeZone: st.TimeZone, RateFenPerKm: st.MileageRateFenPerKm,
		Days: m.Days, TotalKm: m.TotalKm, AmountFen: m.AmountFen, Flagged: m.Flagged}, nil
}

// TenantMileage is the admin's report: every engineer's legs per local day
// over a period, with the rate, the amounts and the flagged visits and legs.
type TenantMileage struct {
	From         string            `json:"from"`
	To           string            `json:"to"`
	TimeZone     string            `json:"time_zone"`
	RateFenPerKm int               `json:"rate_fen_per_km"`
	Engineers    []EngineerMileage `json:"engineers"`
	TotalKm      float64           `json:"total_km"`
	// AmountFen is the sum of the engineers' amounts.
	AmountFen int64     `json:"amount_fen"`
	Flagged   []Flagged `json:"flagged"`
}

// ReportQuery is what the admin asks the report for.
type ReportQuery struct {
	From, To string
	// EngineerID narrows the report to one engineer ("" for all).
	EngineerID string
}

// TenantMileage reports the admin's tenant's mileage over at most 31 local
// days: one index query per date.
func (s *Service) TenantMileage(ctx context.Context, c staffauth.Claims, q ReportQuery) (TenantMileage, error) {
	p, err := parsePeriod(q.From, q.To, MaxReportDays)
	if err != nil {
		return TenantMileage{}, err
	}
	if q.EngineerID != "" {
		if err := validEngineerID(q.EngineerID); err != nil {
			return TenantMileage{}, err
		}
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return TenantMileage{}, err
	}
	byEngineer := map[string][]Visit{}
	read := 0
	for _, date := range p.dates() {
		visits, err := s.store.tenantDayVisits(ctx, c.TenantID, date, q.EngineerID, MaxReportVisits-read)
		if err != nil {
			return TenantMileage{}, err
		}
		read += len(visits)
		for _, v := range visits {
			byEngineer[v.EngineerID] = append(byEngineer[v.EngineerID], v)
		}
	}
	rep := TenantMileage{From: p.from, To: p.to, TimeZone: st.TimeZone, RateFenPerKm: st.MileageRateFenPerKm,
		Engineers: []EngineerMileage{}, Flagged: []Flagged{}}
	totalM := 0
	for id, visits := range byEngineer {
		m := mileageOf(id, visits, st.MileageRateFenPerKm)
		rep.Engineers = append(rep.Engineers, m)
		totalM += m.countedM
		rep.AmountFen += m.AmountFen
	}
	slices.SortFunc(rep.Engineers, func(a, b EngineerMileage) int { return cmp.Compare(a.EngineerID, b.EngineerID) })
	for _, m := range rep.Engineers {
		rep.Flagged = append(rep.Flagged, m.Flagged...)
	}
	rep.TotalKm = km(totalM)
	return rep, nil
}

// CorrectionRequest is an admin's correction of one leg.
type CorrectionRequest struct {
	EngineerID string `json:"engineer_id"`
	// LegID is the leg's id in the report (the visit it ends at).
	LegID string `json:"leg_id"`
	// Km is the distance to count, 0 to not count the leg.
	Km     *float64 `json:"km"`
	Reason string   `json:"reason"`
}

// Validate checks the request and leaves the reason cleaned as it is stored.
func (r *CorrectionRequest) Validate() error {
	if err := validEngineerID(r.EngineerID); err != nil {
		return err
	}
	if _, ok := legDate(r.LegID); !ok {
		return apperr.InvalidField("leg_id", "the id of a leg in the mileage report")
	}
	if r.Km == nil || math.IsNaN(*r.Km) || *r.Km < 0 || *r.Km > MaxCorrectedKm {
		return apperr.InvalidField("km", fmt.Sprintf("the distance to count, 0 to %d km", MaxCorrectedKm))
	}
	return cleanText("reason", &r.Reason, correctionReasonText)
}

// CorrectionEntry is one entry of the mileage audit trail: who changed
// which leg when, from what to what, and why.
type CorrectionEntry struct {
	EngineerID string  `json:"engineer_id"`
	LegID      string  `json:"leg_id"`
	Date       string  `json:"date"`
	ComputedKm float64 `json:"computed_km"`
	OldKm      float64 `json:"old_km"`
	NewKm      float64 `json:"new_km"`
	Reason     string  `json:"reason"`
	By         string  `json:"by"`
	At         int64   `json:"at"`
}

func entryOf(a mileageAudit) CorrectionEntry {
	return CorrectionEntry{EngineerID: a.EngineerID, LegID: a.LegID, Date: a.Date, ComputedKm: km(a.ComputedMeters),
		OldKm: km(a.OldMeters), NewKm: km(a.NewMeters), Reason: a.Reason, By: a.By, At: a.At}
}

// CorrectionResult is a saved correction and the leg as it now counts.
type CorrectionResult struct {
	Correction CorrectionEntry `json:"correction"`
	Leg        Leg             `json:"leg"`
}

// CorrectLeg sets the distance a leg counts for, with the admin's reason,
// and records it in the audit trail with the value it replaces.
func (s *Service) CorrectLeg(ctx context.Context, c staffauth.Claims, req CorrectionRequest) (CorrectionResult, error) {
	if err := req.Validate(); err != nil {
		return CorrectionResult{}, err
	}
	date, _ := legDate(req.LegID)
	visits, err := s.store.engineerVisits(ctx, c.TenantID, req.EngineerID, date, date)
	if err != nil {
		return CorrectionResult{}, err
	}
	leg, ok := findLeg(mileageOf(req.EngineerID, visits, 0), req.LegID)
	i := slices.IndexFunc(visits, func(v Visit) bool { return v.ID == req.LegID })
	switch {
	case i < 0:
		return CorrectionResult{}, apperr.Missing("no such leg for this engineer")
	case !ok:
		return CorrectionResult{}, apperr.E(apperr.Rejected, "not_a_leg",
			"no leg ends at this visit: it is the engineer's first of the day, or a return to the same work order")
	}
	now := s.now()
	newM := meters(*req.Km)
	corr := legCorrection{Meters: newM, Reason: req.Reason, By: c.Subject, At: now.Unix()}
	audit := mileageAudit{PK: mileageAuditPK(c.TenantID), SK: mileageAuditSK(now, leg.ID), EngineerID: req.EngineerID, LegID: leg.ID,
		Date: date, ComputedMeters: leg.computedM, OldMeters: leg.countedM, NewMeters: newM, Reason: req.Reason, By: c.Subject, At: now.Unix()}
	if err := s.store.correctLeg(ctx, visits[i], corr, audit); err != nil {
		return CorrectionResult{}, err
	}
	leg.countedM, leg.Counted, leg.Km = newM, true, km(newM)
	leg.Correction = &Correction{Km: km(newM), Reason: corr.Reason, By: corr.By, At: corr.At}
	return CorrectionResult{Correction: entryOf(audit), Leg: leg}, nil
}

func findLeg(m EngineerMileage, id string) (Leg, bool) {
	for _, d := range m.Days {
		for _, l := range d.Legs {
			if l.ID == id {
				return l, true
			}
		}
	}
	return Leg{}, false
}

// Corrections lists the audit trail of the corrections made between the
// local dates from and to (at most 31 days), oldest first.
func (s *Service) Corrections(ctx context.Context, c staffauth.Claims, from, to string) ([]CorrectionEntry, error) {
	p, err := parsePeriod(from, to, MaxReportDays)
	if err != nil {
		return nil, err
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return nil, err
	}
	loc := st.Location()
	start := time.Date(p.start.Year(), p.start.Month(), p.start.Day(), 0, 0, 0, 0, loc)
	end := time.Date(p.end.Year(), p.end.Month(), p.end.Day()+1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
	audits, err := s.store.mileageAudits(ctx, c.TenantID, start, end)
	if err != nil {
		return nil, err
	}
	out := make([]CorrectionEntry, 0, len(audits))
	for _, a := range audits {
		out = append(out, entryOf(a))
	}
	return out, nil
}
