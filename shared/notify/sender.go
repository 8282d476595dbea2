package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/subscribe"
	"wxchannel/shared/wechat"
)

// OrderPage is the mini program page a message opens: the work order's
// detail (the code template must have it; docs/notifications.md).
const OrderPage = "pages/order/detail"

// MaxAge is how long a notification WeChat keeps refusing for the moment
// (busy, daily quota) is tried: after it the news is stale, and the note
// is marked failed.
const MaxAge = 24 * time.Hour

// TokenSources give the sender the token of a mini program: an
// enterprise's through the platform (authorizer token), the public one's
// own.
type TokenSources interface {
	AuthorizerTokenSource(appid string) wechat.TokenSource
	PublicTokenSource() wechat.TokenSource
}

// Sender turns work-order events into notifications: a note in the
// customer's feed always, and a WeChat message when the tenant has the
// kind on, the mini program has its template and the customer holds a
// grant of it.
type Sender struct {
	store     *Store
	wx        *wechat.Client
	tokens    TokenSources
	publicApp string
	log       *slog.Logger
	now       func() time.Time
}

// NewSender returns the sender; publicApp is the platform's public mini
// program.
func NewSender(store *Store, wx *wechat.Client, tokens TokenSources, publicApp string, log *slog.Logger,
	now func() time.Time,
) *Sender {
	return &Sender{store: store, wx: wx, tokens: tokens, publicApp: publicApp, log: log, now: now}
}

// Message is one queued event for the sender.
type Message struct {
	Body     string
	Attempt  int
	QueuedAt time.Time
}

// orderEvent is what the sender reads of a work-order event.
type orderEvent struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	TenantID   string    `json:"tenant_id"`
	OccurredAt time.Time `json:"occurred_at"`
	Data       struct {
		ID           string `json:"id"`
		Category     string `json:"category"`
		CustomerID   string `json:"customer_id"`
		EngineerName string `json:"engineer_name"`
		ETA          int64  `json:"eta"`
	} `json:"data"`
}

// ErrUnreadable is a queued message that is no work-order event the sender
// can act on; it is kept for the dead-letter queue.
var ErrUnreadable = errors.New("not a work-order event")

// Send handles one queued event. It reports settled when every
// notification of the event reached a final state (a repeated event
// changes nothing); false asks the queue to bring it back later.
func (s *Sender) Send(ctx context.Context, m Message) (settled bool, err error) {
	var ev orderEvent
	if err := json.Unmarshal([]byte(m.Body), &ev); err != nil || ev.ID == "" || ev.TenantID == "" || ev.Data.ID == "" {
		return false, ErrUnreadable
	}
	kinds := KindsOf(ev.Type)
	if len(kinds) == 0 || ev.Data.CustomerID == "" {
		return true, nil
	}
	view, err := s.store.readUserView(ctx, ev.TenantID, ev.Data.CustomerID, s.publicApp)
	if err != nil {
		return false, err
	}
	if !view.found {
		s.log.InfoContext(ctx, "notification for a user no longer there", "tenant", ev.TenantID, "event", ev.ID)
		return true, nil
	}
	settled = true
	for _, k := range kinds {
		done, err := s.notify(ctx, ev, view, k, m)
		if err != nil {
			return false, err
		}
		settled = settled && done
	}
	return settled, nil
}

// notify raises notification k of ev for the event's customer.
func (s *Sender) notify(ctx context.Context, ev orderEvent, v userView, k Kind, m Message) (bool, error) {
	spec := specs[k]
	n := Note{ID: noteID(ev.OccurredAt, ev.ID, k), Kind: k, Title: spec.title, Body: feedText(k, ev, v.location()),
		WorkOrder: ev.Data.ID, Page: OrderPage + "?id=" + ev.Data.ID, EventID: ev.ID, State: StatePending,
		CreatedAt: ev.OccurredAt.UnixMilli(), TTL: noteTTL(ev.OccurredAt)}
	n, created, err := s.store.claim(ctx, ev.TenantID, v.user.UserID, n)
	if err != nil {
		return false, err
	}
	if !created {
		switch n.State {
		case StatePending, StateRetry:
		case StateSending:
			// A send was under way when its run ended: WeChat may have
			// delivered it. Never send twice.
			_, err := s.store.moveNote(ctx, n, StateUnknown, []State{StateSending}, nil)
			return true, err
		default:
			return true, nil // settled before: a repeated event
		}
	}
	t, hasTemplate := v.templates.Of(k)
	switch {
	case !v.settings.On(k):
		return s.settle(ctx, ev.TenantID, n, StateOff, "", "", problemNone)
	case !hasTemplate:
		return s.settle(ctx, ev.TenantID, n, StateNoTemplate, "", "the mini program has no template for this notification", problemNone)
	case v.grants[t.ID] <= 0:
		return s.settle(ctx, ev.TenantID, n, StateNoGrant, "", "", problemNone)
	}
	data, err := values(t, ev, v.location())
	if err != nil {
		return s.settle(ctx, ev.TenantID, n, StateFailed, "value_rule", err.Error(),
			problem{Code: wechat.CodeInvalidKeywordValue, Kind: k, TemplateID: t.ID, Message: err.Error(), Fix: fixValue})
	}
	ok, err := s.store.moveNote(ctx, n, StateSending, []State{StatePending, StateRetry}, func(u *dynamo.Update) *dynamo.Update {
		return u.Set("template_id", t.ID).Add("attempts", 1)
	})
	if err != nil || !ok {
		return ok || err == nil, err // another run took it
	}
	msg := wechat.SubscribeMessage{ToUser: v.user.OpenID, TemplateID: t.ID, Page: n.Page, Data: data, State: v.state()}
	msgID, err := s.wx.SendSubscribeMessage(ctx, s.tokenSource(v.user.AppID), msg)
	if wechat.IsCode(err, wechat.CodePageNotPublished) {
		// The released version lacks the page: the message still tells
		// the news, opening the mini program's home instead.
		msg.Page = ""
		msgID, err = s.wx.SendSubscribeMessage(ctx, s.tokenSource(v.user.AppID), msg)
	}
	return s.after(ctx, ev, v, n, t, m, msgID, err)
}

// after records what WeChat answered a send.
func (s *Sender) after(ctx context.Context, ev orderEvent, v userView, n Note, t Template, m Message, msgID int64, err error,
) (bool, error) {
	n.State = StateSending
	switch {
	case err == nil:
		if _, err := s.store.moveNote(ctx, n, StateSent, []State{StateSending}, func(u *dynamo.Update) *dynamo.Update {
			return u.Set("msgid", msgID)
		}); err != nil {
			return false, err
		}
		if err := s.store.useGrant(ctx, ev.TenantID, v.user.UserID, t.ID); err != nil {
			return false, err
		}
		return true, s.store.count(ctx, ev.TenantID, n.Kind, StateSent, "", problemNone, s.now())
	case wechat.IsCode(err, wechat.CodeNoSubscription):
		if err := s.store.clearGrant(ctx, ev.TenantID, v.user.UserID, t.ID); err != nil {
			return false, err
		}
		return s.settleFrom(ctx, ev.TenantID, n, StateNoGrant, "", "WeChat: no grant left (43101)", problemNone)
	case wechat.IsCode(err, wechat.CodeInvalidKeywordValue):
		key, _ := wechat.InvalidKeyword(err)
		return s.settleFrom(ctx, ev.TenantID, n, StateFailed, "47003", "WeChat refused the value of "+key+" (47003)",
			problem{Code: wechat.CodeInvalidKeywordValue, Kind: n.Kind, TemplateID: t.ID, Key: key, Message: err.Error(), Fix: fixValue})
	case wechat.IsCode(err, wechat.CodeInvalidTemplateID):
		return s.settleFrom(ctx, ev.TenantID, n, StateFailed, "40037", "WeChat does not know the template (40037)",
			problem{Code: wechat.CodeInvalidTemplateID, Kind: n.Kind, TemplateID: t.ID, Message: err.Error(), Fix: fixTemplate})
	case wechat.IsCode(err, wechat.CodeInvalidOpenID):
		return s.settleFrom(ctx, ev.TenantID, n, StateFailed, "40003", "WeChat does not know the user in this mini program (40003)", problemNone)
	case wechat.NotSent(err) || wechat.IsCode(err, wechat.CodeQuotaDaily):
		if s.now().Sub(m.QueuedAt) >= MaxAge {
			return s.settleFrom(ctx, ev.TenantID, n, StateFailed, "expired",
				"WeChat did not take the message within a day: "+err.Error(), problemNone)
		}
		if _, merr := s.store.moveNote(ctx, n, StateRetry, []State{StateSending}, func(u *dynamo.Update) *dynamo.Update {
			return u.Set("reason", err.Error())
		}); merr != nil {
			return false, merr
		}
		s.log.InfoContext(ctx, "notification to retry", "tenant", ev.TenantID, "event", ev.ID, "kind", n.Kind, "err", err.Error())
		return false, nil
	case errors.As(err, new(*wechat.APIError)):
		return s.settleFrom(ctx, ev.TenantID, n, StateFailed, strconv.Itoa(apiCode(err)), err.Error(),
			problem{Code: apiCode(err), Kind: n.Kind, TemplateID: t.ID, Message: err.Error(), Fix: fixOther})
	default:
		// The request may have reached WeChat (a timeout): never repeat it.
		return s.settleFrom(ctx, ev.TenantID, n, StateUnknown, "timeout", err.Error(), problemNone)
	}
}

func apiCode(err error) int {
	if e, ok := errors.AsType[*wechat.APIError](err); ok {
		return e.Code
	}
	return 0
}

// settle moves a note not yet sent to a final state and counts it.
func (s *Sender) settle(ctx context.Context, tenantID string, n Note, to State, why, reason string, p problem) (bool, error) {
	return s.move(ctx, tenantID, n, to, []State{StatePending, StateRetry}, why, reason, p)
}

// settleFrom moves a note being sent to a final state and counts it.
func (s *Sender) settleFrom(ctx context.Context, tenantID string, n Note, to State, why, reason string, p problem) (bool, error) {
	return s.move(ctx, tenantID, n, to, []State{StateSending}, why, reason, p)
}

// move settles a note in state to (from one of from), with the note's
// reason, and counts it; why is the reason's key in the counters of
// failures ("" for other outcomes).
func (s *Sender) move(ctx context.Context, tenantID string, n Note, to State, from []State, why, reason string, p problem,
) (bool, error) {
	moved, err := s.store.moveNote(ctx, n, to, from, func(u *dynamo.Update) *dynamo.Update {
		if reason != "" {
			return u.Set("reason", reason)
		}
		return u
	})
	if err != nil || !moved {
		return err == nil, err
	}
	if p.Code != 0 {
		p.At = s.now().Unix()
		s.log.WarnContext(context.WithoutCancel(ctx), "notification configuration problem", "tenant", tenantID,
			"kind", n.Kind, "code", p.Code, "key", p.Key)
	}
	return true, s.store.count(ctx, tenantID, n.Kind, to, why, p, s.now())
}

// tokenSource is the token of the mini program appid.
func (s *Sender) tokenSource(appid string) wechat.TokenSource {
	if appid == s.publicApp {
		return s.tokens.PublicTokenSource()
	}
	return s.tokens.AuthorizerTokenSource(appid)
}

// location is the tenant's time zone.
func (v userView) location() *time.Location { return v.tenant.Location() }

// state is the mini program version the user's messages open: the one
// they signed in with (a trial user's opens the trial).
func (v userView) state() wechat.MiniProgramState {
	switch v.user.EnvVersion {
	case "trial":
		return wechat.StateTrial
	case "develop":
		return wechat.StateDeveloper
	default:
		return wechat.StateFormal
	}
}

// values fills each keyword of t from the event, shaped to its rule.
func values(t Template, ev orderEvent, loc *time.Location) (map[string]string, error) {
	spec := specs[t.Kind]
	out := make(map[string]string, len(t.Keys))
	for key, fl := range t.Keys {
		raw := ""
		switch fl {
		case fieldOrderNumber:
			raw = ev.Data.ID
		case fieldService:
			raw = ev.Data.Category
		case fieldTime:
			raw = subscribe.TimeValue(ev.OccurredAt, loc)
		case fieldDate:
			raw = subscribe.DateValue(ev.OccurredAt, loc)
		case fieldStatus:
			raw = spec.status
		case fieldEngineer:
			raw = engineerName(ev)
		case fieldArrival:
			raw = subscribe.TimeValue(arrival(ev), loc)
		case fieldNote:
			raw = spec.note
		}
		v, err := subscribe.Format(subscribe.RuleOf(key), raw)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", key, fl, err)
		}
		out[key] = v
	}
	return out, nil
}

func engineerName(ev orderEvent) string {
	if ev.Data.EngineerName != "" {
		return ev.Data.EngineerName
	}
	return "工程师"
}

// arrival is when the engineer said they arrive (the event's time when
// they gave none).
func arrival(ev orderEvent) time.Time {
	if ev.Data.ETA > 0 {
		return time.Unix(ev.Data.ETA, 0)
	}
	return ev.OccurredAt
}

// feedText is what the in-app feed says of notification k.
func feedText(k Kind, ev orderEvent, loc *time.Location) string {
	switch k {
	case KindAccepted:
		return engineerName(ev) + "已接单，将尽快与您联系。"
	case KindOnTheWay:
		return engineerName(ev) + "已出发，预计" + arrival(ev).In(loc).Format("15:04") + "到达。"
	case KindCompleted:
		return "您的工单（" + ev.Data.Category + "）已完成。"
	default:
		return "服务已完成，请为本次服务评分。"
	}
}
