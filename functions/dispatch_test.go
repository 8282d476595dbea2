package functions_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/outbox"
	"wxchannel/shared/staffauth"
)

// ids lists the ids of a desk or day page.
func ids(r map[string]any) []string {
	var out []string
	list, _ := r["work_orders"].([]any)
	for _, o := range list {
		out = append(out, o.(map[string]any)["id"].(string))
	}
	return out
}

// TestDispatchStory is the story of issue "orders reach the CRM and the
// dispatcher", through the Lambda adapter: a customer creates an order,
// the desk assigns it, the engineer declines, the desk reassigns, the
// engineer accepts, sets off with an arrival time, checks in, waits for
// parts, resumes, completes; the customer rates. The CRM receives every
// event, signed, in order; the feed has the same ones.
func TestDispatchStory(t *testing.T) {
	c := newCRM(t)
	admin := c.admin
	// The tenant's SLAs and rules, and its engineer directory.
	c.Must(c.Do("PUT", "/admin/portal/settings", admin, map[string]any{"guest_access": true, "max_checkin_distance_m": 500,
		"sla_hours": map[string]any{"repair": 8}, "engineers_may_transfer": true, "version": 0}), 200)
	for _, e := range []struct{ id, name, skill string }{{"eng-wang", "Wang Wei", "repair"}, {"eng-li", "Li Na", "repair"},
		{"eng-zhao", "Zhao Lei", "installation"}} {
		c.Must(c.Do("PUT", "/admin/engineers/"+e.id, admin, map[string]any{"display_name": e.name, "skills": []string{e.skill}, "version": 0}), 201)
	}
	wang, li := c.Staff("acme", "eng-wang", staffauth.RoleEngineer), c.Staff("acme", "eng-li", staffauth.RoleEngineer)

	session := c.customer("openid-story")
	body := workOrderBody(31.2304, 121.4737)
	body["device_sn"] = "AC-2024-0777"
	created := c.Must(c.Do("POST", "/portal/work-orders", session, body), 201)
	id := created.Str("work_order", "id")
	if created.Str("work_order", "priority") != "normal" || created.Get("work_order", "due_at") == nil {
		t.Fatalf("a new repair has no SLA: %s", created.Raw)
	}
	c.Clock.Advance(time.Minute)
	other := c.Must(c.Do("POST", "/portal/work-orders", c.customer("openid-other"), workOrderBody(31.3, 121.5)), 201).Str("work_order", "id")

	// The desk sees both, newest first; each filter narrows it by its key.
	desk := c.Must(c.Do("GET", "/admin/work-orders", admin, nil), 200)
	if got := ids(desk.Body); !slices.Equal(got, []string{other, id}) {
		t.Fatalf("desk %v, want [%s %s]", got, other, id)
	}
	for query, want := range map[string][]string{
		"status=submitted":       {other, id},
		"status=completed":       nil,
		"device_sn=ac-2024-0777": {id},
		"category=installation":  nil,
		"limit=1":                {other},
		"from=" + fmt.Sprint(c.Clock.Now().Add(time.Hour).Unix()): nil,
	} {
		if got := ids(c.Must(c.Do("GET", "/admin/work-orders?"+query, admin, nil), 200).Body); !slices.Equal(got, want) {
			t.Errorf("desk ?%s: %v, want %v", query, got, want)
		}
	}
	pageOne := c.Must(c.Do("GET", "/admin/work-orders?limit=1", admin, nil), 200)
	pageTwo := c.Must(c.Do("GET", "/admin/work-orders?limit=1&cursor="+pageOne.Str("next"), admin, nil), 200)
	if got := ids(pageTwo.Body); !slices.Equal(got, []string{id}) {
		t.Fatalf("second page %v", got)
	}
	c.MustError(c.Do("GET", "/admin/work-orders?status=exploded", admin, nil), 400, "invalid_field")
	c.MustError(c.Do("GET", "/admin/work-orders?engineer=eng-wang&customer=x", admin, nil), 400, "one_key_filter")
	c.MustError(c.Do("GET", "/admin/work-orders", wang, nil), 403, "forbidden_role")
	if got := ids(c.Must(c.Do("GET", "/admin/work-orders", c.Staff("globex", "admin-9", staffauth.RoleAdmin), nil), 200).Body); len(got) != 0 {
		t.Fatalf("another tenant's desk shows %v", got)
	}

	// Assign: only an active engineer of the directory with the skill.
	c.MustError(c.Do("POST", "/admin/work-orders/"+id+"/assign", admin, map[string]any{"engineer_id": "eng-nobody"}), 400, "invalid_field")
	c.MustError(c.Do("POST", "/admin/work-orders/"+id+"/assign", admin, map[string]any{"engineer_id": "eng-zhao"}), 409, "engineer_lacks_skill")
	c.MustError(c.Do("POST", "/admin/work-orders/"+id+"/assign", admin, map[string]any{"engineer_id": "eng-wang", "version": 9}), 409, "work_order_changed")
	assigned := c.Must(c.Do("POST", "/admin/work-orders/"+id+"/assign", admin, map[string]any{"engineer_id": "eng-wang", "version": 1}), 200)
	if assigned.Str("status") != "assigned" || assigned.Str("engineer_name") != "Wang Wei" {
		t.Fatalf("assigned %s", assigned.Raw)
	}
	// It left the nearby list and is on Wang's day.
	near := c.Must(c.Do("GET", "/engineer/work-orders/nearby?lat=31.2304&lng=121.4737&radius_km=5", li, nil), 200)
	if slices.Contains(ids(near.Body), id) {
		t.Fatal("an assigned order is still offered nearby")
	}
	if got := ids(c.Must(c.Do("GET", "/engineer/work-orders", wang, nil), 200).Body); !slices.Equal(got, []string{id}) {
		t.Fatalf("Wang's day %v", got)
	}
	if got := ids(c.Must(c.Do("GET", "/admin/work-orders?engineer=eng-wang", admin, nil), 200).Body); !slices.Equal(got, []string{id}) {
		t.Fatalf("desk by engineer %v", got)
	}
	c.MustError(c.Do("POST", "/engineer/work-orders/"+id+"/accept", li, nil), 409, "not_available")

	// Wang declines (back to the desk, offered again); the desk gives it to Li.
	c.MustError(c.Do("POST", "/engineer/work-orders/"+id+"/decline", wang, map[string]any{}), 400, "invalid_field")
	declined := c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/decline", wang, map[string]any{"reason": "Out of town all week"}), 200)
	if declined.Str("status") != "submitted" || declined.Str("engineer_id") != "" {
		t.Fatalf("declined %s", declined.Raw)
	}
	c.Must(c.Do("POST", "/admin/work-orders/"+id+"/assign", admin, map[string]any{"engineer_id": "eng-li"}), 200)
	// Li accepts and sets off, arriving in 40 minutes.
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/accept", li, nil), 200)
	eta := c.Clock.Now().Add(40 * time.Minute)
	c.MustError(c.Do("POST", "/engineer/work-orders/"+id+"/status", li, map[string]any{"status": "en_route",
		"eta": c.Clock.Now().Add(-time.Minute).Unix()}), 400, "invalid_field")
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/status", li, map[string]any{"status": "en_route", "eta": eta.Unix()}), 200)
	seen := c.Must(c.Do("GET", "/portal/work-orders/"+id, session, nil), 200)
	shanghai := eta.In(time.FixedZone("CST", 8*3600)).Format("15:04")
	if seen.Str("engineer_name") != "Li Na" || !strings.Contains(seen.Raw, "Engineer Li Na is on the way, arriving around "+shanghai) {
		t.Fatalf("the customer's view %s", seen.Raw)
	}
	if strings.Contains(seen.Raw, "Out of town") {
		t.Fatal("the customer reads the engineer's reason for declining")
	}
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/check-in", li, map[string]any{"latitude": 31.2306, "longitude": 121.4739}), 201)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/status", li, map[string]any{"status": "in_progress"}), 200)
	// Waiting for parts, then back at it.
	c.MustError(c.Do("POST", "/engineer/work-orders/"+id+"/hold", li, map[string]any{"kind": "bored", "reason": "Need a part"}), 400, "invalid_field")
	held := c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/hold", li, map[string]any{"kind": "waiting_for_parts", "reason": "Compressor relay on order"}), 200)
	if held.Str("status") != "on_hold" || held.Str("held_from") != "in_progress" {
		t.Fatalf("held %s", held.Raw)
	}
	c.MustError(c.Do("POST", "/engineer/work-orders/"+id+"/resume", wang, nil), 403, "not_assigned")
	resumed := c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/resume", li, nil), 200)
	if resumed.Str("status") != "in_progress" {
		t.Fatalf("resumed %s", resumed.Raw)
	}
	c.Clock.Advance(time.Hour)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/check-out", li, map[string]any{"latitude": 31.2306, "longitude": 121.4739}), 200)
	c.Must(c.Do("POST", "/engineer/work-orders/"+id+"/status", li, map[string]any{"status": "completed", "note": "Replaced the relay"}), 200)
	c.Must(c.Do("POST", "/portal/work-orders/"+id+"/rating", session, map[string]any{"stars": 5}), 200)
	if got := ids(c.Must(c.Do("GET", "/engineer/work-orders", li, nil), 200).Body); len(got) != 0 {
		t.Fatalf("a completed order stays on the engineer's day: %v", got)
	}

	// The other order: overdue after its SLA, first on the overdue list;
	// then its engineer cannot complete it and it is back at the desk.
	c.Clock.Advance(8 * time.Hour)
	admin = c.Staff("acme", "admin-1", staffauth.RoleAdmin)
	if got := ids(c.Must(c.Do("GET", "/admin/work-orders?overdue=true", admin, nil), 200).Body); !slices.Equal(got, []string{other}) {
		t.Fatalf("overdue %v, want [%s]", got, other)
	}
	urgent := c.Must(c.Do("POST", "/admin/work-orders/"+other+"/priority", admin, map[string]any{"priority": "urgent"}), 200)
	if urgent.Str("priority") != "urgent" {
		t.Fatalf("priority %s", urgent.Raw)
	}
	wang = c.Staff("acme", "eng-wang", staffauth.RoleEngineer)
	li = c.Staff("acme", "eng-li", staffauth.RoleEngineer)
	c.Must(c.Do("POST", "/admin/work-orders/"+other+"/assign", admin, map[string]any{"engineer_id": "eng-wang"}), 200)
	transferred := c.Must(c.Do("POST", "/engineer/work-orders/"+other+"/transfer", wang, map[string]any{"engineer_id": "eng-li", "reason": "Li is closer"}), 200)
	if transferred.Str("engineer_id") != "eng-li" || transferred.Str("status") != "assigned" {
		t.Fatalf("transferred %s", transferred.Raw)
	}
	c.Must(c.Do("POST", "/engineer/work-orders/"+other+"/accept", li, nil), 200)
	gaveUp := c.Must(c.Do("POST", "/engineer/work-orders/"+other+"/cannot-complete", li, map[string]any{"reason": "The unit is beyond repair"}), 200)
	if gaveUp.Str("status") != "cannot_complete" {
		t.Fatalf("cannot complete %s", gaveUp.Raw)
	}
	if got := ids(c.Must(c.Do("GET", "/admin/work-orders?status=cannot_complete", admin, nil), 200).Body); !slices.Equal(got, []string{other}) {
		t.Fatalf("the desk's cannot-complete list %v", got)
	}
	c.Must(c.Do("POST", "/admin/work-orders/"+other+"/cancel", admin, map[string]any{"reason": "Replacing the unit under warranty"}), 200)

	// The CRM got every change of the story, in order, signed.
	c.PumpEvents()
	got := c.received()
	want := []string{outbox.WorkOrderCreated, outbox.WorkOrderAssigned, outbox.WorkOrderDeclined, outbox.WorkOrderAssigned,
		outbox.WorkOrderAccepted, outbox.WorkOrderEnRoute, outbox.WorkOrderCheckedIn, outbox.WorkOrderInProgress,
		outbox.WorkOrderOnHold, outbox.WorkOrderResumed, outbox.WorkOrderCheckedOut, outbox.WorkOrderCompleted, outbox.WorkOrderRated}
	if types := typesOf(got, id); !slices.Equal(types, want) {
		t.Fatalf("the CRM got %v for the story's order, want %v", types, want)
	}
	wantOther := []string{outbox.WorkOrderCreated, outbox.WorkOrderPriorityChanged, outbox.WorkOrderAssigned, outbox.WorkOrderAssigned,
		outbox.WorkOrderAccepted, outbox.WorkOrderCannotComplete, outbox.WorkOrderCancelled}
	if types := typesOf(got, other); !slices.Equal(types, wantOther) {
		t.Fatalf("the CRM got %v for the other order, want %v", types, wantOther)
	}
	validateAgainstSchema(t, got)
	c.Clock.Advance(outbox.Settle + time.Second)
	feed := c.Must(c.Do("GET", "/admin/events?limit=500", admin, nil), 200)
	if n := len(feed.Body["events"].([]any)); n != len(got) {
		t.Fatalf("the feed has %d events, the webhook got %d", n, len(got))
	}
}
