package engineer_test

import (
	"context"
	"slices"
	"testing"

	"wxchannel/shared/engineer"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
)

// categories stand for the work orders' categories, which the function
// that mounts the routes passes in.
var categories = []string{"repair", "installation", "maintenance", "inspection", "consultation", "complaint"}

// world is the directory's routes on a bare router, served through the
// Lambda adapter, on the embedded DynamoDB server.
type world struct {
	t     *testing.T
	env   *testenv.Env
	store *engineer.Store
	api   apiclient.Client
}

func setup(t *testing.T) *world {
	t.Helper()
	env := testenv.New(t)
	staff, err := staffauth.FromDeps(env.Deps)
	if err != nil {
		t.Fatal(err)
	}
	store := engineer.NewStore(env.DB)
	rt := engineer.Routes(httpapi.NewRouter(env.Deps.Log), staff, store, env.Clock.Now,
		func(s string) bool { return slices.Contains(categories, s) })
	return &world{t: t, env: env, store: store, api: testenv.ContractClient(t, testenv.ServeThroughLambda(t, rt))}
}

// admin and engineerToken sign staff tokens of tenant.
func (w *world) admin(tenant string) string {
	return w.env.StaffToken(w.t, tenant, "admin-1", staffauth.RoleAdmin)
}

func (w *world) engineerToken(tenant string) string {
	return w.env.StaffToken(w.t, tenant, "eng-1", staffauth.RoleEngineer)
}

// do sends a request with a JSON body (nil for none).
func (w *world) do(method, path, token string, body any) apiclient.Reply {
	w.t.Helper()
	r, err := w.api.Do(context.Background(), apiclient.Request{Method: method, Path: path, Token: token, Body: body})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// must fails the test unless r has status want, and returns r.
func (w *world) must(r apiclient.Reply, want int) apiclient.Reply {
	w.t.Helper()
	if r.Status != want {
		w.t.Fatalf("status %d, want %d: %s", r.Status, want, r.Raw)
	}
	return r
}

// mustError fails the test unless r is a refusal with status and code, and
// a message for the person.
func (w *world) mustError(r apiclient.Reply, status int, code string) apiclient.Reply {
	w.t.Helper()
	if r.Status != status || r.ErrorCode() != code || r.Str("error", "message") == "" {
		w.t.Fatalf("%d %s, want %d with code %s", r.Status, r.Raw, status, code)
	}
	return r
}

// put creates or replaces an engineer through the route.
func (w *world) put(tenant, id string, body map[string]any) apiclient.Reply {
	w.t.Helper()
	return w.do("PUT", "/admin/engineers/"+id, w.admin(tenant), body)
}

// seed creates engineers straight in the store, as a fixture: a plain
// context, so the calls are nobody's function's.
func (w *world) seed(tenant string, ids ...string) {
	w.t.Helper()
	for _, id := range ids {
		req := engineer.PutRequest{ID: id, DisplayName: "Engineer " + id, Skills: []string{"repair"}}
		if _, err := w.store.Put(context.Background(), tenant, req, w.env.Clock.Now()); err != nil {
			w.t.Fatalf("seed %s: %v", id, err)
		}
	}
}

// ids are the ids of a listing's engineers, in order.
func ids(r apiclient.Reply) []string {
	var out []string
	for _, e := range r.List("engineers") {
		id, _ := e.(map[string]any)["id"].(string)
		out = append(out, id)
	}
	return out
}
