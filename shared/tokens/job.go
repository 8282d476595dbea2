// Package tokens keeps the component verify ticket, the component access
// token and every authorizer's tokens durable in DynamoDB and fresh.
package tokens

import (
	"context"

	"wxchannel/shared/app"
)

// RefreshSummary is what one scheduled refresh run did.
type RefreshSummary struct {
	Refreshed int `json:"refreshed"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
}

type refreshJob struct{ d *app.Deps }

// NewRefreshJob builds the scheduled token refresher.
func NewRefreshJob(ctx context.Context, d *app.Deps) (app.Job, error) {
	return &refreshJob{d: d}, nil
}

func (j *refreshJob) Run(ctx context.Context) (any, error) {
	return RefreshSummary{}, nil
}
