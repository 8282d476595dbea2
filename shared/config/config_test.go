package config_test

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

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

func TestBundleSecretsFetchOnceAndNeverEchoValues(t *testing.T) {
	calls := 0
	s := &config.BundleSecrets{Fetch: func(context.Context) (string, error) {
		calls++
		if calls == 1 {
			return "", errors.New("throttled")
		}
		return `{"COMPONENT_SECRET":"s3cr3t","COMPONENT_TOKEN":""}`, nil
	}}
	ctx := context.Background()
	if _, err := s.Get(ctx, config.SecretComponentSecret); err == nil {
		t.Fatal("first fetch fails and must report it")
	}
	v, err := s.Get(ctx, config.SecretComponentSecret)
	if err != nil || v != "s3cr3t" {
		t.Fatalf("got %q %v", v, err)
	}
	if _, err := s.Get(ctx, config.SecretComponentToken); !config.IsMissing(err) {
		t.Fatalf("an empty secret is missing, got %v", err)
	}
	if _, err := s.Get(ctx, config.SecretAdminSigningKey); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("got %v", err)
	}
	if calls != 2 {
		t.Fatalf("fetched %d times, want 2 (one failure, then cached)", calls)
	}
	bad := &config.BundleSecrets{Fetch: func(context.Context) (string, error) { return `not json s3cr3t`, nil }}
	if _, err := bad.Get(ctx, "X"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("a malformed bundle must fail without quoting it: %v", err)
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
