package tokens

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// Index keys: every refreshable token is in gsi1 under dueIndexPK, sorted
// by the time its refresh is due, so the scheduler queries "due before T"
// instead of scanning. An authorizer that needs re-authorization leaves the
// index.
const dueIndexPK = "tokendue"

// Status is a token item's state.
type Status string

// Token item states.
const (
	StatusActive       Status = "active"
	StatusNeedsReauth  Status = "needs_reauth"
	StatusUnauthorized Status = "unauthorized"
)

// Kind names whose token an item holds.
type Kind string

// Token kinds.
const (
	// KindComponent is the platform's component_access_token.
	KindComponent Kind = "component"
	// KindAuthorizer is an authorized mini program's access token.
	KindAuthorizer Kind = "authorizer"
	// KindPublic is the platform's own public mini program's access token.
	KindPublic Kind = "public"
)

// tokenItem is the durable record of one access token.
type tokenItem struct {
	PK           string `dynamo:"pk,hash"`
	SK           string `dynamo:"sk,range"`
	DuePK        string `dynamo:"gsi1pk,omitempty"`
	DueSK        string `dynamo:"gsi1sk,omitempty"`
	Kind         Kind   `dynamo:"kind"`
	AppID        string `dynamo:"appid"`
	AccessToken  string `dynamo:"access_token,omitempty"`
	ExpiresAt    int64  `dynamo:"expires_at"` // unix seconds
	RefreshToken string `dynamo:"refresh_token,omitempty"`
	Status       Status `dynamo:"status"`
	Reason       string `dynamo:"reason,omitempty"`
	// Version changes with every write; writes are conditional on the
	// version read, so an older token never overwrites a newer one.
	Version     int64 `dynamo:"version"`
	RefreshedAt int64 `dynamo:"refreshed_at"`
	// The refresh lease (lease.go), on the item itself: who is refreshing
	// the token and until when (unix ms). A write of the refreshed token
	// leaves both out, which releases the lease.
	LeaseOwner string `dynamo:"lease_owner,omitempty"`
	LeaseUntil int64  `dynamo:"lease_until_ms,omitempty"`
}

func (t tokenItem) valid(now time.Time) bool {
	return t.AccessToken != "" && now.Unix() < t.ExpiresAt
}

// storedToken is a token item as the table holds it: its access and
// refresh tokens sealed (see sealing.go). The store reads and writes only
// stored tokens, and only the manager's sealing turns one into a tokenItem
// and back, so a sealed value is never used as a token, nor a token
// written in plaintext.
type storedToken tokenItem

// ticketItem is the latest component_verify_ticket.
type ticketItem struct {
	PK         string `dynamo:"pk,hash"`
	SK         string `dynamo:"sk,range"`
	Ticket     string `dynamo:"ticket"`
	CreateTime int64  `dynamo:"create_time"`
	ReceivedAt int64  `dynamo:"received_at"`
}

func componentPK(appid string) string { return "component#" + appid }
func publicAppPK(appid string) string { return "publicapp#" + appid }

const (
	skToken  = "token"
	skTicket = "ticket"
)

func dueSK(due time.Time, kind Kind, appid string) string {
	return fmt.Sprintf("%012d#%s#%s", due.Unix(), kind, appid)
}

// Store holds the access patterns of tokens in the platform table.
type Store struct {
	table dynamo.Table
	// client makes the calls guregu/dynamo cannot express (lease.go: a
	// refused condition that returns the item as it stood).
	client *dynamodb.Client
}

// NewStore returns the token store of db.
func NewStore(db *storage.DB) *Store { return &Store{table: db.Platform, client: db.Client} }

func (s *Store) getToken(ctx context.Context, pk string) (storedToken, error) {
	var it storedToken
	err := s.table.Get("pk", pk).Range("sk", dynamo.Equal, skToken).Consistent(true).One(ctx, &it)
	return it, storage.TranslateErr(err)
}

// tokenPut writes a token item unconditionally (a new authorization
// replaces the previous tokens); the put is returned so a caller can add it
// to a transaction.
func (s *Store) tokenPut(it storedToken) *dynamo.Put { return s.table.Put(it) }

// Ticket returns the stored verify ticket.
func (s *Store) Ticket(ctx context.Context, componentAppID string) (string, time.Time, error) {
	var it ticketItem
	err := s.table.Get("pk", componentPK(componentAppID)).Range("sk", dynamo.Equal, skTicket).Consistent(true).One(ctx, &it)
	if err != nil {
		return "", time.Time{}, storage.TranslateErr(err)
	}
	return it.Ticket, time.Unix(it.CreateTime, 0), nil
}

// TicketPut stores a ticket unless a newer one is stored already; the put
// is returned so a caller can add it to a transaction.
func (s *Store) TicketPut(componentAppID, ticket string, created, received time.Time) *dynamo.Put {
	return s.table.Put(ticketItem{PK: componentPK(componentAppID), SK: skTicket, Ticket: ticket,
		CreateTime: created.Unix(), ReceivedAt: received.Unix()}).
		If("attribute_not_exists('pk') OR 'create_time' < ?", created.Unix())
}

// markStatus takes an authorizer out of the refresh index with a reason.
// The refresher that found out holds the lease (leaseID), and the update
// releases it; without one (the authorization was revoked or unbound), the
// update also ends any refresh under way, whose write then fails.
func (s *Store) markStatus(ctx context.Context, appid string, status Status, reason, leaseID string, now time.Time) error {
	u := s.table.Update("pk", storage.AuthorizerPartition(appid)).Range("sk", skToken).
		Set("status", status).Set("reason", reason).Set("version", now.UnixNano()).
		Remove("gsi1pk", "gsi1sk", attrLeaseOwner, attrLeaseUntil)
	if leaseID != "" {
		u = u.If("'lease_owner' = ?", leaseID)
	} else {
		u = u.If("attribute_exists(pk)")
	}
	return storage.TranslateErr(u.Run(ctx))
}

// dueToken is what the scheduled run needs from the due index to start a
// refresh; the lease take returns the whole item, read consistently.
type dueToken struct {
	Kind   Kind   `dynamo:"kind"`
	AppID  string `dynamo:"appid"`
	Status Status `dynamo:"status"`
}

// dueBefore streams the token items whose refresh is due before t, oldest
// first, a page (up to 1 MB read) at a time.
func (s *Store) dueBefore(t time.Time) dynamo.PagingIter {
	return s.table.Get("gsi1pk", dueIndexPK).Index(storage.IndexGSI1).
		Range("gsi1sk", dynamo.LessOrEqual, fmt.Sprintf("%012d~", t.Unix())).
		Project("kind", "appid", "status").Iter()
}
