package componentpush_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"wxchannel/shared/componentpush"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/wxcrypt"
)

// FuzzTicketPush seals fuzzer-chosen XML exactly as WeChat would (valid
// signatures, our key and appid) and posts it to the ticket push handler,
// with its storage: whatever the decrypted message says, the answer is
// "success" or a 4xx envelope, never a 5xx or a panic. With tamper set,
// one character of the ciphertext is changed after signing, and the push
// must be refused.
func FuzzTicketPush(f *testing.F) {
	env := testenv.New(f)
	h, err := componentpush.NewTicketPushHandler(nil)(context.Background(), env.Deps)
	if err != nil {
		f.Fatal(err)
	}
	good, err := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	if err != nil {
		f.Fatal(err)
	}
	now := env.Clock.Now()
	created := strconv.FormatInt(now.Unix(), 10)
	for _, inner := range []string{
		"<xml><AppId><![CDATA[" + testenv.ComponentAppID + "]]></AppId><CreateTime>" + created + "</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@seed]]></ComponentVerifyTicket></xml>",
		"<xml><AppId>" + testenv.ComponentAppID + "</AppId><CreateTime>" + created + "</CreateTime><InfoType>authorized</InfoType><AuthorizerAppid>wx0123456789abcdef</AuthorizerAppid><AuthorizationCode>code@@@x</AuthorizationCode><PreAuthCode>pre@@@y</PreAuthCode></xml>",
		"<xml><AppId>" + testenv.ComponentAppID + "</AppId><CreateTime>" + created + "</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>../../etc</AuthorizerAppid></xml>",
		"<xml><AppId>wxffffffffffffffff</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType></xml>",
		"<!DOCTYPE xml [<!ENTITY a \"b\">]><xml><AppId>&a;</AppId></xml>",
		"<xml><InfoType>notify_third_fasteregister</InfoType></xml>",
		"",
	} {
		f.Add([]byte(inner), false)
		f.Add([]byte(inner), true)
	}
	seq := 0
	f.Fuzz(func(t *testing.T, inner []byte, tamper bool) {
		seq++
		q, body, err := good.Seal(inner, created, "fuzz"+strconv.Itoa(seq), "AppId", testenv.ComponentAppID)
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		if tamper {
			body = tamperCiphertext(body)
		}
		req := httptest.NewRequest(http.MethodPost, "/wechat/component/events?"+q.Encode(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		accepted := testenv.PushReply(t, rec)
		if tamper && (accepted || rec.Code != http.StatusUnauthorized) {
			t.Fatalf("tampered push answered %d %s, want 401", rec.Code, rec.Body)
		}
	})
}

// tamperCiphertext changes the first base64 character of the Encrypt
// element to another one, so the message signature no longer matches.
func tamperCiphertext(body []byte) []byte {
	s := string(body)
	i := strings.Index(s, "<Encrypt><![CDATA[")
	if i < 0 {
		return body
	}
	i += len("<Encrypt><![CDATA[")
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return []byte(s[:i] + string(c) + s[i+1:])
}
