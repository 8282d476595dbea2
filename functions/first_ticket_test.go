package functions_test

import (
	"context"
	"strings"
	"testing"

	"wxchannel/functions"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/staffauth"
)

// TestAuthorizationBeforeTheFirstVerifyTicketSaysWhatToFix: right after a
// deployment, before WeChat pushed its first verify ticket, connecting a
// mini program is a retryable 503 that says what to check, not a 500.
func TestAuthorizationBeforeTheFirstVerifyTicketSaysWhatToFix(t *testing.T) {
	env := testenv.New(t)
	h, _, err := functions.Mount(context.Background(), env.Deps)
	if err != nil {
		t.Fatal(err)
	}
	client := apiclient.Client{Base: testenv.ServeThroughLambda(t, h)}
	admin := env.StaffToken(t, "acme", "admin-1", staffauth.RoleAdmin)
	r, err := client.Do(context.Background(), apiclient.Request{Method: "POST", Path: "/admin/miniprogram/authorization", Token: admin})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 503 || r.ErrorCode() != "verify_ticket_missing" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("%d %s (Retry-After %q)", r.Status, r.Raw, r.Header.Get("Retry-After"))
	}
	if msg := r.Str("error", "message"); !strings.Contains(msg, "authorization event URL") {
		t.Fatalf("no fix in %s", r.Raw)
	}
}
