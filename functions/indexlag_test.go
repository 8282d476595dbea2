package functions_test

import (
	"context"
	"testing"
	"time"

	"wxchannel/shared/staffauth"
)

// DynamoDB's global secondary indexes are eventually consistent: a write
// reaches an index a moment later. With the embedded server's index lag
// on, every index reader is shown to act correctly on what it reads: an
// entry not there yet, or still there after the item left the index, or
// an old image of the item.

const indexLag = time.Second

// lagging turns the lag on, measured by the test's clock.
func lagging(t *testing.T, w *faultWorld) {
	t.Helper()
	dyn := w.Embedded(t, "it emulates a lagging index")
	dyn.SetClock(w.Clock.Now)
	dyn.SetIndexLag(indexLag)
}

const nearbyPath = "/engineer/work-orders/nearby?lat=31.2404&lng=121.4900&radius_km=5"

func (w *faultWorld) nearbyIDs(engineer string) []string {
	w.T.Helper()
	var ids []string
	list, _ := w.must("GET", nearbyPath, engineer, nil, nil, 200)["work_orders"].([]any)
	for _, o := range list {
		ids = append(ids, o.(map[string]any)["id"].(string))
	}
	return ids
}

// An order reaches the nearby index a moment after it is created; once an
// engineer has taken it, another engineer may still see it for a moment,
// but taking it again is refused: no order is assigned twice.
func TestALaggingNearbyIndexNeverAssignsAnOrderTwice(t *testing.T) {
	w := newFaultWorld(t, nil)
	lagging(t, w)
	session := w.login("openid-lag")
	id := w.must("POST", "/portal/work-orders", session, faultOrder("AC-LAG-1"), nil, 201)["work_order"].(map[string]any)["id"].(string)
	if ids := w.nearbyIDs(w.engineer); len(ids) != 0 {
		t.Fatalf("a brand-new order is already in the lagging index: %v", ids)
	}
	// The customer's own view of the order is consistent at once.
	w.must("GET", "/portal/work-orders/"+id, session, nil, nil, 200)
	w.Clock.Advance(2 * indexLag)
	if ids := w.nearbyIDs(w.engineer); len(ids) != 1 || ids[0] != id {
		t.Fatalf("nearby after the lag: %v", ids)
	}

	other := w.Staff("acme", "engineer-2", staffauth.RoleEngineer)
	w.must("POST", "/engineer/work-orders/"+id+"/accept", w.engineer, nil, nil, 200)
	if ids := w.nearbyIDs(other); len(ids) != 1 {
		t.Fatalf("within the lag the index still offers the taken order (that is what the test is about): %v", ids)
	}
	w.must("POST", "/engineer/work-orders/"+id+"/accept", other, nil, nil, 409)
	got := w.must("GET", "/portal/work-orders/"+id, session, nil, nil, 200)
	if got["status"] != "accepted" || got["engineer_id"] != "engineer-1" {
		t.Fatalf("after a second engineer tried the stale offer: %v", got)
	}
	w.Clock.Advance(2 * indexLag)
	if ids := w.nearbyIDs(other); len(ids) != 0 {
		t.Fatalf("the taken order is still offered after the lag: %v", ids)
	}
}

// The refresh job finds due tokens through an index. Run twice within the
// lag, the second run still sees the token it just refreshed as due, and
// must not ask WeChat for it again.
func TestALaggingDueIndexDoesNotRefreshATokenTwice(t *testing.T) {
	w := newFaultWorld(t, nil)
	const appid = "wxfa0170000000b001"
	redirect := w.authorize(appid, "gh_1a9900000001", true)
	w.must("GET", redirect.Path+"?"+redirect.RawQuery, "", nil, nil, 200)
	lagging(t, w)
	ctx := context.Background()
	w.Clock.Advance(2 * time.Hour) // every token is due
	w.Sim.ResetCalls()
	if _, err := w.Jobs["tokenrefresh"].Run(ctx); err != nil {
		t.Fatal(err)
	}
	first := w.Sim.Calls("api_authorizer_token")
	if first != 1 {
		t.Fatalf("%d authorizer token refreshes, want 1", first)
	}
	// The stale entry costs one lease take, refused: the token is no
	// longer due, as the item it returns shows. Nothing is written. (The
	// other take is the component token's, not due either.)
	w.Calls.Reset()
	if _, err := w.Jobs["tokenrefresh"].Run(ctx); err != nil {
		t.Fatal(err)
	}
	if c := w.Calls.Calls(); c["Query"] != 1 || c["UpdateItem"] != 2 || c["PutItem"] != 0 {
		t.Fatalf("the second run's calls %v: want the due query and the refused takes of the component token and the stale entry", c)
	}
	if n := w.Sim.Calls("api_authorizer_token"); n != first {
		t.Fatalf("the second run within the lag refreshed again: %d calls", n)
	}
}

// A customer's list of orders is read from an index: a new order joins
// it within the lag, while the order itself (the create's reply, the
// detail) is there at once.
func TestANewOrderJoinsTheCustomersListWithinTheLag(t *testing.T) {
	w := newFaultWorld(t, nil)
	lagging(t, w)
	session := w.login("openid-lag-list")
	id := w.must("POST", "/portal/work-orders", session, faultOrder("AC-LAG-2"), nil, 201)["work_order"].(map[string]any)["id"].(string)
	w.must("GET", "/portal/work-orders/"+id, session, nil, nil, 200)
	w.Clock.Advance(2 * indexLag)
	if list := w.myOrders(session); len(list) != 1 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("the list after the lag: %v", list)
	}
}
