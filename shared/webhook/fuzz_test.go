package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"wxchannel/shared/webhook"
)

// independentSignature is the v1 signature computed here from the
// definition, not with the package's code.
func independentSignature(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// FuzzVerify feeds Verify arbitrary headers and bodies. With signValid set
// the harness prepends the right signature, so the fuzzer reaches the
// comparison with the rest of the header still its own.
func FuzzVerify(f *testing.F) {
	ts := strconv.Itoa(vectorTimestamp)
	f.Add(ts, "v1="+vectorSignature, []byte(vectorBody), false)
	f.Add(ts, "", []byte(vectorBody), true)
	f.Add(ts, "v2=x, v1=00", []byte(vectorBody), true)
	f.Add(ts, "v1="+strings.Repeat("0", 64), []byte{}, false)
	f.Add("01700000000", "V1="+strings.ToUpper(vectorSignature), []byte(vectorBody), false)
	f.Add("", ",,,=,v1=", []byte(nil), false)
	f.Add("99999999999999999999", "v1=", []byte("x"), true)

	secret := []byte(vectorSecret)
	other := []byte("whsec_another_tenants_secret_000")
	sentinels := []error{webhook.ErrMissingHeader, webhook.ErrMalformedHeader, webhook.ErrTimestampOutOfRange, webhook.ErrSignatureMismatch}
	f.Fuzz(func(t *testing.T, timestamp, signature string, body []byte, signValid bool) {
		if signValid {
			signature = "v1=" + independentSignature(secret, timestamp, body) + "," + signature
		}
		h := http.Header{}
		h.Set(webhook.HeaderTimestamp, timestamp)
		h.Set(webhook.HeaderSignature, signature)
		err := webhook.Verify([][]byte{secret}, h, body, epoch, webhook.Tolerance)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Verify returned an unexpected error: %v", err)
		}
		want := independentSignature(secret, timestamp, body)
		found := false
		for entry := range strings.SplitSeq(signature, ",") {
			scheme, sig, _ := strings.Cut(strings.TrimSpace(entry), "=")
			found = found || (scheme == "v1" && strings.EqualFold(sig, want))
		}
		if !found {
			t.Fatalf("Verify accepted %q for timestamp %q without the right signature", signature, timestamp)
		}
		if n, err := strconv.ParseInt(timestamp, 10, 64); err != nil || n < vectorTimestamp-300 || n > vectorTimestamp+300 {
			t.Fatalf("Verify accepted the timestamp %q", timestamp)
		}
		if webhook.Verify([][]byte{other}, h, body, epoch, webhook.Tolerance) == nil {
			t.Fatalf("another secret verifies %q", signature)
		}
	})
}
