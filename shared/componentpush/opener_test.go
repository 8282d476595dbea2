package componentpush_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"wxchannel/shared/componentpush"
	"wxchannel/shared/config"
	"wxchannel/shared/wxcrypt"
)

// rotatingSecrets plays Secrets Manager holding the platform bundle, which
// the operator changes.
type rotatingSecrets struct {
	mu    sync.Mutex
	doc   string
	reads int
}

func (r *rotatingSecrets) fetch(context.Context, string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	return r.doc, nil
}

func (r *rotatingSecrets) set(token, key, prevToken, prevKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.doc = fmt.Sprintf(`{"COMPONENT_SECRET":"s","COMPONENT_TOKEN":%q,"COMPONENT_ENCODING_AES_KEY":%q,`+
		`"COMPONENT_TOKEN_PREVIOUS":%q,"COMPONENT_ENCODING_AES_KEY_PREVIOUS":%q}`, token, key, prevToken, prevKey)
}

// TestOpenerRereadsRotatedSecretsOnceAPushFails: a warm instance whose
// secrets are minutes old opens a push sealed with keys rotated since by
// reading the secrets again, once; forged pushes do not make it call
// Secrets Manager for each.
func TestOpenerRereadsRotatedSecretsOnceAPushFails(t *testing.T) {
	const appid = "wx5c0a1f2e3d4b6789"
	const oldKey, newKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
	now := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := &rotatingSecrets{}
	store.set("oldtoken", oldKey, "", "")
	secrets := &config.ManagedSecrets{ARNs: map[string]string{"platform": "arn:platform"}, Now: clock, Fetch: store.fetch}
	o := componentpush.NewOpener(secrets, appid, clock)
	push := func(token, key string) error {
		c, _ := wxcrypt.New(token, key, appid, "")
		q, body, err := c.Seal([]byte("<xml><AppId>"+appid+"</AppId></xml>"), strconv.FormatInt(now.Unix(), 10), "n1", "AppId", appid)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = o.Open(httptest.NewRequest("POST", "/wechat/component/events?"+q.Encode(), bytes.NewReader(body)))
		return err
	}
	if err := push("oldtoken", oldKey); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Minute) // within the TTL: the instance still holds the old keys
	store.set("newtoken", newKey, "oldtoken", oldKey)
	if err := push("newtoken", newKey); err != nil {
		t.Fatalf("a push sealed with the rotated keys: %v", err)
	}
	if err := push("oldtoken", oldKey); err != nil {
		t.Fatalf("a push sealed with the previous keys: %v", err)
	}
	reads := store.reads
	for range 20 {
		if err := push("forgedtoken", newKey); err == nil {
			t.Fatal("a forged push opened")
		}
	}
	if store.reads-reads > 1 {
		t.Fatalf("20 forged pushes made %d reads of the secrets", store.reads-reads)
	}
}
