package workorder

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/outbox"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tenant"
	"wxchannel/shared/textfield"
)

// Dispatch: the desk assigns orders to engineers of the tenant's
// directory, sets their priority (and with it their due time), and
// engineers decline, transfer, hold, resume or give up on what they were
// given. Every move is one transaction conditioned on the order's version
// (write), with its event.

// Staff is an engineer as the desk assigns them: from the tenant's
// directory (package engineer).
type Staff struct {
	ID, Name string
	Skills   []string
	Active   bool
}

// StaffLookup finds an engineer in the tenant's directory; an engineer
// who is not there is apperr.Missing.
type StaffLookup func(ctx context.Context, tenantID, id string) (Staff, error)

// Index keys of an order by where it stands. Every write of the order
// sets them from its status (placeInIndexes), so the indexes always agree
// with it:
//   - gsi2, offered: open#<t>#<geohash4> while submitted and unassigned
//     (nearby engineers find it; see nearby.go);
//   - gsi2, with an engineer: eng#<t>#<engineer>, sorted like the desk,
//     while assigned, accepted, en route, in progress or on hold (the
//     engineer's day);
//   - gsi3, the desk: desk#<t>#<status>, newest first, always.
func assignedPK(tenantID, engineerID string) string { return "eng#" + tenantID + "#" + engineerID }

func deskPK(tenantID string, s Status) string { return "desk#" + tenantID + "#" + string(s) }

// createdNS is the order's creation time in ns, as its sort keys hold it.
func (o Order) createdNS() int64 {
	if len(o.UserSK) >= 19 {
		if ns, err := strconv.ParseInt(o.UserSK[:19], 10, 64); err == nil {
			return ns
		}
	}
	return o.CreatedAt * int64(time.Second)
}

// placeInIndexes sets the order's index keys for its status.
func (o *Order) placeInIndexes() {
	o.DeskPK, o.DeskSK = deskPK(o.TenantID, o.Status), o.UserSK
	switch {
	case o.Status.Offered() && o.EngineerID == "":
		o.CellPK, o.CellSK = NearbyKeys(o.TenantID, o.Latitude, o.Longitude, time.Unix(0, o.createdNS()), o.ID)
	case o.Status.WithEngineer() && o.EngineerID != "":
		o.CellPK, o.CellSK = assignedPK(o.TenantID, o.EngineerID), o.UserSK
	default:
		o.CellPK, o.CellSK = "", ""
	}
}

// Priorities of a work order.
var Priorities = []string{"urgent", "high", "normal", "low"}

// DefaultPriority is a new order's.
const DefaultPriority = "normal"

// withSLA sets o's priority and its due time from the tenant's SLA.
func (o *Order) withSLA(d tenant.Dispatch, priority string) {
	o.Priority, o.DueAt = priority, 0
	if due := d.DueAt(o.Category, priority, time.Unix(o.CreatedAt, 0)); !due.IsZero() {
		o.DueAt = due.Unix()
	}
}

// reasonText is the reason an engineer or the desk gives.
var reasonText = textfield.Lines(2, 300)

// Reasons an order goes on hold.
var holdReasons = []string{"waiting_for_parts", "waiting_for_customer", "other"}

// customerWords are the timeline's words for the customer, by status; %s
// is the engineer's display name where there is one.
var customerWords = map[Status]string{
	StatusSubmitted:      "Your request is with the service desk",
	StatusAssigned:       "Engineer %s has been assigned to your request",
	StatusAccepted:       "Engineer %s has taken your request",
	StatusEnRoute:        "Engineer %s is on the way",
	StatusInProgress:     "Engineer %s is working on it",
	StatusOnHold:         "The work is paused",
	StatusCannotComplete: "The engineer could not complete the work; the service desk will contact you",
	StatusCompleted:      "The work is done",
	StatusCancelled:      "The request was cancelled",
}

// words is the customer's line for an order moving to s with the
// engineer's name.
func words(s Status, name string) string {
	if fallback, named := fallbackWords[s]; named {
		if name == "" {
			return fallback
		}
		return fmt.Sprintf(customerWords[s], name)
	}
	return customerWords[s]
}

// fallbackWords are the words of the statuses that name the engineer,
// when no name is known.
var fallbackWords = map[Status]string{
	StatusAssigned:   "An engineer has been assigned to your request",
	StatusAccepted:   "An engineer has taken your request",
	StatusEnRoute:    "An engineer is on the way",
	StatusInProgress: "The engineer is working on it",
}

// move is one dispatch change of an order.
type move struct {
	to     Status
	event  string
	note   string // the customer's words; "" for the default
	reason string // the desk's
	change func(*Order)
}

// apply writes m over o at now: the order whole, conditioned on o's
// version, with its event.
func (s *Store) apply(ctx context.Context, o Order, m move, now time.Time) (Order, error) {
	next := o
	next.Status, next.Version = m.to, o.Version+1
	if m.change != nil {
		m.change(&next)
	}
	note := m.note
	if note == "" {
		note = words(m.to, next.EngineerName)
	}
	next.Timeline = append(slices.Clone(o.Timeline), Event{Status: m.to, At: now.Unix(), Note: note, Reason: m.reason})
	next.placeInIndexes()
	return next, s.write(ctx, o, next, m.event, now)
}

// checkVersion refuses a desk request made on another version than the
// order's (0: the request names none).
func checkVersion(o Order, version int) error {
	if version != 0 && version != o.Version {
		return apperr.E(apperr.Conflict, "work_order_changed", "the work order changed meanwhile; reload it")
	}
	return nil
}

// AssignRequest is the desk's assignment of an order.
type AssignRequest struct {
	EngineerID string `json:"engineer_id"`
	Note       string `json:"note"`
	Version    int    `json:"version"`
}

// assignable lists the statuses the desk assigns (or reassigns) from.
var assignable = []Status{StatusSubmitted, StatusAssigned, StatusAccepted, StatusOnHold, StatusCannotComplete}

// Assign gives an order to an active engineer of the directory (the desk,
// or an engineer transferring it); the engineer hears of it through the
// order's event, the customer reads their name.
func (s *Service) Assign(ctx context.Context, c staffauth.Claims, id string, req AssignRequest) (Order, error) {
	if err := cleanText("note", &req.Note, textfield.Lines(0, 300)); err != nil {
		return Order{}, err
	}
	o, err := s.store.Get(ctx, c.TenantID, id)
	if err != nil {
		return Order{}, err
	}
	if err := checkVersion(o, req.Version); err != nil {
		return Order{}, err
	}
	if !slices.Contains(assignable, o.Status) {
		return Order{}, apperr.Errorf(apperr.Conflict, "not_assignable", "a work order %s cannot be assigned", o.Status)
	}
	eng, err := s.activeEngineer(ctx, c.TenantID, req.EngineerID, o.Category)
	if err != nil {
		return Order{}, err
	}
	if eng.ID == o.EngineerID && o.Status == StatusAssigned {
		return o, nil // already theirs: a retry
	}
	return s.store.apply(ctx, o, move{to: StatusAssigned, event: outbox.WorkOrderAssigned, reason: req.Note, change: func(n *Order) {
		n.EngineerID, n.EngineerName, n.AssignedAt, n.ETA, n.HeldFrom = eng.ID, eng.Name, s.now().Unix(), 0, ""
	}}, s.now())
}

// activeEngineer finds an engineer the desk may give an order of category.
func (s *Service) activeEngineer(ctx context.Context, tenantID, id, category string) (Staff, error) {
	if s.staff == nil {
		return Staff{}, apperr.E(apperr.Unavailable, "no_directory", "the engineer directory is not available here")
	}
	if err := validEngineerID(id); err != nil {
		return Staff{}, err
	}
	eng, err := s.staff(ctx, tenantID, id)
	if apperr.Is(err, "not_found") {
		return Staff{}, apperr.InvalidField("engineer_id", "an engineer of the directory (PUT /admin/engineers/{id})")
	}
	if err != nil {
		return Staff{}, err
	}
	switch {
	case !eng.Active:
		return Staff{}, apperr.E(apperr.Conflict, "engineer_inactive", "this engineer is no longer active")
	case len(eng.Skills) > 0 && !slices.Contains(eng.Skills, category):
		return Staff{}, apperr.Errorf(apperr.Conflict, "engineer_lacks_skill", "this engineer does not do %s work", category)
	}
	return eng, nil
}

// PriorityRequest sets an order's priority, and with it its due time.
type PriorityRequest struct {
	Priority string `json:"priority"`
	Version  int    `json:"version"`
}

// SetPriority sets an open order's priority; its due time follows from
// the tenant's SLA for its category.
func (s *Service) SetPriority(ctx context.Context, c staffauth.Claims, id string, req PriorityRequest) (Order, error) {
	if !slices.Contains(Priorities, req.Priority) {
		return Order{}, apperr.InvalidField("priority", "urgent, high, normal or low")
	}
	o, err := s.store.Get(ctx, c.TenantID, id)
	if err != nil {
		return Order{}, err
	}
	if err := checkVersion(o, req.Version); err != nil {
		return Order{}, err
	}
	if !o.Open() {
		return Order{}, apperr.E(apperr.Conflict, "closed", "the work order is closed")
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return Order{}, err
	}
	next := o
	next.Version = o.Version + 1
	next.withSLA(st.Dispatch, req.Priority)
	next.placeInIndexes()
	return next, s.store.write(ctx, o, next, outbox.WorkOrderPriorityChanged, s.now())
}

// ReasonRequest is an engineer's move that needs a reason.
type ReasonRequest struct {
	Reason string `json:"reason"`
	// Kind is why an order goes on hold: waiting_for_parts,
	// waiting_for_customer or other.
	Kind string `json:"kind,omitempty"`
}

func (r *ReasonRequest) validate() error { return cleanText("reason", &r.Reason, reasonText) }

// mine returns an order assigned to the engineer in one of statuses.
func (s *Service) mine(ctx context.Context, c staffauth.Claims, id string, statuses ...Status) (Order, error) {
	o, err := s.assigned(ctx, c, id)
	if err != nil {
		return Order{}, err
	}
	if !slices.Contains(statuses, o.Status) {
		return Order{}, apperr.Errorf(apperr.Conflict, "invalid_transition", "a work order %s cannot do that", o.Status)
	}
	return o, nil
}

// Decline hands an order the engineer was given back to the desk, which
// offers it to nearby engineers again.
func (s *Service) Decline(ctx context.Context, c staffauth.Claims, id string, req ReasonRequest) (Order, error) {
	if err := req.validate(); err != nil {
		return Order{}, err
	}
	o, err := s.mine(ctx, c, id, StatusAssigned, StatusAccepted)
	if err != nil {
		return Order{}, err
	}
	return s.store.apply(ctx, o, move{to: StatusSubmitted, event: outbox.WorkOrderDeclined, reason: req.Reason,
		note: "We are finding another engineer for your request", change: func(n *Order) {
			n.EngineerID, n.EngineerName, n.AssignedAt, n.ETA = "", "", 0, 0
		}}, s.now())
}

// TransferRequest hands an order to a colleague.
type TransferRequest struct {
	EngineerID string `json:"engineer_id"`
	Reason     string `json:"reason"`
}

// Transfer hands an order the engineer holds (assigned or accepted) to an
// active colleague with the skill, when the tenant lets engineers do so.
func (s *Service) Transfer(ctx context.Context, c staffauth.Claims, id string, req TransferRequest) (Order, error) {
	if err := cleanText("reason", &req.Reason, reasonText); err != nil {
		return Order{}, err
	}
	st, err := s.settings.Settings(ctx, c.TenantID)
	if err != nil {
		return Order{}, err
	}
	if !st.EngineersMayTransfer {
		return Order{}, apperr.E(apperr.Forbidden, "transfer_not_allowed", "only the service desk reassigns work orders here; decline it instead")
	}
	o, err := s.mine(ctx, c, id, StatusAssigned, StatusAccepted)
	if err != nil {
		return Order{}, err
	}
	if req.EngineerID == c.Subject {
		return Order{}, apperr.InvalidField("engineer_id", "a colleague, not yourself")
	}
	eng, err := s.activeEngineer(ctx, c.TenantID, req.EngineerID, o.Category)
	if err != nil {
		return Order{}, err
	}
	reason := "transferred by " + c.Subject + ": " + req.Reason
	return s.store.apply(ctx, o, move{to: StatusAssigned, event: outbox.WorkOrderAssigned, reason: reason,
		change: func(n *Order) {
			n.EngineerID, n.EngineerName, n.AssignedAt, n.ETA = eng.ID, eng.Name, s.now().Unix(), 0
		}}, s.now())
}

// Hold pauses the work (waiting for parts or the customer).
func (s *Service) Hold(ctx context.Context, c staffauth.Claims, id string, req ReasonRequest) (Order, error) {
	if !slices.Contains(holdReasons, req.Kind) {
		return Order{}, apperr.InvalidField("kind", "waiting_for_parts, waiting_for_customer or other")
	}
	if err := req.validate(); err != nil {
		return Order{}, err
	}
	o, err := s.mine(ctx, c, id, StatusAccepted, StatusEnRoute, StatusInProgress)
	if err != nil {
		return Order{}, err
	}
	note := map[string]string{"waiting_for_parts": "The work is paused: waiting for parts",
		"waiting_for_customer": "The work is paused until we can reach you", "other": "The work is paused"}[req.Kind]
	return s.store.apply(ctx, o, move{to: StatusOnHold, event: outbox.WorkOrderOnHold, note: note, reason: req.Kind + ": " + req.Reason,
		change: func(n *Order) { n.HeldFrom, n.ETA = o.Status, 0 }}, s.now())
}

// Resume takes up work on hold where it stopped.
func (s *Service) Resume(ctx context.Context, c staffauth.Claims, id string) (Order, error) {
	o, err := s.mine(ctx, c, id, StatusOnHold)
	if err != nil {
		return Order{}, err
	}
	to := o.HeldFrom
	if to == "" || to == StatusEnRoute {
		to = StatusAccepted // the trip is over: the engineer sets off again
	}
	return s.store.apply(ctx, o, move{to: to, event: outbox.WorkOrderResumed, note: "The work has resumed",
		change: func(n *Order) { n.HeldFrom = "" }}, s.now())
}

// CannotComplete gives up on an order with a reason; the desk takes it
// from there (reassigns or cancels).
func (s *Service) CannotComplete(ctx context.Context, c staffauth.Claims, id string, req ReasonRequest) (Order, error) {
	if err := req.validate(); err != nil {
		return Order{}, err
	}
	o, err := s.mine(ctx, c, id, StatusAccepted, StatusEnRoute, StatusInProgress, StatusOnHold)
	if err != nil {
		return Order{}, err
	}
	return s.store.apply(ctx, o, move{to: StatusCannotComplete, event: outbox.WorkOrderCannotComplete, reason: req.Reason,
		change: func(n *Order) { n.ETA, n.HeldFrom = 0, "" }}, s.now())
}

// DeskCancel cancels an order the desk will not serve (with a reason the
// customer reads).
func (s *Service) DeskCancel(ctx context.Context, c staffauth.Claims, id string, req ReasonRequest) (Order, error) {
	if err := req.validate(); err != nil {
		return Order{}, err
	}
	o, err := s.store.Get(ctx, c.TenantID, id)
	if err != nil {
		return Order{}, err
	}
	if !o.Open() || o.Status == StatusInProgress {
		return Order{}, apperr.Errorf(apperr.Conflict, "cannot_cancel", "a work order %s cannot be cancelled", o.Status)
	}
	return s.store.apply(ctx, o, move{to: StatusCancelled, event: outbox.WorkOrderCancelled, reason: req.Reason,
		note: "The service desk cancelled the request: " + req.Reason}, s.now())
}

// maxETA bounds how far ahead an engineer's arrival may be.
const maxETA = 24 * time.Hour

// etaWords is the customer's line for an engineer on the way.
func etaWords(name string, eta time.Time, loc *time.Location) string {
	who := "An engineer"
	if name != "" {
		who = "Engineer " + name
	}
	if eta.IsZero() {
		return who + " is on the way"
	}
	return fmt.Sprintf("%s is on the way, arriving around %s", who, eta.In(loc).Format("15:04"))
}
