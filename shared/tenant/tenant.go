// Package tenant holds each tenant's portal settings: how terminal users may
// get in (guest, invitation codes, equipment registration) and the channel
// options the admin chooses.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
	"wxchannel/shared/textfield"
)

// Defaults applied when a tenant has saved no settings.
const (
	DefaultMaxCheckinDistanceM = 500
	MaxDisplayNameLen          = 40
	MaxLocationReasonLen       = 300
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// ValidID reports whether id is a well-formed tenant id.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Settings are a tenant's portal and channel settings.
type Settings struct {
	DisplayName string `dynamo:"display_name" json:"display_name"`
	// GuestAccess lets unregistered users submit work orders; on unless the
	// tenant turns it off. Each guest is their own user.
	GuestAccess bool `dynamo:"guest_access" json:"guest_access"`
	// InvitationCodes enables registration with a code that binds the user
	// to one of the enterprise's customers.
	InvitationCodes bool `dynamo:"invitation_codes" json:"invitation_codes"`
	// SerialRegistration enables registration by equipment serial number and
	// the device's location, approved by the tenant.
	SerialRegistration  bool   `dynamo:"serial_registration" json:"serial_registration"`
	MaxCheckinDistanceM int    `dynamo:"max_checkin_distance_m" json:"max_checkin_distance_m"`
	AutoRelease         bool   `dynamo:"auto_release" json:"auto_release"`
	LocationReason      string `dynamo:"location_reason" json:"location_reason"`
	// RetirePublicQR stops the public mini program's QR codes of a tenant
	// that moved to its own mini program: logging in with one is refused
	// (403 public_qr_retired). Off (the codes keep working) unless set.
	RetirePublicQR bool `dynamo:"retire_public_qr" json:"retire_public_qr"`
	// FieldWork: engineers' visits and mileage (fieldwork.go).
	FieldWork
	// Dispatch: the work-order desk's SLAs and rules (dispatch.go).
	Dispatch
	// Version increases with every saved change (optimistic concurrency).
	Version int `dynamo:"version" json:"version"`
}

// Defaults returns the settings of a tenant that saved none.
func Defaults() Settings {
	return Settings{GuestAccess: true, MaxCheckinDistanceM: DefaultMaxCheckinDistanceM,
		LocationReason: "To locate the equipment that needs service and send the nearest engineer.", FieldWork: DefaultFieldWork()}
}

// normalized returns stored settings as they apply today: fields added
// since they were saved take their defaults, and a check-in radius saved
// before the limit was lowered is held to it.
func (s Settings) normalized() Settings {
	s.FieldWork = s.withDefaults()
	if s.MaxCheckinDistanceM <= 0 {
		s.MaxCheckinDistanceM = DefaultMaxCheckinDistanceM
	}
	s.MaxCheckinDistanceM = min(s.MaxCheckinDistanceM, MaxCheckinDistanceLimitM)
	return s
}

// Validate checks settings received from an admin and leaves the display
// name and the location reason cleaned as they are stored.
func (s *Settings) Validate() error {
	name, err := textfield.Line(0, MaxDisplayNameLen).Clean(s.DisplayName)
	if err != nil {
		return fmt.Errorf("display_name: %w", err)
	}
	if s.MaxCheckinDistanceM < minCheckinOrCheckoutDistanceM || s.MaxCheckinDistanceM > MaxCheckinDistanceLimitM {
		return fmt.Errorf("max_checkin_distance_m: between %d and %d", minCheckinOrCheckoutDistanceM, MaxCheckinDistanceLimitM)
	}
	if err := s.validateFieldWork(); err != nil {
		return err
	}
	if err := s.validateDispatch(); err != nil {
		return err
	}
	reason, err := textfield.Line(0, MaxLocationReasonLen).Clean(s.LocationReason)
	if err != nil {
		return fmt.Errorf("location_reason: %w", err)
	}
	s.DisplayName, s.LocationReason = name, reason
	return nil
}

type settingsItem struct {
	PK string `dynamo:"pk,hash"`
	SK string `dynamo:"sk,range"`
	Settings
}

// Store reads and writes settings in the service table.
type Store struct{ table dynamo.Table }

// NewStore returns a store on db's service table.
func NewStore(db *storage.DB) *Store { return &Store{table: db.Service} }

func settingsKey(tenantID string) (string, string) { return "tenant#" + tenantID, "settings" }

// SettingsKey is the key of a tenant's settings item in the service table,
// for callers that read it in a batch with their own items.
func SettingsKey(tenantID string) dynamo.Keys {
	pk, sk := settingsKey(tenantID)
	return dynamo.Keys{pk, sk}
}

// SettingsFromItem decodes a settings item read in a batch.
func SettingsFromItem(item dynamo.Item) (Settings, error) {
	var it settingsItem
	if err := dynamo.UnmarshalItem(item, &it); err != nil {
		return Settings{}, fmt.Errorf("decode tenant settings: %w", err)
	}
	return it.normalized(), nil
}

// Settings returns the tenant's settings, or the defaults when none are saved.
func (s *Store) Settings(ctx context.Context, tenantID string) (Settings, error) {
	pk, sk := settingsKey(tenantID)
	var item settingsItem
	err := s.table.Get("pk", pk).Range("sk", dynamo.Equal, sk).Consistent(true).One(ctx, &item)
	if errors.Is(err, dynamo.ErrNotFound) {
		return Defaults(), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("get tenant settings: %w", err)
	}
	return item.normalized(), nil
}

// PutSettings saves st if st.Version is the stored version (0 for a tenant
// that saved none) and returns the saved settings with the next version. A
// concurrent change yields storage.ErrConflict.
func (s *Store) PutSettings(ctx context.Context, tenantID string, st Settings) (Settings, error) {
	if err := st.Validate(); err != nil {
		return Settings{}, err
	}
	pk, sk := settingsKey(tenantID)
	expected := st.Version
	st.Version++
	put := s.table.Put(settingsItem{PK: pk, SK: sk, Settings: st})
	if expected == 0 {
		put = put.If("attribute_not_exists(pk)")
	} else {
		put = put.If("version = ?", expected)
	}
	if err := put.Run(ctx); err != nil {
		return Settings{}, fmt.Errorf("put tenant settings: %w", storage.TranslateErr(err))
	}
	return st, nil
}
