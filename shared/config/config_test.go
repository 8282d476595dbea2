package config_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/config"
)

func TestFromEnv(t *testing.T) {
	base := map[string]string{config.EnvPlatformTable: "p", config.EnvServiceTable: "s"}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		maps.Copy(m, base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name    string
		getenv  func(string) string
		wantErr string
	}{
		{"minimal", with(), ""},
		{"missing both tables", func(string) string { return "" }, "missing configuration: PLATFORM_TABLE, SERVICE_TABLE"},
		{"missing one table", with(config.EnvServiceTable, ""), "missing configuration: SERVICE_TABLE"},
		{"bad endpoint", with(config.EnvDynamoDBEndpoint, "localhost:8000"), "DYNAMODB_ENDPOINT must be an http(s) URL"},
		{"bad wechat base", with(config.EnvWeChatBaseURL, "ftp://x"), "WECHAT_API_BASE must be an http(s) URL"},
		{"bad browser base", with(config.EnvBrowserBaseURL, "127.0.0.1:8080"), "BROWSER_BASE_URL must be an http(s) URL"},
		{"bad WeChat pages base", with(config.EnvWeChatPagesBase, "mp.weixin.qq.com"), "WECHAT_PAGES_BASE must be an http(s) URL"},
		{"body limit not a number", with(config.EnvMaxBodyBytes, "lots"), "MAX_BODY_BYTES"},
		{"body limit too large", with(config.EnvMaxBodyBytes, "99999999"), "MAX_BODY_BYTES"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.FromEnv(tc.getenv)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.WeChatBaseURL != config.DefaultWeChatBaseURL || cfg.Stage != "local" || cfg.MaxBodyBytes != config.DefaultMaxBodyBytes {
					t.Fatalf("defaults not applied: %+v", cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestTheAdminsBrowserOpensTheAPIBaseUnlessToldOtherwise: deployed, the
// start link is on the API base; a local stack names its own address.
func TestTheAdminsBrowserOpensTheAPIBaseUnlessToldOtherwise(t *testing.T) {
	for _, tc := range []struct{ browser, want string }{
		{"", "https://api.example.test"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
	} {
		cfg, err := config.FromEnv(func(k string) string {
			return map[string]string{config.EnvPlatformTable: "p", config.EnvServiceTable: "s", config.EnvAPIBaseURL: "https://api.example.test/",
				config.EnvBrowserBaseURL: tc.browser}[k]
		})
		if err != nil || cfg.BrowserBaseURL != tc.want || cfg.APIBaseURL != "https://api.example.test" || cfg.WeChatPagesBase != "" {
			t.Errorf("BROWSER_BASE_URL %q: %+v %v", tc.browser, cfg, err)
		}
	}
}

func TestRequireNamesEveryMissingValue(t *testing.T) {
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{config.EnvPlatformTable: "p", config.EnvServiceTable: "s"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Require(config.EnvComponentAppID, config.EnvAPIBaseURL)
	if !config.IsMissing(err) || err.Error() != "missing configuration: COMPONENT_APPID, API_BASE_URL" {
		t.Fatalf("got %v", err)
	}
}

// clock is a settable time for the secrets' cache.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestManagedSecretsFetchOnUseAndNeverEchoValues(t *testing.T) {
	calls := 0
	clk := &clock{now: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	s := &config.ManagedSecrets{ARNs: map[string]string{"platform": "arn:platform"}, Now: clk.Now,
		Fetch: func(_ context.Context, arn string) (string, error) {
			calls++
			if arn != "arn:platform" {
				t.Fatalf("fetched %s", arn)
			}
			if calls == 1 {
				return "", errors.New("throttled")
			}
			return `{"COMPONENT_SECRET":"s3cr3t","COMPONENT_TOKEN":"tok","COMPONENT_ENCODING_AES_KEY":"k","COMPONENT_TOKEN_PREVIOUS":""}`, nil
		}}
	ctx := context.Background()
	if _, err := s.Get(ctx, config.SecretComponentSecret); err == nil {
		t.Fatal("first fetch fails and must report it")
	}
	v, err := s.Get(ctx, config.SecretComponentSecret)
	if err != nil || v != "s3cr3t" {
		t.Fatalf("got %q %v", v, err)
	}
	if _, err := s.Get(ctx, config.SecretComponentToken+config.PreviousSuffix); !config.IsMissing(err) {
		t.Fatalf("an empty secret is missing, got %v", err)
	}
	// A secret of a bundle this function was not given is not set, and
	// nothing is fetched for it.
	if _, err := s.Get(ctx, config.SecretAdminSigningKey); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("got %v", err)
	}
	if calls != 2 {
		t.Fatalf("fetched %d times, want 2 (one failure, then kept)", calls)
	}
	clk.now = clk.now.Add(config.SecretsTTL)
	if _, err := s.Get(ctx, config.SecretComponentSecret); err != nil || calls != 3 {
		t.Fatalf("after the TTL: %v, %d fetches; want a fresh read", err, calls)
	}
	bad := &config.ManagedSecrets{ARNs: map[string]string{"platform": "x"}, Now: clk.Now,
		Fetch: func(context.Context, string) (string, error) { return `not json s3cr3t`, nil }}
	if _, err := bad.Get(ctx, config.SecretComponentSecret); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("a malformed bundle must fail without quoting it: %v", err)
	}
}

// TestManagedSecretsNeverKeepAnIncompleteBundle: a bundle read before the
// operator filled in every required value is used for that request only;
// the next use reads it again, so a warm instance picks the values up.
func TestManagedSecretsNeverKeepAnIncompleteBundle(t *testing.T) {
	doc := `{"SESSION_SIGNING_KEY":""}`
	calls := 0
	s := &config.ManagedSecrets{ARNs: map[string]string{"session": "arn:session"}, Now: time.Now,
		Fetch: func(context.Context, string) (string, error) { calls++; return doc, nil }}
	ctx := context.Background()
	if _, err := s.Get(ctx, config.SecretSessionSigningKey); !config.IsMissing(err) {
		t.Fatalf("an unfilled secret: %v", err)
	}
	doc = `{"SESSION_SIGNING_KEY":"filled-in-by-the-operator-0123456789"}`
	if v, err := s.Get(ctx, config.SecretSessionSigningKey); err != nil || v == "" {
		t.Fatalf("after the operator filled it in: %q %v", v, err)
	}
	if _, err := s.Get(ctx, config.SecretSessionSigningKey); err != nil || calls != 2 {
		t.Fatalf("a complete bundle is kept: %d fetches, %v", calls, err)
	}
}

// TestRefreshRereadsAtMostEveryFewSeconds: a value that fails to verify
// makes the secrets be read again, but a stream of forged signatures does
// not turn into a stream of Secrets Manager calls.
func TestRefreshRereadsAtMostEveryFewSeconds(t *testing.T) {
	doc := `{"STATE_SIGNING_KEY":"first-state-signing-key-0123456789abc"}`
	calls := 0
	clk := &clock{now: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
	s := &config.ManagedSecrets{ARNs: map[string]string{"state": "arn:state"}, Now: clk.Now,
		Fetch: func(context.Context, string) (string, error) { calls++; return doc, nil }}
	ctx := context.Background()
	if _, err := s.Get(ctx, config.SecretStateSigningKey); err != nil {
		t.Fatal(err)
	}
	doc = `{"STATE_SIGNING_KEY":"second-state-signing-key-0123456789ab"}`
	if changed, _ := s.Refresh(ctx, config.SecretStateSigningKey); changed || calls != 1 {
		t.Fatalf("a refresh right after a read: changed %v, %d fetches", changed, calls)
	}
	clk.now = clk.now.Add(11 * time.Second)
	if changed, err := s.Refresh(ctx, config.SecretStateSigningKey); !changed || err != nil || calls != 2 {
		t.Fatalf("a refresh later: changed %v %v, %d fetches", changed, err, calls)
	}
	if v, _ := s.Get(ctx, config.SecretStateSigningKey); v != "second-state-signing-key-0123456789ab" {
		t.Fatalf("after the refresh: %q", v)
	}
}

// TestSigningKeysOfTwoPurposesMustDiffer: a key reused for another purpose
// (or another purpose's previous key) is refused, naming both, never the
// value.
func TestSigningKeysOfTwoPurposesMustDiffer(t *testing.T) {
	shared := strings.Repeat("s", 40)
	vars := map[string]string{
		config.SecretSessionSigningKey: strings.Repeat("a", 40), config.SecretSceneSigningKey: shared,
		config.SecretAdminSigningKey + config.PreviousSuffix: shared, config.SecretAdminSigningKey: strings.Repeat("b", 40),
	}
	s := config.EnvSecrets{Getenv: func(k string) string { return vars[k] }}
	ctx := context.Background()
	err := config.CheckSigningKeys(ctx, s)
	if !errors.Is(err, config.ErrSharedSigningKey) || strings.Contains(err.Error(), shared) ||
		!strings.Contains(err.Error(), config.SecretSceneSigningKey) {
		t.Fatalf("got %v", err)
	}
	if _, err := config.SigningKeys(ctx, s, config.SecretSessionSigningKey); err != nil {
		t.Fatalf("the session key is its own: %v", err)
	}
	vars[config.SecretSceneSigningKey] = strings.Repeat("c", 40)
	if err := config.CheckSigningKeys(ctx, s); err != nil {
		t.Fatalf("distinct keys: %v", err)
	}
}

// TestSigningKeyRefusesShortAndMissingKeys: an HMAC key shorter than 32
// bytes or absent is an error naming the secret, never a weak signature.
func TestSigningKeyRefusesShortAndMissingKeys(t *testing.T) {
	vars := map[string]string{"GOOD": strings.Repeat("k", 32), "SHORT": strings.Repeat("k", 31)}
	s := config.EnvSecrets{Getenv: func(k string) string { return vars[k] }}
	ctx := context.Background()
	if key, err := config.SigningKey(ctx, s, "GOOD"); err != nil || string(key) != vars["GOOD"] {
		t.Fatalf("a 32-byte key: %q, %v", key, err)
	}
	for _, name := range []string{"SHORT", "ABSENT"} {
		key, err := config.SigningKey(ctx, s, name)
		if err == nil || key != nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), vars["SHORT"]) {
			t.Fatalf("%s: %q, %v; want an error naming the secret, not its value", name, key, err)
		}
	}
}
