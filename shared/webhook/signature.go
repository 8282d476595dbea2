package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The errors Verify returns, each wrapped with detail.
var (
	ErrMissingHeader       = errors.New("webhook: signature header missing")
	ErrMalformedHeader     = errors.New("webhook: signature header malformed")
	ErrTimestampOutOfRange = errors.New("webhook: timestamp outside the tolerance")
	ErrSignatureMismatch   = errors.New("webhook: no signature matches")
)

const (
	// signatureScheme names the only scheme so far; a receiver skips
	// entries of schemes it does not know, so a later one can be added
	// beside it.
	signatureScheme = "v1"
	// maxSignatureEntries bounds the work a hostile header can cause: a
	// rotation needs two.
	maxSignatureEntries = 8
	// maxTimestampDigits keeps timestamps to seconds (twelve digits reach
	// year 33658) and their arithmetic far from overflow.
	maxTimestampDigits = 12
)

// Sign returns the lowercase hex HMAC-SHA256 of "<ts>.<body>" under secret.
func Sign(secret []byte, ts int64, body []byte) string {
	return hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

// mac is the HMAC-SHA256 of "<timestamp>.<body>", the timestamp as the
// header spells it.
func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignatureHeader returns the X-Wxc-Signature value: "v1=<hex>" for each
// secret, comma-separated, in the order given (the new secret first during
// a rotation).
func SignatureHeader(secrets [][]byte, ts int64, body []byte) string {
	entries := make([]string, len(secrets))
	for i, s := range secrets {
		entries[i] = signatureScheme + "=" + Sign(s, ts, body)
	}
	return strings.Join(entries, ",")
}

// Verify checks a delivery's headers against body: its timestamp must be
// within tolerance of now, either way, and one of its v1 signatures must
// match one of secrets (an empty secret matches nothing). Signatures are
// compared in constant time.
func Verify(secrets [][]byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	timestamp, ts, err := parseTimestamp(h.Values(HeaderTimestamp))
	if err != nil {
		return err
	}
	sigs, err := parseSignatures(h.Values(HeaderSignature))
	if err != nil {
		return err
	}
	skew := now.Unix() - ts
	if skew > int64(tolerance/time.Second) {
		return fmt.Errorf("%w: signed %d s ago", ErrTimestampOutOfRange, skew)
	}
	if -skew > int64(tolerance/time.Second) {
		return fmt.Errorf("%w: signed %d s in the future", ErrTimestampOutOfRange, -skew)
	}
	for _, secret := range secrets {
		if len(secret) == 0 {
			continue // anyone can sign with an empty key
		}
		want := mac(secret, timestamp, body)
		for _, sig := range sigs {
			if hmac.Equal(sig, want) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}

// parseTimestamp reads the one timestamp header, decimal unix seconds,
// returning it as sent (the signature covers that text) and as a number.
func parseTimestamp(values []string) (string, int64, error) {
	switch {
	case len(values) == 0 || values[0] == "":
		return "", 0, fmt.Errorf("%w: %s", ErrMissingHeader, HeaderTimestamp)
	case len(values) > 1:
		return "", 0, fmt.Errorf("%w: %s appears %d times", ErrMalformedHeader, HeaderTimestamp, len(values))
	}
	v := values[0]
	if len(v) > maxTimestampDigits || strings.Trim(v, "0123456789") != "" {
		return "", 0, fmt.Errorf("%w: %s is not unix seconds", ErrMalformedHeader, HeaderTimestamp)
	}
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %s: %w", ErrMalformedHeader, HeaderTimestamp, err)
	}
	return v, ts, nil
}

// parseSignatures returns the v1 digests of the signature header; several
// header lines are one comma-separated list, as HTTP allows.
func parseSignatures(values []string) ([][]byte, error) {
	joined := strings.Join(values, ",")
	if strings.TrimSpace(joined) == "" {
		return nil, fmt.Errorf("%w: %s", ErrMissingHeader, HeaderSignature)
	}
	entries := strings.Split(joined, ",")
	if len(entries) > maxSignatureEntries {
		return nil, fmt.Errorf("%w: %s has %d entries", ErrMalformedHeader, HeaderSignature, len(entries))
	}
	var sigs [][]byte
	for _, entry := range entries {
		scheme, value, ok := strings.Cut(strings.TrimSpace(entry), "=")
		if !ok || scheme == "" {
			return nil, fmt.Errorf("%w: %s entries are scheme=signature", ErrMalformedHeader, HeaderSignature)
		}
		if scheme != signatureScheme {
			continue
		}
		sig, err := hex.DecodeString(value)
		if err != nil || len(sig) != sha256.Size {
			return nil, fmt.Errorf("%w: a v1 signature is 64 hex digits", ErrMalformedHeader)
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%w: %s has no v1 signature", ErrMalformedHeader, HeaderSignature)
	}
	return sigs, nil
}
