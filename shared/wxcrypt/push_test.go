package wxcrypt

import (
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func vectorAParams() PushParams {
	return PushParams{
		Signature:    vectorAURLSignature,
		Timestamp:    vectorATimestamp,
		Nonce:        vectorANonce,
		EncryptType:  "aes",
		MsgSignature: vectorAMsgSignature,
	}
}

// signedParams returns params whose signatures are valid for encrypted,
// so a case can fail on the body alone.
func signedParams(c *Crypter, encrypted string) PushParams {
	return PushParams{
		Signature:    c.URLSignature(vectorATimestamp, vectorANonce),
		Timestamp:    vectorATimestamp,
		Nonce:        vectorANonce,
		EncryptType:  "aes",
		MsgSignature: c.MsgSignature(vectorATimestamp, vectorANonce, encrypted),
	}
}

func TestParsePushParams(t *testing.T) {
	q, err := url.ParseQuery("signature=16120ec1b8dbb870f510d87ce6bc2463eae6ca1a&timestamp=1409735669&nonce=1320562132&openid=o1&encrypt_type=aes&msg_signature=5d197aaffba7e9b25a30732f161a50dee96bd5fa")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ParsePushParams(q), vectorAParams(); got != want {
		t.Errorf("ParsePushParams = %+v, want %+v", got, want)
	}
}

func TestOpen(t *testing.T) {
	c := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")
	with := func(edit func(*PushParams)) PushParams {
		p := vectorAParams()
		edit(&p)
		return p
	}
	emptyEncrypt := "<xml><AppId><![CDATA[wx2c2769f8efd9abc2]]></AppId><Encrypt></Encrypt></xml>"
	garbageEncrypt := "not base64!"

	tests := []struct {
		name    string
		crypter *Crypter
		params  PushParams
		body    string
		want    error
	}{
		{"vector A", c, vectorAParams(), vectorABody, nil},
		{"vector A without encrypt_type", c, with(func(p *PushParams) { p.EncryptType = "" }), vectorABody, nil},
		{"AppId envelope", c, vectorAParams(), "<xml><AppId><![CDATA[wx2c2769f8efd9abc2]]></AppId><Encrypt><![CDATA[" + vectorAEncrypt + "]]></Encrypt></xml>", nil},
		{"wrong msg_signature", c, with(func(p *PushParams) { p.MsgSignature = strings.Repeat("0", 40) }), vectorABody, ErrSignature},
		{"uppercase msg_signature", c, with(func(p *PushParams) { p.MsgSignature = strings.ToUpper(vectorAMsgSignature) }), vectorABody, ErrSignature},
		{"missing msg_signature", c, with(func(p *PushParams) { p.MsgSignature = "" }), vectorABody, ErrSignature},
		{"msg_signature of a different Encrypt", c, with(func(p *PushParams) { p.MsgSignature = c.MsgSignature(p.Timestamp, p.Nonce, vectorB1Encrypt) }), vectorABody, ErrSignature},
		{"wrong URL signature", c, with(func(p *PushParams) { p.Signature = strings.Repeat("f", 40) }), vectorABody, ErrSignature},
		{"missing URL signature", c, with(func(p *PushParams) { p.Signature = "" }), vectorABody, ErrSignature},
		{"timestamp changed after signing", c, with(func(p *PushParams) { p.Timestamp = "1409735670" }), vectorABody, ErrSignature},
		{"wrong token", mustNew(t, "othertoken", vectorKey, vectorAAppID, ""), vectorAParams(), vectorABody, ErrSignature},
		{"wrong appid", mustNew(t, vectorAToken, vectorKey, "wx0000000000000000", ""), vectorAParams(), vectorABody, ErrAppID},
		{"encrypt_type raw", c, with(func(p *PushParams) { p.EncryptType = "raw" }), vectorABody, ErrMalformed},
		{"empty Encrypt", c, signedParams(c, ""), emptyEncrypt, ErrMalformed},
		{"no Encrypt element", c, signedParams(c, ""), "<xml><AppId>wx</AppId></xml>", ErrMalformed},
		{"not XML", c, vectorAParams(), "success", ErrMalformed},
		{"unclosed XML", c, vectorAParams(), "<xml><Encrypt>" + vectorAEncrypt, ErrMalformed},
		{"wrong root element", c, vectorAParams(), "<root><Encrypt>" + vectorAEncrypt + "</Encrypt></root>", ErrMalformed},
		{"empty body", c, vectorAParams(), "", ErrMalformed},
		{"signed Encrypt that is not base64", c, signedParams(c, garbageEncrypt), "<xml><Encrypt>" + garbageEncrypt + "</Encrypt></xml>", ErrMalformed},
		{"body one byte over MaxPushBytes", c, vectorAParams(), vectorABody + strings.Repeat(" ", MaxPushBytes+1-len(vectorABody)), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.crypter.Open(tt.params, []byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open error = %v, want %v", err, tt.want)
			}
			if err == nil && string(got) != vectorAPlaintext {
				t.Errorf("Open = %q, want %q", got, vectorAPlaintext)
			}
			if err != nil && got != nil {
				t.Errorf("Open returned %q alongside an error", got)
			}
		})
	}
}

func TestOpenAcceptsBodyOfExactlyMaxPushBytes(t *testing.T) {
	c := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")
	body := vectorABody + strings.Repeat(" ", MaxPushBytes-len(vectorABody))
	got, err := c.Open(vectorAParams(), []byte(body))
	if err != nil || string(got) != vectorAPlaintext {
		t.Fatalf("Open = %q, %v", got, err)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	c := mustNew(t, "platformtoken", vectorKey, "wxcomponentappid01", "")
	tests := []struct {
		name       string
		outerTag   string
		outerValue string
		msg        string
	}{
		{"ticket push to the authorization event URL", "AppId", "wxcomponentappid01",
			"<xml><AppId><![CDATA[wxcomponentappid01]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@xyz]]></ComponentVerifyTicket></xml>"},
		{"audit push to the message URL", "ToUserName", "gh_fb9688c2a4b2",
			"<xml><ToUserName><![CDATA[gh_fb9688c2a4b2]]></ToUserName><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[weapp_audit_success]]></Event></xml>"},
		{"empty message", "AppId", "wxcomponentappid01", ""},
		{"outer value needing escapes", "ToUserName", "a]]>b<&", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, body, err := c.Seal([]byte(tt.msg), "1700000000", "nonce123", tt.outerTag, tt.outerValue)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if q.Get("encrypt_type") != "aes" || q.Get("timestamp") != "1700000000" || q.Get("nonce") != "nonce123" {
				t.Errorf("Seal query = %v", q)
			}
			var env Envelope
			if err := xml.Unmarshal(body, &env); err != nil {
				t.Fatalf("Seal body %q: %v", body, err)
			}
			outer := env.AppID
			other := env.ToUserName
			if tt.outerTag == "ToUserName" {
				outer, other = other, outer
			}
			if outer != tt.outerValue || other != "" {
				t.Errorf("Seal body %q: outer %s = %q, other tag = %q", body, tt.outerTag, outer, other)
			}
			got, err := c.Open(ParsePushParams(q), body)
			if err != nil {
				t.Fatalf("Open(Seal) error = %v", err)
			}
			if string(got) != tt.msg {
				t.Errorf("Open(Seal) = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestSealRejectsUnknownOuterTag(t *testing.T) {
	c := mustNew(t, vectorAToken, vectorKey, vectorAAppID, "")
	for _, tag := range []string{"", "appid", "Encrypt", "FromUserName"} {
		if _, _, err := c.Seal([]byte("x"), "1", "2", tag, "v"); err == nil {
			t.Errorf("Seal with outer tag %q succeeded", tag)
		}
	}
}
