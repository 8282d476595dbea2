package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/wechat"
)

// FuzzReply: WeChat's replies are outside input too. Whatever body comes
// back — truncated, typed wrongly, an errcode without a message, an
// errmsg carrying rid — a call ends in a decoded result, a typed
// *APIError with a non-zero code and the API's name, or a plain error;
// never a panic, and never an error that repeats the access token or the
// secret sent with the request.
func FuzzReply(f *testing.F) {
	const token, secret = "ACCESS-TOKEN-not-for-logs", "APP-SECRET-not-for-logs"
	var mu sync.Mutex
	var reply []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		body := reply
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	c := wechat.New(wechat.Config{BaseURL: srv.URL, ComponentAppID: "wxd0c0mp0nent0fuz", ComponentSecret: wechat.StaticSecret(secret),
		MaxAttempts: 1, Timeout: 5 * time.Second})
	for _, seed := range []string{
		`{"errcode":0,"errmsg":"ok"}`,
		`{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest, rid: 6746d1a2-0c3e1d5b-2f9a"}`,
		`{"errcode":-1,"errmsg":"system error"}`,
		`{"errcode":"40001"}`,
		`{"errcode":45009}`,
		`{"authorization_info":{"authorizer_appid":"wx0123456789abcdef","authorizer_access_token":"a","expires_in":7200,"authorizer_refresh_token":"r","func_info":[{"funcscope_category":{"id":17}}]}}`,
		`{"authorization_info":{"func_info":[{"funcscope_category":null}]}}`,
		`{"openid":"o","session_key":"k","unionid":"u"}`,
		`{"expires_in":1e400}`,
		`null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(seed))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		mu.Lock()
		reply = body
		mu.Unlock()
		_, err1 := c.QueryAuth(ctx, wechat.StaticToken(token), "queryauthcode@@@fuzz")
		_, err2 := c.Code2Session(ctx, "wx0123456789abcdef", secret, "fuzz-js-code")
		for _, err := range []error{err1, err2} {
			if err == nil {
				continue
			}
			if msg := err.Error(); strings.Contains(msg, token) || strings.Contains(msg, secret) {
				t.Fatalf("an error repeats a secret: %s", msg)
			}
			var ae *wechat.APIError
			if errors.As(err, &ae) && (ae.Code == 0 || ae.API == "") {
				t.Fatalf("API error without a code or an API name: %+v", ae)
			}
		}
	})
}
