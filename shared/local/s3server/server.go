// Package s3server runs the in-process stand-in for the upload bucket on a
// loopback address: gofakes3 over its in-memory backend, behind the parts
// of S3's protocol that gofakes3 leaves out and the product relies on.
//
//   - Every request is authenticated as S3 does it, with Signature Version 4
//     in the Authorization header or in a presigned URL's query, against
//     the credentials the server was given: a header the signer covered
//     that is missing or changed (the upload's x-amz-tagging), an x-amz-*
//     header it did not cover, an expired URL or another secret is refused
//     with S3's error code.
//   - Objects carry tags: x-amz-tagging on PutObject, and the ?tagging
//     subresource (GetObjectTagging, PutObjectTagging, DeleteObjectTagging).
//     gofakes3 serves a PUT ?tagging as a PutObject that replaces the
//     object's body with the tagging XML; here it never reaches gofakes3.
//     Tags are not kept through multipart uploads or copies, nor dropped by
//     a multi-object delete.
//   - Browser-based uploads (POST Object, a multipart/form-data POST to the
//     bucket's URL) are authenticated by their form as S3 does it: the
//     policy's SigV4 signature, its expiration, every condition (key,
//     Content-Type, content-length-range, tagging...) and no field outside
//     them (post.go, policy.go). gofakes3 would store any such form.
//   - Failures can be injected per operation, as S3 answers them.
//
// The rest (objects, listings, conditional writes) is gofakes3's.
package s3server

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"wxchannel/shared/local/loopback"
)

// Options configure a server.
type Options struct {
	// Buckets are created empty at the start.
	Buckets []string
	// Keys holds the secret access key of each access key id the server
	// accepts signatures of.
	Keys map[string]string
	// Now is the clock requests' signing times are checked against;
	// default time.Now (the SDK signs with the wall clock).
	Now func() time.Time
}

// Server is an S3 stand-in on a loopback address.
type Server struct {
	// URL is the endpoint to give the SDK (path-style addressing).
	URL string
	// Backend is the objects' store.
	Backend *s3mem.Backend

	fake http.Handler
	http *loopback.Server
	keys map[string]string
	now  func() time.Time

	mu       sync.Mutex
	tags     map[objectName]tagSet
	failures map[string]*failure
}

type objectName struct{ bucket, key string }

type failure struct {
	code string
	left int
}

// Start listens on a free loopback port.
func Start(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	backend := s3mem.New()
	for _, b := range o.Buckets {
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Backend: backend, keys: o.Keys, now: o.Now,
		fake: gofakes3.New(backend).Server(), tags: map[objectName]tagSet{}, failures: map[string]*failure{}}
	s.http = loopback.Start(ln, s)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.http.Close() }

// InjectError makes the next n requests of op (an S3 operation name:
// "PutObject", "PostObject", "PutObjectTagging"...) fail with S3's error code
// ("ServiceUnavailable", "InternalError", "SlowDown", "AccessDenied"). The
// SDK retries the retryable ones, and each attempt counts.
func (s *Server) InjectError(op, code string, n int) {
	s.mu.Lock()
	s.failures[op] = &failure{code: code, left: n}
	s.mu.Unlock()
}

// ClearErrors drops every injected failure not yet used.
func (s *Server) ClearErrors() {
	s.mu.Lock()
	clear(s.failures)
	s.mu.Unlock()
}

func (s *Server) takeFailure(op string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[op]
	if f == nil || f.left <= 0 {
		return nil
	}
	f.left--
	return fail(f.code, "injected failure")
}

// ServeHTTP authenticates a request, answers the tagging it involves and
// hands the rest to gofakes3.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		s.fake.ServeHTTP(w, r) // CORS preflight: never signed
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op := operation(r, key)
	if apiErr := s.takeFailure(op); apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	if op == "PostObject" {
		s.postObject(w, r, bucket) // authenticated by its form, not its headers
		return
	}
	if apiErr := s.authenticate(r); apiErr != nil {
		writeError(w, r, apiErr)
		return
	}
	obj := objectName{bucket, key}
	switch op {
	case "GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging":
		s.serveTagging(w, r, op, obj)
	case "PutObject":
		s.putObject(w, r, obj)
	case "DeleteObject":
		if status := serveCapturing(s.fake, w, r); status < http.StatusMultipleChoices {
			s.setTags(obj, nil)
		}
	default:
		s.fake.ServeHTTP(w, r)
	}
}

// operation names the S3 operation of a request where the server treats it
// specially or a test may inject a failure into it ("" for the rest).
func operation(r *http.Request, key string) string {
	if browserUpload(r, key) {
		return "PostObject"
	}
	q := r.URL.Query()
	if key == "" || q.Has("uploadId") || q.Has("uploads") || q.Has("versionId") {
		return ""
	}
	method := map[string]string{http.MethodGet: "Get", http.MethodHead: "Head", http.MethodPut: "Put", http.MethodDelete: "Delete"}[r.Method]
	switch {
	case method == "" || (method == "Head" && q.Has("tagging")):
		return ""
	case q.Has("tagging"):
		return method + "ObjectTagging"
	case method == "Put" && r.Header.Get("X-Amz-Copy-Source") != "":
		return "CopyObject"
	}
	return method + "Object"
}

// apiError is an error answer: S3's code, its HTTP status, a message and
// the elements S3 adds for some codes (ArgumentName, MaxSizeAllowed...).
type apiError struct {
	code, message string
	status        int
	extra         []errorElement
}

// errorElement is one more element of an error document.
type errorElement struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// with returns e with one more element.
func (e *apiError) with(name, value string) *apiError {
	c := *e
	c.extra = append(slices.Clone(e.extra), errorElement{XMLName: xml.Name{Local: name}, Value: value})
	return &c
}

// statuses of the error codes the server answers with.
var statuses = map[string]int{
	"AccessDenied": http.StatusForbidden, "SignatureDoesNotMatch": http.StatusForbidden, "InvalidAccessKeyId": http.StatusForbidden,
	"RequestTimeTooSkewed": http.StatusForbidden, "AuthorizationQueryParametersError": http.StatusBadRequest,
	"XAmzContentSHA256Mismatch": http.StatusBadRequest, "InvalidTag": http.StatusBadRequest, "MalformedXML": http.StatusBadRequest,
	"InvalidArgument": http.StatusBadRequest, "AuthorizationHeaderMalformed": http.StatusBadRequest, "IncompleteBody": http.StatusBadRequest,
	"EntityTooLarge": http.StatusBadRequest, "EntityTooSmall": http.StatusBadRequest, "MalformedPOSTRequest": http.StatusBadRequest,
	"InvalidPolicyDocument": http.StatusBadRequest, "MaxPostPreDataLengthExceeded": http.StatusBadRequest,
	"NoSuchKey": http.StatusNotFound, "NoSuchBucket": http.StatusNotFound,
	"InternalError": http.StatusInternalServerError, "ServiceUnavailable": http.StatusServiceUnavailable,
	"SlowDown": http.StatusServiceUnavailable,
}

func fail(code, message string) *apiError {
	status, ok := statuses[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &apiError{code: code, message: message, status: status}
}

// writeError answers S3's XML error document (no body to a HEAD).
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	if r.Method == http.MethodHead {
		return
	}
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
		Extra   []errorElement
	}{Code: e.code, Message: e.message, Extra: e.extra})
}

// statusRecorder remembers the status gofakes3 answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// serveCapturing serves r with h and returns the status it answered.
func serveCapturing(h http.Handler, w http.ResponseWriter, r *http.Request) int {
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}
