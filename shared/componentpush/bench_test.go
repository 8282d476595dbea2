package componentpush_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/wxcrypt"
)

// BenchmarkTicketPushDecryptVerify measures the push path before storage:
// body limit, timestamp window, both signatures, decryption and appid check.
func BenchmarkTicketPushDecryptVerify(b *testing.B) {
	env := testenv.New(b)
	c, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	now := env.Clock.Now()
	q, body, err := c.Seal([]byte(ticketXML(testenv.ComponentAppID, now, "ticket@@@"+string(bytes.Repeat([]byte("x"), 80)))),
		strconv.FormatInt(now.Unix(), 10), "123456", "AppId", testenv.ComponentAppID)
	if err != nil {
		b.Fatal(err)
	}
	target := "/wechat/component/events?" + q.Encode()
	opener := componentpush.NewOpener(env.Deps.Secrets, env.Deps.Config.ComponentAppID, env.Deps.Now)
	if _, err := opener.Crypter(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("POST", target, bytes.NewReader(body))
		if _, _, err := opener.Open(r); err != nil {
			b.Fatal(httpapi.AsError(err))
		}
	}
}

// BenchmarkTicketPushHandler measures a whole push: verify, decrypt and the
// one transaction that stores it, against the embedded DynamoDB server.
func BenchmarkTicketPushHandler(b *testing.B) {
	env := testenv.New(b)
	h, _ := componentpush.NewTicketPushHandler(nil)(context.Background(), env.Deps)
	c, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	now := env.Clock.Now()
	b.ReportAllocs()
	env.Calls.Reset()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		q, body, _ := c.Seal([]byte(ticketXML(testenv.ComponentAppID, now, "ticket@@@"+strconv.Itoa(i))),
			strconv.FormatInt(now.Unix(), 10), strconv.Itoa(i), "AppId", testenv.ComponentAppID)
		r := httptest.NewRequest("POST", "/wechat/component/events?"+q.Encode(), bytes.NewReader(body))
		w := httptest.NewRecorder()
		b.StartTimer()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	total := 0
	for _, n := range env.Calls.Calls() {
		total += n
	}
	b.ReportMetric(float64(total)/float64(b.N), "ddb-calls/op")
}
