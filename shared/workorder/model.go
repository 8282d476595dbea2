package workorder

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/textfield"
)

// Status is where a work order stands.
type Status string

// Statuses of a work order.
const (
	StatusSubmitted  Status = "submitted"
	StatusAssigned   Status = "assigned"
	StatusAccepted   Status = "accepted"
	StatusEnRoute    Status = "en_route"
	StatusInProgress Status = "in_progress"
	StatusOnHold     Status = "on_hold"
	// StatusCannotComplete: the engineer gave up (a reason says why); the
	// desk assigns it again or cancels it.
	StatusCannotComplete Status = "cannot_complete"
	StatusCompleted      Status = "completed"
	StatusCancelled      Status = "cancelled"
)

// Statuses lists every status, in the order an order usually goes.
var Statuses = []Status{StatusSubmitted, StatusAssigned, StatusAccepted, StatusEnRoute, StatusInProgress, StatusOnHold,
	StatusCannotComplete, StatusCompleted, StatusCancelled}

// WithEngineer reports whether an order in s is in an engineer's hands
// (on their list of the day).
func (s Status) WithEngineer() bool {
	return s == StatusAssigned || s == StatusAccepted || s == StatusEnRoute || s == StatusInProgress || s == StatusOnHold
}

// Open reports whether an order in s still needs work.
func (s Status) Open() bool { return s != StatusCompleted && s != StatusCancelled }

// Offered reports whether an order in s is offered to nearby engineers.
func (s Status) Offered() bool { return s == StatusSubmitted }

// engineerMoves is the transition table of the moves an assigned engineer
// makes through POST .../status, keyed by the order's current status.
var engineerMoves = map[Status][]Status{
	StatusAccepted:   {StatusEnRoute},
	StatusEnRoute:    {StatusInProgress},
	StatusInProgress: {StatusCompleted},
}

// customerCancellable lists the statuses in which the customer may still
// cancel: nobody is on the way yet.
var customerCancellable = []Status{StatusSubmitted, StatusAssigned, StatusAccepted}

// checkInAllowed lists the statuses in which an engineer checks in on site.
var checkInAllowed = []Status{StatusEnRoute, StatusInProgress}

// Categories a terminal user can choose.
var Categories = []string{"repair", "installation", "maintenance", "inspection", "consultation", "complaint"}

// Event is one entry of the user-visible status timeline.
type Event struct {
	Status Status `dynamo:"status" json:"status"`
	At     int64  `dynamo:"at" json:"at"`
	// Note is what the customer reads (the engineer's own note, or the
	// product's words for the change).
	Note string `dynamo:"note,omitempty" json:"note,omitempty"`
	// Reason is the engineer's or the desk's reason (declined, on hold,
	// cannot complete): for the desk, never shown to the customer.
	Reason string `dynamo:"reason,omitempty" json:"reason,omitempty"`
}

// Order is a work order.
type Order struct {
	PK          string   `dynamo:"pk,hash" json:"-"`
	SK          string   `dynamo:"sk,range" json:"-"`
	UserPK      string   `dynamo:"gsi1pk,omitempty" json:"-"`
	UserSK      string   `dynamo:"gsi1sk,omitempty" json:"-"`
	CellPK      string   `dynamo:"gsi2pk,omitempty" json:"-"`
	CellSK      string   `dynamo:"gsi2sk,omitempty" json:"-"`
	ID          string   `dynamo:"id" json:"id"`
	TenantID    string   `dynamo:"tenant_id" json:"-"`
	UserID      string   `dynamo:"user_id" json:"-"`
	Category    string   `dynamo:"category" json:"category"`
	Description string   `dynamo:"description" json:"description"`
	DeviceSN    string   `dynamo:"device_sn,omitempty" json:"device_sn,omitempty"`
	ContactName string   `dynamo:"contact_name" json:"contact_name"`
	Phone       string   `dynamo:"phone" json:"phone"`
	Address     string   `dynamo:"address" json:"address"`
	Latitude    float64  `dynamo:"latitude" json:"latitude"`
	Longitude   float64  `dynamo:"longitude" json:"longitude"`
	Photos      []string `dynamo:"photos,omitempty" json:"photos,omitempty"`
	Status      Status   `dynamo:"status" json:"status"`
	EngineerID  string   `dynamo:"engineer_id,omitempty" json:"engineer_id,omitempty"`
	// EngineerName is the assigned engineer's display name from the
	// tenant's directory when assigned (the customer sees it).
	EngineerName string `dynamo:"engineer_name,omitempty" json:"engineer_name,omitempty"`
	// Priority (urgent, high, normal, low) and DueAt (unix s; 0: no SLA)
	// come from the tenant's per-category SLA (tenant.Dispatch).
	Priority string `dynamo:"priority,omitempty" json:"priority,omitempty"`
	DueAt    int64  `dynamo:"due_at,omitempty" json:"due_at,omitempty"`
	// ETA is the arrival the engineer on the way gave (unix s).
	ETA int64 `dynamo:"eta,omitempty" json:"eta,omitempty"`
	// HeldFrom is the status an order on hold resumes into.
	HeldFrom Status `dynamo:"held_from,omitempty" json:"held_from,omitempty"`
	// AssignedAt is when the current engineer got the order.
	AssignedAt int64 `dynamo:"assigned_at,omitempty" json:"assigned_at,omitempty"`
	// DeskPK/DeskSK place the order in the desk's index (gsi3): its
	// tenant and status, newest first.
	DeskPK    string  `dynamo:"gsi3pk,omitempty" json:"-"`
	DeskSK    string  `dynamo:"gsi3sk,omitempty" json:"-"`
	Timeline  []Event `dynamo:"timeline" json:"timeline"`
	Rating    int     `dynamo:"rating,omitempty" json:"rating,omitempty"`
	Comment   string  `dynamo:"comment,omitempty" json:"comment,omitempty"`
	CreatedAt int64   `dynamo:"created_at" json:"created_at"`
	Version   int     `dynamo:"version" json:"version"`
}

// Open reports whether the order still needs work.
func (o Order) Open() bool { return o.Status.Open() }

func orderPK(tenantID, id string) string { pk, _ := storage.WorkOrderKey(tenantID, id); return pk }
func userOrdersPK(tenantID, userID string) string {
	return terminaluser.UserPartition(tenantID, userID) + "#orders"
}

var orderIDPattern = regexp.MustCompile(`^[0-9]{6}[0-9a-f]{12}$`)

// DistanceKm is the great-circle distance between two points.
func DistanceKm(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// CreateRequest is what the portal submits.
type CreateRequest struct {
	Category    string   `json:"category"`
	Description string   `json:"description"`
	DeviceSN    string   `json:"device_sn,omitempty"`
	Scene       string   `json:"scene,omitempty"`
	ContactName string   `json:"contact_name"`
	Phone       string   `json:"phone"`
	Address     string   `json:"address"`
	Latitude    float64  `json:"latitude"`
	Longitude   float64  `json:"longitude"`
	Photos      []string `json:"photos,omitempty"`
}

var (
	phonePattern  = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	serialPattern = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)
	photoPattern  = regexp.MustCompile(`^uploads/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{8,64}\.(jpg|jpeg|png)$`)
)

// Free-text fields of a work order, its rating and an engineer's note.
var (
	descriptionText = textfield.Lines(5, 1000)
	contactNameText = textfield.Line(1, 40)
	addressText     = textfield.Line(4, 200)
	commentText     = textfield.Lines(0, 500)
	noteText        = textfield.Lines(0, 500)
)

// cleanText replaces *s with its cleaned form, or names the field that
// was refused.
func cleanText(field string, s *string, rule textfield.Rule) error {
	clean, err := rule.Clean(*s)
	if err != nil {
		return apperr.InvalidField(field, err.Error())
	}
	*s = clean
	return nil
}

// Validate checks every field, returns the first problem and leaves the
// free text cleaned as it is stored.
func (c *CreateRequest) Validate() error {
	if !slices.Contains(Categories, c.Category) {
		return apperr.InvalidField("category", "one of "+strings.Join(Categories, ", "))
	}
	if err := cleanText("description", &c.Description, descriptionText); err != nil {
		return err
	}
	switch {
	case c.DeviceSN != "" && !serialPattern.MatchString(c.DeviceSN):
		return apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
	case len(c.Scene) > 32:
		return apperr.InvalidField("scene", "not a device QR code")
	}
	if err := cleanText("contact_name", &c.ContactName, contactNameText); err != nil {
		return err
	}
	if !phonePattern.MatchString(c.Phone) {
		return apperr.InvalidField("phone", "an 11-digit mainland mobile number")
	}
	if err := cleanText("address", &c.Address, addressText); err != nil {
		return err
	}
	if len(c.Photos) > 9 {
		return apperr.InvalidField("photos", "at most 9")
	}
	for i, p := range c.Photos {
		if !photoPattern.MatchString(p) {
			return apperr.InvalidField(fmt.Sprintf("photos[%d]", i), "use a key returned by /portal/uploads")
		}
	}
	return terminaluser.ValidLocation(c.Latitude, c.Longitude)
}

// RatingRequest is a customer's rating of a completed order.
type RatingRequest struct {
	Stars   int    `json:"stars"`
	Comment string `json:"comment"`
}

// Validate checks the rating and leaves the comment cleaned as it is stored.
func (r *RatingRequest) Validate() error {
	if r.Stars < 1 || r.Stars > 5 {
		return apperr.InvalidField("stars", "between 1 and 5")
	}
	return cleanText("comment", &r.Comment, commentText)
}

// MoveRequest is an engineer's status change.
type MoveRequest struct {
	Status Status `json:"status"`
	Note   string `json:"note"`
	// ETA is the arrival the engineer expects when setting off (en_route;
	// unix seconds; optional): the customer reads it.
	ETA int64 `json:"eta,omitempty"`
}

// Validate checks the note and leaves it cleaned as it is stored.
func (m *MoveRequest) Validate() error { return cleanText("note", &m.Note, noteText) }

// Location is a point an engineer reports (check-in, check-out).
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}
