package terminaluser

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/device"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
)

// Status is a terminal user's registration state.
type Status string

// Registration states of a terminal user.
const (
	StatusGuest      Status = "guest"
	StatusPending    Status = "pending"
	StatusRegistered Status = "registered"
)

// User is a terminal user of one tenant, identified by the mini program's
// openid. Its id is derived from (tenant, appid, openid), so a login is one
// idempotent upsert, and each guest is their own user.
type User struct {
	PK         string `dynamo:"pk,hash" json:"-"`
	SK         string `dynamo:"sk,range" json:"-"`
	TenantID   string `dynamo:"tenant_id" json:"tenant_id"`
	UserID     string `dynamo:"user_id" json:"user_id"`
	AppID      string `dynamo:"appid" json:"-"`
	OpenID     string `dynamo:"openid" json:"-"`
	UnionID    string `dynamo:"unionid,omitempty" json:"-"`
	Status     Status `dynamo:"status" json:"status"`
	CustomerID string `dynamo:"customer_id,omitempty" json:"customer_id,omitempty"`
	DeviceSN   string `dynamo:"device_sn,omitempty" json:"device_sn,omitempty"`
	CreatedAt  int64  `dynamo:"created_at" json:"created_at"`
	LastLogin  int64  `dynamo:"last_login" json:"last_login"`
	// EnvVersion is the mini program version the user last signed in
	// with (develop, trial, release).
	EnvVersion string `dynamo:"env_version,omitempty" json:"-"`
	// LinkedUserID is the user of another of the tenant's apps with the
	// same unionid whose customer this user became (see LinkByUnionID).
	LinkedUserID string `dynamo:"linked_user_id,omitempty" json:"linked_user_id,omitempty"`
}

// Mini program versions a user signs in with.
const (
	EnvDevelop = "develop"
	EnvTrial   = "trial"
	EnvRelease = "release"
)

// ValidEnvVersion reports whether v is a version a login may name ("" is
// release).
func ValidEnvVersion(v string) bool {
	return v == "" || v == EnvDevelop || v == EnvTrial || v == EnvRelease
}

// Login is what a sign-in records of a user.
type Login struct {
	TenantID, AppID, OpenID, UnionID string
	EnvVersion                       string
}

// UserID derives the user id of an openid within a tenant.
func UserID(tenantID, appid, openid string) string {
	sum := sha256.Sum256([]byte(tenantID + "\x00" + appid + "\x00" + openid))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// UserPartition is the partition of a terminal user's items (profile, and
// the work-order records kept per user).
func UserPartition(tenantID, userID string) string {
	return storage.TenantPartition(tenantID) + "#user#" + userID
}

// profileSK is the sort key of a user's profile item.
const profileSK = "profile"

// ProfileKey is the key of a user's profile item in the service table, for
// callers that read it in a batch with their own items.
func ProfileKey(tenantID, userID string) dynamo.Keys {
	return dynamo.Keys{UserPartition(tenantID, userID), profileSK}
}

// Store holds terminal users, invitations and registrations in the service
// table; a registration's decision also writes its device's record.
type Store struct {
	db      *storage.DB
	table   dynamo.Table
	devices *device.Store
}

// NewStore returns the store of db.
func NewStore(db *storage.DB) *Store {
	return &Store{db: db, table: db.Service, devices: device.NewStore(db)}
}

// Upsert records a login: it creates the user as a guest the first time
// and refreshes the login time and unionid afterwards.
func (s *Store) Upsert(ctx context.Context, in Login, now time.Time) (User, error) {
	id := UserID(in.TenantID, in.AppID, in.OpenID)
	env := in.EnvVersion
	if env == "" {
		env = EnvRelease
	}
	u := s.table.Update("pk", UserPartition(in.TenantID, id)).Range("sk", profileSK).
		Set("tenant_id", in.TenantID).Set("user_id", id).Set("appid", in.AppID).Set("openid", in.OpenID).
		Set("last_login", now.Unix()).Set("env_version", env).SetIfNotExists("status", StatusGuest).
		SetIfNotExists("created_at", now.Unix())
	if in.UnionID != "" {
		u = u.Set("unionid", in.UnionID)
	}
	var out User
	if err := u.Value(ctx, &out); err != nil {
		return User{}, fmt.Errorf("upsert user: %w", err)
	}
	return out, nil
}

// Get returns a user of the tenant.
func (s *Store) Get(ctx context.Context, tenantID, userID string) (User, error) {
	var u User
	err := s.table.Get("pk", UserPartition(tenantID, userID)).Range("sk", dynamo.Equal, profileSK).Consistent(true).One(ctx, &u)
	return u, storage.TranslateErr(err)
}

// GetWithSettings reads a user and the tenant's portal settings (the
// defaults when none are saved) in one consistent batch read: what every
// request of a signed-in user needs first. A missing user is
// storage.ErrNotFound.
func (s *Store) GetWithSettings(ctx context.Context, tenantID, userID string) (User, tenant.Settings, error) {
	u, st, _, _, err := s.read(ctx, tenantID, userID, false, nil)
	return u, st, err
}

// Me reads what the user's own page shows in one consistent batch read:
// the user, the tenant's settings and the user's serial-number
// registration (nil when there is none). A missing user is
// storage.ErrNotFound.
func (s *Store) Me(ctx context.Context, tenantID, userID string) (User, tenant.Settings, *Registration, error) {
	u, st, reg, _, err := s.read(ctx, tenantID, userID, true, nil)
	return u, st, reg, err
}

// MeWith reads what Me reads and the items more names, in the same batch;
// it returns the items of more that exist (the profile too, for readers
// that decode it with them).
func (s *Store) MeWith(ctx context.Context, tenantID, userID string, more []dynamo.Keyed) (
	User, tenant.Settings, *Registration, []dynamo.Item, error,
) {
	return s.read(ctx, tenantID, userID, true, more)
}

func (s *Store) read(ctx context.Context, tenantID, userID string, withRegistration bool, more []dynamo.Keyed) (
	User, tenant.Settings, *Registration, []dynamo.Item, error,
) {
	u, st, found := User{}, tenant.Defaults(), false
	var reg *Registration
	var extra []dynamo.Item
	keys := []dynamo.Keyed{ProfileKey(tenantID, userID), tenant.SettingsKey(tenantID)}
	if withRegistration {
		keys = append(keys, dynamo.Keys{storage.TenantPartition(tenantID), registrationSK(userID)})
	}
	settingsPK, settingsSK := settingsKeyParts(tenantID)
	for _, k := range more {
		if !slices.ContainsFunc(keys, func(have dynamo.Keyed) bool { return sameKey(have, k) }) {
			keys = append(keys, k)
		}
	}
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		pk, _ := item["pk"].(*types.AttributeValueMemberS)
		sk, _ := item["sk"].(*types.AttributeValueMemberS)
		switch {
		case pk == nil || sk == nil:
		case sk.Value == profileSK && pk.Value == UserPartition(tenantID, userID):
			err, found = dynamo.UnmarshalItem(item, &u), true
			extra = append(extra, item)
		case withRegistration && pk.Value == storage.TenantPartition(tenantID) && sk.Value == registrationSK(userID):
			reg = new(Registration)
			err = dynamo.UnmarshalItem(item, reg)
		case pk.Value == settingsPK && sk.Value == settingsSK:
			st, err = tenant.SettingsFromItem(item)
			extra = append(extra, item)
		default:
			extra = append(extra, item)
		}
		if err != nil {
			return User{}, tenant.Settings{}, nil, nil, fmt.Errorf("read user and settings: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: no item exists
		return User{}, tenant.Settings{}, nil, nil, fmt.Errorf("read user and settings: %w", err)
	}
	if !found {
		return User{}, tenant.Settings{}, nil, nil, storage.ErrNotFound
	}
	return u, st, reg, extra, nil
}

func settingsKeyParts(tenantID string) (string, string) {
	k := tenant.SettingsKey(tenantID)
	return k[0].(string), k[1].(string)
}

// sameKey reports whether a and b name the same item.
func sameKey(a, b dynamo.Keyed) bool {
	return a.HashKey() == b.HashKey() && a.RangeKey() == b.RangeKey()
}
