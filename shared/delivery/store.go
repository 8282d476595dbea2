package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/attrcrypt"
	"wxchannel/shared/outbox"
	"wxchannel/shared/storage"
)

// Items of a tenant's delivery, in the service table (docs/data-model.md):
//   - tenant#<t> / webhook: the webhook's URL and secrets (sealed);
//   - tenant#<t> / delivery: the delivery's counters and last outcomes;
//   - tenant#<t>#deadletters / dl#<ns>#<event id>: an event that was not
//     delivered within MaxAge, with its body, kept for replay.
const (
	skWebhook    = "webhook"
	skStatus     = "delivery"
	skDeadPrefix = "dl#"
)

func deadLettersPK(tenantID string) string { return storage.TenantPartition(tenantID) + "#deadletters" }

// webhookItem is a tenant's webhook. Secret and PreviousSecret are sealed
// (attrcrypt) bound to the item; the previous secret still signs until
// PreviousUntil, so a CRM rotating its verification is never without a
// matching signature.
type webhookItem struct {
	PK             string `dynamo:"pk,hash"`
	SK             string `dynamo:"sk,range"`
	URL            string `dynamo:"url"`
	Enabled        bool   `dynamo:"enabled"`
	Secret         string `dynamo:"secret"`
	SecretHint     string `dynamo:"secret_hint"`
	PreviousSecret string `dynamo:"previous_secret,omitempty"`
	PreviousUntil  int64  `dynamo:"previous_until,omitempty"`
	UpdatedAt      int64  `dynamo:"updated_at"`
	Version        int    `dynamo:"version"`
}

// Attributes of the webhook item that hold secrets.
const (
	attrSecret         = "secret"
	attrPreviousSecret = "previous_secret"
)

func binding(tenantID, attribute string) attrcrypt.Binding {
	return attrcrypt.Binding{Item: storage.TenantPartition(tenantID) + "|" + skWebhook, Attribute: attribute}
}

// Webhook is a tenant's webhook with its secrets open.
type Webhook struct {
	URL           string
	Enabled       bool
	Secret        string
	SecretHint    string
	Previous      string
	PreviousUntil time.Time
	UpdatedAt     time.Time
	Version       int
}

// Secrets are the secrets that sign a delivery at now: the current one,
// and the previous one while it is still honoured.
func (w Webhook) Secrets(now time.Time) [][]byte {
	out := [][]byte{[]byte(w.Secret)}
	if w.Previous != "" && now.Before(w.PreviousUntil) {
		out = append(out, []byte(w.Previous))
	}
	return out
}

// Store keeps the tenants' webhooks, delivery status and dead letters.
type Store struct {
	table  dynamo.Table
	sealer *attrcrypt.Sealer
}

// NewStore returns the store over the service table.
func NewStore(db *storage.DB, sealer *attrcrypt.Sealer) *Store {
	return &Store{table: db.Service, sealer: sealer}
}

// errNoWebhook: the tenant has no webhook.
var errNoWebhook = errors.New("no webhook configured")

// webhookItem reads a tenant's webhook as stored (errNoWebhook: none).
func (s *Store) webhookItem(ctx context.Context, tenantID string) (webhookItem, error) {
	var it webhookItem
	err := s.table.Get("pk", storage.TenantPartition(tenantID)).Range("sk", dynamo.Equal, skWebhook).Consistent(true).One(ctx, &it)
	if storage.IsNotFound(err) {
		return webhookItem{}, errNoWebhook
	}
	if err != nil {
		return webhookItem{}, fmt.Errorf("read the webhook of %s: %w", tenantID, err)
	}
	return it, nil
}

// Webhook reads a tenant's webhook with its secrets open.
func (s *Store) Webhook(ctx context.Context, tenantID string) (Webhook, error) {
	it, err := s.webhookItem(ctx, tenantID)
	if err != nil {
		return Webhook{}, err
	}
	w := Webhook{URL: it.URL, Enabled: it.Enabled, SecretHint: it.SecretHint, UpdatedAt: time.Unix(it.UpdatedAt, 0),
		PreviousUntil: time.Unix(it.PreviousUntil, 0), Version: it.Version}
	if w.Secret, err = s.sealer.Open(ctx, it.Secret, binding(tenantID, attrSecret)); err != nil {
		return Webhook{}, fmt.Errorf("open the webhook secret of %s: %w", tenantID, err)
	}
	if it.PreviousSecret != "" {
		if w.Previous, err = s.sealer.Open(ctx, it.PreviousSecret, binding(tenantID, attrPreviousSecret)); err != nil {
			return Webhook{}, fmt.Errorf("open the previous webhook secret of %s: %w", tenantID, err)
		}
	}
	return w, nil
}

// saveWebhook writes w as version w.Version, replacing version prev (0:
// none), its secrets sealed.
func (s *Store) saveWebhook(ctx context.Context, tenantID string, w Webhook, prev int) error {
	it := webhookItem{PK: storage.TenantPartition(tenantID), SK: skWebhook, URL: w.URL, Enabled: w.Enabled, SecretHint: w.SecretHint,
		UpdatedAt: w.UpdatedAt.Unix(), Version: w.Version}
	var err error
	if it.Secret, err = s.sealer.Seal(ctx, w.Secret, binding(tenantID, attrSecret)); err != nil {
		return fmt.Errorf("seal the webhook secret: %w", err)
	}
	if w.Previous != "" {
		if it.PreviousSecret, err = s.sealer.Seal(ctx, w.Previous, binding(tenantID, attrPreviousSecret)); err != nil {
			return fmt.Errorf("seal the previous webhook secret: %w", err)
		}
		it.PreviousUntil = w.PreviousUntil.Unix()
	}
	put := s.table.Put(it)
	if prev == 0 {
		put = put.If("attribute_not_exists('pk')")
	} else {
		put = put.If("'version' = ?", prev)
	}
	err = put.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return apperr.E(apperr.Conflict, "webhook_changed", "the webhook was changed meanwhile; reload it and try again")
	}
	return err
}

// deleteWebhook removes a tenant's webhook at version prev.
func (s *Store) deleteWebhook(ctx context.Context, tenantID string, prev int) error {
	err := s.table.Delete("pk", storage.TenantPartition(tenantID)).Range("sk", skWebhook).If("'version' = ?", prev).Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return apperr.E(apperr.Conflict, "webhook_changed", "the webhook was changed or removed meanwhile; reload it")
	}
	return err
}

// Failure is the last failed delivery to a tenant's webhook.
type Failure struct {
	At      int64  `dynamo:"at" json:"at"`
	EventID string `dynamo:"event_id" json:"event_id"`
	Status  int    `dynamo:"status" json:"status"` // the CRM's answer; 0 when none came
	Error   string `dynamo:"error" json:"error"`
}

// Status is a tenant's delivery counters and last outcomes. Backlog is
// what was queued and not yet delivered, dead-lettered or skipped.
type Status struct {
	Enqueued            int      `dynamo:"enqueued" json:"enqueued"`
	Delivered           int      `dynamo:"delivered" json:"delivered"`
	DeadLettered        int      `dynamo:"dead_lettered" json:"dead_lettered"`
	Skipped             int      `dynamo:"skipped" json:"skipped"`
	LastSuccessAt       int64    `dynamo:"last_success_at" json:"last_success_at,omitempty"`
	LastFailure         *Failure `dynamo:"last_failure" json:"last_failure,omitempty"`
	ConsecutiveFailures int      `dynamo:"consecutive_failures" json:"consecutive_failures"`
	// PausedUntil: after a failure, deliveries to the tenant wait until
	// then without calling the CRM (their retries are scheduled as if
	// they had failed), so a CRM that is down costs one call a pause.
	PausedUntil int64 `dynamo:"paused_until" json:"paused_until,omitempty"`
}

// Backlog is what is queued for the tenant and not settled.
func (st Status) Backlog() int {
	return max(0, st.Enqueued-st.Delivered-st.DeadLettered-st.Skipped)
}

// Status reads a tenant's delivery status (zero when nothing was queued).
func (s *Store) Status(ctx context.Context, tenantID string) (Status, error) {
	var st Status
	err := s.table.Get("pk", storage.TenantPartition(tenantID)).Range("sk", dynamo.Equal, skStatus).Consistent(true).One(ctx, &st)
	if storage.IsNotFound(err) {
		return Status{}, nil
	}
	return st, err
}

// outcome is what one invocation settled for one tenant.
type outcome struct {
	delivered, dead, skipped int
	lastSuccess              int64
	failure                  *Failure
	pausedUntil              int64
}

// record adds an invocation's outcome to a tenant's status in one update.
func (s *Store) record(ctx context.Context, tenantID string, o outcome) error {
	u := s.table.Update("pk", storage.TenantPartition(tenantID)).Range("sk", skStatus).
		Add("delivered", o.delivered).Add("dead_lettered", o.dead).Add("skipped", o.skipped)
	if o.lastSuccess > 0 {
		u = u.Set("last_success_at", o.lastSuccess)
	}
	if o.failure != nil {
		u = u.Set("last_failure", *o.failure).Add("consecutive_failures", 1).Set("paused_until", o.pausedUntil)
	} else if o.lastSuccess > 0 {
		u = u.Set("consecutive_failures", 0).Set("paused_until", 0)
	}
	return u.Run(ctx)
}

// enqueued counts events queued for a tenant.
func (s *Store) enqueued(ctx context.Context, tenantID string, n int) error {
	return s.table.Update("pk", storage.TenantPartition(tenantID)).Range("sk", skStatus).Add("enqueued", n).Run(ctx)
}

// DeadLetter is an event that was not delivered in time.
type DeadLetter struct {
	PK       string   `dynamo:"pk,hash" json:"-"`
	SK       string   `dynamo:"sk,range" json:"-"`
	EventID  string   `dynamo:"event_id" json:"event_id"`
	Type     string   `dynamo:"type" json:"type"`
	Group    string   `dynamo:"group" json:"-"`
	Body     string   `dynamo:"body" json:"-"`
	Attempts int      `dynamo:"attempts" json:"attempts"`
	Failure  *Failure `dynamo:"failure" json:"failure"`
	At       int64    `dynamo:"at" json:"at"`
	TTL      int64    `dynamo:"ttl" json:"-"`
	QueuedAt int64    `dynamo:"queued_at" json:"queued_at"`
}

// putDeadLetter keeps an undelivered event for replay for the outbox's
// retention.
func (s *Store) putDeadLetter(ctx context.Context, tenantID string, d DeadLetter, now time.Time) error {
	d.PK, d.SK = deadLettersPK(tenantID), fmt.Sprintf("%s%019d#%s", skDeadPrefix, now.UnixNano(), d.EventID)
	d.At, d.TTL = now.Unix(), now.Add(outbox.Retention).Unix()
	return s.table.Put(d).Run(ctx)
}

// DeadLetters lists a tenant's dead letters, oldest first, up to limit.
func (s *Store) DeadLetters(ctx context.Context, tenantID string, limit int) ([]DeadLetter, bool, error) {
	var out []DeadLetter
	next, err := s.table.Get("pk", deadLettersPK(tenantID)).Range("sk", dynamo.BeginsWith, skDeadPrefix).Consistent(true).
		Limit(limit).AllWithLastEvaluatedKey(ctx, &out)
	return out, next != nil, err
}

// removeDeadLetters deletes replayed dead letters, 25 at a time.
func (s *Store) removeDeadLetters(ctx context.Context, tenantID string, ds []DeadLetter) error {
	for start := 0; start < len(ds); start += 25 {
		keys := make([]dynamo.Keyed, 0, 25)
		for _, d := range ds[start:min(start+25, len(ds))] {
			keys = append(keys, dynamo.Keys{deadLettersPK(tenantID), d.SK})
		}
		if _, err := s.table.Batch("pk", "sk").Write().Delete(keys...).Run(ctx); err != nil {
			return fmt.Errorf("remove replayed dead letters: %w", err)
		}
	}
	return nil
}
