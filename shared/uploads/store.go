package uploads

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
)

// Upload slots: how many forms one owner is given in a window. A form is
// good for URLExpiry, so at most MaxSlots forms of an owner are ever
// outstanding within one window (2×MaxSlots across a window's edge). This
// bounds what one user can store before the lifecycle rule catches up:
// MaxSlots × MaxBytes every SlotWindow.
const (
	MaxSlots   = 20
	SlotWindow = URLExpiry
)

// Slots counts the forms given to each owner in the service table: one
// counter item per owner and window (pk <tenant partition>#uploads#<folder>,
// sk slots#<window start, Unix seconds>), expiring with the table's TTL an
// hour after its window.
type Slots struct {
	table dynamo.Table
	now   func() time.Time
}

// NewSlots returns the slot counters of db's service table.
func NewSlots(db *storage.DB, now func() time.Time) *Slots {
	return &Slots{table: db.Service, now: now}
}

// Take counts n more forms for the owner in the current window, in one
// conditional UpdateItem: it refuses (RateLimited, retry after the window)
// rather than pass MaxSlots. (shared/ratelimit counts one event per call
// and checks before it adds; a grant of n slots has to check and add in
// one write.)
func (s *Slots) Take(ctx context.Context, o Owner, n int) error {
	now := s.now()
	start := now.Truncate(SlotWindow)
	until := start.Add(SlotWindow)
	refused := apperr.Errorf(apperr.RateLimited, "too_many_uploads",
		"at most %d photo uploads every %d minutes; retry later", MaxSlots, int(SlotWindow.Minutes())).After(until.Sub(now))
	if n > MaxSlots {
		return refused
	}
	err := s.table.Update("pk", o.slotsPartition()).Range("sk", "slots#"+strconv.FormatInt(start.Unix(), 10)).
		Add("count", n).Set("until", until.Unix()).Set("ttl", storage.ExpiresAt(until.Add(time.Hour))).
		If("attribute_not_exists($) OR $ <= ?", "count", "count", MaxSlots-n).Run(ctx)
	switch {
	case dynamo.IsCondCheckFailed(err):
		return refused.Wrap(err)
	case err != nil:
		return fmt.Errorf("count upload slots: %w", err)
	}
	return nil
}
