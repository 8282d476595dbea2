package attrcrypt_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"wxchannel/shared/apperr"
	"wxchannel/shared/attrcrypt"
	"wxchannel/shared/config"
	"wxchannel/shared/local/kmsserver"
)

const (
	keySecret      = "TOKEN_ENCRYPTION_KEY"
	previousSecret = "TOKEN_ENCRYPTION_KEY_PREVIOUS"
)

// key returns a local key: the base64 of 32 bytes derived from seed.
func key(seed byte) (string, []byte) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = seed + byte(i)
	}
	return base64.StdEncoding.EncodeToString(raw), raw
}

// localSealer seals with the local keys in secrets (name to value).
func localSealer(secrets map[string]string) *attrcrypt.Sealer {
	return attrcrypt.New(attrcrypt.Options{Secrets: config.EnvSecrets{Getenv: func(k string) string { return secrets[k] }},
		KeySecret: keySecret, PreviousKeySecret: previousSecret})
}

var token = attrcrypt.Binding{Item: "auth#wx0000000000000001|token", Attribute: "access_token"}

func TestSealedValuesOpenOnlyForTheirItemAndAttribute(t *testing.T) {
	ctx := context.Background()
	current, _ := key(1)
	s := localSealer(map[string]string{keySecret: current})
	const plaintext = "76_authorizer-access-token"
	sealed, err := s.Seal(ctx, plaintext, token)
	if err != nil {
		t.Fatal(err)
	}
	if !attrcrypt.IsSealed(sealed) || strings.Contains(sealed, plaintext) {
		t.Fatalf("sealed value %q", sealed)
	}
	again, _ := s.Seal(ctx, plaintext, token)
	if again == sealed {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	lastChar := len(sealed) - 2 // inside the tag, a full base64url character
	flipped := sealed[:lastChar] + string("AB"[boolInt(sealed[lastChar] == 'A')]) + sealed[lastChar+1:]
	keyID, _ := attrcrypt.KeyID(sealed)
	tests := []struct {
		name    string
		value   string
		binding attrcrypt.Binding
		want    string
		wantErr error
	}{
		{"round trip", sealed, token, plaintext, nil},
		{"moved to another item", sealed, attrcrypt.Binding{Item: "auth#wx0000000000000002|token", Attribute: "access_token"}, "", attrcrypt.ErrCannotOpen},
		{"moved to another attribute", sealed, attrcrypt.Binding{Item: token.Item, Attribute: "refresh_token"}, "", attrcrypt.ErrCannotOpen},
		{"item and attribute shifted", sealed, attrcrypt.Binding{Item: token.Item + "access", Attribute: "_token"}, "", attrcrypt.ErrCannotOpen},
		{"altered ciphertext", flipped, token, "", attrcrypt.ErrCannotOpen},
		{"truncated", sealed[:len(sealed)-30], token, "", attrcrypt.ErrCannotOpen},
		{"too short to be sealed", "v1." + keyID + ".AAAA", token, "", attrcrypt.ErrMalformed},
		{"no payload", "v1." + keyID, token, "", attrcrypt.ErrMalformed},
		{"not base64url", "v1." + keyID + ".!!!!" + strings.Repeat("A", 40), token, "", attrcrypt.ErrMalformed},
		{"unknown key kind", "v1.other:1234." + strings.Repeat("A", 40), token, "", attrcrypt.ErrMalformed},
		{"unknown format version", "v2." + sealed[3:], token, "", attrcrypt.ErrUnsupportedVersion},
		{"plaintext written before encryption", "76_legacy-token", token, "76_legacy-token", nil},
		{"empty", "", token, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Open(ctx, tt.value, tt.binding)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Open = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), plaintext) {
				t.Fatalf("the error discloses the plaintext: %v", err)
			}
		})
	}
	if empty, err := s.Seal(ctx, "", token); empty != "" || err != nil {
		t.Fatalf("sealing an empty value gave %q, %v; an absent attribute must stay absent", empty, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestPreviousLocalKeyOpensAndTheCurrentKeySeals(t *testing.T) {
	ctx := context.Background()
	oldKey, oldRaw := key(1)
	newKey, newRaw := key(100)
	before, err := localSealer(map[string]string{keySecret: oldKey}).Seal(ctx, "refresh-before-rotation", token)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := attrcrypt.KeyID(before); id != attrcrypt.LocalKeyID(oldRaw) {
		t.Fatalf("key id %s, want %s", id, attrcrypt.LocalKeyID(oldRaw))
	}
	// The rotation: the old key becomes the previous one, a new key seals.
	rotating := localSealer(map[string]string{keySecret: newKey, previousSecret: oldKey})
	if got, err := rotating.Open(ctx, before, token); err != nil || got != "refresh-before-rotation" {
		t.Fatalf("previous key: %q, %v", got, err)
	}
	after, err := rotating.Seal(ctx, "refresh-after-rotation", token)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := attrcrypt.KeyID(after); id != attrcrypt.LocalKeyID(newRaw) {
		t.Fatalf("new writes sealed under %s, want the current key %s", id, attrcrypt.LocalKeyID(newRaw))
	}
	// Once the previous key is removed, what it sealed no longer opens.
	rotated := localSealer(map[string]string{keySecret: newKey})
	if _, err := rotated.Open(ctx, before, token); !errors.Is(err, attrcrypt.ErrUnknownKey) {
		t.Fatalf("got %v, want ErrUnknownKey", err)
	}
	if got, err := rotated.Open(ctx, after, token); err != nil || got != "refresh-after-rotation" {
		t.Fatalf("current key: %q, %v", got, err)
	}
}

func TestKeyConfigurationErrorsAreClearAndDiscloseNoKey(t *testing.T) {
	ctx := context.Background()
	current, _ := key(1)
	sealed, _ := localSealer(map[string]string{keySecret: current}).Seal(ctx, "secret-token", token)
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	tests := []struct {
		name    string
		secrets map[string]string
		wantErr error
		msg     string
	}{
		{"no key at all", nil, attrcrypt.ErrNotConfigured, "TOKEN_ENCRYPTION_KEY"},
		{"a key of 16 bytes", map[string]string{keySecret: short}, attrcrypt.ErrNotConfigured,
			"TOKEN_ENCRYPTION_KEY must be the base64 of 32 random bytes"},
		{"a key that is not base64", map[string]string{keySecret: "not base64 at all, but long enough to be a key"},
			attrcrypt.ErrNotConfigured, "must be the base64"},
		{"a bad previous key", map[string]string{keySecret: current, previousSecret: short}, attrcrypt.ErrNotConfigured,
			"TOKEN_ENCRYPTION_KEY_PREVIOUS must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := localSealer(tt.secrets) // building it reads nothing and never fails
			_, err := s.Seal(ctx, "secret-token", token)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Seal: %v; want %v mentioning %q", err, tt.wantErr, tt.msg)
			}
			for _, v := range tt.secrets {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("the error discloses a key: %v", err)
				}
			}
			if _, err := s.Open(ctx, sealed, token); err == nil {
				t.Fatal("a value opened without its key")
			}
			if got, err := s.Open(ctx, "legacy-plaintext", token); err != nil || got != "legacy-plaintext" {
				t.Fatalf("plaintext is readable without a key: %q, %v", got, err)
			}
		})
	}
}

// kmsWorld is the KMS stand-in with one key, and sealers of separate
// instances on one clock.
type kmsWorld struct {
	srv *kmsserver.Server
	arn string
	mu  sync.Mutex
	now time.Time
}

func newKMSWorld(t testing.TB) *kmsWorld {
	t.Helper()
	srv, err := kmsserver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	arn, err := srv.CreateKey("alias/tokens")
	if err != nil {
		t.Fatal(err)
	}
	return &kmsWorld{srv: srv, arn: arn, now: time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)}
}

func (w *kmsWorld) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *kmsWorld) advance(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

// instance is a sealer as one function instance builds it; its KMS
// client makes one attempt per call, so that a refusal reaches the test
// without the SDK's retry pauses.
func (w *kmsWorld) instance(keyID string) *attrcrypt.Sealer {
	return attrcrypt.New(attrcrypt.Options{KMSKeyID: keyID, Region: kmsserver.Region, KMSEndpoint: w.srv.URL, Now: w.clock,
		Secrets: config.EnvSecrets{Getenv: func(string) string { return "" }}, KeySecret: keySecret,
		KMSClientOptions: []func(*kms.Options){func(o *kms.Options) { o.RetryMaxAttempts = 1 }}})
}

func TestKMSDataKeyIsGeneratedOncePerInstanceAndDecryptedOncePerBlob(t *testing.T) {
	w := newKMSWorld(t)
	ctx := context.Background()
	first := w.instance(w.arn)
	if len(w.srv.AllCalls()) != 0 {
		t.Fatalf("building a sealer called KMS: %v", w.srv.AllCalls())
	}
	// Many concurrent seals of one instance share one data key.
	sealed := make([]string, 50)
	var wg sync.WaitGroup
	for i := range sealed {
		wg.Go(func() {
			v, err := first.Seal(ctx, fmt.Sprintf("token-%d", i), token)
			if err != nil {
				t.Errorf("seal %d: %v", i, err)
			}
			sealed[i] = v
		})
	}
	wg.Wait()
	if c := w.srv.Calls("GenerateDataKey"); c != 1 {
		t.Fatalf("GenerateDataKey calls %d, want 1 per instance", c)
	}
	// The instance opens its own values without asking KMS.
	for i, v := range sealed {
		if got, err := first.Open(ctx, v, token); err != nil || got != fmt.Sprintf("token-%d", i) {
			t.Fatalf("open %d: %q, %v", i, got, err)
		}
	}
	if c := w.srv.Calls("Decrypt"); c != 0 {
		t.Fatalf("Decrypt calls %d, want 0 for the instance's own data key", c)
	}
	// Another instance decrypts the blob once, however many values and
	// concurrent readers there are.
	second := w.instance(w.arn)
	for range 3 {
		for i, v := range sealed {
			wg.Go(func() {
				if got, err := second.Open(ctx, v, token); err != nil || got != fmt.Sprintf("token-%d", i) {
					t.Errorf("second instance, open %d: %q, %v", i, got, err)
				}
			})
		}
	}
	wg.Wait()
	if c := w.srv.Calls("Decrypt"); c != 1 {
		t.Fatalf("Decrypt calls %d, want 1 per unseen blob", c)
	}
	if c := w.srv.Calls("GenerateDataKey"); c != 1 {
		t.Fatalf("opening generated a data key: %d calls", c)
	}
}

func TestKMSDataKeyIsRenewedAfterItsLifetimeAndOldValuesStillOpen(t *testing.T) {
	w := newKMSWorld(t)
	ctx := context.Background()
	s := w.instance(w.arn)
	first, err := s.Seal(ctx, "sealed-on-day-one", token)
	if err != nil {
		t.Fatal(err)
	}
	w.advance(attrcrypt.DefaultDataKeyLifetime - time.Minute)
	sameDay, _ := s.Seal(ctx, "sealed-the-same-day", token)
	w.advance(2 * time.Minute)
	nextDay, _ := s.Seal(ctx, "sealed-the-next-day", token)
	if c := w.srv.Calls("GenerateDataKey"); c != 2 {
		t.Fatalf("GenerateDataKey calls %d, want 2 across two lifetimes", c)
	}
	id1, _ := attrcrypt.KeyID(first)
	id2, _ := attrcrypt.KeyID(sameDay)
	id3, _ := attrcrypt.KeyID(nextDay)
	if id1 != id2 || id2 == id3 {
		t.Fatal("a data key changed within its lifetime, or not after it")
	}
	// KMS's automatic rotation changes nothing for what is stored.
	if err := w.srv.RotateKey(w.arn); err != nil {
		t.Fatal(err)
	}
	other := w.instance(w.arn)
	for want, v := range map[string]string{"sealed-on-day-one": first, "sealed-the-same-day": sameDay, "sealed-the-next-day": nextDay} {
		if got, err := other.Open(ctx, v, token); err != nil || got != want {
			t.Fatalf("open %q: %q, %v", want, got, err)
		}
	}
	if c := w.srv.Calls("Decrypt"); c != 2 {
		t.Fatalf("Decrypt calls %d, want 2 (two blobs)", c)
	}
	// An instance configured for the local key only still opens them.
	if got, err := w.instance("").Open(ctx, first, token); err != nil || got != "sealed-on-day-one" {
		t.Fatalf("an instance without TOKEN_KMS_KEY_ID: %q, %v", got, err)
	}
}

func TestKMSRefusalsAreClassifiedAndNotCached(t *testing.T) {
	w := newKMSWorld(t)
	ctx := context.Background()
	// KMS throttles: the caller is told to retry, and the next seal asks
	// again.
	w.srv.InjectError("GenerateDataKey", "ThrottlingException", 1)
	s := w.instance(w.arn)
	_, err := s.Seal(ctx, "a-token", token)
	if apperr.KindOf(err) != apperr.Unavailable || apperr.CodeOf(err) != "key_service_unavailable" {
		t.Fatalf("throttled: %v (kind %s), want unavailable", err, apperr.KindOf(err))
	}
	sealed, err := s.Seal(ctx, "a-token", token)
	if err != nil {
		t.Fatalf("after the throttling: %v", err)
	}
	// A key that does not exist is a configuration error, not a busy KMS.
	if _, err := w.instance("alias/missing").Seal(ctx, "a-token", token); err == nil || apperr.KindOf(err) != apperr.Internal {
		t.Fatalf("missing key: %v", err)
	}
	// An altered data key blob does not decrypt: the value does not open.
	keyID, _ := attrcrypt.KeyID(sealed)
	blob, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(keyID, "kms:"))
	blob[len(blob)-1] ^= 1
	altered := strings.Replace(sealed, keyID, "kms:"+base64.RawURLEncoding.EncodeToString(blob), 1)
	if _, err := w.instance(w.arn).Open(ctx, altered, token); !errors.Is(err, attrcrypt.ErrCannotOpen) {
		t.Fatalf("altered blob: %v, want ErrCannotOpen", err)
	}
	// A disabled key: nothing opens until it is enabled again.
	if err := w.srv.SetEnabled(w.arn, false); err != nil {
		t.Fatal(err)
	}
	other := w.instance(w.arn)
	if _, err := other.Open(ctx, sealed, token); err == nil {
		t.Fatal("opened with a disabled key")
	}
	if err := w.srv.SetEnabled(w.arn, true); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Open(ctx, sealed, token); err != nil || got != "a-token" {
		t.Fatalf("after enabling the key again: %q, %v", got, err)
	}
}

// FuzzOpen holds that no stored value makes Open panic, and that a value
// that opens is either the plaintext it was or exactly what was sealed.
// Values naming a KMS data key go to the stand-in.
func FuzzOpen(f *testing.F) {
	srv, err := kmsserver.Start()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = srv.Close() })
	current, _ := key(1)
	s := attrcrypt.New(attrcrypt.Options{Region: kmsserver.Region, KMSEndpoint: srv.URL,
		Secrets: config.EnvSecrets{Getenv: func(k string) string { return map[string]string{keySecret: current}[k] }}, KeySecret: keySecret,
		KMSClientOptions: []func(*kms.Options){func(o *kms.Options) { o.RetryMaxAttempts = 1 }}})
	sealed, err := s.Seal(context.Background(), "76_the-token", token)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{sealed, sealed[:len(sealed)-1], "v1.", "v1..", "v1.local:.", "v1.kms:.AAAA", "v9.x.y", "76_plain", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		got, err := s.Open(context.Background(), value, token)
		switch {
		case err != nil:
		case !attrcrypt.IsSealed(value) && got != value:
			t.Fatalf("plaintext %q opened as %q", value, got)
		case attrcrypt.IsSealed(value) && got != "76_the-token":
			t.Fatalf("a forged value %q opened as %q", value, got)
		}
	})
}

// TestTemplateAllowsDataKeysOnlyForThisPurpose holds template.yaml's KMS
// grants to the encryption context the sealer sends: each function that
// may generate data keys may decrypt them, a function that only opens
// values (webhook deliveries) may only decrypt, and every grant holds
// only for this purpose.
func TestTemplateAllowsDataKeysOnlyForThisPurpose(t *testing.T) {
	raw, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tpl := string(raw)
	generate := strings.Count(tpl, "- kms:GenerateDataKey\n")
	decrypt := strings.Count(tpl, "- kms:Decrypt\n")
	condition := strings.Count(tpl, `"kms:EncryptionContext:`+attrcrypt.EncryptionContextKey+`": `+attrcrypt.EncryptionContextValue+"\n")
	if generate == 0 || decrypt < generate || condition != decrypt {
		t.Fatalf("%d GenerateDataKey grants, %d Decrypt grants, %d conditions on purpose=%s; want them equal",
			generate, decrypt, condition, attrcrypt.EncryptionContextValue)
	}
}
