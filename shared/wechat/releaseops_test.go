package wechat_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"wxchannel/shared/wechat"
	"wxchannel/shared/wechat/wechatsim"
)

func TestTestersRoundTripWithWeChatsRefusals(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	w.sim.AddWeChatUser(wechatsim.WeChatUser{WeChatID: "li_wei_88"})
	userStr, err := w.c.BindTester(ctx, w.aat, "li_wei_88")
	if err != nil || userStr == "" {
		t.Fatalf("bind: %q %v", userStr, err)
	}
	for id, code := range map[string]int{"li_wei_88": wechat.CodeAlreadyTester, "nobody": wechat.CodeTesterNotFound} {
		if _, err := w.c.BindTester(ctx, w.aat, id); !wechat.IsCode(err, code) {
			t.Fatalf("bind %s: %v, want %d", id, err, code)
		}
	}
	if ids, err := w.c.Testers(ctx, w.aat); err != nil || !slices.Equal(ids, []string{userStr}) {
		t.Fatalf("testers %v %v", ids, err)
	}
	if err := w.c.UnbindTester(ctx, w.aat, userStr); err != nil {
		t.Fatal(err)
	}
	if ids, err := w.c.Testers(ctx, w.aat); err != nil || len(ids) != 0 {
		t.Fatalf("testers after unbind %v %v", ids, err)
	}
}

func TestQuotaSpeedUpAndMaterialSpeakWeChatsProtocol(t *testing.T) {
	w := setupSubscribe(t)
	ctx := context.Background()
	w.sim.SetReviewQuota(wechatsim.ReviewQuota{Limit: 10, SpeedUpLimit: 1})
	q, err := w.c.ReviewQuota(ctx, w.aat)
	if err != nil || q != (wechat.ReviewQuota{Rest: 10, Limit: 10, SpeedUpRest: 1, SpeedUpLimit: 1}) {
		t.Fatalf("quota %+v %v", q, err)
	}
	// No review is queued: 89402.
	if err := w.c.SpeedUpAudit(ctx, w.aat, 12345); !wechat.IsCode(err, wechat.CodeSpeedUpNotQueued) {
		t.Fatalf("speed-up without a review: %v", err)
	}
	if _, _, err := w.c.Material(ctx, w.aat, "unknown"); !wechat.IsCode(err, wechat.CodeInvalidMediaID) {
		t.Fatalf("unknown material: %v", err)
	}
	shot := wechatsim.ScreenshotImage("s")
	w.sim.AddMedia(subscribeAppID, "s", wechatsim.Media{ContentType: "image/jpeg", Data: shot})
	ct, data, err := w.c.Material(ctx, w.aat, "s")
	if err != nil || ct != "image/jpeg" || !bytes.Equal(data, shot) {
		t.Fatalf("material %s, %d bytes, %v", ct, len(data), err)
	}
}
