// Package dynamofault injects DynamoDB failures at the client and counts
// the attempts the client sends, whatever server answers: it wraps the AWS
// SDK client's HTTP client, so a failing table looks to the SDK exactly as
// DynamoDB's own 500 does (retried, then classified), and a test that
// checks "no write was sent" means the same against the embedded server,
// moto or DynamoDB itself.
package dynamofault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Match picks the batch sub-requests to leave unprocessed: n counts the
// sub-requests for the table seen since the matcher was set (from 1), key
// is the item's key (BatchGetItem) or the put item or delete key
// (BatchWriteItem) in DynamoDB's JSON form.
type Match func(n int, key map[string]any) bool

// Injector is installed on a DynamoDB client's options; the zero value
// injects nothing and counts.
type Injector struct {
	next aws.HTTPClient

	mu          sync.Mutex
	attempts    map[string]int
	failAll     bool
	failTables  map[string]bool
	failIndexes map[string]bool // table + "/" + index
	unprocessed map[string]*matcher
}

// The batch operations whose sub-requests can be left unprocessed.
const (
	opBatchGet   = "BatchGetItem"
	opBatchWrite = "BatchWriteItem"
)

type matcher struct {
	match Match
	n     int
}

// Install wraps the client's HTTP client: dynamodb.New(opts, in.Install).
func (in *Injector) Install(o *dynamodb.Options) {
	in.next = o.HTTPClient
	if in.next == nil {
		in.next = awshttp.NewBuildableClient()
	}
	o.HTTPClient = in
}

// FailAll makes every request fail with DynamoDB's InternalServerError.
func (in *Injector) FailAll(on bool) {
	in.mu.Lock()
	in.failAll = on
	in.mu.Unlock()
}

// FailTable makes requests that touch a table (or one of its indexes) fail.
func (in *Injector) FailTable(table string, on bool) {
	in.mu.Lock()
	in.failTables = set(in.failTables, table, on)
	in.mu.Unlock()
}

// FailIndex makes Query and Scan requests on one index of a table fail.
func (in *Injector) FailIndex(table, index string, on bool) {
	in.mu.Lock()
	in.failIndexes = set(in.failIndexes, table+"/"+index, on)
	in.mu.Unlock()
}

// LeaveUnprocessed answers the batch sub-requests for table that match as
// DynamoDB does when it runs out of capacity: they are not sent, and come
// back in UnprocessedKeys or UnprocessedItems. A nil match clears every
// table's matcher.
func (in *Injector) LeaveUnprocessed(table string, match Match) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if match == nil {
		in.unprocessed = nil
		return
	}
	if in.unprocessed == nil {
		in.unprocessed = map[string]*matcher{}
	}
	in.unprocessed[table] = &matcher{match: match}
}

// Clear stops every injected failure.
func (in *Injector) Clear() {
	in.mu.Lock()
	in.failAll, in.failTables, in.failIndexes, in.unprocessed = false, nil, nil, nil
	in.mu.Unlock()
}

// Attempts returns how many attempts of each operation the client sent
// (retries included; an injected failure counts as sent) since the last
// Reset.
func (in *Injector) Attempts() map[string]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.attempts)
}

// Reset zeroes the attempt counts.
func (in *Injector) Reset() {
	in.mu.Lock()
	in.attempts = nil
	in.mu.Unlock()
}

func set(m map[string]bool, k string, on bool) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	if on {
		m[k] = true
	} else {
		delete(m, k)
	}
	return m
}

// Do sends one attempt, or answers it with the injected fault.
func (in *Injector) Do(req *http.Request) (*http.Response, error) {
	op := operation(req)
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	var parsed request
	_ = json.Unmarshal(body, &parsed) // an unreadable body is the server's to refuse
	in.mu.Lock()
	if in.attempts == nil {
		in.attempts = map[string]int{}
	}
	in.attempts[op]++
	fail := in.failing(parsed)
	in.mu.Unlock()
	if fail {
		return internalError(req), nil
	}
	switch op {
	case opBatchGet, opBatchWrite:
		return in.batch(req, op, body)
	}
	return in.next.Do(req)
}

// operation is the DynamoDB operation of a request ("Query", "PutItem").
func operation(req *http.Request) string {
	op := req.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	return op
}

// readBody reads the request body and puts it back.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read the DynamoDB request: %w", err)
	}
	_ = req.Body.Close()
	setBody(req, body)
	return body, nil
}

func setBody(req *http.Request, body []byte) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

// request is what a fault rule looks at: the tables and index a request
// touches.
type request struct {
	TableName     string                     `json:"TableName"`
	IndexName     string                     `json:"IndexName"`
	RequestItems  map[string]json.RawMessage `json:"RequestItems"`
	TransactItems []map[string]struct {
		TableName string `json:"TableName"`
	} `json:"TransactItems"`
}

func (r request) tables() []string {
	out := []string{}
	if r.TableName != "" {
		out = append(out, r.TableName)
	}
	for t := range r.RequestItems {
		out = append(out, t)
	}
	for _, item := range r.TransactItems {
		for _, action := range item {
			out = append(out, action.TableName)
		}
	}
	return out
}

// failing reports whether a request meets an injected failure (in.mu held).
func (in *Injector) failing(r request) bool {
	if in.failAll {
		return true
	}
	if r.IndexName != "" && in.failIndexes[r.TableName+"/"+r.IndexName] {
		return true
	}
	for _, t := range r.tables() {
		if in.failTables[t] {
			return true
		}
	}
	return false
}

// internalError is DynamoDB's answer when it fails a request: HTTP 500,
// which the SDK retries and then returns as InternalServerError.
func internalError(req *http.Request) *http.Response {
	return jsonResponse(req, http.StatusInternalServerError, map[string]string{
		"__type":  "com.amazonaws.dynamodb.v20120810#InternalServerError",
		"message": "Internal server error (injected at the client)",
	})
}

func jsonResponse(req *http.Request, status int, v any) *http.Response {
	body, _ := json.Marshal(v)
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", "injected")
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req}
}
