package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"wxchannel/shared/apispec"
	"wxchannel/shared/local/apiclient"
)

// The contract check: every request API.Do and API.Send make, and every
// reply they get, is held to the OpenAPI document the product serves
// (docs/openapi.json). A reply always is: a success against its route's
// documented body, a refusal against the error envelope. A request is
// checked only when the product accepted it (2xx): attack and error tests
// send malformed requests on purpose, and the product refusing them is
// what they test.

// ContractReportEnv names a file to which each test appends how many of
// its exchanges were held to the contract (a line "test replies
// requests"), then a line "seen METHOD /route status code" for each
// route, status and error code it met: what the tests cover of the
// contract.
const ContractReportEnv = "WXCHANNEL_CONTRACT_REPORT"

// contractCounts counts one API's checked replies, and the requests among
// them the product accepted.
type contractCounts struct {
	replies, requests atomic.Int64
	mu                sync.Mutex
	seen              map[string]bool
}

// note remembers a route's status and error code, for the report.
func (c *contractCounts) note(route *routers.Route, status int, body []byte) {
	code := ""
	if status >= 400 {
		code = errorCode(body)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[strings.TrimSpace(fmt.Sprintf("%s %s %d %s", route.Method, route.Path, status, code))] = true
}

// report appends the counts of t's API to the file ContractReportEnv names.
func (c *contractCounts) report(t testing.TB) {
	name := os.Getenv(ContractReportEnv)
	if name == "" || c.replies.Load() == 0 {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Logf("contract report: %v", err)
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintf(f, "%s %d %d\n", t.Name(), c.replies.Load(), c.requests.Load())
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := range c.seen {
		_, _ = fmt.Fprintf(f, "seen %s\n", e)
	}
}

// contract is the served document with its router, loaded once.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	registerBodyDecoders()
	doc, err := openapi3.NewLoader().LoadFromData(apispec.Document())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &contract{doc: doc, router: router}, nil
})

// registerBodyDecoders lets the validator read the product's bodies that
// are not JSON (WeChat's XML pushes, the start page, QR images, zips) as
// opaque strings: their schemas say only that there is a body.
func registerBodyDecoders() {
	for _, ct := range []string{"text/xml", "application/xml", "text/html", "text/javascript", "text/css", "image/jpeg", "image/png",
		"image/svg+xml", "application/zip"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// briefErrors keeps a mismatch to where and why (the JSON Schema
// validator's reason names the path): the schema and the value would bury
// the line that matters, and the body is printed once, below it.
var briefErrors = []openapi3.SchemaValidationOption{openapi3.SetSchemaErrorMessageCustomizer(brief)}

func brief(err *openapi3.SchemaError) string { return err.Reason }

// exchange is one request and its reply as they went over the wire.
type exchange struct {
	req     *http.Request
	reqBody []byte
	status  int
	header  http.Header
	body    []byte
}

// recordingTransport keeps a copy of every exchange of one call (more
// than one when the client follows a redirect), for the contract check
// after the call.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	list []exchange
}

func (t *recordingTransport) exchanges() []exchange {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]exchange(nil), t.list...)
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		reqBody, err = io.ReadAll(body)
		if err != nil {
			return nil, err
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.mu.Lock()
	t.list = append(t.list, exchange{req: req, reqBody: reqBody, status: resp.StatusCode, header: resp.Header.Clone(), body: body})
	t.mu.Unlock()
	return resp, nil
}

// checkContract reports, for each exchange with the product at base, how
// it breaks the document (nil when none does).
func checkContract(base string, list []exchange, counts *contractCounts) error {
	c, err := loadContract()
	if err != nil {
		return err
	}
	var errs []error
	for _, ex := range list {
		if !strings.HasPrefix(ex.req.URL.String(), base) {
			continue // a redirect out of the product (to WeChat's pages)
		}
		if err := c.check(ex, counts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// check holds one exchange to the document.
func (c *contract) check(ex exchange, counts *contractCounts) error {
	ctx := context.Background()
	what := fmt.Sprintf("contract: %s %s → %d", ex.req.Method, ex.req.URL.Path, ex.status)
	req := ex.req.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(ex.reqBody))
	req.URL = &url.URL{Path: ex.req.URL.Path, RawQuery: ex.req.URL.RawQuery}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		route, params = c.wildcardRoute(req)
	}
	if route == nil {
		// No such route: the router redirects a path that is not clean
		// (/a/../b) to its clean form, and refuses anything else in the
		// error envelope.
		if loc := ex.header.Get("Location"); ex.status >= 300 && ex.status < 400 && loc == path.Clean(ex.req.URL.Path) &&
			loc != ex.req.URL.Path {
			return nil
		}
		if ex.status != http.StatusNotFound && ex.status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s: the route is not in the contract (%w)", what, err)
		}
		counts.replies.Add(1)
		return c.checkEnvelope(what, ex)
	}
	input := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
			SchemaValidationOptions: briefErrors}}
	success := ex.status >= 200 && ex.status < 300
	if success {
		counts.requests.Add(1)
		if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
			return fmt.Errorf("%s: the request the product accepted breaks the contract: %w", what, err)
		}
	}
	counts.replies.Add(1)
	if ex.status < 400 && route.Operation.Responses.Status(ex.status) == nil {
		return fmt.Errorf("%s: status %d is not documented for this route", what, ex.status)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: input, Status: ex.status, Header: ex.header,
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true, SchemaValidationOptions: briefErrors}}
	out.SetBodyBytes(ex.body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("%s: the reply breaks the contract: %w\nbody: %s", what, err, clip(ex.body))
	}
	counts.note(route, ex.status, ex.body)
	if ex.status >= 400 {
		return checkErrorCode(what, route, ex)
	}
	return nil
}

// checkErrorCode holds an error reply's code to the codes the route
// documents under its status (x-error-codes): a new refusal is part of
// the contract too.
func checkErrorCode(what string, route *routers.Route, ex exchange) error {
	code := errorCode(ex.body)
	if code == "" {
		return nil // not the envelope: a documented body of its own (checked above)
	}
	resp := route.Operation.Responses.Status(ex.status)
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("%s: the route does not document status %d (code %s)", what, ex.status, code)
	}
	listed, _ := resp.Value.Extensions["x-error-codes"].([]any)
	for _, c := range listed {
		if c == code {
			return nil
		}
	}
	return fmt.Errorf("%s: error code %q is not among the route's codes for status %d %v: add it to the route's Errors", what, code,
		ex.status, listed)
}

func errorCode(body []byte) string {
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	return env.Error.Code
}

// wildcardRoute finds the operation whose last path parameter spans
// segments (x-path-wildcard, a ServeMux {name...}) that req's path falls
// under: OpenAPI's templates match one segment only.
func (c *contract) wildcardRoute(req *http.Request) (*routers.Route, map[string]string) {
	for p, item := range c.doc.Paths.Map() {
		op := item.GetOperation(req.Method)
		if op == nil || op.Extensions["x-path-wildcard"] != true {
			continue
		}
		i := strings.LastIndexByte(p, '{')
		if rest, ok := strings.CutPrefix(req.URL.Path, p[:i]); ok && rest != "" {
			name := strings.TrimSuffix(p[i+1:], "}")
			return &routers.Route{Spec: c.doc, Path: p, PathItem: item, Method: req.Method, Operation: op}, map[string]string{name: rest}
		}
	}
	return nil, nil
}

// checkEnvelope holds a reply to the error envelope.
func (c *contract) checkEnvelope(what string, ex exchange) error {
	schema := c.doc.Components.Schemas["Error"]
	var v any
	if err := json.Unmarshal(ex.body, &v); err != nil {
		return fmt.Errorf("%s: the refusal is not JSON: %w", what, err)
	}
	if err := schema.Value.VisitJSON(v, append(briefErrors, openapi3.EnableJSONSchema2020())...); err != nil {
		return fmt.Errorf("%s: the refusal is not the error envelope: %w", what, err)
	}
	return nil
}

func clip(b []byte) string {
	const limit = 600
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}

// ContractClient is a JSON client of base (a function served on its own,
// as ServeThroughLambda does) whose every exchange is held to the contract
// as API.Do's are: a breach fails t. Tests that call one function apart
// from the whole product use it to stay covered.
func ContractClient(t testing.TB, base string) apiclient.Client {
	return apiclient.Client{Base: base, HTTP: &http.Client{Transport: &checkingTransport{report: t.Error, base: base}}}
}

// checkingTransport checks each exchange as soon as its reply is read.
type checkingTransport struct {
	report func(...any)
	base   string
	counts contractCounts
}

func (c *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := &recordingTransport{next: http.DefaultTransport}
	resp, err := rec.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if err := checkContract(c.base, rec.exchanges(), &c.counts); err != nil {
		c.report(err)
	}
	return resp, nil
}
