package kmsserver_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"wxchannel/shared/local/kmsserver"
)

// start runs a stand-in with one key and returns it, the key's ARN and the
// real SDK client pointed at it.
func start(t *testing.T) (*kmsserver.Server, string, *kms.Client) {
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
	client := kms.New(kms.Options{Region: kmsserver.Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), RetryMaxAttempts: 1})
	return srv, arn, client
}

var purpose = map[string]string{"purpose": "tests"}

func TestDataKeysRoundTripThroughTheSDK(t *testing.T) {
	srv, arn, client := start(t)
	ctx := context.Background()
	for _, name := range []string{arn, "alias/tokens", "arn:aws:kms:us-east-1:000000000000:alias/tokens", arn[len(arn)-36:]} {
		gen, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(name), KeySpec: types.DataKeySpecAes256,
			EncryptionContext: purpose})
		if err != nil {
			t.Fatalf("GenerateDataKey with %s: %v", name, err)
		}
		if len(gen.Plaintext) != 32 || len(gen.CiphertextBlob) == 0 || aws.ToString(gen.KeyId) != arn {
			t.Fatalf("GenerateDataKey with %s: %d-byte key, key id %s", name, len(gen.Plaintext), aws.ToString(gen.KeyId))
		}
		dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: purpose})
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(dec.Plaintext, gen.Plaintext) || aws.ToString(dec.KeyId) != arn || dec.EncryptionAlgorithm != types.EncryptionAlgorithmSpecSymmetricDefault {
			t.Fatalf("Decrypt returned another key or key id %s", aws.ToString(dec.KeyId))
		}
	}
	if srv.Calls("GenerateDataKey") != 4 || srv.Calls("Decrypt") != 4 {
		t.Fatalf("calls %v", srv.AllCalls())
	}
}

func TestRotationKeepsEarlierDataKeysDecryptable(t *testing.T) {
	srv, arn, client := start(t)
	ctx := context.Background()
	before, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.RotateKey(arn); err != nil {
		t.Fatal(err)
	}
	after, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: types.DataKeySpecAes256})
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range []*kms.GenerateDataKeyOutput{before, after} {
		dec, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, KeyId: aws.String("alias/tokens")})
		if err != nil || !bytes.Equal(dec.Plaintext, gen.Plaintext) {
			t.Fatalf("Decrypt after rotation: %v", err)
		}
	}
}

func TestRefusalsAreKMSErrorTypes(t *testing.T) {
	srv, arn, client := start(t)
	ctx := context.Background()
	gen, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: types.DataKeySpecAes256,
		EncryptionContext: purpose})
	if err != nil {
		t.Fatal(err)
	}
	other, err := srv.CreateKey("alias/other")
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(gen.CiphertextBlob)
	altered[len(altered)-1] ^= 1
	generate := func(in *kms.GenerateDataKeyInput) error { _, err := client.GenerateDataKey(ctx, in); return err }
	decrypt := func(in *kms.DecryptInput) error { _, err := client.Decrypt(ctx, in); return err }
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown key", func() error {
			return generate(&kms.GenerateDataKeyInput{KeyId: aws.String("alias/missing"), KeySpec: types.DataKeySpecAes256})
		}, "NotFoundException"},
		{"neither key spec nor size", func() error { return generate(&kms.GenerateDataKeyInput{KeyId: aws.String(arn)}) }, "ValidationException"},
		{"altered blob", func() error {
			return decrypt(&kms.DecryptInput{CiphertextBlob: altered, EncryptionContext: purpose})
		}, "InvalidCiphertextException"},
		{"another encryption context", func() error {
			return decrypt(&kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
		}, "InvalidCiphertextException"},
		{"no encryption context", func() error { return decrypt(&kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob}) }, "InvalidCiphertextException"},
		{"another key named", func() error {
			return decrypt(&kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: purpose, KeyId: aws.String(other)})
		}, "IncorrectKeyException"},
		{"not a blob", func() error { return decrypt(&kms.DecryptInput{CiphertextBlob: []byte("plaintext")}) }, "InvalidCiphertextException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var apiErr smithy.APIError
			if err := tt.call(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.want {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
	// The SDK decodes them into its typed errors.
	var notFound *types.NotFoundException
	if err := generate(&kms.GenerateDataKeyInput{KeyId: aws.String("alias/missing"), KeySpec: types.DataKeySpecAes256}); !errors.As(err, &notFound) {
		t.Fatalf("got %T, want *types.NotFoundException", err)
	}
	var invalid *types.InvalidCiphertextException
	if err := decrypt(&kms.DecryptInput{CiphertextBlob: altered, EncryptionContext: purpose}); !errors.As(err, &invalid) {
		t.Fatalf("got %T, want *types.InvalidCiphertextException", err)
	}
	if err := srv.SetEnabled(arn, false); err != nil {
		t.Fatal(err)
	}
	var disabled *types.DisabledException
	if err := decrypt(&kms.DecryptInput{CiphertextBlob: gen.CiphertextBlob, EncryptionContext: purpose}); !errors.As(err, &disabled) {
		t.Fatalf("disabled key: got %v", err)
	}
}

func TestInjectedErrorsAnswerTheNextCalls(t *testing.T) {
	srv, arn, client := start(t)
	ctx := context.Background()
	srv.InjectError("GenerateDataKey", "ThrottlingException", 1)
	in := &kms.GenerateDataKeyInput{KeyId: aws.String(arn), KeySpec: types.DataKeySpecAes256}
	var apiErr smithy.APIError
	if _, err := client.GenerateDataKey(ctx, in); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" {
		t.Fatalf("got %v", err)
	}
	if _, err := client.GenerateDataKey(ctx, in); err != nil {
		t.Fatalf("after the injected error: %v", err)
	}
	if c := srv.Calls("GenerateDataKey"); c != 2 {
		t.Fatalf("calls %d, want 2", c)
	}
	srv.ResetCalls()
	if c := srv.Calls("GenerateDataKey"); c != 0 {
		t.Fatalf("calls %d after reset", c)
	}
}
