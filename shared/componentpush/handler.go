// Package componentpush receives WeChat's pushes to the authorization event
// URL (component_verify_ticket and authorization events): it verifies,
// decrypts and stores them durably, and replies "success".
package componentpush

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/logging"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
	"wxchannel/shared/wxcrypt"
)

// MaxSkew is how far a push's timestamp may be from our clock; older
// pushes are refused as replays.
const MaxSkew = 5 * time.Minute

// dedupeFor keeps a processed push's fingerprint at least as long as its
// timestamp is acceptable.
const dedupeFor = 2 * MaxSkew

// Message is the decrypted inner XML of a push to the authorization event URL.
type Message struct {
	AppID                        string `xml:"AppId"`
	CreateTime                   int64  `xml:"CreateTime"`
	InfoType                     string `xml:"InfoType"`
	ComponentVerifyTicket        string `xml:"ComponentVerifyTicket"`
	AuthorizerAppid              string `xml:"AuthorizerAppid"`
	AuthorizationCode            string `xml:"AuthorizationCode"`
	AuthorizationCodeExpiredTime int64  `xml:"AuthorizationCodeExpiredTime"`
	PreAuthCode                  string `xml:"PreAuthCode"`
	// A quick registration's outcome (notify_third_fasteregister): the new
	// mini program, WeChat's status and message, its authorization code
	// and the registration's details echoed back. XML names are
	// case-sensitive, so appid is not AppId.
	RegisteredAppID string           `xml:"appid"`
	Status          int              `xml:"status"`
	AuthCode        string           `xml:"auth_code"`
	Msg             string           `xml:"msg"`
	Info            RegistrationInfo `xml:"info"`
}

// RegistrationInfo is what an enterprise registration's push echoes of
// the request (fastregisterweapp's body).
type RegistrationInfo struct {
	Name               string `xml:"name"`
	Code               string `xml:"code"`
	CodeType           int    `xml:"code_type"`
	LegalPersonaWechat string `xml:"legal_persona_wechat"`
	LegalPersonaName   string `xml:"legal_persona_name"`
	ComponentPhone     string `xml:"component_phone"`
}

// MetricVerifyTicketReceived counts the verify tickets stored (a repeated
// or superseded push is not counted). WeChat pushes one every 10 minutes;
// template.yaml alarms when none was stored for 30.
const MetricVerifyTicketReceived = "VerifyTicketReceived"

// Info types.
const (
	InfoTicket           = "component_verify_ticket"
	InfoAuthorized       = "authorized"
	InfoUpdateAuthorized = "updateauthorized"
	InfoUnauthorized     = "unauthorized"
	// InfoFastRegister is an enterprise quick registration's outcome
	// (https://developers.weixin.qq.com/doc/oplatform/openApi/register-management/fast-registration-ent/api_registerminiprogram.html).
	InfoFastRegister = "notify_third_fasteregister"
)

type dedupeItem struct {
	PK  string `dynamo:"pk,hash"`
	SK  string `dynamo:"sk,range"`
	TTL int64  `dynamo:"ttl"`
}

// EventProcessor acts on a recorded authorization event (the authorization
// flow binds or unbinds the mini program).
type EventProcessor interface {
	ProcessEvent(ctx context.Context, ev Event) error
}

// ticketPushHandler is the ticketpush function: WeChat's authorization
// event URL.
type ticketPushHandler struct {
	opener         *Opener
	tokens         *tokens.Store
	events         *EventStore
	db             *storage.DB
	componentAppID string
	stage          string
	now            func() time.Time
	log            *slog.Logger
	// processor acts on each newly recorded authorization event; nil
	// records them only.
	processor EventProcessor
}

// NewTicketPushHandler returns the ticketpush function's factory. Each
// newly recorded authorization event is handed to the processor that
// process builds around the function's one token manager (nil: events are
// only recorded). A processing failure leaves the event unprocessed for a
// later retry; the push itself is already durable.
func NewTicketPushHandler(process func(d *app.Deps, tm *tokens.Manager) EventProcessor) app.HandlerFactory {
	return func(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
		h := &ticketPushHandler{opener: NewOpener(d.Secrets, d.Config.ComponentAppID, d.Now), tokens: tokens.NewStore(d.DB),
			events: NewEventStore(d.DB), db: d.DB, componentAppID: d.Config.ComponentAppID, stage: d.Config.Stage, now: d.Now, log: d.Log}
		if process != nil {
			h.processor = process(d, tokens.FromDeps(d))
		}
		return h.routes(httpapi.NewRouter(d.Log)), nil
	}
}

func (h *ticketPushHandler) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("POST /wechat/component/events", h.handlePush)
	return rt
}

// Fingerprint identifies one push for de-duplication.
func Fingerprint(p wxcrypt.PushParams) string {
	sum := sha1.Sum([]byte(p.MsgSignature + "|" + p.Timestamp + "|" + p.Nonce))
	return "push#" + hex.EncodeToString(sum[:])
}

func (h *ticketPushHandler) handlePush(w http.ResponseWriter, r *http.Request) error {
	inner, p, err := h.opener.Open(r)
	if err != nil {
		return err
	}
	var msg Message
	if err := xml.Unmarshal(inner, &msg); err != nil {
		return apperr.BadRequest("malformed_push", "the decrypted push is not valid XML")
	}
	if msg.AppID != h.componentAppID {
		return apperr.E(apperr.Forbidden, "wrong_appid", "the push is not addressed to this platform")
	}
	if created := time.Unix(msg.CreateTime, 0); h.now().Sub(created) > MaxSkew+time.Minute || created.Sub(h.now()) > MaxSkew {
		return apperr.E(apperr.Unauthenticated, "stale_push", "the push CreateTime is outside the accepted window")
	}
	ctx := r.Context()
	now := h.now()
	effects, ev, err := h.effect(msg, now)
	if err != nil {
		return err
	}
	// The fingerprint and the effects are written together: a push is
	// either fully recorded or not at all, and a repeat is recognised.
	tx := h.db.Dynamo.WriteTx()
	tx.Put(h.events.dedupePut(p, now))
	for _, put := range effects {
		tx.Put(put)
	}
	err = tx.Run(ctx)
	fresh := true
	if dynamo.IsCondCheckFailed(err) {
		// Either WeChat (or someone) repeated a push we processed, or the
		// effect is already superseded (an older ticket, a duplicate event).
		// Neither changes anything; WeChat only needs "success".
		h.log.InfoContext(ctx, "push already processed or superseded", "info_type", msg.InfoType)
		err, fresh = nil, false
	}
	if err != nil {
		return fmt.Errorf("store %s push: %w", msg.InfoType, err)
	}
	if fresh {
		h.log.InfoContext(ctx, "push stored", "info_type", msg.InfoType, "authorizer_appid", msg.AuthorizerAppid)
		if msg.InfoType == InfoTicket {
			logging.EmitMetrics(ctx, h.log, h.stage, now, logging.Metric{Name: MetricVerifyTicketReceived, Unit: logging.UnitCount, Value: 1})
		}
	}
	if fresh && ev != nil && h.processor != nil {
		if err := h.processor.ProcessEvent(ctx, *ev); err != nil {
			h.log.WarnContext(ctx, "authorization event left for retry", "appid", ev.AuthorizerAppID, "err", err.Error())
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
	return nil
}

// effect is the durable writes a push causes (and the event it records):
// a ticket; or an authorization event, with the record of which pre-auth
// code its authorization code came from.
func (h *ticketPushHandler) effect(msg Message, now time.Time) ([]*dynamo.Put, *Event, error) {
	switch msg.InfoType {
	case InfoTicket:
		if msg.ComponentVerifyTicket == "" || len(msg.ComponentVerifyTicket) > 512 {
			return nil, nil, apperr.BadRequest("malformed_push", "the ticket push carries no valid ticket")
		}
		return []*dynamo.Put{h.tokens.TicketPut(msg.AppID, msg.ComponentVerifyTicket, time.Unix(msg.CreateTime, 0), now)}, nil, nil
	case InfoAuthorized, InfoUpdateAuthorized, InfoUnauthorized:
		if !validAppID(msg.AuthorizerAppid) {
			return nil, nil, apperr.BadRequest("malformed_push", "the authorization event names no valid authorizer appid")
		}
		if msg.InfoType != InfoUnauthorized && (msg.AuthorizationCode == "" || len(msg.AuthorizationCode) > 512 || len(msg.PreAuthCode) > 512) {
			return nil, nil, apperr.BadRequest("malformed_push", "the authorization event carries no authorization code")
		}
		ev := eventOf(msg, now)
		puts := []*dynamo.Put{h.events.put(ev)}
		if msg.InfoType != InfoUnauthorized {
			puts = append(puts, h.events.codePut(ev, now))
		}
		return puts, &ev, nil
	case InfoFastRegister:
		if err := validRegistration(msg); err != nil {
			return nil, nil, err
		}
		ev := registrationEventOf(msg, now)
		return []*dynamo.Put{h.events.put(ev)}, &ev, nil
	}
	return nil, nil, apperr.BadRequest("unknown_info_type", "unsupported InfoType")
}

// validRegistration checks a registration push: it names the registration
// (the code and the legal representative's WeChat id it echoes), and a
// success carries the new mini program and its authorization code.
func validRegistration(msg Message) error {
	in := msg.Info
	if in.Code == "" || len(in.Code) > 64 || in.LegalPersonaWechat == "" || len(in.LegalPersonaWechat) > 64 ||
		len(in.Name) > 512 || len(in.LegalPersonaName) > 256 || len(msg.Msg) > 1024 {
		return apperr.BadRequest("malformed_push", "the registration push names no valid registration")
	}
	if msg.Status == 0 && (!validAppID(msg.RegisteredAppID) || msg.AuthCode == "" || len(msg.AuthCode) > 512) {
		return apperr.BadRequest("malformed_push", "a successful registration push carries no valid appid and authorization code")
	}
	return nil
}

func validAppID(s string) bool {
	if len(s) < 3 || len(s) > 32 || s[:2] != "wx" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// ErrNotFound is returned when no event matches.
var ErrNotFound = storage.ErrNotFound
