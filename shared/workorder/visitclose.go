package workorder

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/logging"
)

// Metrics of each visitclose run (logging.EmitMetrics).
const (
	MetricVisitsAutoClosed   = "VisitsAutoClosed"
	MetricVisitCloseFailures = "VisitCloseFailures"
)

// closeMargin is the time a run keeps before its deadline: it starts no
// close after that, and the next run (15 minutes later) does the rest.
const closeMargin = 5 * time.Second

// VisitCloseSummary is what one visitclose run did.
type VisitCloseSummary struct {
	Closed int `json:"closed"`
	// Skipped counts due visits closed meanwhile (the engineer checked out,
	// or the index still showed a marker just deleted).
	Skipped int `json:"skipped"`
	Failed  int `json:"failed"`
	// Stopped says the run stopped near its deadline and left the rest.
	Stopped bool `json:"stopped,omitempty"`
}

type visitCloseJob struct {
	store *Store
	now   func() time.Time
	log   *slog.Logger
	stage string
}

// NewVisitCloseJob builds the scheduled visitclose function: it closes the
// visits left open past their tenant's auto-checkout hours, flagged
// auto_closed, at the time they were due.
func NewVisitCloseJob(ctx context.Context, d *app.Deps) (app.Job, error) {
	return &visitCloseJob{store: NewStore(d.DB), now: d.Now, log: d.Log, stage: d.Config.Stage}, nil
}

// Run reads the open-visit markers due by now from the due index (one
// partition, sorted by due time: a Query, not a Scan) and closes each
// visit in its own conditional transaction.
func (j *visitCloseJob) Run(ctx context.Context) (any, error) {
	now := j.now()
	sum, err := j.closeDue(ctx, now)
	logging.EmitMetrics(ctx, j.log, j.stage, now,
		logging.Metric{Name: MetricVisitsAutoClosed, Unit: logging.UnitCount, Value: float64(sum.Closed)},
		logging.Metric{Name: MetricVisitCloseFailures, Unit: logging.UnitCount, Value: float64(sum.Failed)})
	if err == nil && sum.Failed > 0 {
		err = fmt.Errorf("%d overdue visits could not be closed (the next run retries them)", sum.Failed)
	}
	return sum, err
}

func (j *visitCloseJob) closeDue(ctx context.Context, now time.Time) (VisitCloseSummary, error) {
	var sum VisitCloseSummary
	deadline, bounded := ctx.Deadline()
	it := j.store.dueOpenVisits(now)
	var m openVisit
	for it.Next(ctx, &m) {
		if bounded && time.Until(deadline) < closeMargin {
			sum.Stopped = true
			break
		}
		closed, err := j.store.closeOverdue(ctx, m, now)
		switch {
		case err != nil:
			sum.Failed++
			j.log.WarnContext(ctx, "auto-close failed", "tenant", m.TenantID, "visit", m.VisitSK, "err", err.Error())
		case closed:
			sum.Closed++
		default:
			sum.Skipped++
		}
		m = openVisit{}
	}
	if err := it.Err(); err != nil {
		return sum, fmt.Errorf("read the due open visits: %w", err)
	}
	return sum, nil
}
