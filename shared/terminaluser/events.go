package terminaluser

import (
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/outbox"
)

// RegistrationSnapshot is a serial-number registration as its events
// carry it (docs/events.md).
type RegistrationSnapshot struct {
	ID         string             `json:"id"`
	UserID     string             `json:"user_id"`
	CustomerID string             `json:"customer_id,omitempty"`
	DeviceSN   string             `json:"device_sn"`
	Model      string             `json:"model,omitempty"`
	Latitude   float64            `json:"latitude"`
	Longitude  float64            `json:"longitude"`
	Address    string             `json:"address"`
	Status     RegistrationStatus `json:"status"`
	CreatedAt  int64              `json:"created_at"`
	Reason     string             `json:"reason,omitempty"`
	DecidedAt  int64              `json:"decided_at,omitempty"`
	Version    int                `json:"version"`
}

// registrationEvents names the event of each registration status.
var registrationEvents = map[RegistrationStatus]string{
	RegistrationPending:  outbox.RegistrationPending,
	RegistrationApproved: outbox.RegistrationApproved,
	RegistrationRejected: outbox.RegistrationRejected,
}

// addRegistrationEvent adds the event of reg's status, reg as it stands
// after the change, to tx. A registration's version counts its
// submissions; its decision keeps the version it decided.
func (s *Store) addRegistrationEvent(tx *dynamo.WriteTx, tenantID string, reg Registration, customerID string, at time.Time) error {
	snap := RegistrationSnapshot{ID: reg.ID, UserID: reg.UserID, CustomerID: customerID, DeviceSN: reg.DeviceSN, Model: reg.Model,
		Latitude: reg.Latitude, Longitude: reg.Longitude, Address: reg.Address, Status: reg.Status, CreatedAt: reg.CreatedAt,
		Reason: reg.Reason, DecidedAt: reg.DecidedAt, Version: reg.Version}
	ev, err := outbox.New(tenantID, registrationEvents[reg.Status],
		outbox.Entity{Type: outbox.EntityRegistration, ID: reg.ID, Version: reg.Version}, at, snap)
	if err != nil {
		return err
	}
	return outbox.Add(tx, s.table, ev)
}
