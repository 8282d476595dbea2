package wxcrypt

import (
	"encoding/xml"
	"errors"
	"testing"
)

// isSentinel reports whether err is one of the errors callers branch on.
func isSentinel(err error) bool {
	return errors.Is(err, ErrSignature) || errors.Is(err, ErrAppID) || errors.Is(err, ErrMalformed)
}

// FuzzOpen feeds Open arbitrary bodies. With signValid set the harness signs
// whatever Encrypt the body carries, so the fuzzer reaches decryption instead
// of stopping at the signature check.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(vectorABody), vectorATimestamp, vectorANonce, vectorAMsgSignature, true)
	f.Add([]byte(vectorABody), vectorATimestamp, vectorANonce, vectorAMsgSignature, false)
	f.Add([]byte("<xml><AppId>wx</AppId><Encrypt>"+vectorB1Encrypt+"</Encrypt></xml>"), "1", "2", "", true)
	f.Add([]byte("<xml><Encrypt>"+vectorB2Encrypt+"</Encrypt></xml>"), "1", "2", "", true)
	f.Add([]byte("<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"), "", "", "", true)
	f.Add([]byte("<!DOCTYPE xml [<!ENTITY a \"b\">]><xml><Encrypt>&a;</Encrypt></xml>"), "", "", "", true)
	f.Add([]byte(""), "", "", "", false)

	c := mustNew(f, vectorAToken, vectorKey, vectorAAppID, rotatedKey)
	f.Fuzz(func(t *testing.T, body []byte, timestamp, nonce, msgSignature string, signValid bool) {
		p := PushParams{
			Signature:    vectorAURLSignature,
			Timestamp:    timestamp,
			Nonce:        nonce,
			EncryptType:  "aes",
			MsgSignature: msgSignature,
		}
		if signValid {
			p.Signature = c.URLSignature(timestamp, nonce)
			var env Envelope
			if xml.Unmarshal(body, &env) == nil {
				p.MsgSignature = c.MsgSignature(timestamp, nonce, env.Encrypt)
			}
		}
		msg, err := c.Open(p, body)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Open returned an unexpected error: %v", err)
			}
			if msg != nil {
				t.Fatalf("Open returned %q alongside %v", msg, err)
			}
			return
		}
		if len(body) > MaxPushBytes {
			t.Fatalf("Open accepted a %d-byte body", len(body))
		}
		// Whatever Open accepts must survive a Seal/Open round trip.
		q, sealed, err := c.Seal(msg, timestamp, nonce, "AppId", vectorAAppID)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		again, err := c.Open(ParsePushParams(q), sealed)
		if err != nil || string(again) != string(msg) {
			t.Fatalf("Open(Seal(%q)) = %q, %v", msg, again, err)
		}
	})
}

// FuzzDecrypt feeds Decrypt arbitrary Encrypt strings and, because random
// ciphertext almost never has valid padding, also arbitrary plaintext layouts
// encrypted under the right key so the padding, length and receiveId parsing
// see fuzzer-chosen bytes.
func FuzzDecrypt(f *testing.F) {
	f.Add(vectorAEncrypt, []byte(nil))
	f.Add(vectorB1Encrypt, []byte(nil))
	f.Add("", layout(13, "<xml>hi</xml>", []byte{13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13}))
	f.Add("AAAA", layout(0xFFFFFFFF, "", []byte{0}))
	f.Add("not base64!", []byte("0123456789abcdef0123456789abcdef"))

	c := mustNew(f, vectorAToken, vectorKey, vectorAAppID, rotatedKey)
	check := func(t *testing.T, encrypted string) {
		msg, err := c.Decrypt(encrypted)
		if err != nil {
			if !errors.Is(err, ErrAppID) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Decrypt returned an unexpected error: %v", err)
			}
			if msg != nil {
				t.Fatalf("Decrypt returned %q alongside %v", msg, err)
			}
			return
		}
		reencrypted, err := c.Encrypt(msg)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		again, err := c.Decrypt(reencrypted)
		if err != nil || string(again) != string(msg) {
			t.Fatalf("Decrypt(Encrypt(%q)) = %q, %v", msg, again, err)
		}
	}
	f.Fuzz(func(t *testing.T, encrypted string, plain []byte) {
		check(t, encrypted)
		if len(plain) > 0 {
			// Round up to whole AES blocks with zeros; the fuzzer controls
			// everything else, including the final pad byte when it wants.
			blocks := make([]byte, len(plain)+(16-len(plain)%16)%16)
			copy(blocks, plain)
			check(t, encryptRaw(t, vectorKey, blocks))
			check(t, encryptRaw(t, rotatedKey, blocks))
		}
	})
}
