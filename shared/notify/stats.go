package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"
)

// Fixes the tenant admin reads with a configuration problem.
const (
	fixValue = "A value did not fit the template's keyword rule. Prepare the mini program again " +
		"(POST /admin/miniprogram/prepare) so the templates are set up anew; if it persists, report the key to support."
	fixTemplate = "The template was deleted or belongs to another mini program. Prepare the mini program again " +
		"(POST /admin/miniprogram/prepare): the notification templates are added back and recorded."
	fixOther = "WeChat refused the message; see the message and WeChat's error code. Prepare the mini program again " +
		"if the templates changed."
)

// problem is a configuration problem a send ran into: shown to the
// tenant admin with its fix until a later one replaces it.
type problem struct {
	Code       int    `dynamo:"code" json:"errcode"`
	Kind       Kind   `dynamo:"kind" json:"kind"`
	TemplateID string `dynamo:"template_id" json:"template_id"`
	Key        string `dynamo:"key,omitempty" json:"key,omitempty"`
	Message    string `dynamo:"message" json:"message"`
	Fix        string `dynamo:"fix" json:"fix"`
	At         int64  `dynamo:"at" json:"at"`
}

var problemNone = problem{}

// Stats are a tenant's notification outcomes since it started: counts by
// final state, by kind and state ("completed.sent"), failures by reason,
// and the last configuration problem.
type Stats struct {
	Totals map[State]int  `dynamo:"totals" json:"totals"`
	ByKind map[string]int `dynamo:"by_kind" json:"by_kind"`
	// ByReason counts failures (and unknown outcomes) by reason: a
	// WeChat errcode ("47003", "40037", "40003", …), "value_rule" (a value
	// the product could not fit), "expired" (busy or over quota for a
	// day), "timeout" (the outcome is unknown).
	ByReason    map[string]int `dynamo:"by_reason" json:"by_reason"`
	LastProblem *problem       `dynamo:"last_problem,omitempty" json:"last_problem,omitempty"`
	UpdatedAt   int64          `dynamo:"updated_at" json:"updated_at,omitempty"`
}

// count adds one notification of kind k that ended in state to the
// tenant's counters, a failure also under its reason why, and p as the
// last problem when p has a code.
func (s *Store) count(ctx context.Context, tenantID string, k Kind, state State, why string, p problem, now time.Time) error {
	key := statsKey(tenantID)
	// ADD takes top-level attributes only: a nested counter is a SET, and
	// its map must exist. The common case is one write; the first count
	// of a tenant (or of a counter map added since) makes the maps first.
	update := func() error {
		u := s.table.Update("pk", key[0]).Range("sk", key[1]).
			SetExpr("totals.$ = if_not_exists(totals.$, ?) + ?", string(state), string(state), 0, 1).
			SetExpr("by_kind.$ = if_not_exists(by_kind.$, ?) + ?", string(k)+"."+string(state), string(k)+"."+string(state), 0, 1).
			Set("updated_at", now.Unix())
		if why != "" {
			u = u.SetExpr("by_reason.$ = if_not_exists(by_reason.$, ?) + ?", why, why, 0, 1)
		}
		if p.Code != 0 {
			u = u.Set("last_problem", p)
		}
		return u.If("attribute_exists(totals) AND attribute_exists(by_kind) AND attribute_exists(by_reason)").Run(ctx)
	}
	err := update()
	if dynamo.IsCondCheckFailed(err) {
		empty := map[string]int{}
		if err := s.table.Update("pk", key[0]).Range("sk", key[1]).
			SetExpr("totals = if_not_exists(totals, ?)", empty).SetExpr("by_kind = if_not_exists(by_kind, ?)", empty).
			SetExpr("by_reason = if_not_exists(by_reason, ?)", empty).Run(ctx); err != nil {
			return fmt.Errorf("start the notification counters: %w", err)
		}
		err = update()
	}
	if err != nil {
		return fmt.Errorf("count a notification: %w", err)
	}
	return nil
}

// Stats reads a tenant's counters.
func (s *Store) Stats(ctx context.Context, tenantID string) (Stats, error) {
	key := statsKey(tenantID)
	st := Stats{Totals: map[State]int{}, ByKind: map[string]int{}, ByReason: map[string]int{}}
	err := s.table.Get("pk", key[0]).Range("sk", dynamo.Equal, key[1]).Consistent(true).One(ctx, &st)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return Stats{}, fmt.Errorf("read notification stats: %w", err)
	}
	return st, nil
}
