package terminaluser

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
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
func (s *Store) Upsert(ctx context.Context, tenantID, appid, openid, unionid string, now time.Time) (User, error) {
	id := UserID(tenantID, appid, openid)
	u := s.table.Update("pk", UserPartition(tenantID, id)).Range("sk", profileSK).
		Set("tenant_id", tenantID).Set("user_id", id).Set("appid", appid).Set("openid", openid).
		Set("last_login", now.Unix()).SetIfNotExists("status", StatusGuest).SetIfNotExists("created_at", now.Unix())
	if unionid != "" {
		u = u.Set("unionid", unionid)
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
	u, st, _, err := s.read(ctx, tenantID, userID, false)
	return u, st, err
}

// Me reads what the user's own page shows in one consistent batch read:
// the user, the tenant's settings and the user's serial-number
// registration (nil when there is none). A missing user is
// storage.ErrNotFound.
func (s *Store) Me(ctx context.Context, tenantID, userID string) (User, tenant.Settings, *Registration, error) {
	return s.read(ctx, tenantID, userID, true)
}

func (s *Store) read(ctx context.Context, tenantID, userID string, withRegistration bool) (
	User, tenant.Settings, *Registration, error,
) {
	u, st, found := User{}, tenant.Defaults(), false
	var reg *Registration
	keys := []dynamo.Keyed{ProfileKey(tenantID, userID), tenant.SettingsKey(tenantID)}
	if withRegistration {
		keys = append(keys, dynamo.Keys{storage.TenantPartition(tenantID), registrationSK(userID)})
	}
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		var err error
		sk, _ := item["sk"].(*types.AttributeValueMemberS)
		switch {
		case sk != nil && sk.Value == profileSK:
			err, found = dynamo.UnmarshalItem(item, &u), true
		case sk != nil && strings.HasPrefix(sk.Value, "registration#"):
			reg = new(Registration)
			err = dynamo.UnmarshalItem(item, reg)
		default:
			st, err = tenant.SettingsFromItem(item)
		}
		if err != nil {
			return User{}, tenant.Settings{}, nil, fmt.Errorf("read user and settings: %w", err)
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: no item exists
		return User{}, tenant.Settings{}, nil, fmt.Errorf("read user and settings: %w", err)
	}
	if !found {
		return User{}, tenant.Settings{}, nil, storage.ErrNotFound
	}
	return u, st, reg, nil
}
