package wxcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"sort"
	"strings"
	"testing"
)

const (
	benchToken     = "platformtoken"
	benchAppID     = "wxcomponentappid01"
	benchTimestamp = "1413192605"
	benchNonce     = "1320562132"
	benchTicketXML = "<xml><AppId><![CDATA[wxcomponentappid01]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@WgB2V8mFzWb2MkZmoqL4HpUjO0UIl1PQ1Vn1JxkZ3bMxF6Q8R1VvQl1NbNq4Aj3hcA1fnRy7S4Cw1sJ4Kh3BvA]]></ComponentVerifyTicket></xml>"
)

func sealedTicketPush(b *testing.B) (*Crypter, PushParams, []byte) {
	b.Helper()
	c := mustNew(b, benchToken, vectorKey, benchAppID, "")
	q, body, err := c.Seal([]byte(benchTicketXML), benchTimestamp, benchNonce, "AppId", benchAppID)
	if err != nil {
		b.Fatal(err)
	}
	return c, ParsePushParams(q), body
}

// BenchmarkOpenTicketPush measures what the authorization event URL does
// every 10 minutes: verify both signatures and decrypt a ticket push.
func BenchmarkOpenTicketPush(b *testing.B) {
	c, p, body := sealedTicketPush(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Open(p, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlibBaseline does the same work as BenchmarkOpenTicketPush in
// the most direct standard-library way, inline, as a yardstick for Open.
func BenchmarkStdlibBaseline(b *testing.B) {
	_, p, body := sealedTicketPush(b)
	// Key setup is per process in any real handler, as it is in New.
	key, _ := base64.StdEncoding.DecodeString(vectorKey + "=")
	block, _ := aes.NewCipher(key)
	b.ReportAllocs()
	for b.Loop() {
		parts := []string{benchToken, p.Timestamp, p.Nonce}
		sort.Strings(parts)
		sum := sha1.Sum([]byte(strings.Join(parts, "")))
		if hex.EncodeToString(sum[:]) != p.Signature {
			b.Fatal("signature")
		}

		var env struct {
			Encrypt string `xml:"Encrypt"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			b.Fatal(err)
		}
		parts = []string{benchToken, p.Timestamp, p.Nonce, env.Encrypt}
		sort.Strings(parts)
		sum = sha1.Sum([]byte(strings.Join(parts, "")))
		if hex.EncodeToString(sum[:]) != p.MsgSignature {
			b.Fatal("msg_signature")
		}

		ciphertext, err := base64.StdEncoding.DecodeString(env.Encrypt)
		if err != nil {
			b.Fatal(err)
		}
		plain := make([]byte, len(ciphertext))
		cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(plain, ciphertext)
		plain = plain[:len(plain)-int(plain[len(plain)-1])]
		n := binary.BigEndian.Uint32(plain[16:20])
		msg := plain[20 : 20+n]
		if string(plain[20+n:]) != benchAppID || len(msg) != len(benchTicketXML) {
			b.Fatal("decrypt")
		}
	}
}
