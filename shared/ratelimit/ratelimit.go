// Package ratelimit counts what an attacker would repeat (failed logins,
// wrong invitation codes) per subject in fixed time windows kept in
// DynamoDB, so every Lambda instance sees the same counts and a limit holds
// across them. Counters expire with the table's TTL and are also checked
// against the clock.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// Limit is at most Max events per Window for one subject.
type Limit struct {
	Name   string
	Max    int
	Window time.Duration
}

// Key is one subject's counter under a limit (a source IP, a user...).
type Key struct {
	Limit   Limit
	Subject string
}

type counterItem struct {
	PK    string `dynamo:"pk,hash"`
	SK    string `dynamo:"sk,range"`
	Count int    `dynamo:"count"`
	Until int64  `dynamo:"until"`
	TTL   int64  `dynamo:"ttl"`
}

// Counters keeps counters in a table.
type Counters struct {
	table dynamo.Table
	tx    func() *dynamo.WriteTx
	now   func() time.Time
}

// New returns the counters of db's service table.
func New(db *storage.DB, now func() time.Time) *Counters {
	return &Counters{table: db.Service, tx: db.Dynamo.WriteTx, now: now}
}

func (k Key) pk() string { return "limit#" + k.Limit.Name + "#" + k.Subject }

// window is the start of the current window and when it ends.
func (k Key) window(now time.Time) (string, time.Time) {
	start := now.Truncate(k.Limit.Window)
	return strconv.FormatInt(start.Unix(), 10), start.Add(k.Limit.Window)
}

// Exceeded reads the keys' current windows in one call and returns how
// long until the first exceeded limit's window ends (zero when none is).
func (c *Counters) Exceeded(ctx context.Context, keys ...Key) (time.Duration, error) {
	now := c.now()
	ks := make([]dynamo.Keyed, 0, len(keys))
	limits := map[string]int{}
	for _, k := range keys {
		sk, _ := k.window(now)
		ks = append(ks, dynamo.Keys{k.pk(), sk})
		limits[k.pk()] = k.Limit.Max
	}
	var items []counterItem
	err := c.table.Batch("pk", "sk").Get(ks...).All(ctx, &items)
	if err != nil && !storage.IsNotFound(err) {
		return 0, fmt.Errorf("read rate limits: %w", err)
	}
	var wait time.Duration
	for _, it := range items {
		until := time.Unix(it.Until, 0)
		if it.Count >= limits[it.PK] && until.After(now) && (wait == 0 || until.Sub(now) < wait) {
			wait = until.Sub(now)
		}
	}
	return wait, nil
}

// Add counts one event for each key, in one transaction.
func (c *Counters) Add(ctx context.Context, keys ...Key) error {
	now := c.now()
	tx := c.tx()
	for _, k := range keys {
		sk, until := k.window(now)
		tx.Update(c.table.Update("pk", k.pk()).Range("sk", sk).Add("count", 1).Set("until", until.Unix()).
			Set("ttl", until.Add(time.Hour).Unix()))
	}
	if err := tx.Run(ctx); err != nil {
		return fmt.Errorf("count for rate limits: %w", err)
	}
	return nil
}
