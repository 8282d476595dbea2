package testenv

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

var requestSeq atomic.Int64

// ServeThroughLambda starts an HTTP server that plays API Gateway (HTTP API,
// payload v2) in front of h: each request becomes the JSON event API Gateway
// sends, goes through the same adapter the Lambda uses, and the adapter's
// response becomes the HTTP reply. It returns the server's URL.
func ServeThroughLambda(t testing.TB, h http.Handler) string {
	t.Helper()
	adapter := httpadapter.NewV2(h)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := ToEvent(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := adapter.ProxyWithContext(r.Context(), ev)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		body := []byte(resp.Body)
		if resp.IsBase64Encoded {
			body, _ = base64.StdEncoding.DecodeString(resp.Body)
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// ToEvent converts a request into API Gateway's v2 event, round-tripped
// through JSON as the Lambda runtime delivers it.
func ToEvent(r *http.Request) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: headers, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "apigw-" + strconv.FormatInt(requestSeq.Add(1), 10),
			Stage:     "$default", DomainName: "api.example.test", TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10", UserAgent: r.UserAgent(),
			},
		},
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return ev, err
	}
	var out events.APIGatewayV2HTTPRequest
	err = json.Unmarshal(raw, &out)
	return out, err
}
