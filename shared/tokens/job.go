// Package tokens keeps the component verify ticket, the component access
// token and every authorizer's tokens durable in DynamoDB and fresh.
package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/logging"
	"wxchannel/shared/wechat"
)

// RefreshSummary is what one scheduled refresh run did.
type RefreshSummary struct {
	Refreshed int `json:"refreshed"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	// Halted is set when WeChat's quota ran out and the run stopped early.
	Halted bool `json:"halted,omitempty"`
}

// Concurrency bounds parallel authorizer refreshes in one run.
const Concurrency = 8

// Metrics of each scheduled run (logging.EmitMetrics). Every run reports
// its failures, 0 when there were none, so template.yaml's alarm treats a
// run that never reports as failing too.
const (
	MetricRefreshFailures = "TokenRefreshFailures"
	MetricRefreshed       = "TokensRefreshed"
)

type refreshJob struct {
	m     *Manager
	stage string
	log   *slog.Logger
}

// NewRefreshJob builds the scheduled token refresher.
func NewRefreshJob(ctx context.Context, d *app.Deps) (app.Job, error) {
	return &refreshJob{m: FromDeps(d), stage: d.Config.Stage, log: d.Log}, nil
}

func (j *refreshJob) Run(ctx context.Context) (any, error) {
	sum, err := j.m.RefreshDue(ctx)
	failures := sum.Failed
	if err != nil && failures == 0 {
		failures = 1 // the run itself failed (the due index could not be read)
	}
	logging.EmitMetrics(ctx, j.log, j.stage, j.m.cfg.Now(),
		logging.Metric{Name: MetricRefreshFailures, Unit: logging.UnitCount, Value: float64(failures)},
		logging.Metric{Name: MetricRefreshed, Unit: logging.UnitCount, Value: float64(sum.Refreshed)})
	return sum, err
}

// RefreshDue refreshes the component token when due, then every authorizer
// token due within the refresh window, found through the due index.
func (m *Manager) RefreshDue(ctx context.Context) (RefreshSummary, error) {
	var sum RefreshSummary
	comp := tokenKey{kind: KindComponent, appid: m.cfg.ComponentAppID}
	if _, err := m.refresh(ctx, comp, "", false); err != nil {
		sum.Failed++
		// Without a component token no authorizer can be refreshed.
		return sum, fmt.Errorf("component token: %w", err)
	}
	due, err := m.store.dueBefore(ctx, m.cfg.Now().Add(RefreshWindow))
	if err != nil {
		return sum, fmt.Errorf("query due tokens: %w", err)
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		slots   = make(chan struct{}, Concurrency)
		halted  = false
		lastErr error
	)
	for _, it := range due {
		if it.Kind != KindAuthorizer && it.Kind != KindPublic {
			continue
		}
		if it.Status != StatusActive {
			continue // left the index a moment ago (index reads lag)
		}
		mu.Lock()
		stop := halted
		mu.Unlock()
		if stop {
			sum.Skipped++
			continue
		}
		slots <- struct{}{}
		wg.Add(1)
		go func(st storedToken) {
			defer func() { <-slots; wg.Done() }()
			appid := st.AppID
			err := m.refreshDueToken(ctx, st)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sum.Refreshed++
			case wechat.IsCode(err, wechat.CodeQuotaDaily):
				sum.Failed++
				halted, sum.Halted = true, true
				lastErr = err
			default:
				sum.Failed++
				lastErr = err
				m.cfg.Log.WarnContext(ctx, "authorizer token refresh failed", "appid", appid, "err", err.Error())
			}
		}(it)
	}
	wg.Wait()
	if sum.Halted {
		return sum, fmt.Errorf("quota exhausted, stopped early: %w", lastErr)
	}
	return sum, nil
}

// refreshDueToken refreshes a token the due index listed, starting from
// the index's copy once its tokens are opened.
func (m *Manager) refreshDueToken(ctx context.Context, st storedToken) error {
	it, err := m.open(ctx, st)
	if err != nil {
		return err
	}
	return m.refreshWithBackoff(ctx, tokenKey{kind: it.Kind, appid: it.AppID}, &it)
}

// refreshWithBackoff retries quota and busy errors a few times with a
// growing pause; a daily quota error is returned at once.
func (m *Manager) refreshWithBackoff(ctx context.Context, k tokenKey, seen *tokenItem) error {
	pause := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := m.refreshSeen(ctx, k, "", false, seen)
		seen = nil // a retry reads the item again
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
