package tokens

import (
	"context"
	"math"
	"time"

	"wxchannel/shared/wechat"
)

// RefreshDueBaseline runs the refresh algorithm this package had before
// the lease moved onto the token item (baseline_test.go).
func RefreshDueBaseline(ctx context.Context, m *Manager) (RefreshSummary, error) {
	return m.refreshDueBaseline(ctx)
}

// SetRunLimits changes m's scheduled runs: refreshes in flight, the time
// one refresh may take up to WeChat's answer, and the time of each write
// after it (the store of the token, or the release of the lease). A run
// keeps refresh + 2 × write before its deadline.
func SetRunLimits(m *Manager, concurrency int, refresh, write time.Duration) {
	m.limits.concurrency, m.limits.refresh, m.limits.store, m.limits.release = concurrency, refresh, write, write
}

// DefaultRunLimits puts back the limits a scheduled run has in production.
func DefaultRunLimits(m *Manager) { m.limits = defaultRunLimits }

// SeedAuthorizerTokens stores many authorizers' tokens, sealed, as their
// authorizations would, 25 to a BatchWriteItem: a fixture of thousands in
// a moment.
func SeedAuthorizerTokens(ctx context.Context, m *Manager, infos []wechat.AuthorizationInfo) error {
	items := make([]any, 0, len(infos))
	for _, info := range infos {
		st, err := m.authorizerTokens(ctx, info)
		if err != nil {
			return err
		}
		items = append(items, st)
	}
	_, err := m.store.table.Batch("pk", "sk").Write().Put(items...).Run(ctx)
	return err
}

// HoldLease takes appid's refresh lease as a scheduled refresh does, and
// returns what that refresher does once WeChat has answered: store a new
// token (here a made-up one) under the lease. A refresher that dies never
// calls it.
func HoldLease(ctx context.Context, m *Manager, appid string) (store func(context.Context) error, err error) {
	k := tokenKey{kind: KindAuthorizer, appid: appid}
	t, err := m.takeLease(ctx, k, m.dueWant(k))
	if err != nil || !t.held {
		return nil, err
	}
	return func(ctx context.Context) error {
		cur, err := m.open(ctx, t.item)
		if err != nil {
			return err
		}
		next := cur
		next.AccessToken, next.ExpiresAt = "minted-by-the-lease-holder", m.cfg.Now().Add(2*time.Hour).Unix()
		next.Version, next.LeaseOwner, next.LeaseUntil = cur.Version+int64(time.Microsecond), "", 0
		return m.storeRefreshed(ctx, next, t.item.Version, t.id)
	}, nil
}

// LiftRunRate takes the pace off m's scheduled runs, so that a benchmark on
// loopback measures the code rather than the cap.
func LiftRunRate(m *Manager) { m.limits.rate = math.Inf(1) }
