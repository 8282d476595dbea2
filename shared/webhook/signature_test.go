package webhook_test

import (
	"bytes"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/webhook"
)

func TestSignMatchesTheFixedVector(t *testing.T) {
	if got := webhook.Sign([]byte(vectorSecret), vectorTimestamp, []byte(vectorBody)); got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
	want := "v1=" + vectorSignature
	if got := webhook.SignatureHeader([][]byte{[]byte(vectorSecret)}, vectorTimestamp, []byte(vectorBody)); got != want {
		t.Fatalf("SignatureHeader = %s, want %s", got, want)
	}
}

// TestOpenSSLComputesTheFixedVector runs the command docs/webhooks.md gives
// CRM developers.
func TestOpenSSLComputesTheFixedVector(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not on PATH")
	}
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", vectorSecret)
	cmd.Stdin = strings.NewReader(strconv.Itoa(vectorTimestamp) + "." + vectorBody)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	// "(stdin)= <hex>" or, since OpenSSL 3, "SHA2-256(stdin)= <hex>".
	fields := strings.Fields(string(out))
	if len(fields) == 0 || fields[len(fields)-1] != vectorSignature {
		t.Fatalf("openssl printed %q, want the digest %s", out, vectorSignature)
	}
}

func TestSignatureHeaderCarriesTheNewSecretFirstDuringARotation(t *testing.T) {
	body := []byte(vectorBody)
	got := webhook.SignatureHeader([][]byte{newSecret, oldSecret}, vectorTimestamp, body)
	want := "v1=" + webhook.Sign(newSecret, vectorTimestamp, body) + ",v1=" + webhook.Sign(oldSecret, vectorTimestamp, body)
	if got != want {
		t.Fatalf("SignatureHeader = %s, want %s", got, want)
	}
}

func TestACRMHoldingEitherSecretVerifiesARotationDelivery(t *testing.T) {
	body := []byte(vectorBody)
	h := signedHeader([][]byte{newSecret, oldSecret}, vectorTimestamp, body)
	for name, secrets := range map[string][][]byte{
		"new secret only": {newSecret},
		"old secret only": {oldSecret},
		"both":            {oldSecret, newSecret},
	} {
		if err := webhook.Verify(secrets, h, body, epoch, webhook.Tolerance); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := webhook.Verify([][]byte{[]byte("whsec_a_third_secret_nobody_had")}, h, body, epoch, webhook.Tolerance); !errors.Is(err,
		webhook.ErrSignatureMismatch) {
		t.Errorf("a third secret: %v, want ErrSignatureMismatch", err)
	}
}

func TestVerifyRefusesWithADistinctErrorForEachFault(t *testing.T) {
	body := []byte(vectorBody)
	secrets := [][]byte{newSecret}
	good := signedHeader(secrets, vectorTimestamp, body)
	goodSig := good.Get(webhook.HeaderSignature)
	with := func(name, value string) http.Header {
		h := good.Clone()
		if value == "" {
			h.Del(name)
		} else {
			h.Set(name, value)
		}
		return h
	}
	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		secrets [][]byte
		want    error
	}{
		{"no timestamp", with(webhook.HeaderTimestamp, ""), body, secrets, webhook.ErrMissingHeader},
		{"no signature", with(webhook.HeaderSignature, ""), body, secrets, webhook.ErrMissingHeader},
		{"blank signature", with(webhook.HeaderSignature, " , "), body, secrets, webhook.ErrMalformedHeader},
		{"timestamp in milliseconds", with(webhook.HeaderTimestamp, "1700000000000"), body, secrets, webhook.ErrMalformedHeader},
		{"signed timestamp", with(webhook.HeaderTimestamp, "+1700000000"), body, secrets, webhook.ErrMalformedHeader},
		{"negative timestamp", with(webhook.HeaderTimestamp, "-1"), body, secrets, webhook.ErrMalformedHeader},
		{"timestamp as a date", with(webhook.HeaderTimestamp, "2023-11-14T22:13:20Z"), body, secrets, webhook.ErrMalformedHeader},
		{"two timestamps", func() http.Header {
			h := good.Clone()
			h.Add(webhook.HeaderTimestamp, "1700000001")
			return h
		}(), body, secrets, webhook.ErrMalformedHeader},
		{"signature without scheme", with(webhook.HeaderSignature, vectorSignature), body, secrets, webhook.ErrMalformedHeader},
		{"short signature", with(webhook.HeaderSignature, "v1=0ef844"), body, secrets, webhook.ErrMalformedHeader},
		{"signature not hex", with(webhook.HeaderSignature, "v1="+strings.Repeat("zz", 32)), body, secrets, webhook.ErrMalformedHeader},
		{"only unknown schemes", with(webhook.HeaderSignature, "v0="+vectorSignature), body, secrets, webhook.ErrMalformedHeader},
		{"too many entries", with(webhook.HeaderSignature, strings.Repeat(goodSig+",", 8)+goodSig), body, secrets, webhook.ErrMalformedHeader},
		{"six minutes old", signedHeader(secrets, vectorTimestamp-360, body), body, secrets, webhook.ErrTimestampOutOfRange},
		{"six minutes ahead", signedHeader(secrets, vectorTimestamp+360, body), body, secrets, webhook.ErrTimestampOutOfRange},
		{"a year old", signedHeader(secrets, vectorTimestamp-365*86400, body), body, secrets, webhook.ErrTimestampOutOfRange},
		{"wrong secret", good, body, [][]byte{oldSecret}, webhook.ErrSignatureMismatch},
		{"no secret", good, body, nil, webhook.ErrSignatureMismatch},
		{"an empty secret", signedHeader([][]byte{{}}, vectorTimestamp, body), body, [][]byte{{}}, webhook.ErrSignatureMismatch},
		{"body altered", good, []byte(`{"id":"ev_2"}`), secrets, webhook.ErrSignatureMismatch},
		{"body with a trailing newline", good, append(bytes.Clone(body), '\n'), secrets, webhook.ErrSignatureMismatch},
		{"timestamp altered", with(webhook.HeaderTimestamp, strconv.Itoa(vectorTimestamp+1)), body, secrets, webhook.ErrSignatureMismatch},
		{"timestamp re-spelled with a leading zero", with(webhook.HeaderTimestamp, "0"+strconv.Itoa(vectorTimestamp)), body, secrets,
			webhook.ErrSignatureMismatch},
	}
	sentinels := []error{webhook.ErrMissingHeader, webhook.ErrMalformedHeader, webhook.ErrTimestampOutOfRange, webhook.ErrSignatureMismatch}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(tt.secrets, tt.header, tt.body, epoch, webhook.Tolerance)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			for _, other := range sentinels {
				if !errors.Is(tt.want, other) && errors.Is(err, other) {
					t.Fatalf("Verify = %v, which is also %v", err, other)
				}
			}
		})
	}
}

func TestVerifyToleranceReachesExactlyAsFarEitherWay(t *testing.T) {
	body := []byte(vectorBody)
	secrets := [][]byte{newSecret}
	for _, tt := range []struct {
		skew time.Duration
		ok   bool
	}{
		{0, true}, {-5 * time.Minute, true}, {5 * time.Minute, true},
		{-5*time.Minute - time.Second, false}, {5*time.Minute + time.Second, false},
	} {
		h := signedHeader(secrets, epoch.Add(tt.skew).Unix(), body)
		err := webhook.Verify(secrets, h, body, epoch, webhook.Tolerance)
		if (err == nil) != tt.ok {
			t.Errorf("signed %v from now: Verify = %v, want ok=%v", tt.skew, err, tt.ok)
		}
	}
}

func TestVerifySkipsSchemesItDoesNotKnow(t *testing.T) {
	body := []byte(vectorBody)
	h := signedHeader([][]byte{newSecret}, vectorTimestamp, body)
	h.Set(webhook.HeaderSignature, "v2=anything-at-all, "+h.Get(webhook.HeaderSignature))
	if err := webhook.Verify([][]byte{newSecret}, h, body, epoch, webhook.Tolerance); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyReadsSeveralSignatureLinesAsOneList(t *testing.T) {
	body := []byte(vectorBody)
	h := signedHeader([][]byte{oldSecret}, vectorTimestamp, body)
	h.Set(webhook.HeaderSignature, "v1="+webhook.Sign(newSecret, vectorTimestamp, body))
	h.Add(webhook.HeaderSignature, "v1="+webhook.Sign(oldSecret, vectorTimestamp, body))
	if err := webhook.Verify([][]byte{oldSecret}, h, body, epoch, webhook.Tolerance); err != nil {
		t.Fatal(err)
	}
}
