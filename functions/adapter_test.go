package functions_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"wxchannel/functions"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/local/testenv"
)

// event loads the API Gateway v2 fixture and points it at method and path.
func event(t *testing.T, method, path, body string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/apigw-v2-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev.RawPath = path
	ev.RequestContext.HTTP.Path = path
	ev.RequestContext.HTTP.Method = method
	ev.Body = body
	return ev
}

type envelope struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

type routed struct {
	http.Handler
	patterns []string
}

func (r routed) Patterns() []string { return r.patterns }

func httpFunctions(t *testing.T, env *testenv.Env) map[string]routed {
	t.Helper()
	out := map[string]routed{}
	for _, f := range functions.All {
		if f.HTTP == nil {
			continue
		}
		h, patterns, err := lambdarun.Handler(context.Background(), f.Name, f.HTTP, env.Deps)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = routed{Handler: h, patterns: patterns}
	}
	return out
}

// TestHealthThroughLambdaAdapter sends each function's health request as an
// API Gateway v2 event through the same adapter the Lambda uses.
func TestHealthThroughLambdaAdapter(t *testing.T) {
	env := testenv.New(t)
	for name, h := range httpFunctions(t, env) {
		t.Run(name, func(t *testing.T) {
			resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), event(t, "GET", "/health/"+name, ""))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d body %s", resp.StatusCode, resp.Body)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil || got["function"] != name || got["status"] != "ok" {
				t.Fatalf("body %s (%v)", resp.Body, err)
			}
			if resp.Headers["X-Request-Id"] != "KZfQ0gZcsHcEJ0g=" {
				t.Fatalf("request id header %q, want API Gateway's", resp.Headers["X-Request-Id"])
			}
		})
	}
}

// TestRoutingErrorsUseTheEnvelope checks, for every function, directly and
// through the adapter, that unknown routes and wrong methods get the JSON
// error envelope with the right status.
func TestRoutingErrorsUseTheEnvelope(t *testing.T) {
	env := testenv.New(t)
	for name, h := range httpFunctions(t, env) {
		cases := []struct {
			label, method, path string
			status              int
			code                string
		}{
			{"unknown route", "GET", "/no/such/route", 404, "route_not_found"},
			{"wrong method", "DELETE", "/health/" + name, 405, "method_not_allowed"},
		}
		for _, tc := range cases {
			t.Run(name+"/"+tc.label+"/direct", func(t *testing.T) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
				checkEnvelope(t, rec.Code, rec.Body.String(), tc.status, tc.code)
			})
			t.Run(name+"/"+tc.label+"/adapter", func(t *testing.T) {
				resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), event(t, tc.method, tc.path, ""))
				if err != nil {
					t.Fatal(err)
				}
				checkEnvelope(t, resp.StatusCode, resp.Body, tc.status, tc.code)
			})
		}
	}
}

// TestJSONRoutesRejectBadBodies posts malformed and oversized bodies to every
// JSON POST route of every function, unauthenticated: whatever the route
// checks first, the answer is a 4xx envelope, never a 5xx.
func TestJSONRoutesRejectBadBodies(t *testing.T) {
	env := testenv.New(t)
	for name, h := range httpFunctions(t, env) {
		for _, pattern := range h.Patterns() {
			method, path, _ := strings.Cut(pattern, " ")
			if method != "POST" && method != "PUT" {
				continue
			}
			path = strings.NewReplacer("{appid}", "wx0000000000000000", "{id}", "wo-1", "{sn}", "SN1").Replace(path)
			for label, body := range map[string]string{
				"malformed": `{"code": `,
				"oversized": `{"pad":"` + strings.Repeat("a", 7<<20) + `"}`,
				"not json":  `<xml></xml>`,
			} {
				t.Run(name+" "+pattern+" "+label, func(t *testing.T) {
					rec := httptest.NewRecorder()
					req := httptest.NewRequest(method, path, strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					h.ServeHTTP(rec, req)
					if rec.Code < 400 || rec.Code > 499 {
						t.Fatalf("status %d, want 4xx; body %.200s", rec.Code, rec.Body.String())
					}
					var e envelope
					if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
						t.Fatalf("not an error envelope: %.200s", rec.Body.String())
					}
				})
			}
		}
	}
}

func checkEnvelope(t *testing.T, status int, body string, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	var e envelope
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body is not JSON: %s", body)
	}
	if e.Error.Code != wantCode || e.Error.Message == "" {
		t.Fatalf("envelope %+v, want code %s", e.Error, wantCode)
	}
}
