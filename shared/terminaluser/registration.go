package terminaluser

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// Invitation binds whoever redeems it to one of the enterprise's customers
// ("interconnection"), a limited number of times until it expires.
type Invitation struct {
	PK         string `dynamo:"pk,hash" json:"-"`
	SK         string `dynamo:"sk,range" json:"-"`
	Code       string `dynamo:"code" json:"code"`
	CustomerID string `dynamo:"customer_id" json:"customer_id"`
	MaxUses    int    `dynamo:"max_uses" json:"max_uses"`
	Uses       int    `dynamo:"uses" json:"uses"`
	ExpiresAt  int64  `dynamo:"expires_at" json:"expires_at"`
	Revoked    bool   `dynamo:"revoked" json:"revoked"`
}

// RegistrationStatus is where a serial-number registration stands.
type RegistrationStatus string

// Registration statuses.
const (
	RegistrationPending  RegistrationStatus = "pending"
	RegistrationApproved RegistrationStatus = "approved"
)

// Registration is a request to register by equipment serial number, pending
// until the tenant approves it.
type Registration struct {
	PK        string             `dynamo:"pk,hash" json:"-"`
	SK        string             `dynamo:"sk,range" json:"-"`
	PendingPK string             `dynamo:"gsi1pk,omitempty" json:"-"`
	PendingSK string             `dynamo:"gsi1sk,omitempty" json:"-"`
	ID        string             `dynamo:"id" json:"id"`
	UserID    string             `dynamo:"user_id" json:"user_id"`
	DeviceSN  string             `dynamo:"device_sn" json:"device_sn"`
	Latitude  float64            `dynamo:"latitude" json:"latitude"`
	Longitude float64            `dynamo:"longitude" json:"longitude"`
	Address   string             `dynamo:"address" json:"address"`
	Status    RegistrationStatus `dynamo:"status" json:"status"`
	CreatedAt int64              `dynamo:"created_at" json:"created_at"`
}

var (
	serialPattern     = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)
	invitationPattern = regexp.MustCompile(`^[A-Z0-9]{8}$`)
	customerPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidSerial reports whether sn is a well-formed equipment serial number.
func ValidSerial(sn string) bool { return serialPattern.MatchString(sn) }

func invitationSK(code string) string { return "invitation#" + code }
func registrationSK(id string) string { return "registration#" + id }
func pendingPK(tenantID string) string {
	return storage.TenantPartition(tenantID) + "#registrations#pending"
}

const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newCode() string {
	b := make([]byte, 8)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(codeAlphabet))))
		b[i] = codeAlphabet[n.Int64()]
	}
	return string(b)
}

// ValidLocation checks a WGS-84 / GCJ-02 coordinate pair.
func ValidLocation(lat, lng float64) error {
	if lat < -90 || lat > 90 || lat != lat {
		return apperr.InvalidField("latitude", "between -90 and 90")
	}
	if lng < -180 || lng > 180 || lng != lng {
		return apperr.InvalidField("longitude", "between -180 and 180")
	}
	if lat == 0 && lng == 0 {
		return apperr.InvalidField("latitude", "the location is missing (0,0)")
	}
	return nil
}

// Redeem uses one invitation and registers the user, in one transaction.
func (s *Store) Redeem(ctx context.Context, u User, st tenant.Settings, code string, now time.Time) (User, error) {
	if !st.InvitationCodes {
		return User{}, apperr.E(apperr.Forbidden, "registration_mode_disabled", "this enterprise does not register with invitation codes")
	}
	if !invitationPattern.MatchString(code) {
		return User{}, apperr.InvalidField("code", "an invitation code has 8 letters and digits")
	}
	var inv Invitation
	err := s.table.Get("pk", storage.TenantPartition(u.TenantID)).Range("sk", dynamo.Equal, invitationSK(code)).Consistent(true).One(ctx, &inv)
	if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) {
		return User{}, apperr.Missing("no such invitation code")
	}
	if err != nil {
		return User{}, err
	}
	switch {
	case inv.Revoked:
		return User{}, apperr.E(apperr.Conflict, "invitation_revoked", "this invitation code was revoked")
	case now.Unix() >= inv.ExpiresAt:
		return User{}, apperr.E(apperr.Conflict, "invitation_expired", "this invitation code has expired")
	case inv.Uses >= inv.MaxUses:
		return User{}, apperr.E(apperr.Conflict, "invitation_used_up", "this invitation code has been used up")
	case u.Status == StatusRegistered:
		return User{}, apperr.E(apperr.Conflict, "already_registered", "you are already registered")
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", storage.TenantPartition(u.TenantID)).Range("sk", invitationSK(code)).Add("uses", 1).
		If("'uses' < 'max_uses' AND 'revoked' = ? AND 'expires_at' > ?", false, now.Unix()))
	tx.Update(s.table.Update("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", "profile").
		Set("status", StatusRegistered).Set("customer_id", inv.CustomerID).If("'status' <> ?", StatusRegistered))
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return User{}, apperr.E(apperr.Conflict, "invitation_unavailable", "this invitation code can no longer be used")
		}
		return User{}, err
	}
	u.Status, u.CustomerID = StatusRegistered, inv.CustomerID
	return u, nil
}

// DeviceRegistration is a user's request to register by serial number.
type DeviceRegistration struct {
	DeviceSN  string  `json:"device_sn"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Address   string  `json:"address"`
}

// RegisterDevice records a pending serial-number registration and marks
// the user pending, in one transaction.
func (s *Store) RegisterDevice(ctx context.Context, u User, st tenant.Settings, req DeviceRegistration, now time.Time) (
	Registration, error,
) {
	if !st.SerialRegistration {
		return Registration{}, apperr.E(apperr.Forbidden, "registration_mode_disabled",
			"this enterprise does not register by equipment serial number")
	}
	if !ValidSerial(req.DeviceSN) {
		return Registration{}, apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
	}
	if err := ValidLocation(req.Latitude, req.Longitude); err != nil {
		return Registration{}, err
	}
	if n := len([]rune(req.Address)); n < 4 || n > 200 {
		return Registration{}, apperr.InvalidField("address", "4–200 characters")
	}
	if u.Status == StatusRegistered {
		return Registration{}, apperr.E(apperr.Conflict, "already_registered", "you are already registered")
	}
	reg := Registration{PK: storage.TenantPartition(u.TenantID), SK: registrationSK(u.UserID), ID: u.UserID, UserID: u.UserID,
		DeviceSN: req.DeviceSN, Latitude: req.Latitude, Longitude: req.Longitude, Address: req.Address,
		Status: RegistrationPending, CreatedAt: now.Unix(),
		PendingPK: pendingPK(u.TenantID), PendingSK: fmt.Sprintf("%012d#%s", now.Unix(), u.UserID)}
	tx := s.db.Dynamo.WriteTx()
	tx.Put(s.table.Put(reg).If("attribute_not_exists('pk') OR 'status' <> ?", RegistrationApproved))
	tx.Update(s.table.Update("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", "profile").
		Set("status", StatusPending).Set("device_sn", req.DeviceSN).If("'status' <> ?", StatusRegistered))
	if err := tx.Run(ctx); err != nil {
		if dynamo.IsCondCheckFailed(err) {
			return Registration{}, apperr.E(apperr.Conflict, "already_registered", "you are already registered")
		}
		return Registration{}, err
	}
	return reg, nil
}

// NewInvitation is what an admin asks for.
type NewInvitation struct {
	CustomerID    string `json:"customer_id"`
	MaxUses       int    `json:"max_uses"`
	ExpiresInDays int    `json:"expires_in_days"`
}

// CreateInvitation issues an invitation code of the tenant.
func (s *Store) CreateInvitation(ctx context.Context, tenantID string, req NewInvitation, now time.Time) (Invitation, error) {
	switch {
	case !customerPattern.MatchString(req.CustomerID):
		return Invitation{}, apperr.InvalidField("customer_id", "1–64 letters, digits, _ or -")
	case req.MaxUses < 1 || req.MaxUses > 10000:
		return Invitation{}, apperr.InvalidField("max_uses", "between 1 and 10000")
	case req.ExpiresInDays < 1 || req.ExpiresInDays > 365:
		return Invitation{}, apperr.InvalidField("expires_in_days", "between 1 and 365")
	}
	inv := Invitation{PK: storage.TenantPartition(tenantID), Code: newCode(), CustomerID: req.CustomerID, MaxUses: req.MaxUses,
		ExpiresAt: now.Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour).Unix()}
	inv.SK = invitationSK(inv.Code)
	if err := s.table.Put(inv).If("attribute_not_exists('pk')").Run(ctx); err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// RevokeInvitation revokes one of the tenant's invitation codes.
func (s *Store) RevokeInvitation(ctx context.Context, tenantID, code string) error {
	if !invitationPattern.MatchString(code) {
		return apperr.Missing("no such invitation code")
	}
	err := s.table.Update("pk", storage.TenantPartition(tenantID)).Range("sk", invitationSK(code)).Set("revoked", true).
		If("attribute_exists('pk')").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return apperr.Missing("no such invitation code")
	}
	return err
}

// PendingRegistrations lists the tenant's registrations awaiting approval
// (index query; the first 100).
func (s *Store) PendingRegistrations(ctx context.Context, tenantID string) ([]Registration, error) {
	var out []Registration
	err := s.table.Get("gsi1pk", pendingPK(tenantID)).Index(storage.IndexGSI1).Limit(100).All(ctx, &out)
	if err != nil {
		return nil, err
	}
	pending := []Registration{}
	for _, reg := range out {
		if reg.Status == RegistrationPending { // index reads lag behind approvals
			pending = append(pending, reg)
		}
	}
	return pending, nil
}

// Approve approves a pending registration and registers its user, in one
// transaction.
func (s *Store) Approve(ctx context.Context, tenantID, id string) error {
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", storage.TenantPartition(tenantID)).Range("sk", registrationSK(id)).
		Set("status", RegistrationApproved).Remove("gsi1pk", "gsi1sk").If("'status' = ?", RegistrationPending))
	tx.Update(s.table.Update("pk", UserPartition(tenantID, id)).Range("sk", "profile").
		Set("status", StatusRegistered).If("attribute_exists('pk')"))
	err := tx.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return apperr.Missing("no pending registration with this id")
	}
	return err
}
