package componentpush_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/componentpush"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wxcrypt"
)

func start(t *testing.T) (*testenv.Env, string) {
	t.Helper()
	env := testenv.New(t)
	h, err := componentpush.NewTicketPushHandler(nil)(context.Background(), env.Deps)
	if err != nil {
		t.Fatal(err)
	}
	base := testenv.ServeThroughLambda(t, httpapi.Middleware("ticketpush", env.Deps.Log, time.Minute, h))
	return env, base + "/wechat/component/events"
}

// storedItems counts every item in the platform table (test-only scan).
func storedItems(t *testing.T, env *testenv.Env) int {
	t.Helper()
	n, err := env.DB.Platform.Scan().Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTicketPushThroughLambdaIsStored(t *testing.T) {
	env, url := start(t)
	ctx := context.Background()
	ticket, err := env.Sim.PushTicket(ctx, url)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	got, _, err := tokens.NewStore(env.DB).Ticket(ctx, testenv.ComponentAppID)
	if err != nil || got != ticket {
		t.Fatalf("stored ticket %q (%v), want %q", got, err, ticket)
	}
	// A newer push replaces it; the refresher can mint a token from it.
	env.Clock.Advance(10 * time.Minute)
	newer, err := env.Sim.PushTicket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ = tokens.NewStore(env.DB).Ticket(ctx, testenv.ComponentAppID)
	if got != newer {
		t.Fatalf("stored %q, want the newer %q", got, newer)
	}
}

func TestAuthorizationEventsAreRecordedOnce(t *testing.T) {
	env, url := start(t)
	ctx := context.Background()
	env.Sim.AddAuthorizer(simMiniProgram("wxaaaa000000000001"))
	code, err := env.Sim.Authorize("wxaaaa000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sim.PushAuthEvent(ctx, url, "authorized", "wxaaaa000000000001", code); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Second)
	if err := env.Sim.PushAuthEvent(ctx, url, "unauthorized", "wxaaaa000000000001", ""); err != nil {
		t.Fatal(err)
	}
	events, err := componentpush.NewEventStore(env.DB).Events(ctx, "wxaaaa000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].InfoType != "authorized" || events[0].AuthorizationCode != code || events[1].InfoType != "unauthorized" {
		t.Fatalf("events %+v", events)
	}
	if err := componentpush.NewEventStore(env.DB).MarkProcessed(ctx, events[0]); err != nil {
		t.Fatal(err)
	}
	events, _ = componentpush.NewEventStore(env.DB).Events(ctx, "wxaaaa000000000001")
	if !events[0].Processed || events[1].Processed {
		t.Fatalf("processed flags %+v", events)
	}
}

// sealed builds a push as WeChat would send it, with overrides for attacks.
type sealed struct {
	query url.Values
	body  []byte
}

func seal(t *testing.T, c *wxcrypt.Crypter, inner string, at time.Time) sealed {
	t.Helper()
	q, body, err := c.Seal([]byte(inner), strconv.FormatInt(at.Unix(), 10), "nonce"+strconv.FormatInt(at.UnixNano(), 10), "AppId", testenv.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	return sealed{q, body}
}

func post(t *testing.T, url string, p sealed) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"?"+p.query.Encode(), "text/xml", bytes.NewReader(p.body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func ticketXML(appid string, created time.Time, ticket string) string {
	return fmt.Sprintf("<xml><AppId><![CDATA[%s]]></AppId><CreateTime>%d</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[%s]]></ComponentVerifyTicket></xml>", appid, created.Unix(), ticket)
}

func TestHostilePushesChangeNothing(t *testing.T) {
	env, url := start(t)
	now := env.Clock.Now()
	good, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	otherApp, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, "wxffffffffffffffff", "")
	otherToken, _ := wxcrypt.New("not-our-token", testenv.EncodingAESKey, testenv.ComponentAppID, "")
	valid := ticketXML(testenv.ComponentAppID, now, "ticket@@@valid")

	forged := seal(t, good, valid, now)
	forged.query.Set("msg_signature", strings.Repeat("0", 40))
	unsigned := seal(t, good, valid, now)
	unsigned.query.Del("signature")
	stale := seal(t, good, ticketXML(testenv.ComponentAppID, now.Add(-time.Hour), "t"), now.Add(-time.Hour))
	future := seal(t, good, valid, now.Add(time.Hour))
	oversized := seal(t, good, valid, now)
	oversized.body = append(oversized.body, bytes.Repeat([]byte(" "), wxcrypt.MaxPushBytes)...)
	truncated := seal(t, good, valid, now)
	truncated.body = truncated.body[:len(truncated.body)/2]

	cases := []struct {
		name   string
		push   sealed
		status int
		code   string
	}{
		{"forged msg_signature", forged, 401, "invalid_signature"},
		{"missing signature", unsigned, 401, "unsigned_push"},
		{"signed with another token", seal(t, otherToken, valid, now), 401, "invalid_signature"},
		{"encrypted for another appid", seal(t, otherApp, valid, now), 403, "wrong_appid"},
		{"inner AppId of another platform", seal(t, good, ticketXML("wxffffffffffffffff", now, "t"), now), 403, "wrong_appid"},
		{"stale timestamp (replay of an old push)", stale, 401, "stale_push"},
		{"timestamp in the future", future, 401, "stale_push"},
		{"oversized body", oversized, 413, "body_too_large"},
		{"truncated body", truncated, 400, "malformed_push"},
		{"inner XML is not XML", seal(t, good, "not xml <", now), 400, "malformed_push"},
		{"unknown info type", seal(t, good, fmt.Sprintf("<xml><AppId>%s</AppId><CreateTime>%d</CreateTime><InfoType>surprise</InfoType></xml>", testenv.ComponentAppID, now.Unix()), now), 400, "unknown_info_type"},
		{"ticket push without a ticket", seal(t, good, ticketXML(testenv.ComponentAppID, now, ""), now), 400, "malformed_push"},
		{"authorization event without appid", seal(t, good, fmt.Sprintf("<xml><AppId>%s</AppId><CreateTime>%d</CreateTime><InfoType>authorized</InfoType><AuthorizationCode>x</AuthorizationCode></xml>", testenv.ComponentAppID, now.Unix()), now), 400, "malformed_push"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, url, tc.push)
			if status != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Fatalf("got %d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	if n := storedItems(t, env); n != 0 {
		t.Fatalf("hostile pushes stored %d items", n)
	}

	// The identical push repeated (WeChat retrying after a slow reply) is
	// answered "success" and changes nothing more.
	first := seal(t, good, valid, now)
	for i := range 2 {
		if status, body := post(t, url, first); status != 200 || body != "success" {
			t.Fatalf("attempt %d: %d %s", i, status, body)
		}
	}
	if n := storedItems(t, env); n != 2 { // the ticket and one fingerprint
		t.Fatalf("after a repeated push: %d items, want 2", n)
	}
	// An older ticket arriving late does not replace the newer one.
	older := seal(t, good, ticketXML(testenv.ComponentAppID, now.Add(-2*time.Minute), "ticket@@@older"), now)
	if status, body := post(t, url, older); status != 200 || body != "success" {
		t.Fatalf("older ticket: %d %s", status, body)
	}
	ticket, _, _ := tokens.NewStore(env.DB).Ticket(context.Background(), testenv.ComponentAppID)
	if ticket != "ticket@@@valid" {
		t.Fatalf("stored ticket %q, want the newer one", ticket)
	}
}

func TestStorageFailureAnswers5xxSoWeChatRetries(t *testing.T) {
	env, url := start(t)
	env.Faults.FailTable(env.Deps.Config.PlatformTable, true)
	good, _ := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	p := seal(t, good, ticketXML(testenv.ComponentAppID, env.Clock.Now(), "ticket@@@a"), env.Clock.Now())
	if status, body := post(t, url, p); status != 503 || !strings.Contains(body, "storage_unavailable") {
		t.Fatalf("status %d %s, want 503 storage_unavailable", status, body)
	}
	env.Faults.FailTable(env.Deps.Config.PlatformTable, false)
	// WeChat's retry of the same push now succeeds: nothing was half-written.
	if status, body := post(t, url, p); status != 200 || body != "success" {
		t.Fatalf("retry: %d %s", status, body)
	}
	ticket, _, _ := tokens.NewStore(env.DB).Ticket(context.Background(), testenv.ComponentAppID)
	if ticket != "ticket@@@a" {
		t.Fatalf("ticket %q", ticket)
	}
}
