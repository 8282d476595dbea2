package release_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/release"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wxcrypt"
)

// FuzzAuditEventPush seals fuzzer-chosen event XML exactly as WeChat would
// (valid signatures, our key, the bound mini program's original id) and
// posts it to the message URL while a review is pending. Whatever the
// event says, the answer is "success" or a 4xx envelope, never a 5xx or a
// panic, and the pipeline ends in a state the review can lead to. The
// pipeline is put back under review after each input.
func FuzzAuditEventPush(f *testing.F) {
	w := newWorld(f)
	ctx := context.Background()
	w.call("POST", "/admin/miniprogram/review", map[string]any{}, 202)
	svc := release.ServiceFromDeps(w.Deps, tokens.FromDeps(w.Deps))
	pending, err := svc.Get(ctx, appid)
	if err != nil || pending.State != release.StateUnderReview {
		f.Fatalf("pipeline before fuzzing: %+v, %v", pending, err)
	}
	h, err := release.NewEventsHandler(ctx, w.Deps)
	if err != nil {
		f.Fatal(err)
	}
	c, err := wxcrypt.New(testenv.ComponentToken, testenv.EncodingAESKey, testenv.ComponentAppID, "")
	if err != nil {
		f.Fatal(err)
	}
	const userName = "gh_acme00r1"
	created := strconv.FormatInt(w.Clock.Now().Unix(), 10)
	head := "<xml><ToUserName><![CDATA[" + userName + "]]></ToUserName><FromUserName><![CDATA[o_system]]></FromUserName><CreateTime>" + created + "</CreateTime><MsgType><![CDATA[event]]></MsgType>"
	for _, inner := range []string{
		head + "<Event><![CDATA[weapp_audit_success]]></Event><SuccTime>" + created + "</SuccTime></xml>",
		head + "<Event><![CDATA[weapp_audit_fail]]></Event><Reason><![CDATA[name<br>icon]]></Reason><FailTime>" + created + "</FailTime><ScreenShot><![CDATA[m1|m2|m3]]></ScreenShot></xml>",
		head + "<Event><![CDATA[weapp_audit_delay]]></Event><Reason><![CDATA[more time]]></Reason><DelayTime>" + created + "</DelayTime></xml>",
		head + "<Event><![CDATA[weapp_audit_success]]></Event></xml><xml>",
		"<xml><ToUserName>gh_other</ToUserName><CreateTime>" + created + "</CreateTime><Event>weapp_audit_success</Event></xml>",
		head + "<Event>weapp_audit_success</Event><CreateTime>-1</CreateTime></xml>",
		"<!DOCTYPE xml [<!ENTITY a \"b\">]><xml><ToUserName>&a;</ToUserName></xml>",
		"",
	} {
		f.Add([]byte(inner))
	}
	seq := 0
	f.Fuzz(func(t *testing.T, inner []byte) {
		seq++
		q, body, err := c.Seal(inner, created, "fuzz"+strconv.Itoa(seq), "ToUserName", userName)
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		req := httptest.NewRequest(http.MethodPost, "/wechat/events/"+appid+"?"+q.Encode(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		testenv.PushReply(t, rec)
		p, err := svc.Get(ctx, appid)
		if err != nil {
			t.Fatal(err)
		}
		switch p.State {
		case release.StateUnderReview, release.StateApproved, release.StateRejected, release.StateDelayed:
		default:
			t.Fatalf("an audit push for %q left the pipeline %s", inner, p.State)
		}
		if len(p.Screenshots) > 10 {
			t.Fatalf("%d screenshots kept", len(p.Screenshots))
		}
		if p.State != release.StateUnderReview {
			if err := w.DB.Platform.Put(pending).Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}
