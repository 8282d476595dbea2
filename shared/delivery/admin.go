package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/outbox"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/webhook"
)

// PreviousSecretFor is how long a replaced webhook secret still signs.
const PreviousSecretFor = 24 * time.Hour

// replayBatch bounds the events one replay request queues; the answer
// says whether more remain.
const replayBatch = 500

// admin serves a tenant admin's webhook, event feed, delivery status and
// replays.
type admin struct {
	store  *Store
	feed   *outbox.Feed
	queue  *Queue
	client *webhook.Client
	urls   webhook.URLOptions
	staff  *staffauth.Verifier
	now    func() time.Time
}

func (h *admin) routes(rt *httpapi.Router) *httpapi.Router {
	rt.Handle("GET /admin/webhook", h.staff.Admin(h.handleGetWebhook))
	rt.Handle("PUT /admin/webhook", h.staff.Admin(h.handlePutWebhook))
	rt.Handle("DELETE /admin/webhook", h.staff.Admin(h.handleDeleteWebhook))
	rt.Handle("POST /admin/webhook/test", h.staff.Admin(h.handleTestWebhook))
	rt.Handle("GET /admin/events", h.staff.Admin(h.handleFeed))
	rt.Handle("GET /admin/events/status", h.staff.Admin(h.handleStatus))
	rt.Handle("POST /admin/events/replay", h.staff.Admin(h.handleReplay))
	return rt
}

// WebhookView is a tenant's webhook as the admin sees it: never its
// secret, only the secret's last characters.
type WebhookView struct {
	URL                string `json:"url"`
	Enabled            bool   `json:"enabled"`
	SecretHint         string `json:"secret_hint"`
	PreviousValidUntil int64  `json:"previous_secret_valid_until,omitempty"`
	UpdatedAt          int64  `json:"updated_at"`
	Version            int    `json:"version"`
	// Secret is set only in the answer that generated it: the one time
	// the admin sees it, to give to the CRM.
	Secret string `json:"secret,omitempty"`
}

func view(w Webhook, now time.Time) WebhookView {
	v := WebhookView{URL: w.URL, Enabled: w.Enabled, SecretHint: w.SecretHint, UpdatedAt: w.UpdatedAt.Unix(), Version: w.Version}
	if w.Previous != "" && now.Before(w.PreviousUntil) {
		v.PreviousValidUntil = w.PreviousUntil.Unix()
	}
	return v
}

func hint(secret string) string { return "…" + secret[max(0, len(secret)-4):] }

func (h *admin) webhook(ctx context.Context, tenantID string) (Webhook, error) {
	w, err := h.store.Webhook(ctx, tenantID)
	if errors.Is(err, errNoWebhook) {
		return Webhook{}, apperr.Missing("no webhook is configured; PUT /admin/webhook sets one")
	}
	return w, err
}

func (h *admin) handleGetWebhook(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	hook, err := h.webhook(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, view(hook, h.now()))
	return nil
}

// WebhookRequest sets a tenant's webhook. Version is the version read (0
// to create). Secret is the tenant's own secret; without one a secret is
// generated when the webhook is created or RotateSecret is set, and shown
// once in the answer. A replaced secret keeps signing for 24 hours.
type WebhookRequest struct {
	URL          string `json:"url"`
	Enabled      *bool  `json:"enabled"`
	Secret       string `json:"secret"`
	RotateSecret bool   `json:"rotate_secret"`
	Version      int    `json:"version"`
}

func (h *admin) handlePutWebhook(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req WebhookRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	if err := webhook.ValidateURL(req.URL, h.urls); err != nil {
		return apperr.InvalidField("url", err.Error())
	}
	// Deliveries leave through the egress security group, which opens
	// port 443 only.
	if u, err := url.Parse(req.URL); err == nil && !h.urls.AllowPrivate && u.Port() != "" && u.Port() != "443" {
		return apperr.InvalidField("url", "use the standard HTTPS port (443): deliveries leave only through it")
	}
	if req.Secret != "" {
		if err := webhook.ValidSecret(req.Secret); err != nil {
			return apperr.InvalidField("secret", err.Error())
		}
	}
	if req.Version < 0 {
		return apperr.InvalidField("version", "the version read, or 0 to create")
	}
	ctx, now := r.Context(), h.now()
	var cur Webhook
	if req.Version > 0 {
		var err error
		if cur, err = h.webhook(ctx, c.TenantID); err != nil {
			return err
		}
		if cur.Version != req.Version {
			return apperr.E(apperr.Conflict, "webhook_changed", "the webhook was changed meanwhile; reload it and try again")
		}
	}
	next := Webhook{URL: req.URL, Enabled: req.Enabled == nil || *req.Enabled, Secret: cur.Secret, SecretHint: cur.SecretHint,
		Previous: cur.Previous, PreviousUntil: cur.PreviousUntil, UpdatedAt: now, Version: cur.Version + 1}
	generated := ""
	if req.Secret != "" || req.RotateSecret || cur.Secret == "" {
		secret := req.Secret
		if secret == "" {
			var err error
			if secret, err = webhook.NewSecret(); err != nil {
				return err
			}
			generated = secret
		}
		if cur.Secret != "" && secret != cur.Secret {
			next.Previous, next.PreviousUntil = cur.Secret, now.Add(PreviousSecretFor)
		}
		next.Secret, next.SecretHint = secret, hint(secret)
	}
	if err := h.store.saveWebhook(ctx, c.TenantID, next, req.Version); err != nil {
		return err
	}
	out := view(next, now)
	out.Secret = generated
	status := http.StatusOK
	if req.Version == 0 {
		status = http.StatusCreated
	}
	httpapi.WriteJSON(w, status, out)
	return nil
}

func (h *admin) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	version, err := strconv.Atoi(r.URL.Query().Get("version"))
	if err != nil || version < 1 {
		return apperr.InvalidField("version", "the version read (?version=N)")
	}
	if err := h.store.deleteWebhook(r.Context(), c.TenantID, version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// TestResult is what the test delivery got from the CRM.
type TestResult struct {
	OK         bool   `json:"ok"`
	Status     int    `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	EventID    string `json:"event_id"`
}

// handleTestWebhook sends a signed webhook.test event to the webhook now
// and answers what the CRM answered.
func (h *admin) handleTestWebhook(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	ctx, now := r.Context(), h.now()
	hook, err := h.webhook(ctx, c.TenantID)
	if err != nil {
		return err
	}
	ev, err := outbox.New(c.TenantID, outbox.WebhookTest, outbox.Entity{Type: "webhook", ID: c.TenantID, Version: hook.Version}, now,
		map[string]string{"message": "a test delivery from the service channel", "requested_by": c.Subject})
	if err != nil {
		return err
	}
	body, err := ev.Marshal()
	if err != nil {
		return err
	}
	res := h.client.Deliver(ctx, webhook.Target{URL: hook.URL, Secrets: hook.Secrets(now)},
		webhook.Message{ID: ev.ID, Type: ev.Type, Body: body}, now)
	out := TestResult{OK: res.OK(), Status: res.Status, DurationMS: res.Duration.Milliseconds(), EventID: ev.ID}
	if !res.OK() {
		out.Error = failureText(res)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *admin) handleFeed(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	q := r.URL.Query()
	fq := outbox.FeedQuery{After: q.Get("after"), Types: splitList(q.Get("types"))}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return apperr.InvalidField("limit", fmt.Sprintf("between 1 and %d", outbox.MaxPage))
		}
		fq.Limit = n
	}
	page, err := h.feed.Page(r.Context(), c.TenantID, fq)
	return httpapi.Reply(w, http.StatusOK, page, err)
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// StatusView is a tenant's delivery status with its oldest dead letters.
type StatusView struct {
	Status
	Backlog         int          `json:"backlog"`
	Webhook         bool         `json:"webhook_configured"`
	DeadLetters     []DeadLetter `json:"dead_letters"`
	MoreDeadLetters bool         `json:"more_dead_letters"`
}

func (h *admin) handleStatus(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	ctx := r.Context()
	st, err := h.store.Status(ctx, c.TenantID)
	if err != nil {
		return err
	}
	_, hookErr := h.store.webhookItem(ctx, c.TenantID) // no need to open its secrets
	if hookErr != nil && !errors.Is(hookErr, errNoWebhook) {
		return hookErr
	}
	dead, more, err := h.store.DeadLetters(ctx, c.TenantID, 20)
	if err != nil {
		return err
	}
	if dead == nil {
		dead = []DeadLetter{}
	}
	httpapi.WriteJSON(w, http.StatusOK, StatusView{Status: st, Backlog: st.Backlog(), Webhook: hookErr == nil,
		DeadLetters: dead, MoreDeadLetters: more})
	return nil
}

// ReplayRequest queues events again: the dead letters, or the events that
// happened in [from, to) (unix seconds), optionally of some types only;
// after continues a range replay where the last answer stopped.
type ReplayRequest struct {
	DeadLetters bool     `json:"dead_letters"`
	From        int64    `json:"from"`
	To          int64    `json:"to"`
	Types       []string `json:"types"`
	After       string   `json:"after"`
}

// ReplayResult says what was queued again and how to go on.
type ReplayResult struct {
	Replayed int    `json:"replayed"`
	More     bool   `json:"more"`
	Next     string `json:"next,omitempty"`
}

func (h *admin) handleReplay(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
	var req ReplayRequest
	if err := httpapi.DecodeJSON(r, &req, 4<<10); err != nil {
		return err
	}
	ctx, now := r.Context(), h.now()
	if req.DeadLetters {
		if req.From != 0 || req.To != 0 || len(req.Types) > 0 || req.After != "" {
			return apperr.BadRequest("replay_mixed", "replay either the dead letters or a time range, not both")
		}
		res, err := h.replayDeadLetters(ctx, c.TenantID)
		return httpapi.Reply(w, http.StatusOK, res, err)
	}
	from, to := time.Unix(req.From, 0), time.Unix(req.To, 0)
	switch {
	case req.From <= 0 || req.To <= req.From:
		return apperr.InvalidField("to", "a range from < to, in unix seconds")
	case now.Sub(from) > outbox.Retention:
		return apperr.InvalidField("from", "within the last 30 days (events are kept 30 days)")
	}
	if err := outbox.ValidTypes(req.Types); err != nil {
		return err
	}
	stored, next, err := h.feed.Range(ctx, c.TenantID,
		outbox.RangeQuery{From: from, To: to, After: req.After, Types: req.Types, Limit: replayBatch})
	if err != nil {
		return err
	}
	qs := make([]queued, len(stored))
	replay := newReplayID()
	for i, s := range stored {
		qs[i] = replayed(c.TenantID, s.Group, s.ID, s.Body, replay)
	}
	if err := h.enqueue(ctx, c.TenantID, qs); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ReplayResult{Replayed: len(qs), More: next != "", Next: next})
	return nil
}

// replayDeadLetters queues the oldest dead letters again and removes them.
func (h *admin) replayDeadLetters(ctx context.Context, tenantID string) (ReplayResult, error) {
	dead, more, err := h.store.DeadLetters(ctx, tenantID, replayBatch)
	if err != nil {
		return ReplayResult{}, err
	}
	qs := make([]queued, len(dead))
	replay := newReplayID()
	for i, d := range dead {
		qs[i] = replayed(tenantID, d.Group, d.EventID, d.Body, replay)
	}
	if err := h.enqueue(ctx, tenantID, qs); err != nil {
		return ReplayResult{}, err
	}
	if err := h.store.removeDeadLetters(ctx, tenantID, dead); err != nil {
		return ReplayResult{}, err // queued already: a second replay only sends them again
	}
	return ReplayResult{Replayed: len(qs), More: more}, nil
}

// enqueue queues events and counts them as queued.
func (h *admin) enqueue(ctx context.Context, tenantID string, qs []queued) error {
	sent, err := h.queue.send(ctx, qs)
	if sent > 0 {
		if cerr := h.store.enqueued(ctx, tenantID, sent); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("replay: %d of %d queued: %w", sent, len(qs), err)
	}
	return nil
}
