package tokens_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wxchannel/functions"
	"wxchannel/shared/apperr"
	"wxchannel/shared/attrcrypt"
	"wxchannel/shared/config"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
)

// rawItems reads every item of the platform table with the SDK, as anyone
// with read access to the table (or a backup) sees them.
func rawItems(t *testing.T, env *testenv.Env) []map[string]types.AttributeValue {
	t.Helper()
	out, err := env.DB.Client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(env.Deps.Config.PlatformTable)})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// rawTokenItems are the token items (sk "token") by partition key.
func rawTokenItems(t *testing.T, env *testenv.Env) map[string]map[string]types.AttributeValue {
	t.Helper()
	out := map[string]map[string]types.AttributeValue{}
	for _, it := range rawItems(t, env) {
		if str(it["sk"]) == "token" {
			out[str(it["pk"])] = it
		}
	}
	return out
}

func str(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// setRaw overwrites one attribute of a stored item behind the product's back.
func setRaw(t *testing.T, env *testenv.Env, pk, attribute, value string) {
	t.Helper()
	_, err := env.DB.Client.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(env.Deps.Config.PlatformTable),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: "token"},
		},
		UpdateExpression:          aws.String("SET #a = :v"),
		ExpressionAttributeNames:  map[string]string{"#a": attribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: value}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// refreshAll lets every token come due and runs one scheduled refresh with
// m, after WeChat's next ticket push.
func refreshAll(t *testing.T, env *testenv.Env, m *tokens.Manager) tokens.RefreshSummary {
	t.Helper()
	ctx := managerCtx()
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	if _, err := env.Sim.PushTicket(ctx, ticketURL(t, env)); err != nil {
		t.Fatal(err)
	}
	sum, err := m.RefreshDue(refreshJob(ctx))
	if err != nil {
		t.Fatalf("refresh: %v (%+v)", err, sum)
	}
	return sum
}

// mustWork reads every token with m and checks it against the simulator;
// it returns the plaintext credentials (access and refresh tokens).
func mustWork(t *testing.T, env *testenv.Env, m *tokens.Manager, appids []string) []string {
	t.Helper()
	ctx := managerCtx()
	cat, err := m.ComponentTokenSource().Token(ctx)
	if err != nil || !env.Sim.ValidComponentToken(cat) {
		t.Fatalf("component token %q not valid (%v)", cat, err)
	}
	credentials := []string{cat}
	for _, appid := range appids {
		tok, err := m.AuthorizerTokenSource(appid).Token(ctx)
		if err != nil || !env.Sim.ValidAuthorizerToken(appid, tok) {
			t.Fatalf("%s token %q not valid (%v)", appid, tok, err)
		}
		credentials = append(credentials, tok, env.Sim.CurrentRefreshToken(appid))
	}
	return credentials
}

func TestStoredTokensAreSealedAtRestAndStillWork(t *testing.T) {
	tests := []struct {
		name string
		opts []testenv.Option
	}{
		{"with the local key", nil},
		{"with KMS data keys", []testenv.Option{testenv.WithKMS()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, m := world(t, tt.opts...)
			ctx := managerCtx()
			if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
				t.Fatal(err)
			}
			appids := authorize(t, env, m, 3)
			if sum := refreshAll(t, env, m); sum.Refreshed != 3 {
				t.Fatalf("summary %+v", sum)
			}
			public, err := m.PublicTokenSource().Token(ctx)
			if err != nil || public == "" {
				t.Fatalf("public app token: %v", err)
			}
			credentials := append(mustWork(t, env, m, appids), public)
			for _, it := range rawItems(t, env) {
				for name, v := range it {
					for _, c := range credentials {
						if strings.Contains(str(v), c) {
							t.Errorf("item %s/%s holds a credential in plaintext in %s", str(it["pk"]), str(it["sk"]), name)
						}
					}
				}
			}
			items := rawTokenItems(t, env)
			if len(items) != 2+len(appids) {
				t.Fatalf("%d token items, want the component's, the public app's and %d authorizers'", len(items), len(appids))
			}
			for pk, it := range items {
				if !attrcrypt.IsSealed(str(it["access_token"])) {
					t.Errorf("%s: access_token is not sealed", pk)
				}
				if _, has := it["refresh_token"]; has && !attrcrypt.IsSealed(str(it["refresh_token"])) {
					t.Errorf("%s: refresh_token is not sealed", pk)
				}
			}
			for _, appid := range appids {
				if !attrcrypt.IsSealed(str(items[storage.AuthorizerPartition(appid)]["refresh_token"])) {
					t.Errorf("%s: no sealed refresh token", appid)
				}
			}
		})
	}
}

func TestSealedTokenDoesNotOpenWhenMovedOrAltered(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, env *testenv.Env, victim, other string)
	}{
		{"access token copied to another authorizer's item", func(t *testing.T, env *testenv.Env, victim, other string) {
			setRaw(t, env, victim, "access_token", str(rawTokenItems(t, env)[other]["access_token"]))
		}},
		{"access token copied into the refresh token attribute", func(t *testing.T, env *testenv.Env, victim, _ string) {
			setRaw(t, env, victim, "refresh_token", str(rawTokenItems(t, env)[victim]["access_token"]))
		}},
		{"refresh token altered", func(t *testing.T, env *testenv.Env, victim, _ string) {
			sealed := str(rawTokenItems(t, env)[victim]["refresh_token"])
			i := len(sealed) - 2
			flipped := byte('A')
			if sealed[i] == 'A' {
				flipped = 'B'
			}
			setRaw(t, env, victim, "refresh_token", sealed[:i]+string(flipped)+sealed[i+1:])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, m := world(t)
			ctx := managerCtx()
			if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
				t.Fatal(err)
			}
			appids := authorize(t, env, m, 2)
			tt.tamper(t, env, storage.AuthorizerPartition(appids[0]), storage.AuthorizerPartition(appids[1]))
			fresh := tokens.FromDeps(env.Deps)
			tok, err := fresh.AuthorizerTokenSource(appids[0]).Token(ctx)
			if !errors.Is(err, attrcrypt.ErrCannotOpen) || tok != "" {
				t.Fatalf("got %q, %v; want ErrCannotOpen", tok, err)
			}
			// The scheduled run counts it as failed and refreshes the rest.
			if sum := refreshAll(t, env, fresh); sum.Refreshed != 1 || sum.Failed != 1 {
				t.Fatalf("summary %+v", sum)
			}
			mustWork(t, env, fresh, appids[1:])
		})
	}
}

func TestLocalKeyRotationNeverLeavesAnInstanceUnableToRead(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 2)
	oldKey := testenv.TokenEncryptionKey
	newKey := base64.StdEncoding.EncodeToString([]byte("the next token key, 32 bytes ..."))
	assertSealedUnder(t, env, oldKey)

	// 1. The new key becomes the previous one: instances learn it before
	// anything is sealed with it.
	env.SetSecret(config.SecretPreviousTokenEncryptionKey, newKey)
	stepOne := tokens.FromDeps(env.Deps)
	mustWork(t, env, stepOne, appids)
	// 2. The swap: the new key seals, the old one still opens.
	env.SetSecret(config.SecretTokenEncryptionKey, newKey)
	env.SetSecret(config.SecretPreviousTokenEncryptionKey, oldKey)
	stepTwo := tokens.FromDeps(env.Deps)
	mustWork(t, env, stepTwo, appids)
	if sum := refreshAll(t, env, stepTwo); sum.Refreshed != len(appids) {
		t.Fatalf("summary %+v", sum)
	}
	assertSealedUnder(t, env, newKey)
	// Instances still on step 1 read what step 2 sealed.
	mustWork(t, env, stepOne, appids)
	// 3. Everything is sealed under the new key: the old one is retired.
	env.SetSecret(config.SecretPreviousTokenEncryptionKey, "")
	mustWork(t, env, tokens.FromDeps(env.Deps), appids)
	// An instance that never learnt the new key (step 1 skipped) cannot.
	if _, err := m.AuthorizerTokenSource(appids[0]).Token(ctx); !errors.Is(err, attrcrypt.ErrUnknownKey) {
		t.Fatalf("an instance with the old key only: %v, want ErrUnknownKey", err)
	}
}

// assertSealedUnder checks that every stored token is sealed under the
// local key.
func assertSealedUnder(t *testing.T, env *testenv.Env, key string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		t.Fatal(err)
	}
	want := attrcrypt.LocalKeyID(raw)
	for pk, it := range rawTokenItems(t, env) {
		for _, attribute := range []string{"access_token", "refresh_token"} {
			if v := str(it[attribute]); v != "" {
				if id, _ := attrcrypt.KeyID(v); id != want {
					t.Errorf("%s %s sealed under %q, want %s", pk, attribute, id, want)
				}
			}
		}
	}
}

func TestTokensStoredBeforeEncryptionAreReadAndSealedByTheNextWrite(t *testing.T) {
	env, m := world(t)
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 1)
	// The items as the code before encryption wrote them: plaintext.
	credentials := mustWork(t, env, m, appids)
	componentPK := "component#" + testenv.ComponentAppID
	authorizerPK := storage.AuthorizerPartition(appids[0])
	setRaw(t, env, componentPK, "access_token", credentials[0])
	setRaw(t, env, authorizerPK, "access_token", credentials[1])
	setRaw(t, env, authorizerPK, "refresh_token", credentials[2])

	upgraded := tokens.FromDeps(env.Deps)
	if got := mustWork(t, env, upgraded, appids); got[0] != credentials[0] || got[1] != credentials[1] {
		t.Fatal("the plaintext tokens were not read as they are")
	}
	if sum := refreshAll(t, env, upgraded); sum.Refreshed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	items := rawTokenItems(t, env)
	for _, v := range []string{
		str(items[componentPK]["access_token"]), str(items[authorizerPK]["access_token"]), str(items[authorizerPK]["refresh_token"]),
	} {
		if !attrcrypt.IsSealed(v) {
			t.Fatalf("a token is still plaintext after the refresh: %q", v)
		}
	}
	mustWork(t, env, tokens.FromDeps(env.Deps), appids)
}

func TestKMSIsAskedForOneDataKeyPerInstanceAndOneDecryptPerUnseenKey(t *testing.T) {
	env, m := world(t, testenv.WithKMS())
	ctx := managerCtx()
	// No function calls KMS while it is built (cold start).
	if _, _, err := functions.Mount(ctx, env.Deps); err != nil {
		t.Fatal(err)
	}
	if calls := env.KMS.AllCalls(); len(calls) != 0 {
		t.Fatalf("building the functions called KMS: %v", calls)
	}
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 5)
	mustWork(t, env, m, appids)
	if g, d := env.KMS.Calls("GenerateDataKey"), env.KMS.Calls("Decrypt"); g != 1 || d != 0 {
		t.Fatalf("one instance sealing 11 tokens: %d GenerateDataKey, %d Decrypt; want 1 and 0", g, d)
	}
	// Another Lambda reads what the first sealed: one Decrypt for the
	// first's data key, however many tokens it opens.
	other := tokens.FromDeps(env.Deps)
	mustWork(t, env, other, appids)
	if g, d := env.KMS.Calls("GenerateDataKey"), env.KMS.Calls("Decrypt"); g != 1 || d != 1 {
		t.Fatalf("a second instance reading: %d GenerateDataKey, %d Decrypt; want 1 and 1", g, d)
	}
	// It refreshes them under a data key of its own, which the first then
	// decrypts once.
	if sum := refreshAll(t, env, other); sum.Refreshed != len(appids) {
		t.Fatalf("summary %+v", sum)
	}
	mustWork(t, env, m, appids)
	mustWork(t, env, m, appids)
	if g, d := env.KMS.Calls("GenerateDataKey"), env.KMS.Calls("Decrypt"); g != 2 || d != 2 {
		t.Fatalf("after the second instance's refresh: %d GenerateDataKey, %d Decrypt; want 2 and 2", g, d)
	}
}

func TestKMSOutageFailsBeforeWeChatMintsATokenItCouldNotStore(t *testing.T) {
	env, m := world(t, testenv.WithKMS())
	ctx := managerCtx()
	if _, err := m.RefreshDue(refreshJob(ctx)); err != nil {
		t.Fatal(err)
	}
	appids := authorize(t, env, m, 1)
	before := mustWork(t, env, m, appids)
	// A new instance cannot get a data key: its scheduled run fails as
	// unavailable without calling WeChat, and the stored tokens stay.
	env.KMS.InjectError("GenerateDataKey", "KeyUnavailableException", 1000)
	env.Sim.ResetCalls()
	other := tokens.FromDeps(env.Deps)
	env.Clock.Advance(2*time.Hour - 10*time.Minute)
	if _, err := env.Sim.PushTicket(ctx, ticketURL(t, env)); err != nil {
		t.Fatal(err)
	}
	if _, err := other.RefreshDue(refreshJob(ctx)); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("got %v (kind %s), want unavailable", err, apperr.KindOf(err))
	}
	if c := env.Sim.Calls("api_component_token") + env.Sim.Calls("api_authorizer_token"); c != 0 {
		t.Fatalf("WeChat minted %d tokens that could not be stored", c)
	}
	if got := mustWork(t, env, m, appids); got[0] != before[0] || got[1] != before[1] {
		t.Fatal("the stored tokens changed")
	}
	// KMS is back: the next run refreshes everything.
	env.KMS.InjectError("GenerateDataKey", "KeyUnavailableException", 0)
	if sum, err := other.RefreshDue(refreshJob(ctx)); err != nil || sum.Refreshed != 1 {
		t.Fatalf("after the outage: %+v, %v", sum, err)
	}
	mustWork(t, env, other, appids)
}
