package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/apiclient"
	"wxchannel/shared/logging"
)

// TestTheContractCheckCatchesWhatBreaksTheDocument: the check every API
// call goes through refuses a renamed, missing or retyped field, an
// undocumented status or route, a refusal outside the envelope, and an
// accepted request the document does not allow; it lets through what the
// document describes, and malformed requests the product refused.
func TestTheContractCheckCatchesWhatBreaksTheDocument(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	script := http.Header{"Content-Type": {"text/javascript; charset=utf-8"}}
	cases := []struct {
		name, method, target, reqBody string
		status                        int
		body                          string
		wantErr                       string
	}{
		{"a documented reply", "GET", "/health/userlogin", "", 200, `{"status":"ok","function":"userlogin"}`, ""},
		{"a missing field", "GET", "/health/userlogin", "", 200, `{"status":"ok"}`, "function"},
		{"a renamed field", "GET", "/health/userlogin", "", 200, `{"status":"ok","fn":"userlogin"}`, "function"},
		{"a retyped field", "GET", "/health/userlogin", "", 200, `{"status":"ok","function":7}`, "function"},
		{"an undocumented success status", "GET", "/health/userlogin", "", 201, `{"status":"ok","function":"x"}`, "not documented"},
		{"a refusal in the envelope", "POST", "/portal/session/refresh", `{"refresh_token":"x"}`, 401,
			`{"error":{"code":"invalid_refresh_token","message":"log in again","request_id":"r1"}}`, ""},
		{"a refusal outside the envelope", "POST", "/portal/session/refresh", `{"refresh_token":"x"}`, 401, `{"code":"x"}`, "error"},
		{"an accepted request with a misspelt field", "POST", "/portal/session/refresh", `{"refresh_tokn":"x"}`, 200,
			`{"session_token":"s","refresh_token":"r","expires_in":7200}`, "refresh_tokn"},
		{"an undocumented error code", "POST", "/portal/session/refresh", `{"refresh_token":"x"}`, 401,
			`{"error":{"code":"refresh_token_lost","message":"log in again"}}`, "refresh_token_lost"},
		{"a malformed request the product refused", "POST", "/portal/session/refresh", `{"refresh_tokn":`, 400,
			`{"error":{"code":"malformed_json","message":"malformed JSON at byte 16"}}`, ""},
		{"a file under a wildcard route", "GET", "/console/assets/0123abcd/app.js", "", 200, `x()`, ""},
		{"a file under a wildcard route of another type", "GET", "/console/assets/0123abcd/app.js", "", 200, `{}`, "Content-Type"},
		{"an unknown route refused", "GET", "/nowhere", "", 404, `{"error":{"code":"route_not_found","message":"no route"}}`, ""},
		{"an unknown route answered", "GET", "/nowhere", "", 200, `{}`, "not in the contract"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://api.test"+tc.target, strings.NewReader(tc.reqBody))
			if tc.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			header := json
			if tc.body == `x()` {
				header = script
			}
			err := c.check(exchange{req: req, reqBody: []byte(tc.reqBody), status: tc.status, header: header, body: []byte(tc.body)},
				&contractCounts{})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("accepted; want an error about %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error %v does not name %q", err, tc.wantErr)
			}
		})
	}
}

// TestAContractClientChecksAFunctionServedOnItsOwn: a test calling one
// function apart from the product is held to the contract too.
func TestAContractClientChecksAFunctionServedOnItsOwn(t *testing.T) {
	rt := httpapi.NewRouter(logging.Discard())
	rt.Handle("GET /health/userlogin", httpapi.Health("userlogin"))
	rt.Handle("GET /health/wrong", func(w http.ResponseWriter, r *http.Request) error {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
	c := ContractClient(t, ServeThroughLambda(t, rt))
	if r, err := c.Do(context.Background(), apiclient.Request{Method: "GET", Path: "/health/userlogin"}); err != nil || r.Status != 200 {
		t.Fatalf("%v %+v", err, r)
	}
	var reported []any
	bad := apiclient.Client{Base: c.Base, HTTP: &http.Client{Transport: &checkingTransport{base: c.Base,
		report: func(args ...any) { reported = append(reported, args...) }}}}
	_, _ = bad.Do(context.Background(), apiclient.Request{Method: "GET", Path: "/health/wrong"})
	if len(reported) == 0 {
		t.Fatal("a reply without its documented field passed")
	}
	t.Logf("reported: %v", reported[0])
}
