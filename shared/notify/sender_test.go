package notify

import (
	"context"
	"encoding/json"
	"testing"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/tokens"
)

// A send whose run ended after WeChat was called (the note still says
// sending) may have been delivered: when its event comes again the note
// becomes unknown and WeChat is not called again.
func TestSendingFoundAgainIsNeverRepeated(t *testing.T) {
	env := testenv.New(t)
	ctx := context.Background()
	store := NewStore(env.DB)
	user, err := terminaluser.NewStore(env.DB).Upsert(ctx, terminaluser.Login{TenantID: "acme", AppID: testenv.PublicAppID,
		OpenID: "openid-crash"}, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	tpl := Template{Kind: KindAccepted, ID: "tmpl-accepted", Title: "工单受理通知",
		Keys: map[string]field{"character_string1": fieldOrderNumber, "thing2": fieldService}}
	if err := store.SaveTemplates(ctx, PublicTemplatesKey(testenv.PublicAppID),
		Templates{AppID: testenv.PublicAppID, Templates: []Template{tpl}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddGrants(ctx, "acme", user.UserID, []string{tpl.ID}, nil, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	ev := orderEvent{ID: "ev_00000000000a0000000000000001", Type: "work_order.accepted", TenantID: "acme", OccurredAt: env.Clock.Now()}
	ev.Data.ID, ev.Data.Category, ev.Data.CustomerID = "261124aaaabbbbcccc", "repair", user.UserID
	note := Note{ID: noteID(ev.OccurredAt, ev.ID, KindAccepted), Kind: KindAccepted, State: StatePending,
		CreatedAt: ev.OccurredAt.UnixMilli(), TTL: noteTTL(ev.OccurredAt)}
	note, created, err := store.claim(ctx, "acme", user.UserID, note)
	if err != nil || !created {
		t.Fatalf("claim %v %v", created, err)
	}
	if moved, err := store.moveNote(ctx, note, StateSending, []State{StatePending}, nil); err != nil || !moved {
		t.Fatalf("to sending: %v %v", moved, err)
	}

	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	sender := NewSender(store, env.Deps.WeChat, tokens.FromDeps(env.Deps), testenv.PublicAppID, env.Deps.Log, env.Clock.Now)
	settled, err := sender.Send(ctx, Message{Body: string(body), Attempt: 2, QueuedAt: env.Clock.Now()})
	if err != nil || !settled {
		t.Fatalf("settled %v, %v", settled, err)
	}
	if n := env.Sim.Calls("subscribe_send"); n != 0 {
		t.Fatalf("WeChat called %d times for a send that may have gone out", n)
	}
	page, err := store.Feed(ctx, "acme", user.UserID, 10, "")
	if err != nil || len(page.Notifications) != 1 || page.Notifications[0].State != StateUnknown || page.Unread != 1 {
		t.Fatalf("feed %+v, %v", page, err)
	}
	v, err := store.readUserView(ctx, "acme", user.UserID, testenv.PublicAppID)
	if err != nil || v.grants[tpl.ID] != 1 {
		t.Fatalf("grants %v, %v: an unknown outcome must not use a grant", v.grants, err)
	}
}
