package tokens

import (
	"context"
	"fmt"

	"wxchannel/shared/app"
	"wxchannel/shared/attrcrypt"
)

// The attributes of a token item that hold credentials. Each is sealed on
// every write and opened on every read, bound to its item and attribute
// (docs/tokens.md, "Encryption at rest").
const (
	attrAccessToken  = "access_token"
	attrRefreshToken = "refresh_token"
)

// sealerFromDeps builds the sealer of a function's tokens: data keys of the
// KMS key TOKEN_KMS_KEY_ID names (AWS), else the TOKEN_ENCRYPTION_KEY
// secret (local runs). It reads no secret and calls nothing until the first
// seal or open.
func sealerFromDeps(d *app.Deps) *attrcrypt.Sealer {
	return attrcrypt.FromConfig(d.Config, d.Secrets, d.Now)
}

// binding ties a sealed value to its token item and attribute.
func binding(pk, attribute string) attrcrypt.Binding {
	return attrcrypt.Binding{Item: pk + "|" + skToken, Attribute: attribute}
}

// seal returns it as the table holds it.
func (m *Manager) seal(ctx context.Context, it tokenItem) (storedToken, error) {
	st := storedToken(it)
	var err error
	if st.AccessToken, err = m.sealer.Seal(ctx, it.AccessToken, binding(it.PK, attrAccessToken)); err != nil {
		return storedToken{}, fmt.Errorf("%s token of %s: %w", it.Kind, it.AppID, err)
	}
	if st.RefreshToken, err = m.sealer.Seal(ctx, it.RefreshToken, binding(it.PK, attrRefreshToken)); err != nil {
		return storedToken{}, fmt.Errorf("%s token of %s: %w", it.Kind, it.AppID, err)
	}
	return st, nil
}

// open returns the tokens of a stored item. A value written before
// encryption is returned as it is, and sealed by the next write. The
// tokens of an authorizer that must authorize again, or revoked, are never
// used (a new authorization replaces them) and stay sealed: they may be
// under a local key retired since.
func (m *Manager) open(ctx context.Context, st storedToken) (tokenItem, error) {
	it := tokenItem(st)
	if st.Status == StatusNeedsReauth || st.Status == StatusUnauthorized {
		it.AccessToken, it.RefreshToken = "", ""
		return it, nil
	}
	var err error
	if it.AccessToken, err = m.sealer.Open(ctx, st.AccessToken, binding(st.PK, attrAccessToken)); err != nil {
		return tokenItem{}, fmt.Errorf("%s token of %s: %w", st.Kind, st.AppID, err)
	}
	if it.RefreshToken, err = m.sealer.Open(ctx, st.RefreshToken, binding(st.PK, attrRefreshToken)); err != nil {
		return tokenItem{}, fmt.Errorf("%s token of %s: %w", st.Kind, st.AppID, err)
	}
	return it, nil
}

// readToken reads and opens the token item of pk (storage.ErrNotFound when
// there is none).
func (m *Manager) readToken(ctx context.Context, pk string) (tokenItem, error) {
	st, err := m.store.getToken(ctx, pk)
	if err != nil {
		return tokenItem{}, err
	}
	return m.open(ctx, st)
}

// storeRefreshed seals next and writes it under the lease id holds, if
// the stored version is still expected (lease.go).
func (m *Manager) storeRefreshed(ctx context.Context, next tokenItem, expected int64, id string) error {
	st, err := m.seal(ctx, next)
	if err != nil {
		return err
	}
	return m.store.putRefreshed(ctx, st, expected, id)
}
