package notify

import (
	"slices"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/subscribe"
	"wxchannel/shared/wechat"
)

// The library's keywords of a progress title, as getpubtemplatekeywords
// answers them: the setup picks those the product fills, one per field,
// in the kind's order, and leaves the phone number and the plate.
func TestPickKeywords(t *testing.T) {
	kws := []wechat.PublicTemplateKeyword{
		{KID: 7, Name: "上门车辆", Rule: subscribe.CarNumber},
		{KID: 1, Name: "工单编号", Rule: subscribe.CharacterString},
		{KID: 6, Name: "工程师电话", Rule: subscribe.PhoneNumber},
		{KID: 5, Name: "进度说明", Rule: subscribe.Thing},
		{KID: 2, Name: "当前进度", Rule: subscribe.Phrase},
		{KID: 3, Name: "服务工程师", Rule: subscribe.Name},
		{KID: 8, Name: "服务人员", Rule: subscribe.Name}, // a second engineer keyword: one is enough
		{KID: 4, Name: "预约时间", Rule: subscribe.Time},
	}
	kids, keys := pickKeywords(specs[KindOnTheWay], kws)
	if got, want := kids, []int{1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Fatalf("kids %v, want %v", got, want)
	}
	want := map[string]field{"character_string1": fieldOrderNumber, "phrase2": fieldStatus, "name3": fieldEngineer,
		"time4": fieldArrival, "thing5": fieldNote}
	for k, f := range want {
		if keys[k] != f {
			t.Errorf("key %s → %q, want %q (%v)", k, keys[k], f, keys)
		}
	}
}

// A template of the mini program's list is reused only when the product
// fills every keyword: a send must give each one a value.
func TestReuseNeedsEveryKeywordFilled(t *testing.T) {
	fillable := wechat.SubscribeTemplate{ID: "t-ok", Title: "工单完成通知", Type: wechat.OneTimeSubscription,
		Content: "工单编号:{{character_string1.DATA}}\n完成时间:{{time3.DATA}}\n处理结果:{{thing5.DATA}}\n"}
	withFee := wechat.SubscribeTemplate{ID: "t-fee", Title: "工单完成通知", Type: wechat.OneTimeSubscription,
		Content: "工单编号:{{character_string1.DATA}}\n服务费用:{{amount4.DATA}}\n"}
	if _, ok := reuse(KindCompleted, []wechat.SubscribeTemplate{withFee}); ok {
		t.Fatal("reused a template with a fee the product cannot fill")
	}
	got, ok := reuse(KindCompleted, []wechat.SubscribeTemplate{withFee, fillable})
	if !ok || got.ID != "t-ok" || got.Keys["time3"] != fieldTime || got.Keys["thing5"] != fieldNote {
		t.Fatalf("reuse %+v %v", got, ok)
	}
	longTerm := fillable
	longTerm.Type = wechat.LongTermSubscription
	if _, ok := reuse(KindCompleted, []wechat.SubscribeTemplate{longTerm}); ok {
		t.Fatal("reused a long-term template")
	}
}

// Values fit their rules: a long category is shortened, times are the
// tenant's, a missing engineer name has a stand-in, the arrival is the ETA.
func TestValuesFitTheRules(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	ev := orderEvent{ID: "ev_x", OccurredAt: time.Date(2026, 11, 26, 16, 5, 0, 0, time.UTC)}
	ev.Data.ID = "261126a1b2c3d4e5f6"
	ev.Data.Category = "中央空调外机压缩机异响与频繁跳闸的上门维修服务"
	ev.Data.ETA = time.Date(2026, 11, 26, 16, 45, 0, 0, time.UTC).Unix()
	tpl := Template{Kind: KindOnTheWay, Keys: map[string]field{"character_string1": fieldOrderNumber, "thing2": fieldService,
		"name3": fieldEngineer, "time4": fieldArrival, "phrase5": fieldStatus, "date6": fieldDate}}
	got, err := values(tpl, ev, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"character_string1": ev.Data.ID, "name3": "工程师", "time4": "2026-11-27 00:45",
		"phrase5": "已出发", "date6": "2026-11-27"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if n := len([]rune(got["thing2"])); n != 20 || !strings.HasSuffix(got["thing2"], "…") {
		t.Errorf("thing2 %q (%d characters)", got["thing2"], n)
	}
	for k, v := range got {
		if err := subscribe.Valid(subscribe.RuleOf(k), v); err != nil {
			t.Errorf("%s = %q breaks its rule: %v", k, v, err)
		}
	}
}

// Every label the simulator's library uses for a field the kinds want
// maps to that field; the ones the product cannot fill map to nothing.
func TestFieldOf(t *testing.T) {
	for _, c := range []struct {
		label, rule string
		want        field
	}{
		{"工单编号", subscribe.CharacterString, fieldOrderNumber},
		{"服务项目", subscribe.Thing, fieldService},
		{"受理时间", subscribe.Time, fieldTime},
		{"完成日期", subscribe.Date, fieldDate},
		{"受理状态", subscribe.Phrase, fieldStatus},
		{"服务工程师", subscribe.Name, fieldEngineer},
		{"预约时间", subscribe.Time, fieldArrival},
		{"温馨提示", subscribe.Thing, fieldNote},
		{"客服电话", subscribe.PhoneNumber, ""},
		{"服务费用", subscribe.Amount, ""},
		{"上门车辆", subscribe.CarNumber, ""},
	} {
		if got := fieldOf(c.label, c.rule); got != c.want {
			t.Errorf("fieldOf(%s, %s) = %q, want %q", c.label, c.rule, got, c.want)
		}
	}
}

// Note ids name their sort key and creation time and nothing else.
func TestNoteIDs(t *testing.T) {
	at := time.UnixMilli(1795507200123)
	id := noteID(at, "ev_0123456789abcdef0123456789ab", KindRate)
	if !noteIDPattern.MatchString(id) || createdOf(id) != at.UnixMilli() ||
		noteSK(id) != "note#1795507200123#ev_0123456789abcdef0123456789ab#rate" {
		t.Fatalf("note id %s, sk %s", id, noteSK(id))
	}
	for _, bad := range []string{"", "1795507200123.ev_x.rate", "1795507200123.ev_0123456789abcdef0123456789ab.gossip",
		"1795507200123.ev_0123456789abcdef0123456789ab.rate#x"} {
		if noteIDPattern.MatchString(bad) {
			t.Errorf("accepted note id %q", bad)
		}
	}
}
