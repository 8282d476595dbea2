// Package device keeps each tenant's equipment: the record of a serial
// number (who owns it, where it is, which registrations name it) and the
// history of the work orders raised for it.
package device

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

var snPattern = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)

// ValidSN reports whether sn is a well-formed equipment serial number.
func ValidSN(sn string) bool { return snPattern.MatchString(sn) }

// Normalize is the form a serial number is stored and compared in:
// "ac-2024-0001" and "AC-2024-0001" are one device, so two people cannot
// claim it under two spellings.
func Normalize(sn string) string { return strings.ToUpper(sn) }

// Keys. Everything about one serial number lives in its own partition
// (the record and its order history), so a registration reads and writes
// it without a scan; the tenant's list of registered devices is gsi1,
// sorted by serial number; an owner's devices are a partition of their own.
const (
	recordSK      = "device"
	orderSKPrefix = "order#"
	ownedSKPrefix = "device#"
)

func partition(tenantID, sn string) string {
	return storage.TenantPartition(tenantID) + "#device#" + Normalize(sn)
}
func listPK(tenantID string) string { return storage.TenantPartition(tenantID) + "#devices" }
func ownerPK(tenantID, userID string) string {
	return storage.TenantPartition(tenantID) + "#owner#" + userID
}
func ownedSK(sn string) string { return ownedSKPrefix + Normalize(sn) }
func orderSK(created time.Time, orderID string) string {
	return fmt.Sprintf("%s%019d#%s", orderSKPrefix, created.UnixNano(), orderID)
}

// RecordKey is the key of a serial number's record, for callers that read
// it in a batch with their own items.
func RecordKey(tenantID, sn string) dynamo.Keys {
	return dynamo.Keys{partition(tenantID, sn), recordSK}
}

// Device is the record of one serial number of a tenant. It exists from
// the first registration that names the number (Pending counts those still
// waiting for a decision) and is registered once an approval gives it an
// owner; only then is it on the tenant's device list.
type Device struct {
	PK              string  `dynamo:"pk,hash" json:"-"`
	SK              string  `dynamo:"sk,range" json:"-"`
	ListPK          string  `dynamo:"gsi1pk,omitempty" json:"-"`
	ListSK          string  `dynamo:"gsi1sk,omitempty" json:"-"`
	TenantID        string  `dynamo:"tenant_id" json:"-"`
	SN              string  `dynamo:"sn" json:"sn"`
	Model           string  `dynamo:"model,omitempty" json:"model,omitempty"`
	Address         string  `dynamo:"address,omitempty" json:"address,omitempty"`
	Latitude        float64 `dynamo:"latitude,omitempty" json:"latitude,omitempty"`
	Longitude       float64 `dynamo:"longitude,omitempty" json:"longitude,omitempty"`
	OwnerUserID     string  `dynamo:"owner_user_id,omitempty" json:"owner_user_id,omitempty"`
	OwnerCustomerID string  `dynamo:"owner_customer_id,omitempty" json:"owner_customer_id,omitempty"`
	ApprovedAt      int64   `dynamo:"approved_at,omitempty" json:"approved_at,omitempty"`
	// Pending is the number of registrations naming this serial number
	// that wait for a decision; each registration's transaction keeps it.
	Pending int `dynamo:"pending" json:"pending_registrations"`
	// Scene is the device QR code's scene once one was exported, so every
	// export prints the same code.
	Scene string `dynamo:"scene,omitempty" json:"-"`
}

// Registered says whether an approval gave the device an owner.
func (d Device) Registered() bool { return d.OwnerUserID != "" }

// ConflictFor says whether a registration by userID of this serial number
// competes with someone else's: the number is registered to another user,
// or others pending registrations name it. ownPending is 1 when the
// user's own pending registration is among d.Pending, else 0.
func (d Device) ConflictFor(userID string, ownPending int) Conflict {
	switch {
	case d.Registered() && d.OwnerUserID != userID:
		return ConflictRegistered
	case d.Pending-ownPending > 0:
		return ConflictPending
	}
	return ""
}

// Conflict is why a serial-number registration competes with another.
type Conflict string

// Conflicts, in the order they are reported (a registered device first).
const (
	ConflictRegistered Conflict = "registered_to_another_user"
	ConflictPending    Conflict = "pending_for_another_user"
)

// Claim returns the update that counts one registration more (delta 1) or
// fewer (-1) waiting on the serial number, for the transaction that
// submits, replaces or decides that registration.
func Claim(table dynamo.Table, tenantID, sn string, delta int) *dynamo.Update {
	return table.Update("pk", partition(tenantID, sn)).Range("sk", recordSK).Add("pending", delta).
		Set("tenant_id", tenantID).Set("sn", Normalize(sn))
}

// Ownership is what an approved registration makes of a device.
type Ownership struct {
	TenantID, SN, UserID, CustomerID string
	// Model is the device's model after the approval ("" keeps none).
	Model               string
	Address             string
	Latitude, Longitude float64
	At                  time.Time
	// PreviousOwner is the owner the admin's decision was made on ("" for
	// none); the approval fails if the device has another owner by then.
	PreviousOwner string
}

// Transfer says whether the approval takes the device from another user.
func (o Ownership) Transfer() bool { return o.PreviousOwner != "" && o.PreviousOwner != o.UserID }

// OwnedDevice is an owner's entry for one of their devices, with what
// their list shows of it (written with the record, by the same approval).
type OwnedDevice struct {
	PK         string `dynamo:"pk,hash"`
	SK         string `dynamo:"sk,range"`
	SN         string `dynamo:"sn"`
	Model      string `dynamo:"model,omitempty"`
	Address    string `dynamo:"address"`
	ApprovedAt int64  `dynamo:"approved_at"`
}

// Register returns the writes of an approval's transaction that make o's
// user the device's owner: the record (one waiting registration fewer, on
// the tenant's device list, held to the owner the decision was made on),
// the new owner's entry and, on a transfer, the removal of the previous
// owner's entry (nil otherwise).
func Register(table dynamo.Table, o Ownership) (record *dynamo.Update, entry *dynamo.Put, released *dynamo.Delete) {
	sn := Normalize(o.SN)
	record = Claim(table, o.TenantID, sn, -1).
		Set("owner_user_id", o.UserID).Set("address", o.Address).Set("latitude", o.Latitude).Set("longitude", o.Longitude).
		Set("approved_at", o.At.Unix()).Set("gsi1pk", listPK(o.TenantID)).Set("gsi1sk", sn)
	if o.CustomerID != "" {
		record = record.Set("owner_customer_id", o.CustomerID)
	} else {
		record = record.Remove("owner_customer_id")
	}
	if o.Model != "" {
		record = record.Set("model", o.Model)
	}
	if o.PreviousOwner == "" {
		record = record.If("attribute_not_exists('owner_user_id')")
	} else {
		record = record.If("'owner_user_id' = ?", o.PreviousOwner)
	}
	entry = table.Put(OwnedDevice{PK: ownerPK(o.TenantID, o.UserID), SK: ownedSK(sn), SN: sn, Model: o.Model, Address: o.Address,
		ApprovedAt: o.At.Unix()})
	if o.Transfer() {
		released = table.Delete("pk", ownerPK(o.TenantID, o.PreviousOwner)).Range("sk", ownedSK(sn))
	}
	return record, entry, released
}

// OrderLink is a work order as its device's history lists it: what it was
// when it was submitted (its current state is the order's own).
type OrderLink struct {
	PK       string `dynamo:"pk,hash" json:"-"`
	SK       string `dynamo:"sk,range" json:"-"`
	OrderID  string `dynamo:"order_id" json:"id"`
	UserID   string `dynamo:"user_id" json:"user_id,omitempty"`
	Category string `dynamo:"category" json:"category"`
	// Status is the order's status when it was submitted; the lists
	// replace it with the order's current one (Store.WithCurrentStatus).
	Status    string `dynamo:"status" json:"status"`
	CreatedAt int64  `dynamo:"created_at" json:"created_at"`
}

// NewOrder is a work order being created, as LinkOrder needs it.
type NewOrder struct {
	ID, UserID, Category, Status string
	CreatedAt                    time.Time
}

// LinkOrder returns the put of the item that lists a new work order in the
// history of its device (sn, any spelling): the order's create transaction
// adds it, so an order and its place in the history are written together.
// The link exists whether or not the serial number is registered yet.
func LinkOrder(table dynamo.Table, tenantID, sn string, o NewOrder) *dynamo.Put {
	return table.Put(OrderLink{PK: partition(tenantID, sn), SK: orderSK(o.CreatedAt, o.ID), OrderID: o.ID, UserID: o.UserID,
		Category: o.Category, Status: o.Status, CreatedAt: o.CreatedAt.Unix()})
}

// AddOrderLink adds LinkOrder's put to a work order's create transaction
// when the order names a device (sn not empty), and nothing otherwise.
func AddOrderLink(tx *dynamo.WriteTx, table dynamo.Table, tenantID, sn string, o NewOrder) {
	if sn != "" {
		tx.Put(LinkOrder(table, tenantID, sn, o))
	}
}
