package componentpush_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/logging"
	"wxchannel/shared/wxcrypt"
)

// TestEachStoredTicketIsCountedOnce: a stored verify ticket writes one
// VerifyTicketReceived metric line (the alarm on its absence watches
// WeChat's ten-minute pushes); WeChat repeating the same push, or an
// authorization event, writes none.
func TestEachStoredTicketIsCountedOnce(t *testing.T) {
	env := testenv.New(t)
	var logs bytes.Buffer
	d := *env.Deps
	d.Log = logging.New(&logs, "error")
	d.Config.Stage = "prod"
	h, err := componentpush.NewTicketPushHandler(nil)(context.Background(), &d)
	if err != nil {
		t.Fatal(err)
	}
	url := testenv.ServeThroughLambda(t, httpapi.Middleware("ticketpush", d.Log, time.Minute, h)) + "/wechat/component/events"
	crypter, err := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	push := seal(t, crypter, ticketXML(testenv.ComponentAppID, now, "ticket@@@counted"), now)
	for range 2 { // WeChat repeats a push whose answer was slow
		if status, body := post(t, url, push); status != http.StatusOK || body != "success" {
			t.Fatalf("push: %d %s", status, body)
		}
	}
	if err := env.Sim.PushAuthEvent(context.Background(), url, "unauthorized", "wxaaaa000000000001", ""); err != nil {
		t.Fatal(err)
	}

	var counted []map[string]any
	for line := range bytes.SplitSeq(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if _, ok := rec[componentpush.MetricVerifyTicketReceived]; ok {
			counted = append(counted, rec)
		}
	}
	if len(counted) != 1 {
		t.Fatalf("%d metric lines, want 1:\n%s", len(counted), logs.String())
	}
	rec := counted[0]
	if rec[componentpush.MetricVerifyTicketReceived] != 1.0 || rec["Stage"] != "prod" || rec["_aws"] == nil || rec["request_id"] == "" || rec["request_id"] == nil {
		t.Errorf("metric line %v", rec)
	}
}
