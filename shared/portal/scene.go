package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/storage"
)

// A QR scene is at most 32 characters from a limited alphabet, so it cannot
// carry a tenant id and a serial number. It carries a short random id that
// names a scene item (tenant, optional device) plus a truncated HMAC, so a
// scene cannot be guessed or altered: "<10 chars id>.<11 chars mac>".

// Scene is what a QR code opens: a tenant's portal, optionally for a device.
type Scene struct {
	PK       string `dynamo:"pk,hash" json:"-"`
	SK       string `dynamo:"sk,range" json:"-"`
	TenantID string `dynamo:"tenant_id" json:"tenant_id"`
	DeviceSN string `dynamo:"device_sn,omitempty" json:"device_sn,omitempty"`
}

// ErrBadScene: the scene is malformed, forged or unknown.
var ErrBadScene = errors.New("invalid QR scene")

var b64 = base64.RawURLEncoding

func (s *Sessions) sceneMAC(ctx context.Context, id string) (string, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, append([]byte("scene:"), key...))
	m.Write([]byte(id))
	return b64.EncodeToString(m.Sum(nil))[:11], nil
}

// EncodeScene stores a scene for tenant (and device, "" for the tenant's
// portal) and returns the string to put in the QR code (22 characters).
func (s *Sessions) EncodeScene(ctx context.Context, tenantID, deviceSN string) (string, error) {
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := b64.EncodeToString(raw[:])[:10]
	mac, err := s.sceneMAC(ctx, id)
	if err != nil {
		return "", err
	}
	item := Scene{PK: "scene#" + id, SK: "scene", TenantID: tenantID, DeviceSN: deviceSN}
	if err := s.d.DB.Service.Put(item).If("attribute_not_exists('pk')").Run(ctx); err != nil {
		return "", fmt.Errorf("store scene: %w", err)
	}
	return id + "." + mac, nil
}

// DecodeScene verifies a scene from a QR code and returns what it opens.
func (s *Sessions) DecodeScene(ctx context.Context, scene string) (Scene, error) {
	id, mac, ok := strings.Cut(scene, ".")
	if !ok || len(id) != 10 || len(mac) != 11 {
		return Scene{}, ErrBadScene
	}
	want, err := s.sceneMAC(ctx, id)
	if err != nil {
		return Scene{}, err
	}
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return Scene{}, ErrBadScene
	}
	var sc Scene
	err = s.d.DB.Service.Get("pk", "scene#"+id).Range("sk", dynamo.Equal, "scene").One(ctx, &sc)
	if err != nil {
		if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) {
			return Scene{}, ErrBadScene
		}
		return Scene{}, err
	}
	return sc, nil
}
