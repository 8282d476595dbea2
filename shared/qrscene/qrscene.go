// Package qrscene makes and reads the signed scenes of the QR codes that
// open a tenant's portal, optionally for one device.
package qrscene

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

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/storage"
)

// A QR scene is at most 32 characters from a limited alphabet, so it cannot
// carry a tenant id and a serial number. It carries a short random id that
// names a scene item (tenant, optional device) plus a truncated HMAC, so a
// scene cannot be guessed or altered: "<10 chars id>.<11 chars mac>".

// MaxLen is the longest scene WeChat's wxacode.getUnlimited takes; longer
// input is never one of ours.
// https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/qrcode-link/qr-code/getUnlimitedQRCode.html
const MaxLen = 32

// PortalPage is the mini program page every QR code opens (the public and
// the enterprise mini programs run the same code template).
const PortalPage = "pages/portal/index"

// Scene is what a QR code opens: a tenant's portal, optionally for a device.
type Scene struct {
	PK       string `dynamo:"pk,hash" json:"-"`
	SK       string `dynamo:"sk,range" json:"-"`
	TenantID string `dynamo:"tenant_id" json:"tenant_id"`
	DeviceSN string `dynamo:"device_sn,omitempty" json:"device_sn,omitempty"`
}

// ErrInvalid says the scene is malformed, forged or unknown.
var ErrInvalid = errors.New("invalid QR scene")

var b64 = base64.RawURLEncoding

// Codec makes and reads scenes, storing what each names in table.
type Codec struct {
	table dynamo.Table
	keys  config.KeySource
}

// NewCodec returns a codec over table signing with keys.
func NewCodec(table dynamo.Table, keys config.KeySource) *Codec {
	return &Codec{table: table, keys: keys}
}

// errMAC says no key of the ring made the scene's MAC.
var errMAC = fmt.Errorf("%w: MAC mismatch", ErrInvalid)

func sceneMAC(key []byte, id string) string {
	m := hmac.New(sha256.New, append([]byte("scene:"), key...))
	m.Write([]byte(id))
	return b64.EncodeToString(m.Sum(nil))[:11]
}

// Encode stores a scene for tenant (and device, "" for the tenant's
// portal) and returns the string to put in the QR code (22 characters).
func (s *Codec) Encode(ctx context.Context, tenantID, deviceSN string) (string, error) {
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := b64.EncodeToString(raw[:])[:10]
	keys, err := s.keys.Keys(ctx)
	if err != nil {
		return "", err
	}
	mac := sceneMAC(keys.Current, id)
	item := Scene{PK: "scene#" + id, SK: "scene", TenantID: tenantID, DeviceSN: deviceSN}
	if err := s.table.Put(item).If("attribute_not_exists('pk')").Run(ctx); err != nil {
		return "", fmt.Errorf("store scene: %w", err)
	}
	return id + "." + mac, nil
}

// Decode verifies a scene from a QR code and returns what it opens.
func (s *Codec) Decode(ctx context.Context, scene string) (Scene, error) {
	id, mac, ok := strings.Cut(scene, ".")
	if len(scene) > MaxLen || !ok || len(id) != 10 || len(mac) != 11 {
		return Scene{}, ErrInvalid
	}
	_, err := config.Verify(ctx, s.keys, func(keys config.KeyRing) (bool, error) {
		for _, key := range keys.All() {
			if hmac.Equal([]byte(mac), []byte(sceneMAC(key, id))) {
				return true, nil
			}
		}
		return false, errMAC
	}, func(err error) bool { return errors.Is(err, errMAC) })
	if errors.Is(err, errMAC) {
		return Scene{}, ErrInvalid
	}
	if err != nil {
		return Scene{}, err
	}
	var sc Scene
	err = s.table.Get("pk", "scene#"+id).Range("sk", dynamo.Equal, "scene").One(ctx, &sc)
	if err != nil {
		if errors.Is(storage.TranslateErr(err), storage.ErrNotFound) {
			return Scene{}, ErrInvalid
		}
		return Scene{}, err
	}
	return sc, nil
}

// FromDeps builds a function's codec: scenes stored in the service table,
// signed with the scene signing key. Printed QR codes live for years, so
// the key is its own: rotating the session key never voids them.
func FromDeps(d *app.Deps) *Codec {
	return NewCodec(d.DB.Service, config.KeySource{Secrets: d.Secrets, Name: config.SecretSceneSigningKey})
}
