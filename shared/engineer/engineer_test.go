package engineer_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/engineer"
	"wxchannel/shared/storage"
)

func TestAdminCreatesReadsAndUpdatesAnEngineer(t *testing.T) {
	w := setup(t)
	created := w.must(w.put("acme", "eng-7", map[string]any{
		"display_name": "  Wang Lei ", "phone": "13812345678", "skills": []string{"repair", "inspection", "repair"},
	}), http.StatusCreated)
	if created.Str("id") != "eng-7" || created.Str("display_name") != "Wang Lei" || created.Str("phone") != "13812345678" {
		t.Fatalf("created %s", created.Raw)
	}
	if got := fmt.Sprint(created.List("skills")); got != "[inspection repair]" {
		t.Fatalf("skills %s, want sorted without duplicates", got)
	}
	if created.Get("active") != true || created.Get("version") != 1.0 || created.Get("updated_at") != float64(w.env.Clock.Now().Unix()) {
		t.Fatalf("created %s: want active (the default), version 1, updated now", created.Raw)
	}
	got := w.must(w.do("GET", "/admin/engineers/eng-7", w.admin("acme"), nil), http.StatusOK)
	if got.Raw != created.Raw {
		t.Fatalf("read back %s, want %s", got.Raw, created.Raw)
	}

	w.env.Clock.Advance(time.Hour)
	updated := w.must(w.put("acme", "eng-7", map[string]any{"display_name": "Wang Lei (north)", "version": 1}), http.StatusOK)
	if updated.Get("version") != 2.0 || updated.Str("phone") != "" || len(updated.List("skills")) != 0 ||
		updated.Get("updated_at") != float64(w.env.Clock.Now().Unix()) {
		t.Fatalf("updated %s: a PUT replaces the whole entry", updated.Raw)
	}
	if !strings.Contains(updated.Raw, `"skills":[]`) {
		t.Fatalf("no skills answer %s, want an empty list", updated.Raw)
	}
}

func TestAStaleVersionIsRefusedAndNothingChanges(t *testing.T) {
	w := setup(t)
	w.must(w.put("acme", "eng-1", map[string]any{"display_name": "Li Na"}), http.StatusCreated)
	w.must(w.put("acme", "eng-1", map[string]any{"display_name": "Li Na 2", "version": 1}), http.StatusOK)

	stale := w.mustError(w.put("acme", "eng-1", map[string]any{"display_name": "Li Na 3", "version": 1}), http.StatusConflict, "engineer_changed")
	if stale.Get("error", "details", "version") != 2.0 {
		t.Fatalf("refusal %s, want the current version in the details", stale.Raw)
	}
	exists := w.mustError(w.put("acme", "eng-1", map[string]any{"display_name": "Someone else"}), http.StatusConflict, "engineer_changed")
	if exists.Get("error", "details", "version") != 2.0 {
		t.Fatalf("create over an existing entry: %s", exists.Raw)
	}
	w.mustError(w.put("acme", "eng-404", map[string]any{"display_name": "Nobody", "version": 3}), http.StatusNotFound, "not_found")

	got := w.must(w.do("GET", "/admin/engineers/eng-1", w.admin("acme"), nil), http.StatusOK)
	if got.Str("display_name") != "Li Na 2" || got.Get("version") != 2.0 {
		t.Fatalf("after the refusals: %s", got.Raw)
	}
	w.mustError(w.do("GET", "/admin/engineers/eng-404", w.admin("acme"), nil), http.StatusNotFound, "not_found")
}

func TestPutRefusesEachInvalidFieldAndWritesNothing(t *testing.T) {
	w := setup(t)
	cases := []struct {
		name, id string
		body     map[string]any
		field    string
	}{
		{"an id over 128 bytes", strings.Repeat("e", engineer.MaxIDLen+1), map[string]any{"display_name": "A"}, "id"},
		{"no display name", "eng-1", map[string]any{"display_name": "   "}, "display_name"},
		{"a display name of 41 characters", "eng-1", map[string]any{"display_name": strings.Repeat("王", 41)}, "display_name"},
		{"a display name of two lines", "eng-1", map[string]any{"display_name": "Wang\nLei"}, "display_name"},
		{"a zero-width character", "eng-1", map[string]any{"display_name": "Wang\u200bLei"}, "display_name"},
		{"a landline", "eng-1", map[string]any{"display_name": "A", "phone": "02112345678"}, "phone"},
		{"a phone of 12 digits", "eng-1", map[string]any{"display_name": "A", "phone": "138123456789"}, "phone"},
		{"an unknown skill", "eng-1", map[string]any{"display_name": "A", "skills": []string{"repair", "plumbing"}}, "skills[1]"},
		{"a skill in capitals", "eng-1", map[string]any{"display_name": "A", "skills": []string{"Repair"}}, "skills[0]"},
		{"too many skills", "eng-1", map[string]any{"display_name": "A", "skills": slices.Repeat([]string{"repair"}, engineer.MaxSkills+1)}, "skills"},
		{"a negative version", "eng-1", map[string]any{"display_name": "A", "version": -1}, "version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := w.mustError(w.put("acme", tc.id, tc.body), http.StatusBadRequest, "invalid_field")
			if r.Str("error", "details", "field") != tc.field {
				t.Fatalf("refused %s, want field %s", r.Raw, tc.field)
			}
		})
	}
	w.mustError(w.put("acme", "eng-1", map[string]any{"display_name": "A", "id": "eng-2"}), http.StatusBadRequest, "unknown_field")
	if got := ids(w.must(w.do("GET", "/admin/engineers", w.admin("acme"), nil), http.StatusOK)); len(got) != 0 {
		t.Fatalf("refused requests wrote %v", got)
	}
}

func TestValidIDFollowsTheWorkOrdersRuleForStaffSubjects(t *testing.T) {
	for id, want := range map[string]bool{
		"eng-1": true, "a@example.com": true, "工程师 7": true, "a#b/c": true, strings.Repeat("x", engineer.MaxIDLen): true,
		"": false, strings.Repeat("x", engineer.MaxIDLen+1): false, "a\x01b": false, "a\nb": false, "a\x7fb": false, "a\xffb": false,
	} {
		if engineer.ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, !want, want)
		}
	}
}

func TestDeactivatedEngineersStayListedAndTheListFiltersOnActive(t *testing.T) {
	w := setup(t)
	for _, id := range []string{"eng-c", "eng-a", "eng-b"} {
		w.must(w.put("acme", id, map[string]any{"display_name": "Engineer " + id, "skills": []string{"repair"}}), http.StatusCreated)
	}
	off := w.must(w.put("acme", "eng-b", map[string]any{"display_name": "Engineer eng-b", "active": false, "version": 1}), http.StatusOK)
	if off.Get("active") != false || off.Get("version") != 2.0 {
		t.Fatalf("deactivated: %s", off.Raw)
	}

	list := func(query string) []string {
		return ids(w.must(w.do("GET", "/admin/engineers"+query, w.admin("acme"), nil), http.StatusOK))
	}
	if got := fmt.Sprint(list("")); got != "[eng-a eng-b eng-c]" {
		t.Fatalf("list %s, want everyone in id order", got)
	}
	if got := fmt.Sprint(list("?active=true")); got != "[eng-a eng-c]" {
		t.Fatalf("active %s", got)
	}
	if got := fmt.Sprint(list("?active=false")); got != "[eng-b]" {
		t.Fatalf("deactivated %s", got)
	}
	w.mustError(w.do("GET", "/admin/engineers?active=yes", w.admin("acme"), nil), http.StatusBadRequest, "invalid_field")
	// History keeps the name: the entry is still read by id.
	if got := w.must(w.do("GET", "/admin/engineers/eng-b", w.admin("acme"), nil), http.StatusOK); got.Str("display_name") != "Engineer eng-b" {
		t.Fatalf("deactivated entry %s", got.Raw)
	}
}

func TestAnotherTenantsAdminSeesNothingAndChangesNothing(t *testing.T) {
	w := setup(t)
	w.must(w.put("acme", "eng-1", map[string]any{"display_name": "Acme's engineer"}), http.StatusCreated)

	if got := ids(w.must(w.do("GET", "/admin/engineers", w.admin("globex"), nil), http.StatusOK)); len(got) != 0 {
		t.Fatalf("globex lists %v", got)
	}
	w.mustError(w.do("GET", "/admin/engineers/eng-1", w.admin("globex"), nil), http.StatusNotFound, "not_found")
	w.mustError(w.put("globex", "eng-1", map[string]any{"display_name": "Taken over", "version": 1}), http.StatusNotFound, "not_found")
	// The same subject in another tenant is another person's entry.
	w.must(w.put("globex", "eng-1", map[string]any{"display_name": "Globex's engineer"}), http.StatusCreated)

	got := w.must(w.do("GET", "/admin/engineers/eng-1", w.admin("acme"), nil), http.StatusOK)
	if got.Str("display_name") != "Acme's engineer" || got.Get("version") != 1.0 {
		t.Fatalf("acme's entry after globex's writes: %s", got.Raw)
	}
}

func TestOnlyAdminsReachTheDirectory(t *testing.T) {
	w := setup(t)
	w.seed("acme", "eng-1")
	for _, rt := range []struct{ method, path string }{
		{"GET", "/admin/engineers"}, {"GET", "/admin/engineers/eng-1"}, {"PUT", "/admin/engineers/eng-1"},
	} {
		body := map[string]any{"display_name": "Renamed", "version": 1}
		w.mustError(w.do(rt.method, rt.path, w.engineerToken("acme"), body), http.StatusForbidden, "forbidden_role")
		w.mustError(w.do(rt.method, rt.path, "", body), http.StatusUnauthorized, "missing_token")
	}
	got, err := w.store.Get(context.Background(), "acme", "eng-1")
	if err != nil || got.DisplayName != "Engineer eng-1" || got.Version != 1 {
		t.Fatalf("after refused calls: %+v %v", got, err)
	}
}

func TestTheDirectoryStopsAtItsLimitButEntriesStillChange(t *testing.T) {
	w := setup(t)
	engineer.SetLimit(w.store, 2)
	w.seed("acme", "eng-1", "eng-2")
	w.mustError(w.put("acme", "eng-3", map[string]any{"display_name": "Third"}), http.StatusUnprocessableEntity, "directory_full")
	// Deactivated engineers keep their place; updates need none.
	w.must(w.put("acme", "eng-2", map[string]any{"display_name": "Second", "active": false, "version": 1}), http.StatusOK)
	w.mustError(w.put("acme", "eng-3", map[string]any{"display_name": "Third"}), http.StatusUnprocessableEntity, "directory_full")
	// Another tenant's directory has its own size.
	w.must(w.put("globex", "eng-3", map[string]any{"display_name": "Third"}), http.StatusCreated)
	if got := ids(w.must(w.do("GET", "/admin/engineers", w.admin("acme"), nil), http.StatusOK)); fmt.Sprint(got) != "[eng-1 eng-2]" {
		t.Fatalf("acme lists %v", got)
	}
}

func TestConcurrentCreatesOfOneEngineerLetOneWinAndOthersAllLand(t *testing.T) {
	w := setup(t)
	const n = 4
	statuses := make([]int, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = w.put("acme", "eng-same", map[string]any{"display_name": fmt.Sprint("Twin ", i)}).Status
		})
		wg.Go(func() {
			statuses[n+i] = w.put("acme", fmt.Sprint("eng-", i), map[string]any{"display_name": "Colleague"}).Status
		})
	}
	wg.Wait()
	twins := statuses[:n]
	if slices.Sort(twins); fmt.Sprint(twins) != "[201 409 409 409]" {
		t.Fatalf("creates of one engineer answered %v, want one 201 and the rest 409", twins)
	}
	for i, s := range statuses[n:] {
		if s != http.StatusCreated {
			t.Fatalf("create of eng-%d answered %d", i, s)
		}
	}
	if got := ids(w.must(w.do("GET", "/admin/engineers", w.admin("acme"), nil), http.StatusOK)); len(got) != n+1 {
		t.Fatalf("listed %v", got)
	}
}

func TestGetManyReadsBatchesOfAHundredAndAsksAgainForUnprocessedKeys(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	var want []string
	for i := range 130 {
		want = append(want, fmt.Sprintf("eng-%03d", i))
	}
	w.seed("acme", want...)
	w.seed("globex", "eng-900")

	w.env.Faults.LeaveUnprocessed(w.env.Deps.Config.ServiceTable, func(n int, _ map[string]any) bool { return n <= 40 })
	defer w.env.Faults.LeaveUnprocessed(w.env.Deps.Config.ServiceTable, nil)
	w.env.Faults.Reset()
	asked := append(slices.Clone(want), want[0], "eng-unknown", "eng-900", "", strings.Repeat("x", 200))
	got, err := w.store.GetMany(ctx, "acme", asked)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d engineers, want %d", len(got), len(want))
	}
	for _, id := range want {
		if e := got[id]; e.ID != id || e.DisplayName != "Engineer "+id || fmt.Sprint(e.Skills) != "[repair]" {
			t.Fatalf("engineer %s read as %+v", id, e)
		}
	}
	if _, ok := got["eng-900"]; ok {
		t.Fatal("another tenant's engineer was returned")
	}
	if n := w.env.Faults.Attempts()["BatchGetItem"]; n < 3 {
		t.Fatalf("%d BatchGetItem attempts, want two batches and the unprocessed keys asked again", n)
	}

	none, err := w.store.GetMany(ctx, "acme", []string{"eng-unknown"})
	if err != nil || len(none) != 0 {
		t.Fatalf("no engineer found: %v %v", none, err)
	}
}

func TestStoreErrorsAreClassified(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	_, err := w.store.Get(ctx, "acme", "eng-1")
	if apperr.KindOf(err) != apperr.NotFound || !storage.IsNotFound(err) {
		t.Fatalf("absent engineer: %v", err)
	}
	if _, err := w.store.Get(ctx, "acme", ""); !apperr.Is(err, "invalid_field") {
		t.Fatalf("empty id: %v", err)
	}
	// Without the caller's category check the store still refuses a
	// skill of the wrong form, and accepts any of the right one.
	now := w.env.Clock.Now()
	if _, err := w.store.Put(ctx, "acme", engineer.PutRequest{ID: "eng-1", DisplayName: "A", Skills: []string{"x y"}}, now); !apperr.Is(err, "invalid_field") {
		t.Fatalf("malformed skill: %v", err)
	}
	e, err := w.store.Put(ctx, "acme", engineer.PutRequest{ID: "eng-1", DisplayName: "A", Skills: []string{"drones"}}, now)
	if err != nil || e.Version != 1 || !e.Active || e.UpdatedAt != now.Unix() {
		t.Fatalf("put: %+v %v", e, err)
	}
	_, err = w.store.Put(ctx, "acme", engineer.PutRequest{ID: "eng-1", DisplayName: "B", Version: 7}, now)
	if apperr.KindOf(err) != apperr.Conflict || !apperr.Is(err, "engineer_changed") {
		t.Fatalf("stale version: %v", err)
	}
}
