// Package webhook delivers the product's events to a tenant's CRM over
// HTTPS: it signs each request so the CRM can tell it came from us, decides
// which URLs a tenant may register, and posts through a client that never
// reaches a private network. docs/webhooks.md is the CRM developer's side of
// the same contract.
package webhook

import "time"

// Header names and values of a delivery.
const (
	HeaderTimestamp = "X-Wxc-Timestamp" // unix seconds when the request was signed
	HeaderSignature = "X-Wxc-Signature" // v1=<hex>, or v1=<new>,v1=<old> during a secret rotation
	HeaderEventID   = "X-Wxc-Event-Id"
	HeaderEventType = "X-Wxc-Event-Type"
	UserAgent       = "wxchannel-webhooks/1"
)

// Tolerance is how far a delivery's timestamp may be from the receiver's
// clock, either way, before it is taken for a replay. docs/webhooks.md asks
// CRMs to use the same window.
const Tolerance = 5 * time.Minute

// Message is one event, already serialized.
type Message struct {
	ID   string // ev_...
	Type string // work_order.created, ...
	Body []byte // the JSON body, sent and signed byte for byte
}

// Target is where a tenant receives its events and the secrets it verifies
// them with: one secret, or the new one first and the previous one second
// while a rotation is under way.
type Target struct {
	URL     string
	Secrets [][]byte
}
