package functions_test

import (
	"fmt"
	"testing"

	"wxchannel/shared/signin"
)

// TestGarbageLoginsStopCostingWeChatCalls: every login with a code WeChat
// refuses costs a WeChat call, so after a few from one address the next
// are refused before WeChat is asked (429 with Retry-After), and a
// malformed code never reaches WeChat at all.
func TestGarbageLoginsStopCostingWeChatCalls(t *testing.T) {
	w := newSessionWorld(t, false)
	w.Sim.ResetCalls()
	w.MustError(w.Do("POST", "/portal/login", "", map[string]any{"code": "not a code!", "scene": w.scene}), 400, "invalid_field")
	limit := signin.FailedLoginsPerIP.Max
	for i := range limit {
		code := fmt.Sprintf("garbagecode%021d", i)
		w.MustError(w.Do("POST", "/portal/login", "", map[string]any{"code": code, "scene": w.scene}), 401, "invalid_code")
	}
	if n := w.Sim.Calls("jscode2session"); n != limit {
		t.Fatalf("%d WeChat calls for %d refused codes", n, limit)
	}
	r := w.MustError(w.Do("POST", "/portal/login", "", map[string]any{"code": "garbagecode-one-more-000000000", "scene": w.scene}),
		429, "too_many_failed_logins")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on a refused login")
	}
	// A genuine code from the same address waits too; no WeChat call is made.
	w.MustError(w.Login(w.scene, "openid-genuine"), 429, "too_many_failed_logins")
	if n := w.Sim.Calls("jscode2session"); n != limit {
		t.Fatalf("WeChat was called for refused logins: %d calls", n)
	}
	w.Clock.Advance(signin.FailedLoginsPerIP.Window)
	w.Must(w.Login(w.scene, "openid-genuine"), 200)
}
