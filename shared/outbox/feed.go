package outbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
)

// Settle is how long an event waits before the feed shows it. An event's
// place in the feed is its time, taken before its transaction commits;
// a transaction retried after a conflict, or a request slowed by the
// reads before it, commits later than events stamped after it. Showing
// only events older than Settle keeps a cursor from passing an event that
// is not there yet: no write of ours takes a minute from its time to its
// commit (the API's timeout is 30 s).
const Settle = time.Minute

// Feed page sizes.
const (
	DefaultPage = 100
	MaxPage     = 500
)

// Page is one page of a tenant's feed: the events, oldest first, and the
// cursor to ask for the next page with. With no newer event yet, Next is
// the cursor asked with (or where the reading stopped), so a CRM polling
// the feed keeps it and asks again later.
type Page struct {
	Events []json.RawMessage `json:"events"`
	Next   string            `json:"next"`
	More   bool              `json:"more"`
}

// FeedQuery is what a feed request asks for.
type FeedQuery struct {
	After string   // a cursor from an earlier page; "" starts 30 days back
	Types []string // only these event types; none: all
	Limit int      // events per page
}

// Feed reads events from a tenant's outbox.
type Feed struct {
	table dynamo.Table
	now   func() time.Time
}

// NewFeed returns the feed over table (the service table).
func NewFeed(table dynamo.Table, now func() time.Time) *Feed { return &Feed{table: table, now: now} }

// cursor encodes a sort key; a cursor is opaque to the CRM.
func encodeCursor(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

func decodeCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(raw), skPrefix) || len(raw) > 120 {
		return "", apperr.InvalidField("after", "a cursor returned by this feed")
	}
	return string(raw), nil
}

// Validate checks q and fills its defaults.
func (q *FeedQuery) Validate() error {
	if q.Limit == 0 {
		q.Limit = DefaultPage
	}
	if q.Limit < 1 || q.Limit > MaxPage {
		return apperr.InvalidField("limit", fmt.Sprintf("between 1 and %d", MaxPage))
	}
	if err := ValidTypes(q.Types); err != nil {
		return err
	}
	if q.After != "" {
		if _, err := decodeCursor(q.After); err != nil {
			return err
		}
	}
	return nil
}

// ValidTypes checks a request's list of event types.
func ValidTypes(types []string) error {
	if len(types) > len(Types) {
		return apperr.InvalidField("types", "each type at most once")
	}
	for _, t := range types {
		if !slices.Contains(Types, t) {
			return apperr.InvalidField("types", "event types listed in the events documentation")
		}
	}
	return nil
}

// Page returns the tenant's events after q.After, oldest first: one
// Query of the tenant's outbox partition bounded by the cursor below and
// by the settle time above; a types filter is applied to what the key
// range reads (each read item counts against the page's reads).
func (f *Feed) Page(ctx context.Context, tenantID string, q FeedQuery) (Page, error) {
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	now := f.now()
	from := sortKey(now.Add(-Retention), "")
	if q.After != "" {
		after, _ := decodeCursor(q.After)
		from = max(after+"~", from) // after the cursor's event ("~" sorts after its id)
	}
	to := sortKey(now.Add(-Settle), "")
	page := Page{Events: []json.RawMessage{}, Next: q.After}
	if from >= to {
		return page, nil
	}
	query := f.table.Get("pk", Partition(tenantID)).Range("sk", dynamo.Between, from, to).Consistent(true).
		Project("sk", AttrBody).SearchLimit(q.Limit)
	query = filterTypes(query, q.Types)
	var items []struct {
		SK   string `dynamo:"sk"`
		Body string `dynamo:"body"`
	}
	last, err := query.AllWithLastEvaluatedKey(ctx, &items)
	if err != nil {
		return Page{}, fmt.Errorf("read the event feed: %w", err)
	}
	for _, it := range items {
		page.Events = append(page.Events, json.RawMessage(it.Body))
		page.Next = encodeCursor(it.SK)
	}
	if sk, ok := lastSortKey(last); ok {
		page.Next, page.More = encodeCursor(sk), true
	}
	return page, nil
}

// lastSortKey is the sort key a Query stopped at.
func lastSortKey(k dynamo.PagingKey) (string, bool) {
	if k == nil {
		return "", false
	}
	av, ok := k["sk"].(*types.AttributeValueMemberS)
	if !ok {
		return "", false
	}
	return av.Value, true
}

// Stored is an event as the outbox holds it, for a replay.
type Stored struct {
	SK    string `dynamo:"sk"`
	ID    string `dynamo:"id"`
	Group string `dynamo:"group"`
	Body  string `dynamo:"body"`
}

// RangeQuery selects stored events by the time they happened.
type RangeQuery struct {
	From, To time.Time // [From, To)
	After    string    // a cursor from an earlier call
	Types    []string
	Limit    int
}

// Range returns a tenant's stored events that happened in [q.From, q.To),
// oldest first, up to q.Limit read, and the cursor to continue after
// ("" when the range is done). One Query of the outbox partition.
func (f *Feed) Range(ctx context.Context, tenantID string, q RangeQuery) ([]Stored, string, error) {
	from, to := sortKey(q.From, ""), sortKey(q.To, "")
	if q.After != "" {
		after, err := decodeCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		from = max(after+"~", from)
	}
	if from >= to {
		return nil, "", nil
	}
	query := f.table.Get("pk", Partition(tenantID)).Range("sk", dynamo.Between, from, to).Consistent(true).
		Project("sk", AttrID, AttrGroup, AttrBody).SearchLimit(q.Limit)
	query = filterTypes(query, q.Types)
	var out []Stored
	last, err := query.AllWithLastEvaluatedKey(ctx, &out)
	if err != nil {
		return nil, "", fmt.Errorf("read stored events: %w", err)
	}
	if sk, ok := lastSortKey(last); ok {
		return out, encodeCursor(sk), nil
	}
	return out, "", nil
}

// filterTypes keeps only events of types (all when none).
func filterTypes(query *dynamo.Query, types []string) *dynamo.Query {
	if len(types) == 0 {
		return query
	}
	args := make([]any, len(types))
	for i, t := range types {
		args[i] = t
	}
	return query.Filter("'type' IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")", args...)
}
