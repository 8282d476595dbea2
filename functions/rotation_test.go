package functions_test

import (
	"context"
	"strings"
	"testing"

	"wxchannel/shared/config"
	"wxchannel/shared/local/testenv"
)

// TestWarmFunctionsFollowAMessageKeyRotation: after the operator changes
// the message Token and EncodingAESKey in WeChat's console and in our
// secrets (keeping the old ones as previous), a warm ticketpush accepts
// WeChat's pushes sealed with the new ones at once, and a push WeChat
// sealed with the old ones just before still goes through.
func TestWarmFunctionsFollowAMessageKeyRotation(t *testing.T) {
	w := newFaultWorld(t, nil)
	ctx := context.Background()
	if _, err := w.Sim.PushTicket(ctx, w.PushURL()); err != nil {
		t.Fatalf("push before the rotation: %v", err)
	}
	sealedBefore := w.capturePush(func(u string) error { _, err := w.Sim.PushTicket(ctx, u); return err })

	const newToken, newKey = "rotatedtoken", "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
	if err := w.Sim.RotateMessageKeys(newToken, newKey); err != nil {
		t.Fatal(err)
	}
	w.SetSecret(config.SecretComponentToken+config.PreviousSuffix, testenv.ComponentToken)
	w.SetSecret(config.SecretPreviousEncodingAESKey, testenv.EncodingAESKey)
	w.SetSecret(config.SecretComponentToken, newToken)
	w.SetSecret(config.SecretEncodingAESKey, newKey)
	if _, err := w.Sim.PushTicket(ctx, w.PushURL()); err != nil {
		t.Fatalf("a push sealed with the new keys, to a warm function: %v", err)
	}
	if status := w.deliver(sealedBefore); status != 200 {
		t.Fatalf("a push sealed with the old keys just before the rotation: %d", status)
	}
}

// TestRotatingTheSessionKeyLogsNobodyOutNorVoidsPrintedCodes: with the
// old session key kept as previous, existing sessions stay valid and new
// ones are signed with the new key; QR scenes have their own key, so even
// a session key replaced outright (after a leak) leaves printed device
// codes working.
func TestRotatingTheSessionKeyLogsNobodyOutNorVoidsPrintedCodes(t *testing.T) {
	w := newFaultWorld(t, nil)
	before := w.login("openid-rotation")
	oldKey := w.Vars[config.SecretSessionSigningKey]
	w.SetSecret(config.SecretSessionSigningKey+config.PreviousSuffix, oldKey)
	w.SetSecret(config.SecretSessionSigningKey, strings.Repeat("n", 40))
	w.must("GET", "/portal/me", before, nil, nil, 200)
	after := w.login("openid-rotation")
	w.must("GET", "/portal/me", after, nil, nil, 200)

	// After a leak the old key is dropped: its sessions end, printed QR
	// codes (signed with the scene key) still open the portal.
	w.SetSecret(config.SecretSessionSigningKey+config.PreviousSuffix, "")
	w.expectError("GET", "/portal/me", before, nil, nil, 401, "invalid_session")
	w.must("GET", "/portal/me", after, nil, nil, 200)
	w.login("openid-after-the-leak") // logs in with the scene printed before
}
