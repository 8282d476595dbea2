package workorder

import (
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/outbox"
)

// Snapshot is a work order as its events carry it (docs/events.md): what
// the CRM needs to create or update its own record, the customer's
// contact included (the tenant's own customer).
type Snapshot struct {
	ID          string   `json:"id"`
	Status      Status   `json:"status"`
	Category    string   `json:"category"`
	Description string   `json:"description"`
	DeviceSN    string   `json:"device_sn,omitempty"`
	CustomerID  string   `json:"customer_id"`
	ContactName string   `json:"contact_name"`
	Phone       string   `json:"phone"`
	Address     string   `json:"address"`
	Latitude    float64  `json:"latitude"`
	Longitude   float64  `json:"longitude"`
	Photos      []string `json:"photos"`
	EngineerID  string   `json:"engineer_id,omitempty"`
	// EngineerName is the assigned engineer's name in the directory.
	EngineerName string `json:"engineer_name,omitempty"`
	Priority     string `json:"priority,omitempty"`
	DueAt        int64  `json:"due_at,omitempty"`
	ETA          int64  `json:"eta,omitempty"`
	HeldFrom     Status `json:"held_from,omitempty"`
	AssignedAt   int64  `json:"assigned_at,omitempty"`
	// Timeline holds the desk's and engineers' reasons too (the customer's
	// view leaves them out).
	Timeline  []Event `json:"timeline"`
	Rating    int     `json:"rating,omitempty"`
	Comment   string  `json:"comment,omitempty"`
	CreatedAt int64   `json:"created_at"`
	Version   int     `json:"version"`
}

// snapshot is o as its events carry it.
func snapshot(o Order) Snapshot {
	photos := o.Photos
	if photos == nil {
		photos = []string{}
	}
	return Snapshot{ID: o.ID, Status: o.Status, Category: o.Category, Description: o.Description, DeviceSN: o.DeviceSN,
		CustomerID: o.UserID, ContactName: o.ContactName, Phone: o.Phone, Address: o.Address, Latitude: o.Latitude,
		Longitude: o.Longitude, Photos: photos, EngineerID: o.EngineerID, EngineerName: o.EngineerName, Priority: o.Priority,
		DueAt: o.DueAt, ETA: o.ETA, HeldFrom: o.HeldFrom, AssignedAt: o.AssignedAt, Timeline: o.Timeline, Rating: o.Rating,
		Comment: o.Comment, CreatedAt: o.CreatedAt, Version: o.Version}
}

// statusEvents names the event of each status an order moves into.
var statusEvents = map[Status]string{
	StatusSubmitted:  outbox.WorkOrderCreated,
	StatusAssigned:   outbox.WorkOrderAssigned,
	StatusAccepted:   outbox.WorkOrderAccepted,
	StatusEnRoute:    outbox.WorkOrderEnRoute,
	StatusInProgress: outbox.WorkOrderInProgress,
	StatusCompleted:  outbox.WorkOrderCompleted,
	StatusCancelled:  outbox.WorkOrderCancelled,
}

// addOrderEvent adds the event of type typ about o, as o stands after the
// change, to tx.
func (s *Store) addOrderEvent(tx *dynamo.WriteTx, typ string, o Order, at time.Time) error {
	ev, err := outbox.New(o.TenantID, typ, outbox.Entity{Type: outbox.EntityWorkOrder, ID: o.ID, Version: o.Version}, at, snapshot(o))
	if err != nil {
		return err
	}
	return outbox.Add(tx, s.table, ev)
}

// VisitSnapshot is a visit as its events carry it: the engineer's time on
// site at a work order, with the photos' keys.
type VisitSnapshot struct {
	ID          string         `json:"id"`
	WorkOrderID string         `json:"work_order_id"`
	EngineerID  string         `json:"engineer_id"`
	Date        string         `json:"date"`
	CheckInAt   int64          `json:"check_in_at"`
	Latitude    float64        `json:"latitude"`
	Longitude   float64        `json:"longitude"`
	DistanceInM int            `json:"distance_m"`
	CheckOutAt  int64          `json:"check_out_at,omitempty"`
	CheckOut    *CheckOutPoint `json:"check_out,omitempty"`
	ClosedBy    string         `json:"closed_by,omitempty"`
	Flags       []Flag         `json:"flags,omitempty"`
	VisitPhotos
}

// visitVersion counts a visit's changes: its check-in, each change of its
// photos and its check-out.
func visitVersion(v Visit) int {
	n := 1 + v.PhotosRev
	if v.CheckOutAt > 0 {
		n++
	}
	return n
}

// addVisitEvent adds the event of type typ about v, as it stands after
// the change, to tx; it is delivered in order with its work order's.
func (s *Store) addVisitEvent(tx *dynamo.WriteTx, typ, tenantID string, v Visit, at time.Time) error {
	snap := VisitSnapshot{ID: v.ID, WorkOrderID: v.OrderID, EngineerID: v.EngineerID, Date: v.Date, CheckInAt: v.CheckInAt,
		Latitude: v.Latitude, Longitude: v.Longitude, DistanceInM: v.DistanceInM, CheckOutAt: v.CheckOutAt,
		CheckOut: v.CheckOut, ClosedBy: v.ClosedBy, Flags: v.Flags, VisitPhotos: v.VisitPhotos}
	ev, err := outbox.New(tenantID, typ, outbox.Entity{Type: outbox.EntityVisit, ID: v.ID, Version: visitVersion(v)}, at, snap)
	if err != nil {
		return err
	}
	ev.Group = v.OrderID
	return outbox.Add(tx, s.table, ev)
}
