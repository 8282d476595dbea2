package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxchannel/shared/webhook"
	"wxchannel/shared/webhook/receiver"
)

// docsPath is the CRM developers' guide, which these tests hold to the code.
const docsPath = "../../docs/webhooks.md"

// verifyWebhook is docs/webhooks.md's Go example, character for character
// (TestTheGuidesGoExampleIsTheOneTested keeps them the same), so the code
// CRM developers copy is tested against real deliveries.
func verifyWebhook(secrets []string, h http.Header, body []byte, now time.Time) error {
	timestamp := h.Get("X-Wxc-Timestamp")
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("missing or malformed X-Wxc-Timestamp")
	}
	if age := now.Unix() - ts; age > 300 || age < -300 {
		return errors.New("timestamp more than 5 minutes off: a replay, or a wrong clock")
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(timestamp + "."))
		mac.Write(body)
		want := []byte("v1=" + hex.EncodeToString(mac.Sum(nil)))
		for got := range strings.SplitSeq(h.Get("X-Wxc-Signature"), ",") {
			if hmac.Equal([]byte(strings.TrimSpace(got)), want) {
				return nil
			}
		}
	}
	return errors.New("no signature matches")
}

// guideBlocks returns the guide's fenced code blocks of a language.
func guideBlocks(t *testing.T, lang string) []string {
	t.Helper()
	guide, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(string(guide), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// funcSource returns the text of func name in src, from "func" to its
// closing brace.
func funcSource(t *testing.T, src, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?ms)^func ` + name + `\(.*?^}\n`).FindString(src)
	if m == "" {
		t.Fatalf("no func %s", name)
	}
	return m
}

func TestTheGuidesGoExampleIsTheOneTested(t *testing.T) {
	blocks := guideBlocks(t, "go")
	if len(blocks) != 1 {
		t.Fatalf("the guide has %d Go blocks, want 1", len(blocks))
	}
	self, err := os.ReadFile("docs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	inGuide, inTest := funcSource(t, blocks[0], "verifyWebhook"), funcSource(t, string(self), "verifyWebhook")
	if inGuide != inTest {
		t.Fatalf("docs/webhooks.md's verifyWebhook differs from the one tested here:\n%s\nwant\n%s", inGuide, inTest)
	}
}

func TestTheGuidesVectorIsTheFixedVector(t *testing.T) {
	guide, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "secret `" + vectorSecret + "`, timestamp\n`" + strconv.Itoa(vectorTimestamp) + "` and body `" + vectorBody + "` give\n`v1=" +
		vectorSignature + "`"
	if !strings.Contains(string(guide), want) {
		t.Fatalf("docs/webhooks.md no longer states the fixed vector as\n%s", want)
	}
}

func TestTheGuidesGoExampleVerifiesRealDeliveries(t *testing.T) {
	requests := make(chan received, 1)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		requests <- received{header: r.Header.Clone(), body: body}
	})
	c := localClient(time.Second)
	deliver := func(secrets ...[]byte) received {
		t.Helper()
		if res := c.Deliver(context.Background(), webhook.Target{URL: srv.URL, Secrets: secrets}, testMessage("ev_1"), epoch); !res.OK() {
			t.Fatalf("Deliver = %+v", res)
		}
		return <-requests
	}
	rotation := deliver(newSecret, oldSecret)
	for _, secrets := range [][]string{{string(newSecret)}, {string(oldSecret)}, {string(oldSecret), string(newSecret)}} {
		if err := verifyWebhook(secrets, rotation.header, rotation.body, epoch); err != nil {
			t.Errorf("verifyWebhook(%q) = %v", secrets, err)
		}
	}
	single := deliver(newSecret)
	for name, err := range map[string]error{
		"the old secret":     verifyWebhook([]string{string(oldSecret)}, single.header, single.body, epoch),
		"an altered body":    verifyWebhook([]string{string(newSecret)}, single.header, append(single.body, ' '), epoch),
		"six minutes later":  verifyWebhook([]string{string(newSecret)}, single.header, single.body, epoch.Add(6*time.Minute)),
		"six minutes before": verifyWebhook([]string{string(newSecret)}, single.header, single.body, epoch.Add(-6*time.Minute)),
	} {
		if err == nil {
			t.Errorf("verifyWebhook accepted a delivery with %s", name)
		}
	}
	vector := signedHeader([][]byte{[]byte(vectorSecret)}, vectorTimestamp, []byte(vectorBody))
	if err := verifyWebhook([]string{vectorSecret}, vector, []byte(vectorBody), epoch); err != nil {
		t.Errorf("verifyWebhook refuses the fixed vector: %v", err)
	}
}

// shellTools skips a test unless the guide's shell examples can run here.
func shellTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range append([]string{"sh", "openssl", "awk"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH", tool)
		}
	}
}

func TestTheGuidesCurlExampleSendsADeliveryTheReceiverVerifies(t *testing.T) {
	shellTools(t, "curl", "date")
	blocks := guideBlocks(t, "sh")
	if len(blocks) != 2 {
		t.Fatalf("the guide has %d shell blocks, want 2 (send, check)", len(blocks))
	}
	const guideSecret, guideURL = "whsec_replace_with_your_secret", "https://crm.example.com/webhooks/wxchannel"
	if !strings.Contains(blocks[0], guideSecret) || !strings.Contains(blocks[0], guideURL) {
		t.Fatalf("the send example no longer uses the secret %q and the URL %q", guideSecret, guideURL)
	}
	rcv := receiver.New([]byte(guideSecret)) // on the real clock, as date +%s is
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	script := strings.Replace(blocks[0], guideURL, srv.URL+"/webhooks/wxchannel", 1)
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("the send example failed: %v\n%s", err, out)
	}
	d := rcv.Deliveries()
	if len(d) != 1 || !d[0].Verified || d[0].EventID != "ev_test_1" || d[0].EventType != "work_order.created" || d[0].Status != http.StatusOK {
		t.Fatalf("the receiver recorded %+v", d)
	}
}

func TestTheGuidesCheckExampleTellsAuthenticFromAltered(t *testing.T) {
	shellTools(t, "tr", "grep", "cat")
	blocks := guideBlocks(t, "sh")
	if len(blocks) != 2 {
		t.Fatalf("the guide has %d shell blocks, want 2 (send, check)", len(blocks))
	}
	sigHeader := webhook.SignatureHeader([][]byte{newSecret, oldSecret}, vectorTimestamp, []byte(vectorBody))
	for _, tt := range []struct {
		name, secret, body, want string
	}{
		{"the new secret", string(newSecret), vectorBody, "verified"},
		{"the old secret", string(oldSecret), vectorBody, "verified"},
		{"another secret", vectorSecret, vectorBody, "signature mismatch"},
		{"an altered body", string(newSecret), `{"id":"ev_2"}`, "signature mismatch"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(tt.body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", blocks[1])
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "secret="+tt.secret, "ts="+strconv.Itoa(vectorTimestamp), "sig_header="+sigHeader)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("%s: the check example printed %q (%v), want %q", tt.name, out, err, tt.want)
		}
	}
}
