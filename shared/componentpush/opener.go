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
// read from the secrets when a push first needs them.
type Opener struct {
	secrets        config.Secrets
	componentAppID string
	now            func() time.Time

	mu      sync.Mutex
	crypter *wxcrypt.Crypter
}

// NewOpener returns the opener of the platform componentAppID.
func NewOpener(secrets config.Secrets, componentAppID string, now func() time.Time) *Opener {
	return &Opener{secrets: secrets, componentAppID: componentAppID, now: now}
}

// Crypter returns the message crypto, reading the secrets on first use.
func (o *Opener) Crypter(ctx context.Context) (*wxcrypt.Crypter, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.crypter != nil {
		return o.crypter, nil
	}
	if o.componentAppID == "" {
		return nil, &config.MissingError{Names: []string{config.EnvComponentAppID}}
	}
	token, err := o.secrets.Get(ctx, config.SecretComponentToken)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	key, err := o.secrets.Get(ctx, config.SecretEncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	previous, _, err := o.secrets.Lookup(ctx, config.SecretPreviousEncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	c, err := wxcrypt.New(token, key, o.componentAppID, previous)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	o.crypter = c
	return c, nil
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
	c, err := o.Crypter(r.Context())
	if err != nil {
		return nil, p, err
	}
	inner, err := c.Open(p, body)
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
