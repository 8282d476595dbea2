package tokens

// The refresh run as it was before the lease moved onto the token item:
// a separate lease item, a read under the lease, the write and the lease's
// release (4 DynamoDB calls per token), 8 tokens at a time, the whole due
// index read before the first refresh and no look at the deadline. Kept,
// test-only, as the benchmarks' baseline (BenchmarkRefreshRunWithLatency)
// until the new run has landed; delete it then.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

const (
	baselineConcurrency = 8
	baselineLeaseSK     = "lease#token"
)

var errBaselineLeaseBusy = errors.New("another refresher holds the lease")

type baselineLeaseItem struct {
	PK        string `dynamo:"pk,hash"`
	SK        string `dynamo:"sk,range"`
	Owner     string `dynamo:"owner"`
	ExpiresMS int64  `dynamo:"expires_ms"`
	TTL       int64  `dynamo:"ttl"`
}

// refreshDueBaseline is the old RefreshDue.
func (m *Manager) refreshDueBaseline(ctx context.Context) (RefreshSummary, error) {
	var sum RefreshSummary
	comp := tokenKey{kind: KindComponent, appid: m.cfg.ComponentAppID}
	if err := m.baselineRefreshSeen(ctx, comp, nil); err != nil {
		sum.Failed++
		return sum, fmt.Errorf("component token: %w", err)
	}
	var due []storedToken
	err := m.store.table.Get("gsi1pk", dueIndexPK).Index(storage.IndexGSI1).
		Range("gsi1sk", dynamo.LessOrEqual, fmt.Sprintf("%012d~", m.cfg.Now().Add(RefreshWindow).Unix())).All(ctx, &due)
	if err != nil {
		return sum, fmt.Errorf("query due tokens: %w", err)
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		slots   = make(chan struct{}, baselineConcurrency)
		halted  = false
		lastErr error
	)
	for _, it := range due {
		if (it.Kind != KindAuthorizer && it.Kind != KindPublic) || it.Status != StatusActive {
			continue
		}
		mu.Lock()
		stop := halted
		mu.Unlock()
		if stop {
			sum.Skipped++
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			err := m.baselineRefreshDueToken(ctx, it)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sum.Refreshed++
			case wechat.IsCode(err, wechat.CodeQuotaDaily):
				sum.Failed++
				halted, sum.Halted, lastErr = true, true, err
			default:
				sum.Failed++
				lastErr = err
			}
		})
	}
	wg.Wait()
	if sum.Halted {
		return sum, fmt.Errorf("quota exhausted, stopped early: %w", lastErr)
	}
	return sum, nil
}

func (m *Manager) baselineRefreshDueToken(ctx context.Context, st storedToken) error {
	it, err := m.open(ctx, st)
	if err != nil {
		return err
	}
	k := tokenKey{kind: it.Kind, appid: it.AppID}
	seen := &it
	pause := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := m.baselineRefreshSeen(ctx, k, seen)
		seen = nil
		if err == nil || attempt == 3 || !wechat.IsCode(err, wechat.CodeQuotaMinute, wechat.CodeBusy) || errors.Is(err, ErrNeedsReauth) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// baselineRefreshSeen refreshes k when due, starting from seen (or a read).
func (m *Manager) baselineRefreshSeen(ctx context.Context, k tokenKey, seen *tokenItem) error {
	m.forget(k)
	var first tokenItem
	var err error
	if seen != nil {
		first = *seen
	} else {
		first, err = m.readToken(ctx, k.pk())
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("read %s token: %w", k.kind, err)
	}
	if err := statusErr(first); err != nil {
		return err
	}
	if first.valid(m.cfg.Now()) && m.cfg.Now().Add(RefreshWindow).Unix() < first.ExpiresAt {
		return nil
	}
	if token, err := m.baselineAwaitLease(ctx, k, first); token != "" || err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		_ = m.store.table.Delete("pk", k.pk()).Range("sk", baselineLeaseSK).If("'owner' = ?", m.owner).Run(rctx)
	}()
	return m.baselineRefreshHeld(ctx, k, first)
}

func (m *Manager) baselineAwaitLease(ctx context.Context, k tokenKey, first tokenItem) (string, error) {
	for attempt := 0; ; attempt++ {
		now := m.cfg.Now()
		exp := now.Add(leaseFor)
		err := m.store.table.Put(baselineLeaseItem{PK: k.pk(), SK: baselineLeaseSK, Owner: m.owner, ExpiresMS: exp.UnixMilli(),
			TTL: exp.Add(time.Hour).Unix()}).If("attribute_not_exists('pk') OR 'expires_ms' < ?", now.UnixMilli()).Run(ctx)
		if err == nil {
			return "", nil
		}
		if !dynamo.IsCondCheckFailed(err) {
			return "", fmt.Errorf("acquire lease: %w", err)
		}
		if attempt >= 50 {
			return "", fmt.Errorf("%s token: %w", k.kind, errBaselineLeaseBusy)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(20+attempt*10) * time.Millisecond):
		}
		cur, err := m.readToken(ctx, k.pk())
		if err != nil || cur.Version == first.Version {
			continue
		}
		if err := statusErr(cur); err != nil {
			return "", err
		}
		if cur.valid(m.cfg.Now()) {
			return cur.AccessToken, nil
		}
	}
}

func (m *Manager) baselineRefreshHeld(ctx context.Context, k tokenKey, first tokenItem) error {
	cur, err := m.readToken(ctx, k.pk())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("read %s token: %w", k.kind, err)
	}
	if err := statusErr(cur); err != nil {
		return err
	}
	if cur.Version != first.Version && cur.valid(m.cfg.Now()) {
		return nil
	}
	if err := m.sealer.Ready(ctx); err != nil {
		return fmt.Errorf("store %s token: %w", k.kind, err)
	}
	next, err := m.mint(ctx, k, cur, "")
	if err != nil {
		return err
	}
	st, err := m.seal(ctx, next)
	if err != nil {
		return err
	}
	put := m.store.table.Put(st)
	if cur.Version == 0 {
		put = put.If("attribute_not_exists(pk)")
	} else {
		put = put.If("'version' = ?", cur.Version)
	}
	if err := storage.TranslateErr(put.Run(ctx)); err != nil {
		return fmt.Errorf("store %s token: %w", k.kind, err)
	}
	m.remember(k, next)
	return nil
}
