package s3server

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Signature Version 4 as S3 checks it.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	sigTimeFormat   = "20060102T150405Z"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	// maxSkew is how far a header-signed request's time may be from ours.
	maxSkew = 15 * time.Minute
	// maxPresignExpiry is the longest X-Amz-Expires S3 accepts (7 days).
	maxPresignExpiry = 604800
)

var (
	authorizationPattern = regexp.MustCompile(`^` + sigAlgorithm + ` Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$`)
	sha256Pattern        = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// signature is what a request claims about its signature.
type signature struct {
	accessKey, scope       string // scope: date/region/service/aws4_request
	signedHeaders          []string
	signature, payloadHash string
	at                     time.Time
	presigned              bool
}

// authenticate checks a request's signature as S3 does: an anonymous
// request is refused (the bucket is private), a presigned one must not have
// expired, a header-signed one must be recent and carry its body's hash.
func (s *Server) authenticate(r *http.Request) *apiError {
	var sig signature
	var apiErr *apiError
	switch {
	case r.URL.Query().Has("X-Amz-Algorithm"):
		sig, apiErr = s.fromQuery(r.URL.Query())
	case r.Header.Get("Authorization") != "":
		sig, apiErr = s.fromHeader(r)
	default:
		return fail("AccessDenied", "Access Denied")
	}
	if apiErr != nil {
		return apiErr
	}
	secret, ok := s.keys[sig.accessKey]
	if !ok {
		return fail("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	if name := unsignedAmzHeader(r.Header, sig.signedHeaders); name != "" {
		return fail("AccessDenied", "There were headers present in the request which were not signed: "+name)
	}
	want := sign(secret, sig, canonicalRequest(r, sig))
	if !hmac.Equal([]byte(want), []byte(sig.signature)) {
		return fail("SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return checkPayload(r, sig.payloadHash)
}

// fromQuery reads a presigned URL's signature.
func (s *Server) fromQuery(q url.Values) (signature, *apiError) {
	malformed := fail("AuthorizationQueryParametersError", "Query-string authentication version 4 requires the X-Amz-Algorithm, "+
		"X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		return signature{}, malformed
	}
	sig, ok := parseCredential(q.Get("X-Amz-Credential"))
	at, err := time.Parse(sigTimeFormat, q.Get("X-Amz-Date"))
	expires, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
	if !ok || err != nil || err2 != nil || expires < 1 || expires > maxPresignExpiry || q.Get("X-Amz-Signature") == "" {
		return signature{}, malformed
	}
	if s.now().After(at.Add(time.Duration(expires) * time.Second)) {
		return signature{}, fail("AccessDenied", "Request has expired")
	}
	sig.at, sig.presigned, sig.signature = at, true, q.Get("X-Amz-Signature")
	sig.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	sig.payloadHash = unsignedPayload
	if h := q.Get("X-Amz-Content-Sha256"); h != "" {
		sig.payloadHash = h
	}
	return sig, nil
}

// fromHeader reads an Authorization header's signature.
func (s *Server) fromHeader(r *http.Request) (signature, *apiError) {
	m := authorizationPattern.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return signature{}, fail("AccessDenied", "Unsupported Authorization Type")
	}
	sig, ok := parseCredential(m[1])
	if !ok {
		return signature{}, fail("AuthorizationHeaderMalformed", "The authorization header is malformed")
	}
	at, err := time.Parse(sigTimeFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return signature{}, fail("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
	}
	if skew := s.now().Sub(at); skew > maxSkew || skew < -maxSkew {
		return signature{}, fail("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
	}
	sig.at, sig.signedHeaders, sig.signature = at, strings.Split(m[2], ";"), m[3]
	if sig.payloadHash = r.Header.Get("X-Amz-Content-Sha256"); sig.payloadHash == "" {
		return signature{}, fail("InvalidArgument", "x-amz-content-sha256 must be provided")
	}
	return sig, nil
}

// parseCredential splits key/date/region/service/aws4_request.
func parseCredential(credential string) (signature, bool) {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[3] != "s3" || parts[4] != "aws4_request" {
		return signature{}, false
	}
	return signature{accessKey: parts[0], scope: strings.Join(parts[1:], "/")}, true
}

// unsignedAmzHeader names an x-amz-* header the signature does not cover:
// S3 refuses such a request.
func unsignedAmzHeader(h http.Header, signed []string) string {
	for name := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && !slices.Contains(signed, lower) {
			return lower
		}
	}
	return ""
}

// canonicalRequest is the request as the signer saw it.
func canonicalRequest(r *http.Request, sig signature) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.URL.EscapedPath() + "\n" + canonicalQuery(r.URL.Query(), sig.presigned) + "\n")
	for _, name := range sig.signedHeaders {
		b.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	b.WriteString("\n" + strings.Join(sig.signedHeaders, ";") + "\n" + sig.payloadHash)
	return b.String()
}

func canonicalQuery(q url.Values, presigned bool) string {
	if presigned {
		q.Del("X-Amz-Signature")
	}
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, pair{uriEncode(k), uriEncode(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(strings.Compare(a.k, b.k), strings.Compare(a.v, b.v)) })
	encoded := make([]string, len(pairs))
	for i, p := range pairs {
		encoded[i] = p.k + "=" + p.v
	}
	return strings.Join(encoded, "&")
}

// uriEncode escapes all but RFC 3986's unreserved characters.
func uriEncode(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		return r.Host
	case "content-length":
		if r.Header.Get("Content-Length") == "" && r.ContentLength >= 0 {
			return strconv.FormatInt(r.ContentLength, 10)
		}
	}
	values := r.Header.Values(name)
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}

// sign computes the signature of a canonical request with the secret.
func sign(secret string, sig signature, canonical string) string {
	digest := sha256.Sum256([]byte(canonical))
	toSign := sigAlgorithm + "\n" + sig.at.UTC().Format(sigTimeFormat) + "\n" + sig.scope + "\n" + hex.EncodeToString(digest[:])
	return hex.EncodeToString(hmacSHA256(signingKey(secret, sig.scope), toSign))
}

// signingKey derives the key of a scope (date/region/service/aws4_request)
// from the secret.
func signingKey(secret, scope string) []byte {
	key := []byte("AWS4" + secret)
	for part := range strings.SplitSeq(scope, "/") {
		key = hmacSHA256(key, part)
	}
	return key
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// checkPayload compares a body with the SHA-256 the signature covers;
// unsigned and streamed payloads are taken as they come.
func checkPayload(r *http.Request, payloadHash string) *apiError {
	if !sha256Pattern.MatchString(payloadHash) {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fail("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != payloadHash {
		return fail("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return nil
}
