package tokens

import (
	"context"
	"fmt"
	"sync"
	"time"

	"wxchannel/shared/wechat"
)

// Limits of a scheduled run. docs/tokens.md ("The scheduled run") has the
// arithmetic behind them.
const (
	// runRate caps the refreshes a run starts per second (a token bucket),
	// so a backlog cannot burst WeChat. WeChat publishes only a daily quota
	// for api_authorizer_token (45009 once spent; getApiQuota,
	// POST /cgi-bin/openapi/quota/get, shows it), no per-second or
	// per-minute limit: https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/ThirdParty/token/api_authorizer_token.html
	// The largest backlog planned for, all of 10,000 authorizers due at
	// once, must be refreshed within 20 s: 500 a second; 800 leaves room for
	// the index pages and slow answers (12.5 s at the cap). The steady state
	// is under 2 a second (10,000 tokens, each refreshed every 1 h 45 min).
	runRate = 800
	// runBurst is how many refreshes may start at once after a lull: a
	// tenth of a second's worth.
	runBurst = runRate / 10
	// runConcurrency bounds the refreshes in flight: runRate × the time of
	// one refresh. 64 holds the cap up to 80 ms a refresh (a 50 ms WeChat
	// round trip and two 5 ms DynamoDB calls take 60 ms) and keeps 10,000
	// within 20 s up to 128 ms.
	runConcurrency = 64
	// refreshTimeout bounds one scheduled refresh up to WeChat's answer:
	// the client's 3 attempts of at most 5 s with their pauses (about 16 s)
	// and the lease take. A longer one (61023 recovery through the
	// authorizer list, WeChat busy again and again) is cut and left to the
	// next run; the stored token stays valid meanwhile.
	refreshTimeout = 20 * time.Second
)

// runLimits are a manager's limits on refreshes (tests shrink the times).
type runLimits struct {
	concurrency int
	rate        float64 // refreshes a run starts per second
	burst       int
	// refresh bounds one scheduled refresh up to WeChat's answer; store
	// the write of what WeChat minted, and release the release of a lease
	// after a failure (both run even when the refresh's time is up).
	refresh, store, release time.Duration
}

var defaultRunLimits = runLimits{
	concurrency: runConcurrency, rate: runRate, burst: runBurst,
	refresh: refreshTimeout, store: storeTimeout, release: releaseTimeout,
}

// margin is the worst-case time of one scheduled refresh: a run starts
// none when less than this remains before its deadline, so every refresh
// it starts ends before it.
func (l runLimits) margin() time.Duration { return l.refresh + l.store + l.release }

// dueRun is one scheduled run over the due index.
type dueRun struct {
	m      *Manager
	limits runLimits
	dueBy  time.Time
	pace   *bucket

	mu      sync.Mutex
	sum     RefreshSummary
	lastErr error
}

func (m *Manager) newDueRun() *dueRun {
	return &dueRun{m: m, limits: m.limits, dueBy: m.cfg.Now().Add(RefreshWindow), pace: newBucket(m.limits.rate, m.limits.burst)}
}

// readAhead is how many due tokens the index reader may hold ahead of the
// refreshes: about a page (1 MB of token items of some 500 bytes), so the
// next page is read while the current one is refreshed.
const readAhead = 2000

// run refreshes the due tokens as the index streams in, a page at a time:
// concurrently, paced, and only while a refresh could still finish before
// ctx's deadline. What it does not start is read on and counted as left.
func (r *dueRun) run(ctx context.Context) (RefreshSummary, error) {
	starting, stop := r.startWindow(ctx)
	defer stop()
	due := make(chan tokenKey, readAhead)
	var readErr error
	go func() {
		defer close(due)
		readErr = r.read(ctx, due)
	}()
	slots := make(chan struct{}, r.limits.concurrency)
	var wg sync.WaitGroup
	for k := range due {
		if !r.admit(starting, slots) {
			r.count(func(s *RefreshSummary) { s.Left++ })
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			r.refreshOne(ctx, k)
		})
	}
	wg.Wait()
	return r.finish(ctx, readErr)
}

// read sends the due index's refreshable tokens to due, to the end.
func (r *dueRun) read(ctx context.Context, due chan<- tokenKey) error {
	it := r.m.store.dueBefore(r.dueBy)
	var d dueToken
	for it.Next(ctx, &d) {
		if (d.Kind == KindAuthorizer || d.Kind == KindPublic) && d.Status == StatusActive {
			due <- tokenKey{kind: d.Kind, appid: d.AppID}
		} // else: the component token went first; inactive ones left the index a moment ago
	}
	return it.Err()
}

// startWindow is ctx ending a margin before ctx's deadline: the time in
// which the run may start refreshes.
func (r *dueRun) startWindow(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-r.limits.margin()))
}

// admit waits for a free slot and the pace, and says whether a refresh
// may start: not once the start window has closed or the quota is spent.
func (r *dueRun) admit(starting context.Context, slots chan struct{}) bool {
	if r.halted() || starting.Err() != nil {
		return false
	}
	select {
	case slots <- struct{}{}:
	case <-starting.Done():
		return false
	}
	if r.pace.wait(starting) != nil || r.halted() {
		<-slots
		return false
	}
	return true
}

// refreshOne refreshes k if it is still due and nobody else is on it.
func (r *dueRun) refreshOne(ctx context.Context, k tokenKey) {
	ctx, cancel := context.WithTimeout(ctx, r.limits.refresh)
	defer cancel()
	t, err := r.m.takeLease(ctx, k, leaseWant{dueBy: r.dueBy})
	if err == nil && !t.held {
		// Refreshed by someone already, being refreshed now (if that one
		// dies, its lease expires before the next run), or not active.
		r.count(func(s *RefreshSummary) { s.Skipped++ })
		return
	}
	if err == nil {
		_, err = r.m.refreshHeld(ctx, k, t, true)
	}
	r.record(ctx, k, err)
}

func (r *dueRun) record(ctx context.Context, k tokenKey, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.sum.Refreshed++
	case wechat.IsCode(err, wechat.CodeQuotaDaily):
		r.sum.Failed++
		r.sum.Halted, r.lastErr = true, err
	default:
		r.sum.Failed++
		r.lastErr = err
		r.m.cfg.Log.WarnContext(ctx, "token refresh failed", "token", k.kind, "appid", k.appid, "err", err.Error())
	}
}

func (r *dueRun) count(f func(*RefreshSummary)) {
	r.mu.Lock()
	f(&r.sum)
	r.mu.Unlock()
}

func (r *dueRun) halted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum.Halted
}

func (r *dueRun) finish(ctx context.Context, iterErr error) (RefreshSummary, error) {
	r.mu.Lock()
	sum, lastErr := r.sum, r.lastErr
	r.mu.Unlock()
	if sum.Left > 0 {
		r.m.cfg.Log.WarnContext(ctx, "token refresh run stopped early; the rest is left for the next run",
			"left", sum.Left, "refreshed", sum.Refreshed, "quota_spent", sum.Halted)
	}
	if iterErr != nil {
		return sum, fmt.Errorf("query due tokens: %w", iterErr)
	}
	if sum.Halted {
		return sum, fmt.Errorf("quota exhausted, stopped early: %w", lastErr)
	}
	return sum, nil
}

// bucket paces starts: rate a second on average, burst at once after a
// lull. The time is the wall clock, whatever the manager's clock: it paces
// real calls to WeChat.
type bucket struct {
	mu       sync.Mutex
	interval time.Duration
	credit   time.Duration // how far behind now a lull lets the next start be
	next     time.Time
}

func newBucket(rate float64, burst int) *bucket {
	interval := time.Duration(float64(time.Second) / rate)
	return &bucket{interval: interval, credit: time.Duration(max(burst-1, 0)) * interval}
}

// wait returns when the next start is due, or ctx's error first.
func (b *bucket) wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	if floor := now.Add(-b.credit); b.next.Before(floor) {
		b.next = floor
	}
	at := b.next
	b.next = at.Add(b.interval)
	b.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
