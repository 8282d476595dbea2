package authorization_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"wxchannel/shared/authorization"
)

// navigate follows u as a browser does, asking for HTML first.
func navigate(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestTheCallbackShowsTheAdminsBrowserAPageAndAPIClientsJSON: WeChat's
// redirect lands the admin's browser on the callback, which shows the
// outcome in words (connected; the problems with their fixes; a refused
// link with its code), with the start page's headers and a link back to
// the console's channel page; a client that does not ask for HTML reads
// the same outcome as JSON.
func TestTheCallbackShowsTheAdminsBrowserAPageAndAPIClientsJSON(t *testing.T) {
	w := newWorld(t)
	w.Sim.AddAuthorizer(miniProgram("wxacme0000000001"))
	uncertified := miniProgram("wxacme0000000002")
	uncertified.VerifyType = -1
	w.Sim.AddAuthorizer(uncertified)

	callback := w.authorize(t, w.start(t, "acme"), "wxacme0000000001")
	status, header, body := navigate(t, callback)
	back := `href="` + authorization.ConsoleChannelPath + `"`
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") ||
		!strings.Contains(header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(body, "Your Mini Program is connected") || !strings.Contains(body, "Acme Service (wxacme0000000001)") ||
		!strings.Contains(body, back) {
		t.Fatalf("the bound page: %d %v\n%s", status, header, body)
	}
	// The link was used: the page says so with the code, JSON the same.
	if status, _, body := navigate(t, callback); status != http.StatusConflict || !strings.Contains(body, "state_used") ||
		!strings.Contains(body, back) {
		t.Fatalf("the replayed page: %d\n%s", status, body)
	}
	resp, err := http.Get(callback)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var replay struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&replay); err != nil || resp.StatusCode != http.StatusConflict ||
		replay.Error.Code != "state_used" {
		t.Fatalf("the replayed JSON: %d %+v %v", resp.StatusCode, replay, err)
	}

	// An uncertified mini program: the problem and its fix, escaped text.
	callback = w.authorize(t, w.start(t, "beta"), "wxacme0000000002")
	status, _, body = navigate(t, callback)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "not_certified") || !strings.Contains(body, "certification") ||
		!strings.Contains(body, back) {
		t.Fatalf("the problem page: %d\n%s", status, body)
	}
}
