package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
	"wxchannel/shared/terminaluser"
)

// State is where a notification's WeChat message stands.
type State string

// States of a notification. Pending, Sending and Retry are the sender's
// own; the rest are final.
const (
	StatePending    State = "pending"     // in the feed, not yet decided
	StateSending    State = "sending"     // handed to WeChat, outcome not recorded yet
	StateRetry      State = "retry"       // WeChat did not take it (busy, quota): tried again
	StateSent       State = "sent"        // delivered
	StateNoGrant    State = "no_grant"    // the customer holds no grant (or WeChat said 43101)
	StateOff        State = "off"         // the tenant turned the kind off
	StateNoTemplate State = "no_template" // the mini program has no template for the kind
	StateFailed     State = "failed"      // WeChat refused it (Reason says why)
	StateUnknown    State = "unknown"     // the send may or may not have reached WeChat; never repeated
)

// Note is one notification of a user's in-app feed.
type Note struct {
	PK         string `dynamo:"pk,hash" json:"-"`
	SK         string `dynamo:"sk,range" json:"-"`
	ID         string `dynamo:"id" json:"id"`
	Kind       Kind   `dynamo:"kind" json:"kind"`
	Title      string `dynamo:"title" json:"title"`
	Body       string `dynamo:"body" json:"body"`
	WorkOrder  string `dynamo:"work_order_id" json:"work_order_id"`
	Page       string `dynamo:"page" json:"page"`
	EventID    string `dynamo:"event_id" json:"-"`
	State      State  `dynamo:"state" json:"wechat"`
	Reason     string `dynamo:"reason,omitempty" json:"-"`
	TemplateID string `dynamo:"template_id,omitempty" json:"-"`
	MsgID      int64  `dynamo:"msgid,omitempty" json:"-"`
	Attempts   int    `dynamo:"attempts,omitempty" json:"-"`
	// CreatedAt is when the event happened (unix ms).
	CreatedAt int64 `dynamo:"created_at" json:"created_at"`
	ReadAt    int64 `dynamo:"read_at,omitempty" json:"-"`
	Read      bool  `dynamo:"-" json:"read"`
	TTL       int64 `dynamo:"ttl" json:"-"`
}

var noteIDPattern = regexp.MustCompile(`^[0-9]{13}\.ev_[0-9a-f]{28}\.(accepted|on_the_way|completed|rate)$`)

// noteID names the notification of kind k raised by event eventID at at.
func noteID(at time.Time, eventID string, k Kind) string {
	return fmt.Sprintf("%013d.%s.%s", at.UnixMilli(), eventID, k)
}

// noteSK is the sort key of the note id names: newest last, so a
// descending query reads the newest first.
func noteSK(id string) string { return skNotePrefix + strings.ReplaceAll(id, ".", "#") }

// inbox is a user's feed state.
type inbox struct {
	Unread int `dynamo:"unread"`
	// ReadBefore: every note created at or before it (unix ms) is read.
	ReadBefore int64 `dynamo:"read_before"`
}

// claim puts a new note in the feed and counts it unread, in one
// transaction. If the note is there already (the event came again), it
// returns the stored note and false.
func (s *Store) claim(ctx context.Context, tenantID, userID string, n Note) (Note, bool, error) {
	n.PK, n.SK = terminaluser.UserPartition(tenantID, userID), noteSK(n.ID)
	key := inboxKey(tenantID, userID)
	tx := s.db.WriteTx()
	tx.Put(s.table.Put(n).If("attribute_not_exists('pk')"))
	tx.Update(s.table.Update("pk", key[0]).Range("sk", key[1]).Add("unread", 1))
	err := tx.Run(ctx)
	if err == nil {
		return n, true, nil
	}
	if !isConditionFailure(err) {
		return Note{}, false, fmt.Errorf("add a notification: %w", err)
	}
	var stored Note
	if err := s.table.Get("pk", n.PK).Range("sk", dynamo.Equal, n.SK).Consistent(true).One(ctx, &stored); err != nil {
		return Note{}, false, fmt.Errorf("read a notification: %w", err)
	}
	return stored, false, nil
}

// isConditionFailure reports whether err is a failed condition, of a
// write or of a transaction.
func isConditionFailure(err error) bool {
	if dynamo.IsCondCheckFailed(err) {
		return true
	}
	if tce, ok := errors.AsType[*types.TransactionCanceledException](err); ok {
		for _, r := range tce.CancellationReasons {
			if r.Code != nil && *r.Code == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// moveNote changes a note's state if it is still in one of from; it
// reports whether it did.
func (s *Store) moveNote(ctx context.Context, n Note, to State, from []State, set func(*dynamo.Update) *dynamo.Update) (bool, error) {
	marks := make([]string, len(from))
	args := make([]any, len(from))
	for i, st := range from {
		marks[i], args[i] = "?", string(st)
	}
	u := s.table.Update("pk", n.PK).Range("sk", n.SK).Set("state", to).If("'state' IN ("+strings.Join(marks, ", ")+")", args...)
	if set != nil {
		u = set(u)
	}
	err := u.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("move a notification to %s: %w", to, err)
	}
	return true, nil
}

// inbox reads a user's feed state.
func (s *Store) inbox(ctx context.Context, tenantID, userID string) (inbox, error) {
	var in inbox
	key := inboxKey(tenantID, userID)
	err := s.table.Get("pk", key[0]).Range("sk", dynamo.Equal, key[1]).Consistent(true).One(ctx, &in)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return inbox{}, fmt.Errorf("read the inbox: %w", err)
	}
	return in, nil
}

// FeedPage is one page of a user's feed, newest first.
type FeedPage struct {
	Notifications []Note `json:"notifications"`
	Unread        int    `json:"unread"`
	Next          string `json:"next_cursor"`
}

// Feed reads a page of a user's notifications (cursor from the previous
// page) and the unread count.
func (s *Store) Feed(ctx context.Context, tenantID, userID string, limit int, cursor string) (FeedPage, error) {
	pk := terminaluser.UserPartition(tenantID, userID)
	q := s.table.Get("pk", pk).Range("sk", dynamo.BeginsWith, skNotePrefix).Order(dynamo.Descending).Limit(limit)
	after := ""
	if cursor != "" {
		var err error
		if after, err = decodeFeedCursor(cursor); err != nil {
			return FeedPage{}, err
		}
		// Between includes the cursor's own note: read one more and drop it.
		q = s.table.Get("pk", pk).Range("sk", dynamo.Between, skNotePrefix, after).Order(dynamo.Descending).Limit(limit + 1)
	}
	in, err := s.inbox(ctx, tenantID, userID)
	if err != nil {
		return FeedPage{}, err
	}
	notes := []Note{}
	if err := q.All(ctx, &notes); err != nil {
		return FeedPage{}, fmt.Errorf("read notifications: %w", err)
	}
	if after != "" && len(notes) > 0 && notes[0].SK == after {
		notes = notes[1:]
	}
	notes = notes[:min(len(notes), limit)]
	page := FeedPage{Notifications: notes, Unread: max(in.Unread, 0)}
	for i := range page.Notifications {
		n := &page.Notifications[i]
		n.Read = n.ReadAt != 0 || n.CreatedAt <= in.ReadBefore
	}
	if len(notes) == limit {
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(notes[len(notes)-1].SK))
	}
	return page, nil
}

func decodeFeedCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), skNotePrefix) || len(raw) > 100 {
		return "", apperr.InvalidField("cursor", "a next_cursor returned by this feed")
	}
	return string(raw), nil
}

// MarkRead marks the notes ids read (each once: the unread count goes
// down only for a note that was unread).
func (s *Store) MarkRead(ctx context.Context, tenantID, userID string, ids []string, now time.Time) error {
	pk := terminaluser.UserPartition(tenantID, userID)
	key := inboxKey(tenantID, userID)
	for _, id := range ids {
		created := createdOf(id)
		tx := s.db.WriteTx()
		tx.Update(s.table.Update("pk", pk).Range("sk", noteSK(id)).Set("read_at", now.UnixMilli()).
			If("attribute_exists('pk') AND attribute_not_exists(read_at)"))
		tx.Update(s.table.Update("pk", key[0]).Range("sk", key[1]).Add("unread", -1).
			If("unread > ? AND (attribute_not_exists(read_before) OR read_before < ?)", 0, created))
		if err := tx.Run(ctx); err != nil && !isConditionFailure(err) {
			return fmt.Errorf("mark a notification read: %w", err)
		}
	}
	return nil
}

// MarkAllRead marks everything in the feed read.
func (s *Store) MarkAllRead(ctx context.Context, tenantID, userID string, now time.Time) error {
	key := inboxKey(tenantID, userID)
	err := s.table.Update("pk", key[0]).Range("sk", key[1]).Set("unread", 0).Set("read_before", now.UnixMilli()).Run(ctx)
	if err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return nil
}

// createdOf is the creation time (unix ms) a note id starts with.
func createdOf(id string) int64 {
	var ms int64
	for _, c := range id[:13] {
		ms = ms*10 + int64(c-'0')
	}
	return ms
}

// noteTTL is the TTL of a note created at at.
func noteTTL(at time.Time) int64 { return storage.ExpiresAt(at.Add(NoteRetention)) }
