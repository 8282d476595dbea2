package componentpush

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/wxcrypt"
)

// Event is an authorization event recorded from a push, for the
// authorization flow to process.
type Event struct {
	PK                string `dynamo:"pk,hash" json:"-"`
	SK                string `dynamo:"sk,range" json:"-"`
	PendingPK         string `dynamo:"gsi1pk,omitempty" json:"-"`
	PendingSK         string `dynamo:"gsi1sk,omitempty" json:"-"`
	AuthorizerAppID   string `dynamo:"authorizer_appid" json:"authorizer_appid"`
	InfoType          string `dynamo:"info_type" json:"info_type"`
	CreateTime        int64  `dynamo:"create_time" json:"create_time"`
	AuthorizationCode string `dynamo:"authorization_code,omitempty" json:"-"`
	CodeExpiresAt     int64  `dynamo:"code_expires_at,omitempty" json:"code_expires_at,omitempty"`
	PreAuthCode       string `dynamo:"pre_auth_code,omitempty" json:"-"`
	ReceivedAt        int64  `dynamo:"received_at" json:"received_at"`
	Processed         bool   `dynamo:"processed" json:"processed"`
	// A quick registration's outcome: the key of the registration, WeChat's
	// status (0 success) and message, and what it echoed.
	RegistrationKey    string `dynamo:"registration_key,omitempty" json:"-"`
	RegistrationStatus int    `dynamo:"registration_status,omitempty" json:"registration_status,omitempty"`
	RegistrationMsg    string `dynamo:"registration_msg,omitempty" json:"registration_msg,omitempty"`
	RegistrationName   string `dynamo:"registration_name,omitempty" json:"-"`
	// TTL: events are kept 90 days for the binding history.
	TTL int64 `dynamo:"ttl" json:"-"`
}

// EventStore holds authorization events under the authorizer's partition:
// pk authorizer#<appid>, sk event#<create time>#<info type>[#<code hash>]:
// two authorizations of one mini program in the same second are two
// events, a re-sent one is the same.
type EventStore struct{ table dynamo.Table }

// NewEventStore returns the event store of db.
func NewEventStore(db *storage.DB) *EventStore { return &EventStore{table: db.Platform} }

func eventOf(msg Message, now time.Time) Event {
	return Event{
		PK: storage.AuthorizerPartition(msg.AuthorizerAppid), SK: eventSK(msg),
		AuthorizerAppID: msg.AuthorizerAppid, InfoType: msg.InfoType, CreateTime: msg.CreateTime,
		AuthorizationCode: msg.AuthorizationCode, CodeExpiresAt: msg.AuthorizationCodeExpiredTime, PreAuthCode: msg.PreAuthCode,
		ReceivedAt: now.Unix(), TTL: now.Add(90 * 24 * time.Hour).Unix(),
		PendingPK: pendingEventsPK, PendingSK: fmt.Sprintf("%012d#%s#%s", msg.CreateTime, msg.AuthorizerAppid, msg.InfoType),
	}
}

// RegistrationPartition is the partition of what one enterprise
// registration leads to: its pushes (kept here) and the authorization
// flow's link to the tenant that asked for it. A registration is named by
// the company code and the legal representative's WeChat id, which the
// push echoes back; WeChat runs one registration per principal at a time.
func RegistrationPartition(code, legalWeChat string) string {
	sum := sha256.Sum256([]byte(strings.ToUpper(strings.TrimSpace(code)) + "\x00" + strings.TrimSpace(legalWeChat)))
	return "fastreg#" + hex.EncodeToString(sum[:16])
}

// registrationEventOf records a registration push under its registration.
func registrationEventOf(msg Message, now time.Time) Event {
	pk := RegistrationPartition(msg.Info.Code, msg.Info.LegalPersonaWechat)
	return Event{
		PK: pk, SK: fmt.Sprintf("event#%012d#%s#%d", msg.CreateTime, msg.InfoType, msg.Status),
		AuthorizerAppID: msg.RegisteredAppID, InfoType: msg.InfoType, CreateTime: msg.CreateTime, AuthorizationCode: msg.AuthCode,
		RegistrationKey: pk, RegistrationStatus: msg.Status, RegistrationMsg: msg.Msg, RegistrationName: msg.Info.Name,
		ReceivedAt: now.Unix(), TTL: now.Add(90 * 24 * time.Hour).Unix(),
		PendingPK: pendingEventsPK, PendingSK: fmt.Sprintf("%012d#%s#%s", msg.CreateTime, pk, msg.InfoType),
	}
}

func eventSK(msg Message) string {
	sk := fmt.Sprintf("event#%012d#%s", msg.CreateTime, msg.InfoType)
	if msg.AuthorizationCode != "" {
		sk += "#" + strings.TrimPrefix(CodePartition(msg.AuthorizationCode), "authcode#")[:12]
	}
	return sk
}

// pendingEventsPK indexes events not processed yet, for the retry schedule.
const pendingEventsPK = "authevent#pending"

// Pending lists unprocessed events, oldest first (index query, no scan).
func (s *EventStore) Pending(ctx context.Context, limit int) ([]Event, error) {
	var all []Event
	err := s.table.Get("gsi1pk", pendingEventsPK).Index(storage.IndexGSI1).Limit(limit).All(ctx, &all)
	// Index reads are eventually consistent: skip what was just processed.
	out := all[:0]
	for _, ev := range all {
		if !ev.Processed {
			out = append(out, ev)
		}
	}
	return out, err
}

func (s *EventStore) put(ev Event) *dynamo.Put {
	return s.table.Put(ev).If("attribute_not_exists('pk')")
}

// Events lists an authorizer's events, oldest first.
func (s *EventStore) Events(ctx context.Context, appid string) ([]Event, error) {
	var out []Event
	err := s.table.Get("pk", storage.AuthorizerPartition(appid)).Range("sk", dynamo.BeginsWith, "event#").Consistent(true).All(ctx, &out)
	return out, err
}

// RevokedAfter reports whether an unauthorized event for appid newer than
// createTime was recorded: WeChat may deliver an older authorized push
// after the revocation that followed it.
func (s *EventStore) RevokedAfter(ctx context.Context, appid string, createTime int64) (bool, error) {
	var newer []Event
	err := s.table.Get("pk", storage.AuthorizerPartition(appid)).Range("sk", dynamo.Greater, fmt.Sprintf("event#%012d#~", createTime)).
		Consistent(true).All(ctx, &newer)
	if err != nil {
		return false, err
	}
	for _, ev := range newer {
		if ev.InfoType == InfoUnauthorized {
			return true, nil
		}
	}
	return false, nil
}

// MarkProcessed flags an event as handled (idempotent).
func (s *EventStore) MarkProcessed(ctx context.Context, ev Event) error {
	return s.table.Update("pk", ev.PK).Range("sk", ev.SK).Set("processed", true).Remove("gsi1pk", "gsi1sk").
		If("attribute_exists('pk')").Run(ctx)
}

// skPush is the sort key of what is kept of a push: its fingerprint (in
// the fingerprint's partition) and its authorization code's link (in the
// code's partition).
const skPush = "push"

// dedupePut records a push's fingerprint unless it is recorded already.
func (s *EventStore) dedupePut(p wxcrypt.PushParams, now time.Time) *dynamo.Put {
	return s.table.Put(dedupeItem{PK: Fingerprint(p), SK: skPush, TTL: now.Add(dedupeFor).Unix()}).If("attribute_not_exists('pk')")
}

// CodePartition is the partition of what one authorization code led to:
// the push that carried it (kept here) and the authorization flow's
// outcome. The code itself is not stored.
func CodePartition(code string) string {
	sum := sha256.Sum256([]byte(code))
	return "authcode#" + hex.EncodeToString(sum[:16])
}

// codeItem records the pre-auth code an authorization code came from, as
// WeChat's signed push said: the only link between the two, which the
// redirect to our callback does not carry.
type codeItem struct {
	PK              string `dynamo:"pk,hash"`
	SK              string `dynamo:"sk,range"`
	PreAuthCode     string `dynamo:"pre_auth_code"`
	AuthorizerAppID string `dynamo:"authorizer_appid"`
	TTL             int64  `dynamo:"ttl"`
}

// codeFor keeps the link a day: authorization codes live ten minutes.
const codeFor = 24 * time.Hour

func (s *EventStore) codePut(ev Event, now time.Time) *dynamo.Put {
	return s.table.Put(codeItem{PK: CodePartition(ev.AuthorizationCode), SK: skPush, PreAuthCode: ev.PreAuthCode,
		AuthorizerAppID: ev.AuthorizerAppID, TTL: now.Add(codeFor).Unix()})
}

// PushedCode is what WeChat's push said of an authorization code.
type PushedCode struct {
	PreAuthCode     string
	AuthorizerAppID string
}

// PushOf returns what the push of an authorization code said, or false
// when no push carried it (yet).
func (s *EventStore) PushOf(ctx context.Context, code string) (PushedCode, bool, error) {
	var it codeItem
	err := s.table.Get("pk", CodePartition(code)).Range("sk", dynamo.Equal, skPush).Consistent(true).One(ctx, &it)
	if storage.IsNotFound(err) {
		return PushedCode{}, false, nil
	}
	if err != nil {
		return PushedCode{}, false, fmt.Errorf("read pushed code: %w", err)
	}
	return PushedCode{PreAuthCode: it.PreAuthCode, AuthorizerAppID: it.AuthorizerAppID}, true, nil
}
