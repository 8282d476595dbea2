package terminaluser

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/device"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/textfield"
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

// Registration statuses: pending until the tenant approves or rejects it.
const (
	RegistrationPending  RegistrationStatus = "pending"
	RegistrationApproved RegistrationStatus = "approved"
	RegistrationRejected RegistrationStatus = "rejected"
)

// Registration is a request to register by equipment serial number, pending
// until the tenant approves or rejects it.
type Registration struct {
	PK        string             `dynamo:"pk,hash" json:"-"`
	SK        string             `dynamo:"sk,range" json:"-"`
	PendingPK string             `dynamo:"gsi1pk,omitempty" json:"-"`
	PendingSK string             `dynamo:"gsi1sk,omitempty" json:"-"`
	ID        string             `dynamo:"id" json:"id"`
	UserID    string             `dynamo:"user_id" json:"user_id"`
	DeviceSN  string             `dynamo:"device_sn" json:"device_sn"`
	Model     string             `dynamo:"model,omitempty" json:"model,omitempty"`
	Latitude  float64            `dynamo:"latitude" json:"latitude"`
	Longitude float64            `dynamo:"longitude" json:"longitude"`
	Address   string             `dynamo:"address" json:"address"`
	Status    RegistrationStatus `dynamo:"status" json:"status"`
	CreatedAt int64              `dynamo:"created_at" json:"created_at"`
	// Reason is the admin's reason for a rejection, shown to the user.
	Reason    string `dynamo:"reason,omitempty" json:"reason,omitempty"`
	DecidedAt int64  `dynamo:"decided_at,omitempty" json:"decided_at,omitempty"`
	// Version changes whenever the user submits the registration again;
	// a decision names the version the admin reviewed.
	Version int `dynamo:"version" json:"version"`
	// SNConflict is set on a pending registration whose serial number is
	// registered to another user or named by another user's pending
	// registration (worked out when it is read, never stored).
	SNConflict       bool            `dynamo:"-" json:"sn_conflict"`
	SNConflictReason device.Conflict `dynamo:"-" json:"sn_conflict_reason,omitempty"`
}

// flag records the conflict of the registration's serial number.
func (reg *Registration) flag(c device.Conflict) {
	reg.SNConflict, reg.SNConflictReason = c != "", c
}

var (
	invitationPattern = regexp.MustCompile(`^[A-Z0-9]{8}$`)
	customerPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// userIDPattern is what UserID makes: base32 of 15 bytes, lower case.
	userIDPattern = regexp.MustCompile(`^[a-z2-7]{24}$`)
)

// ValidSerial reports whether sn is a well-formed equipment serial number.
func ValidSerial(sn string) bool { return device.ValidSN(sn) }

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

// Failed invitation redemptions are counted per clock hour, for the user
// and for the tenant; past either limit, redemption is locked until the
// hour ends, so codes cannot be guessed at scale.
const (
	MaxFailedRedemptionsPerUser   = 5
	MaxFailedRedemptionsPerTenant = 50
)

// redeemFailuresSK is the sort key of the failure counter of now's hour, in
// the user's and in the tenant's partition. The hour is part of the key,
// so a count of an earlier hour is never consulted, whether or not
// DynamoDB's TTL has deleted it yet.
func redeemFailuresSK(now time.Time) string {
	return "redeem-failures#" + now.UTC().Format("2006010215")
}

// redeemLockEnds is when the failure counters of now's hour stop counting.
func redeemLockEnds(now time.Time) time.Time { return now.Truncate(time.Hour).Add(time.Hour) }

// invitationInvalid is the one answer to every unusable code: unknown,
// revoked, expired or used up alike, so an answer tells nothing about
// which codes exist.
func invitationInvalid() error {
	return apperr.E(apperr.Conflict, "invitation_invalid", "this invitation code cannot be used; check it with the enterprise that gave it")
}

func tooManyAttempts(now time.Time) error {
	return apperr.E(apperr.RateLimited, "too_many_attempts", "too many invalid invitation codes; try again later").
		After(redeemLockEnds(now).Sub(now))
}

// usable reports whether the invitation can register one more user at now.
func (inv Invitation) usable(now time.Time) bool {
	return !inv.Revoked && now.Unix() < inv.ExpiresAt && inv.Uses < inv.MaxUses
}

// Redeem uses one invitation and registers the user, in one transaction
// that also checks that neither the user nor the tenant is locked out. A
// code that cannot be used counts as a failed attempt.
func (s *Store) Redeem(ctx context.Context, u User, st tenant.Settings, code string, now time.Time) (User, error) {
	if !st.InvitationCodes {
		return User{}, apperr.E(apperr.Forbidden, "registration_mode_disabled", "this enterprise does not register with invitation codes")
	}
	if !invitationPattern.MatchString(code) {
		return User{}, apperr.InvalidField("code", "an invitation code has 8 letters and digits")
	}
	if u.Status == StatusRegistered {
		return User{}, alreadyRegistered()
	}
	var inv Invitation
	err := s.table.Get("pk", storage.TenantPartition(u.TenantID)).Range("sk", dynamo.Equal, invitationSK(code)).Consistent(true).One(ctx, &inv)
	if storage.IsNotFound(err) || (err == nil && !inv.usable(now)) {
		return User{}, s.redemptionFailed(ctx, u, now)
	}
	if err != nil {
		return User{}, err
	}
	sk := redeemFailuresSK(now)
	tx := s.db.Dynamo.WriteTx()
	tx.Check(s.table.Check("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", sk).
		If("attribute_not_exists('failures') OR 'failures' < ?", MaxFailedRedemptionsPerUser))
	tx.Check(s.table.Check("pk", storage.TenantPartition(u.TenantID)).Range("sk", sk).
		If("attribute_not_exists('failures') OR 'failures' < ?", MaxFailedRedemptionsPerTenant))
	tx.Update(s.table.Update("pk", storage.TenantPartition(u.TenantID)).Range("sk", invitationSK(code)).Add("uses", 1).
		If("'uses' < 'max_uses' AND 'revoked' = ? AND 'expires_at' > ?", false, now.Unix()))
	tx.Update(s.table.Update("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", profileSK).
		Set("status", StatusRegistered).Set("customer_id", inv.CustomerID).If("'status' <> ?", StatusRegistered))
	if err := tx.Run(ctx); err != nil {
		return User{}, s.explainRedeemFailure(ctx, u, now, err)
	}
	u.Status, u.CustomerID = StatusRegistered, inv.CustomerID
	return u, nil
}

// explainRedeemFailure tells which condition of the redemption refused it,
// in the order of the transaction's items: a lockout, the code (which
// counts as a failed attempt), or the user registered meanwhile.
func (s *Store) explainRedeemFailure(ctx context.Context, u User, now time.Time, err error) error {
	failed, ok := failedConditions(err)
	switch {
	case !ok:
		return err
	case failed(0) || failed(1):
		return tooManyAttempts(now)
	case failed(3) && !failed(2):
		return alreadyRegistered()
	}
	return s.redemptionFailed(ctx, u, now)
}

// redemptionFailed counts a failed attempt for the user and the tenant, in
// one transaction that refuses to count past either limit, and answers
// with the one refusal of an unusable code or with the lockout.
func (s *Store) redemptionFailed(ctx context.Context, u User, now time.Time) error {
	sk, ttl := redeemFailuresSK(now), redeemLockEnds(now).Add(time.Hour).Unix()
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", sk).Add("failures", 1).Set("ttl", ttl).
		If("attribute_not_exists('failures') OR 'failures' < ?", MaxFailedRedemptionsPerUser))
	tx.Update(s.table.Update("pk", storage.TenantPartition(u.TenantID)).Range("sk", sk).Add("failures", 1).Set("ttl", ttl).
		If("attribute_not_exists('failures') OR 'failures' < ?", MaxFailedRedemptionsPerTenant))
	err := tx.Run(ctx)
	switch {
	case dynamo.IsCondCheckFailed(err):
		return tooManyAttempts(now)
	case err != nil:
		return fmt.Errorf("count a failed redemption: %w", err)
	}
	return invitationInvalid()
}

// failedConditions tells whether err is a transaction cancelled by a
// condition and, by the position of the item, which conditions failed.
func failedConditions(err error) (failed func(item int) bool, ok bool) {
	canceled, ok := errors.AsType[*types.TransactionCanceledException](err)
	if !ok || !dynamo.IsCondCheckFailed(err) {
		return nil, false
	}
	reasons := canceled.CancellationReasons
	return func(item int) bool {
		return item < len(reasons) && aws.ToString(reasons[item].Code) == "ConditionalCheckFailed"
	}, true
}

// DeviceRegistration is a user's request to register by serial number.
type DeviceRegistration struct {
	DeviceSN  string  `json:"device_sn"`
	Model     string  `json:"model,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Address   string  `json:"address"`
}

// Free text of registrations and of the admin's decisions.
var (
	registrationAddressText = textfield.Line(4, 200)
	modelText               = textfield.Line(0, 60)
	rejectionReasonText     = textfield.Line(2, 200)
)

// validate checks the request and leaves the serial number normalized and
// the text cleaned as they are stored.
func (req *DeviceRegistration) validate() error {
	if !ValidSerial(req.DeviceSN) {
		return apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
	}
	req.DeviceSN = device.Normalize(req.DeviceSN)
	if err := cleanField("model", &req.Model, modelText); err != nil {
		return err
	}
	if err := ValidLocation(req.Latitude, req.Longitude); err != nil {
		return err
	}
	return cleanField("address", &req.Address, registrationAddressText)
}

// cleanField replaces *s with its cleaned form, or names the field that
// was refused.
func cleanField(field string, s *string, rule textfield.Rule) error {
	clean, err := rule.Clean(*s)
	if err != nil {
		return apperr.InvalidField(field, err.Error())
	}
	*s = clean
	return nil
}

// RegisterDevice records a pending serial-number registration, or the
// user's next version of it, and marks the user pending, in one
// transaction conditioned on the version it replaces; the same transaction
// keeps the count of registrations waiting on each serial number. The
// answer flags a serial number registered to, or pending for, another user.
func (s *Store) RegisterDevice(ctx context.Context, u User, st tenant.Settings, req DeviceRegistration, now time.Time) (
	Registration, error,
) {
	if !st.SerialRegistration {
		return Registration{}, apperr.E(apperr.Forbidden, "registration_mode_disabled",
			"this enterprise does not register by equipment serial number")
	}
	if err := req.validate(); err != nil {
		return Registration{}, err
	}
	if u.Status == StatusRegistered {
		return Registration{}, alreadyRegistered()
	}
	prev, first, rec, err := s.registrationAndDevice(ctx, u.TenantID, u.UserID, req.DeviceSN)
	if err != nil {
		return Registration{}, err
	}
	if prev.Status == RegistrationApproved {
		return Registration{}, alreadyRegistered()
	}
	reg := Registration{PK: storage.TenantPartition(u.TenantID), SK: registrationSK(u.UserID), ID: u.UserID, UserID: u.UserID,
		DeviceSN: req.DeviceSN, Model: req.Model, Latitude: req.Latitude, Longitude: req.Longitude, Address: req.Address,
		Status: RegistrationPending, CreatedAt: now.Unix(), Version: prev.Version + 1,
		PendingPK: pendingPK(u.TenantID), PendingSK: fmt.Sprintf("%012d#%s", now.Unix(), u.UserID)}
	put := s.table.Put(reg)
	if first {
		put = put.If("attribute_not_exists('pk')")
	} else {
		cond, args := versionCondition(prev.Version)
		put = put.If("'status' <> ?", RegistrationApproved).If(cond, args...)
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Put(put)
	tx.Update(s.table.Update("pk", UserPartition(u.TenantID, u.UserID)).Range("sk", profileSK).
		Set("status", StatusPending).Set("device_sn", req.DeviceSN).If("'status' <> ?", StatusRegistered))
	stillPending := prev.Status == RegistrationPending && device.Normalize(prev.DeviceSN) == req.DeviceSN
	switch {
	case stillPending: // the same serial number: its count stays
	case prev.Status == RegistrationPending:
		tx.Update(device.Claim(s.table, u.TenantID, prev.DeviceSN, -1))
		tx.Update(device.Claim(s.table, u.TenantID, req.DeviceSN, 1))
	default:
		tx.Update(device.Claim(s.table, u.TenantID, req.DeviceSN, 1))
	}
	if err := s.addRegistrationEvent(tx, u.TenantID, reg, u.CustomerID, now); err != nil {
		return Registration{}, err
	}
	err = tx.Run(ctx)
	if failed, ok := failedConditions(err); ok {
		if failed(1) {
			return Registration{}, alreadyRegistered()
		}
		return Registration{}, apperr.E(apperr.Conflict, "registration_changed",
			"your registration was submitted again meanwhile; reload it and try again")
	}
	if err != nil {
		return Registration{}, err
	}
	own := 0
	if stillPending {
		own = 1
	}
	reg.flag(rec.ConflictFor(u.UserID, own))
	return reg, nil
}

// registrationAndDevice reads a user's registration (first says there is
// none) and the record of the serial number sn in one consistent batch
// read (a zero record when no registration named it yet).
func (s *Store) registrationAndDevice(ctx context.Context, tenantID, userID, sn string) (
	reg Registration, first bool, rec device.Device, err error,
) {
	first = true
	it := s.table.Batch("pk", "sk").Get(dynamo.Keys{storage.TenantPartition(tenantID), registrationSK(userID)},
		device.RecordKey(tenantID, sn)).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		if pk, _ := item["pk"].(*types.AttributeValueMemberS); pk != nil && pk.Value == storage.TenantPartition(tenantID) {
			err, first = dynamo.UnmarshalItem(item, &reg), false
		} else {
			err = dynamo.UnmarshalItem(item, &rec)
		}
		if err != nil {
			return Registration{}, false, device.Device{}, fmt.Errorf("read registration and device: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: neither item exists
		return Registration{}, false, device.Device{}, fmt.Errorf("read registration and device: %w", err)
	}
	return reg, first, rec, nil
}

func alreadyRegistered() error {
	return apperr.E(apperr.Conflict, "already_registered", "you are already registered")
}

// versionCondition holds a registration to the version read; version 0 is
// a registration stored before registrations had versions.
func versionCondition(version int) (string, []any) {
	if version == 0 {
		return "attribute_not_exists('version')", nil
	}
	return "'version' = ?", []any{version}
}

// registration reads a user's registration.
func (s *Store) registration(ctx context.Context, tenantID, userID string) (Registration, error) {
	var reg Registration
	err := s.table.Get("pk", storage.TenantPartition(tenantID)).Range("sk", dynamo.Equal, registrationSK(userID)).
		Consistent(true).One(ctx, &reg)
	return reg, storage.TranslateErr(err)
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

// InvitationPage is a page of a tenant's invitation codes, by code.
type InvitationPage struct {
	Invitations []Invitation `json:"invitations"`
	// NextCursor continues the list ("" at its end).
	NextCursor string `json:"next_cursor"`
}

// Invitations lists a tenant's invitation codes (revoked and used up
// ones too, as they are), limit at a time, after the code cursor names.
func (s *Store) Invitations(ctx context.Context, tenantID string, limit int, cursor string) (InvitationPage, error) {
	from := invitationSK("")
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !invitationPattern.Match(raw) {
			return InvitationPage{}, apperr.InvalidField("cursor", "a next_cursor this list returned")
		}
		from = invitationSK(string(raw))
	}
	// Codes sort after the prefix; "invitation$" is the first key past
	// every code ('$' follows '#').
	q := s.table.Get("pk", storage.TenantPartition(tenantID)).Range("sk", dynamo.Between, from, "invitation$").
		Consistent(true).Limit(limit + 1)
	var list []Invitation
	if err := q.All(ctx, &list); err != nil {
		return InvitationPage{}, fmt.Errorf("list invitations: %w", err)
	}
	if len(list) > 0 && cursor != "" && list[0].SK == from {
		list = list[1:] // Between includes the cursor's own code
	}
	page := InvitationPage{Invitations: list, NextCursor: ""}
	if len(list) > limit {
		page.Invitations = list[:limit]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(list[limit-1].Code))
	}
	if page.Invitations == nil {
		page.Invitations = []Invitation{}
	}
	return page, nil
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

// PendingRegistrations lists the tenant's registrations awaiting a
// decision (index query; the first 100), each flagged when its serial
// number is registered to another user or pending for another user too
// (one consistent batch read of the serial numbers' records).
func (s *Store) PendingRegistrations(ctx context.Context, tenantID string) ([]Registration, error) {
	var out []Registration
	err := s.table.Get("gsi1pk", pendingPK(tenantID)).Index(storage.IndexGSI1).Limit(100).All(ctx, &out)
	if err != nil {
		return nil, err
	}
	pending := []Registration{}
	var sns []string
	for _, reg := range out {
		if reg.Status == RegistrationPending { // index reads lag behind decisions
			pending = append(pending, reg)
			sns = append(sns, reg.DeviceSN)
		}
	}
	records, err := s.devices.Records(ctx, tenantID, sns)
	if err != nil {
		return nil, err
	}
	for i, reg := range pending {
		pending[i].flag(records[device.Normalize(reg.DeviceSN)].ConflictFor(reg.UserID, 1))
	}
	return pending, nil
}

// Approval is an admin's decision to approve a registration: the version
// of the registration the admin reviewed, and optionally the device's
// model, the enterprise's customer the user and the device belong to, and
// the consent to take the device from the user it is registered to.
type Approval struct {
	Version    *int   `json:"version"`
	Model      string `json:"model,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	Transfer   bool   `json:"transfer,omitempty"`
}

func (a *Approval) validate() error {
	if a.Version == nil || *a.Version < 0 {
		return apperr.InvalidField("version", "the version of the registration you reviewed, from GET /admin/registrations")
	}
	if a.CustomerID != "" && !customerPattern.MatchString(a.CustomerID) {
		return apperr.InvalidField("customer_id", "1–64 letters, digits, _ or -")
	}
	return cleanField("model", &a.Model, modelText)
}

// Approve approves the version of a pending registration the admin
// reviewed: in one transaction it registers the user and makes them the
// owner of the device record of the serial number (model, location,
// customer, approval time). A serial number registered to another user is
// refused unless the admin transfers it; if the user has submitted the
// registration again, or the device changed owner, since the admin
// looked, nothing is written.
func (s *Store) Approve(ctx context.Context, tenantID, id string, a Approval, now time.Time) error {
	if err := a.validate(); err != nil {
		return err
	}
	reg, user, err := s.pendingForDecision(ctx, tenantID, id, *a.Version)
	if err != nil {
		return err
	}
	rec, err := s.devices.Get(ctx, tenantID, reg.DeviceSN)
	if err != nil && !storage.IsNotFound(err) {
		return err
	}
	if rec.Registered() && rec.OwnerUserID != reg.UserID && !a.Transfer {
		return apperr.E(apperr.Conflict, "device_registered_to_another_user",
			"this serial number is registered to another user; approve with transfer to move the device to this user").
			WithDetails(map[string]any{"owner_user_id": rec.OwnerUserID, "owner_customer_id": rec.OwnerCustomerID})
	}
	o := device.Ownership{TenantID: tenantID, SN: reg.DeviceSN, UserID: reg.UserID, CustomerID: cmp.Or(a.CustomerID, user.CustomerID),
		Model: cmp.Or(a.Model, reg.Model, rec.Model), Address: reg.Address, Latitude: reg.Latitude, Longitude: reg.Longitude,
		At: now, PreviousOwner: rec.OwnerUserID}
	record, entry, released := device.Register(s.table, o)
	cond, args := versionCondition(*a.Version)
	profile := s.table.Update("pk", UserPartition(tenantID, id)).Range("sk", profileSK).
		Set("status", StatusRegistered).If("attribute_exists('pk')")
	if a.CustomerID != "" {
		profile = profile.Set("customer_id", a.CustomerID)
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", storage.TenantPartition(tenantID)).Range("sk", registrationSK(id)).
		Set("status", RegistrationApproved).Set("decided_at", now.Unix()).Remove("gsi1pk", "gsi1sk").
		If("'status' = ?", RegistrationPending).If(cond, args...))
	tx.Update(profile)
	tx.Update(record)
	tx.Put(entry)
	if released != nil {
		tx.Delete(released)
	}
	reg.Status, reg.DecidedAt = RegistrationApproved, now.Unix()
	if err := s.addRegistrationEvent(tx, tenantID, reg, o.CustomerID, now); err != nil {
		return err
	}
	err = tx.Run(ctx)
	if failed, ok := failedConditions(err); ok {
		switch {
		case failed(0):
			return s.explainDecision(ctx, tenantID, id)
		case failed(1):
			return apperr.Missing("the user of this registration no longer exists")
		}
		return apperr.E(apperr.Conflict, "device_changed",
			"the device of this serial number changed owner since you looked; reload the registration and decide again")
	}
	return err
}

// Rejection is an admin's decision to reject a registration: the version
// reviewed and the reason, which the user sees.
type Rejection struct {
	Version *int   `json:"version"`
	Reason  string `json:"reason"`
}

// Reject rejects the version of a pending registration the admin reviewed,
// with a reason the user sees in GET /portal/me, in one transaction: the
// registration, its serial number's count and the user (pending no more,
// unless they registered otherwise meanwhile). The user may register again.
func (s *Store) Reject(ctx context.Context, tenantID, id string, rj Rejection, now time.Time) error {
	if rj.Version == nil || *rj.Version < 0 {
		return apperr.InvalidField("version", "the version of the registration you reviewed, from GET /admin/registrations")
	}
	if err := cleanField("reason", &rj.Reason, rejectionReasonText); err != nil {
		return err
	}
	reg, _, err := s.pendingForDecision(ctx, tenantID, id, *rj.Version)
	if err != nil {
		return err
	}
	err = s.reject(ctx, tenantID, reg, rj.Reason, now, true)
	if failed, ok := failedConditions(err); ok {
		switch {
		case failed(0):
			return s.explainDecision(ctx, tenantID, id)
		case failed(2): // the user registered with an invitation meanwhile: they stay registered
			err = s.reject(ctx, tenantID, reg, rj.Reason, now, false)
			if _, ok := failedConditions(err); ok {
				return s.explainDecision(ctx, tenantID, id)
			}
		}
	}
	return err
}

// reject writes a rejection of reg as read, and when unpending is set
// turns its user from pending back to a guest.
func (s *Store) reject(ctx context.Context, tenantID string, reg Registration, reason string, now time.Time, unpending bool) error {
	cond, args := versionCondition(reg.Version)
	tx := s.db.Dynamo.WriteTx()
	tx.Update(s.table.Update("pk", storage.TenantPartition(tenantID)).Range("sk", registrationSK(reg.UserID)).
		Set("status", RegistrationRejected).Set("reason", reason).Set("decided_at", now.Unix()).Remove("gsi1pk", "gsi1sk").
		If("'status' = ?", RegistrationPending).If(cond, args...))
	tx.Update(device.Claim(s.table, tenantID, reg.DeviceSN, -1))
	if unpending {
		tx.Update(s.table.Update("pk", UserPartition(tenantID, reg.UserID)).Range("sk", profileSK).
			Set("status", StatusGuest).Remove("device_sn").If("'status' = ?", StatusPending))
	}
	reg.Status, reg.Reason, reg.DecidedAt = RegistrationRejected, reason, now.Unix()
	if err := s.addRegistrationEvent(tx, tenantID, reg, "", now); err != nil {
		return err
	}
	return tx.Run(ctx)
}

// pendingForDecision reads a registration and its user in one consistent
// batch read for an admin's decision on the version they reviewed: a
// registration that is not pending is not found, another version is a
// conflict.
func (s *Store) pendingForDecision(ctx context.Context, tenantID, id string, version int) (Registration, User, error) {
	if !userIDPattern.MatchString(id) {
		return Registration{}, User{}, apperr.Missing("no pending registration with this id")
	}
	var reg Registration
	var user User
	found := false
	it := s.table.Batch("pk", "sk").Get(dynamo.Keys{storage.TenantPartition(tenantID), registrationSK(id)},
		ProfileKey(tenantID, id)).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		if sk, _ := item["sk"].(*types.AttributeValueMemberS); sk != nil && sk.Value == profileSK {
			err = dynamo.UnmarshalItem(item, &user)
		} else {
			err, found = dynamo.UnmarshalItem(item, &reg), true
		}
		if err != nil {
			return Registration{}, User{}, fmt.Errorf("read registration: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return Registration{}, User{}, fmt.Errorf("read registration: %w", err)
	}
	if !found || reg.Status != RegistrationPending {
		return Registration{}, User{}, apperr.Missing("no pending registration with this id")
	}
	if reg.Version != version {
		return Registration{}, User{}, registrationChanged()
	}
	return reg, user, nil
}

func registrationChanged() error {
	return apperr.E(apperr.Conflict, "registration_changed",
		"the user submitted this registration again since you reviewed it; reload it and review it again")
}

// explainDecision tells why the registration's condition refused a
// decision: it is not pending (or not the tenant's), or the user submitted
// it again.
func (s *Store) explainDecision(ctx context.Context, tenantID, id string) error {
	reg, err := s.registration(ctx, tenantID, id)
	if storage.IsNotFound(err) || (err == nil && reg.Status != RegistrationPending) {
		return apperr.Missing("no pending registration with this id")
	}
	if err != nil {
		return err
	}
	return registrationChanged()
}
