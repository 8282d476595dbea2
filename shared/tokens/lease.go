package tokens

// The refresh lease lives on the token item itself (lease_owner,
// lease_until_ms), so a refresh costs two DynamoDB calls:
//
//  1. take: one UpdateItem that sets the lease only if it is free (absent
//     or expired) and the token still needs refreshing, returning the whole
//     item (ALL_NEW: a consistent read of the token and of the sealed
//     refresh token to mint with). Refused, it returns the item as it
//     stood (ALL_OLD), which tells "someone refreshed it already" from
//     "someone is refreshing it now" without another read;
//  2. store: one PutItem of the new token if the version is still the one
//     taken and the lease still ours; the item it writes has no lease
//     attributes, which releases the lease.
//
// A failure after the take releases the lease (a third call), except where
// a write has already dropped it (needs re-authorization, revoked, or
// someone else's write); a holder that dies leaves it to expire (leaseFor).
// docs/tokens.md explains the choices.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

// Attributes of the refresh lease on a token item.
const (
	attrLeaseOwner = "lease_owner"
	attrLeaseUntil = "lease_until_ms"
)

// Waiting for another refresher (on-demand paths only: the scheduled run
// skips a token someone else is refreshing).
const (
	// maxLeaseWaits bounds the takes a waiter tries, 20 ms apart and 10 ms
	// more each time: about 13 s in all, less than a lease.
	maxLeaseWaits = 50
	// releaseTimeout bounds a lease's release, which runs even when the
	// caller's context is done.
	releaseTimeout = 3 * time.Second
)

var errLeaseBusy = errors.New("another refresher holds the lease")

// leaseWant is what a take requires of the token besides a free lease.
type leaseWant struct {
	// version: the token WeChat rejected (a forced refresh) is still the
	// stored one. 0: the token is due instead.
	version int64
	// stale is that rejected token (forced refreshes only).
	stale string
	// dueBy: the token is active and expires by then (it is due).
	dueBy time.Time
	// mayCreate: a missing item may be created by the take (the component
	// and public tokens start so). An authorizer's item exists from its
	// authorization: without it there is no refresh token to mint with.
	mayCreate bool
}

// dueWant is the take of a token that is due by now + RefreshWindow.
func (m *Manager) dueWant(k tokenKey) leaseWant {
	return leaseWant{dueBy: m.cfg.Now().Add(RefreshWindow), mayCreate: k.kind != KindAuthorizer}
}

// condition is want as a condition expression on the item.
func (w leaseWant) condition(now time.Time) (string, map[string]string, map[string]types.AttributeValue) {
	names := map[string]string{"#owner": attrLeaseOwner, "#until": attrLeaseUntil}
	values := map[string]types.AttributeValue{":now": number(now.UnixMilli())}
	cond := "(attribute_not_exists(#until) OR #until < :now)"
	if w.version != 0 {
		names["#version"] = "version"
		values[":version"] = number(w.version)
		return cond + " AND #version = :version", names, values
	}
	names["#status"], names["#expires"] = "status", "expires_at"
	values[":active"] = &types.AttributeValueMemberS{Value: string(StatusActive)}
	values[":due"] = number(w.dueBy.Unix())
	due := "#status = :active AND #expires <= :due"
	if w.mayCreate {
		// A missing item, or one a take created and no write completed.
		return cond + " AND (attribute_not_exists(#expires) OR (" + due + "))", names, values
	}
	return cond + " AND " + due, names, values
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// taken is the outcome of a take.
type taken struct {
	held bool
	// id is the lease's holder: this take (unique, so two takes by one
	// instance never pass for each other).
	id string
	// item is the token as the take left it (held) or found it (refused;
	// zero when there is none).
	item   storedToken
	exists bool
}

// takeLease sets the refresh lease of pk for d if it is free and want
// holds: one UpdateItem returning the item either way.
func (s *Store) takeLease(ctx context.Context, pk, id string, want leaseWant, now time.Time, d time.Duration) (taken, error) {
	cond, names, values := want.condition(now)
	values[":id"] = &types.AttributeValueMemberS{Value: id}
	values[":lease_until"] = number(now.Add(d).UnixMilli())
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table.Name()),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: skToken},
		},
		UpdateExpression:                    aws.String("SET #owner = :id, #until = :lease_until"),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	t := taken{id: id}
	if err == nil {
		t.held, t.exists = true, true
		return t, dynamo.UnmarshalItem(out.Attributes, &t.item)
	}
	ccf, ok := errors.AsType[*types.ConditionalCheckFailedException](err)
	if !ok {
		return t, fmt.Errorf("take lease: %w", err)
	}
	if len(ccf.Item) == 0 {
		return t, nil
	}
	t.exists = true
	return t, dynamo.UnmarshalItem(ccf.Item, &t.item)
}

// putRefreshed writes next if the version is still expected (0: none yet,
// the item a take created) and the lease still id's.
func (s *Store) putRefreshed(ctx context.Context, next storedToken, expected int64, id string) error {
	put := s.table.Put(next)
	if expected == 0 {
		put = put.If("attribute_not_exists('version') AND 'lease_owner' = ?", id)
	} else {
		put = put.If("'version' = ? AND 'lease_owner' = ?", expected, id)
	}
	return storage.TranslateErr(put.Run(ctx))
}

// releaseLease drops the lease if id still holds it.
func (s *Store) releaseLease(ctx context.Context, pk, id string) error {
	err := s.table.Update("pk", pk).Range("sk", skToken).Remove(attrLeaseOwner, attrLeaseUntil).
		If("'lease_owner' = ?", id).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

var leaseSeq atomic.Uint64

// takeLease takes k's lease as want says, with a fresh holder id.
func (m *Manager) takeLease(ctx context.Context, k tokenKey, want leaseWant) (taken, error) {
	id := m.owner + "." + strconv.FormatUint(leaseSeq.Add(1), 36)
	t, err := m.store.takeLease(ctx, k.pk(), id, want, m.cfg.Now(), leaseFor)
	if err != nil {
		return t, fmt.Errorf("%s token: %w", k.kind, err)
	}
	return t, nil
}

// releaseLease releases a lease a failed refresh holds, even when the
// caller's context is done (keeping its values: the request id, the
// function).
func (m *Manager) releaseLease(ctx context.Context, k tokenKey, id string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.limits.release)
	defer cancel()
	if err := m.store.releaseLease(rctx, k.pk(), id); err != nil {
		m.cfg.Log.WarnContext(ctx, "lease release failed; it expires", "token", k.kind, "appid", k.appid, "err", err.Error())
	}
}

// refresh obtains a usable token for k under the lease. With force (WeChat
// rejected stale), it refreshes unless the stored token already differs
// from stale; without force, only when the stored token is missing or due.
// Someone else refreshing it meanwhile is waited for.
func (m *Manager) refresh(ctx context.Context, k tokenKey, stale string, force bool) (string, error) {
	seen := m.forget(k)
	want := m.dueWant(k)
	if force {
		var done string
		var err error
		if want, done, err = m.forcedWant(ctx, k, stale, seen); done != "" || err != nil {
			return done, err
		}
	}
	for attempt := 0; ; attempt++ {
		t, err := m.takeLease(ctx, k, want)
		if err != nil {
			return "", err
		}
		if t.held {
			next, err := m.refreshHeld(ctx, k, t, false)
			return next.AccessToken, err
		}
		token, busy, err := m.refused(ctx, k, t, want)
		if token != "" || err != nil {
			return token, err
		}
		if attempt >= maxLeaseWaits {
			return "", fmt.Errorf("%s token: %w", k.kind, errLeaseBusy)
		}
		if !busy {
			// The lease is free and the stored token no longer the one
			// rejected, but it is not usable either: refresh it as due.
			want = m.dueWant(k)
			continue
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(20+attempt*10) * time.Millisecond):
		}
	}
}

// forcedWant is the take of a forced refresh: the version of the rejected
// token, from the cache that handed it out, else from a read (done: the
// stored token differs from stale and may be used).
func (m *Manager) forcedWant(ctx context.Context, k tokenKey, stale string, seen cached) (want leaseWant, done string, err error) {
	if seen.token == stale && seen.version != 0 {
		return leaseWant{version: seen.version, stale: stale}, "", nil
	}
	cur, err := m.readToken(ctx, k.pk())
	if errors.Is(err, storage.ErrNotFound) {
		return m.dueWant(k), "", nil
	}
	if err != nil {
		return want, "", fmt.Errorf("read %s token: %w", k.kind, err)
	}
	if err := statusErr(cur); err != nil {
		return want, "", err
	}
	if cur.valid(m.cfg.Now()) && cur.AccessToken != stale {
		m.remember(k, cur)
		return want, cur.AccessToken, nil
	}
	if cur.Version == 0 {
		return m.dueWant(k), "", nil
	}
	return leaseWant{version: cur.Version, stale: stale}, "", nil
}

// refused explains a take the condition refused, from the item as it
// stood: a token someone refreshed already (returned), a refresh under way
// (busy), or why there is nothing to refresh (an error).
func (m *Manager) refused(ctx context.Context, k tokenKey, t taken, want leaseWant) (token string, busy bool, err error) {
	if !t.exists {
		return "", false, fmt.Errorf("%s token of %s: %w", k.kind, k.appid, storage.ErrNotFound)
	}
	cur, err := m.open(ctx, t.item)
	if err != nil {
		return "", false, err
	}
	if err := statusErr(cur); err != nil {
		return "", false, err
	}
	now := m.cfg.Now()
	fresh := now.Add(RefreshWindow).Unix() < cur.ExpiresAt
	if want.version != 0 {
		fresh = cur.AccessToken != want.stale
	}
	if cur.valid(now) && fresh {
		m.remember(k, cur)
		return cur.AccessToken, false, nil
	}
	return "", cur.LeaseUntil >= now.UnixMilli(), nil
}

// refreshHeld mints and stores a new token while holding the lease t took
// (t.item is the token as the take left it). With backoff, WeChat's
// "busy" and minute quota are retried a few times under the lease.
func (m *Manager) refreshHeld(ctx context.Context, k tokenKey, t taken, backoff bool) (tokenItem, error) {
	cur, err := m.open(ctx, t.item)
	if err == nil {
		// A token WeChat mints that could not be sealed would be lost (and
		// an authorizer's new refresh token with it): fail before asking.
		err = m.sealer.Ready(ctx)
	}
	if err != nil {
		m.releaseLease(ctx, k, t.id)
		return tokenItem{}, fmt.Errorf("refresh %s token: %w", k.kind, err)
	}
	next, err := m.mintWithBackoff(ctx, k, cur, t.id, backoff)
	if err != nil {
		if !errors.Is(err, ErrNeedsReauth) && !errors.Is(err, ErrUnauthorized) { // marking it released the lease
			m.releaseLease(ctx, k, t.id)
		}
		return tokenItem{}, err
	}
	// WeChat has minted: store it even if the caller's time is up, so the
	// new token (and refresh token) is not lost to our own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.limits.store)
	defer cancel()
	if err := m.storeRefreshed(sctx, next, t.item.Version, t.id); err != nil {
		if !errors.Is(err, storage.ErrConflict) { // someone else's write dropped our lease
			m.releaseLease(ctx, k, t.id)
		}
		return tokenItem{}, fmt.Errorf("store %s token: %w", k.kind, err)
	}
	m.remember(k, next)
	return next, nil
}

// mintWithBackoff is mint, retried with a growing pause (with backoff) when
// WeChat is busy (-1, after the client's own retries) or over its minute
// quota (45011); the daily quota (45009) is returned at once.
func (m *Manager) mintWithBackoff(ctx context.Context, k tokenKey, cur tokenItem, leaseID string, backoff bool) (tokenItem, error) {
	pause := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		next, err := m.mint(ctx, k, cur, leaseID)
		if err == nil || !backoff || attempt == 3 || !wechat.IsCode(err, wechat.CodeQuotaMinute, wechat.CodeBusy) ||
			errors.Is(err, ErrNeedsReauth) || errors.Is(err, ErrUnauthorized) {
			return next, err
		}
		select {
		case <-ctx.Done():
			return tokenItem{}, ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}
