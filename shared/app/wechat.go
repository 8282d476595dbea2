package app

import (
	"context"
	"fmt"
	"sync"

	"wxchannel/shared/config"
	"wxchannel/shared/wechat"
	"wxchannel/shared/wxcrypt"
)

// lazyParts are built on first use, because they need secrets: building
// them at init would put a Secrets Manager call on every cold start.
type lazyParts struct {
	mu      sync.Mutex
	wechat  *wechat.Client
	crypter *wxcrypt.Crypter
}

// WeChat returns the WeChat API client, reading the component secret on
// first use.
func (d *Deps) WeChat(ctx context.Context) (*wechat.Client, error) {
	d.lazy.mu.Lock()
	defer d.lazy.mu.Unlock()
	if d.lazy.wechat != nil {
		return d.lazy.wechat, nil
	}
	if err := d.Config.Require(config.EnvComponentAppID); err != nil {
		return nil, err
	}
	secret, err := d.Secrets.Get(ctx, config.SecretComponentSecret)
	if err != nil {
		return nil, fmt.Errorf("wechat client: %w", err)
	}
	d.lazy.wechat = wechat.New(wechat.Config{
		BaseURL: d.Config.WeChatBaseURL, ComponentAppID: d.Config.ComponentAppID, ComponentSecret: secret,
		HTTPClient: d.HTTPClient, Logger: d.Log,
	})
	return d.lazy.wechat, nil
}

// Crypter returns the message crypto for WeChat pushes (current and previous
// EncodingAESKey), reading the secrets on first use.
func (d *Deps) Crypter(ctx context.Context) (*wxcrypt.Crypter, error) {
	d.lazy.mu.Lock()
	defer d.lazy.mu.Unlock()
	if d.lazy.crypter != nil {
		return d.lazy.crypter, nil
	}
	if err := d.Config.Require(config.EnvComponentAppID); err != nil {
		return nil, err
	}
	token, err := d.Secrets.Get(ctx, config.SecretComponentToken)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	key, err := d.Secrets.Get(ctx, config.SecretEncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	previous, _, err := d.Secrets.Lookup(ctx, config.SecretPreviousEncodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	c, err := wxcrypt.New(token, key, d.Config.ComponentAppID, previous)
	if err != nil {
		return nil, fmt.Errorf("push crypto: %w", err)
	}
	d.lazy.crypter = c
	return c, nil
}
