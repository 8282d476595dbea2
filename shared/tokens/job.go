// Package tokens keeps the component verify ticket, the component access
// token and every authorizer's tokens durable in DynamoDB and fresh.
package tokens

import (
	"context"
	"fmt"
	"log/slog"

	"wxchannel/shared/app"
	"wxchannel/shared/logging"
)

// RefreshSummary is what one scheduled refresh run did.
type RefreshSummary struct {
	Refreshed int `json:"refreshed"`
	// Skipped counts due tokens this run had nothing to do for: someone
	// else refreshed them already or is refreshing them now, or they left
	// the index (needs re-authorization, revoked) a moment ago.
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// Left counts due tokens not started because the run stopped early
	// (its deadline near, or WeChat's daily quota spent): the next run
	// refreshes them.
	Left int `json:"left"`
	// Halted is set when WeChat's quota ran out and the run stopped early.
	Halted bool `json:"halted,omitempty"`
}

// Metrics of each scheduled run (logging.EmitMetrics). Every run reports
// its failures, 0 when there were none, so template.yaml's alarm treats a
// run that never reports as failing too.
const (
	MetricRefreshFailures = "TokenRefreshFailures"
	MetricRefreshed       = "TokensRefreshed"
	// MetricLeft counts the due tokens a run left for the next one.
	MetricLeft = "TokensLeftForNextRun"
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
		logging.Metric{Name: MetricRefreshed, Unit: logging.UnitCount, Value: float64(sum.Refreshed)},
		logging.Metric{Name: MetricLeft, Unit: logging.UnitCount, Value: float64(sum.Left)})
	return sum, err
}

// RefreshDue refreshes the component token when due, then every authorizer
// (and public app) token due within the refresh window, found through the
// due index as it streams in (run.go). A run whose context has a deadline
// (Lambda's) stops starting refreshes while one could still finish, and
// reports the rest as left for the next run.
func (m *Manager) RefreshDue(ctx context.Context) (RefreshSummary, error) {
	comp := tokenKey{kind: KindComponent, appid: m.cfg.ComponentAppID}
	if _, err := m.refresh(ctx, comp, "", false); err != nil {
		// Without a component token no authorizer can be refreshed.
		return RefreshSummary{Failed: 1}, fmt.Errorf("component token: %w", err)
	}
	return m.newDueRun().run(ctx)
}
