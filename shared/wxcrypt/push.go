package wxcrypt

import (
	"crypto/hmac"
	"encoding/xml"
	"fmt"
	"net/url"
)

// MaxPushBytes bounds the body Open accepts; real pushes are a few KiB.
const MaxPushBytes = 64 << 10

// Envelope is the outer XML of a push:
// <xml><AppId>|<ToUserName>...</><Encrypt>...</Encrypt></xml>.
type Envelope struct {
	XMLName    xml.Name `xml:"xml"`
	AppID      string   `xml:"AppId"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
}

// PushParams are the query parameters WeChat sends with a push.
type PushParams struct {
	Signature, Timestamp, Nonce, EncryptType, MsgSignature string
}

// ParsePushParams reads the push parameters from a request's query.
func ParsePushParams(q url.Values) PushParams {
	return PushParams{
		Signature:    q.Get("signature"),
		Timestamp:    q.Get("timestamp"),
		Nonce:        q.Get("nonce"),
		EncryptType:  q.Get("encrypt_type"),
		MsgSignature: q.Get("msg_signature"),
	}
}

// Open verifies signature (URL signature) and msg_signature, decrypts, checks
// the appid, and returns the decrypted inner XML. It rejects bodies larger
// than MaxPushBytes with ErrMalformed and never panics. It does not check the
// timestamp's age; replay protection, if wanted, belongs to the caller.
func (c *Crypter) Open(p PushParams, body []byte) ([]byte, error) {
	if len(body) > MaxPushBytes {
		return nil, ErrMalformed
	}
	if p.EncryptType != "" && p.EncryptType != "aes" {
		return nil, ErrMalformed
	}
	// The URL signature does not depend on the body, so forged requests are
	// turned away before any XML is parsed. Both signatures are made with
	// one Token: the current one, or the previous one during a rotation.
	token := c.token
	if !signatureEqual(Signature(token, p.Timestamp, p.Nonce), p.Signature) {
		if c.previousToken == "" || !signatureEqual(Signature(c.previousToken, p.Timestamp, p.Nonce), p.Signature) {
			return nil, ErrSignature
		}
		token = c.previousToken
	}
	var env Envelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		return nil, ErrMalformed
	}
	if !signatureEqual(Signature(token, p.Timestamp, p.Nonce, env.Encrypt), p.MsgSignature) {
		return nil, ErrSignature
	}
	return c.Decrypt(env.Encrypt)
}

func signatureEqual(want, got string) bool {
	return hmac.Equal([]byte(want), []byte(got))
}

// Seal is the inverse of Open, for the WeChat simulator and tests: it
// encrypts msg and returns the query parameters (signature, timestamp, nonce,
// encrypt_type=aes, msg_signature) and the outer XML body, whose first element
// is outerTag ("AppId" for the authorization event URL, "ToUserName" for the
// message URL) holding outerValue.
func (c *Crypter) Seal(msg []byte, timestamp, nonce, outerTag, outerValue string) (url.Values, []byte, error) {
	env := sealedEnvelope{}
	switch outerTag {
	case "AppId":
		env.AppID = &cdata{outerValue}
	case "ToUserName":
		env.ToUserName = &cdata{outerValue}
	default:
		return nil, nil, fmt.Errorf("wxcrypt: outer tag %q is neither AppId nor ToUserName", outerTag)
	}
	encrypted, err := c.Encrypt(msg)
	if err != nil {
		return nil, nil, err
	}
	env.Encrypt = cdata{encrypted}
	body, err := xml.Marshal(env)
	if err != nil {
		return nil, nil, fmt.Errorf("wxcrypt: marshal envelope: %w", err)
	}
	q := url.Values{}
	q.Set("signature", c.URLSignature(timestamp, nonce))
	q.Set("timestamp", timestamp)
	q.Set("nonce", nonce)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", c.MsgSignature(timestamp, nonce, encrypted))
	return q, body, nil
}

// sealedEnvelope writes the envelope the way WeChat does: one outer tag and
// CDATA sections.
type sealedEnvelope struct {
	XMLName    xml.Name `xml:"xml"`
	AppID      *cdata   `xml:"AppId,omitempty"`
	ToUserName *cdata   `xml:"ToUserName,omitempty"`
	Encrypt    cdata    `xml:"Encrypt"`
}

type cdata struct {
	Value string `xml:",cdata"`
}
