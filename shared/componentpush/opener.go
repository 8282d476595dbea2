package componentpush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/wxcrypt"
)

// Opener verifies and decrypts WeChat's pushes (to either push URL) with
// the platform's message Token and EncodingAESKey, current and previous,
// read from the secrets when a push first needs them. When a push fails to
// verify or decrypt, the secrets are read again once (the operator may have
// rotated them since), so a warm instance follows a rotation at once.
type Opener struct {
	secrets        config.Secrets
	componentAppID string
	now            func() time.Time

	mu      sync.Mutex
	crypter *wxcrypt.Crypter
	from    [4]string // the secret values crypter was built from
}

// NewOpener returns the opener of the platform componentAppID.
func NewOpener(secrets config.Secrets, componentAppID string, now func() time.Time) *Opener {
	return &Opener{secrets: secrets, componentAppID: componentAppID, now: now}
}

// Crypter returns the message crypto of the current secrets.
func (o *Opener) Crypter(ctx context.Context) (*wxcrypt.Crypter, error) {
	if o.componentAppID == "" {
		return nil, &config.MissingError{Names: []string{config.EnvComponentAppID}}
	}
	var from [4]string
	var err error
	for i, name := range []string{config.SecretComponentToken, config.SecretEncodingAESKey} {
		if from[i], err = o.secrets.Get(ctx, name); err != nil {
			return nil, fmt.Errorf("push crypto: %w", err)
		}
	}
	for i, name := range []string{config.SecretComponentToken + config.PreviousSuffix, config.SecretPreviousEncodingAESKey} {
		if from[2+i], _, err = o.secrets.Lookup(ctx, name); err != nil {
			return nil, fmt.Errorf("push crypto: %w", err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.crypter != nil && o.from == from {
		return o.crypter, nil
	}
	c, err := wxcrypt.New(from[0], from[1], o.componentAppID, from[3])
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	o.crypter, o.from = c.WithPreviousToken(from[2]), from
	return o.crypter, nil
}

// Open verifies and decrypts a push: body limit, signatures, decryption,
// appid, and timestamp freshness. Errors are *apperr.Error of the kind to
// answer.
func (o *Opener) Open(r *http.Request) ([]byte, wxcrypt.PushParams, error) {
	p := wxcrypt.ParsePushParams(r.URL.Query())
	body, err := io.ReadAll(io.LimitReader(r.Body, wxcrypt.MaxPushBytes+1))
	if err != nil {
		return nil, p, apperr.BadRequest("unreadable_body", "the push body could not be read")
	}
	if len(body) > wxcrypt.MaxPushBytes {
		return nil, p, apperr.Errorf(apperr.TooLarge, "body_too_large", "a push is at most %d bytes", wxcrypt.MaxPushBytes)
	}
	if p.Signature == "" || p.MsgSignature == "" || p.Timestamp == "" || p.Nonce == "" {
		return nil, p, apperr.E(apperr.Unauthenticated, "unsigned_push", "signature, msg_signature, timestamp and nonce are required")
	}
	ts, err := strconv.ParseInt(p.Timestamp, 10, 64)
	if err != nil {
		return nil, p, apperr.BadRequest("bad_timestamp", "timestamp must be epoch seconds")
	}
	if skew := o.now().Sub(time.Unix(ts, 0)); skew > MaxSkew || skew < -MaxSkew {
		return nil, p, apperr.E(apperr.Unauthenticated, "stale_push", "the push timestamp is outside the accepted window")
	}
	inner, err := o.open(r.Context(), p, body)
	switch {
	case errors.Is(err, wxcrypt.ErrSignature):
		return nil, p, apperr.E(apperr.Unauthenticated, "invalid_signature", "the push signature does not verify")
	case errors.Is(err, wxcrypt.ErrAppID):
		return nil, p, apperr.E(apperr.Forbidden, "wrong_appid", "the push is not addressed to this platform")
	case err != nil:
		return nil, p, apperr.BadRequest("malformed_push", "the push could not be decrypted")
	}
	return inner, p, nil
}

// open verifies and decrypts with the current secrets, reading them again
// once when they fail.
func (o *Opener) open(ctx context.Context, p wxcrypt.PushParams, body []byte) ([]byte, error) {
	c, err := o.Crypter(ctx)
	if err != nil {
		return nil, err
	}
	inner, err := c.Open(p, body)
	if err == nil || (!errors.Is(err, wxcrypt.ErrSignature) && !errors.Is(err, wxcrypt.ErrMalformed)) {
		return inner, err
	}
	changed, rerr := o.secrets.Refresh(ctx, config.SecretComponentToken)
	if rerr != nil || !changed {
		return nil, err
	}
	if c, rerr = o.Crypter(ctx); rerr != nil {
		return nil, rerr
	}
	return c.Open(p, body)
}
