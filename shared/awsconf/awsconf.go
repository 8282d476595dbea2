// Package awsconf builds the AWS SDK configuration from the Lambda
// environment. The SDK's default loader links SSO, STS and instance-metadata
// clients a Lambda never uses; reading the variables Lambda sets keeps the
// binaries small and the cold start free of network calls.
package awsconf

import (
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ErrNoCredentials says neither Lambda's credential variables nor a local
// endpoint override are present.
var ErrNoCredentials = errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")

// FromEnv returns the configuration for region. With local set (an endpoint
// override: the embedded server, DynamoDB Local, moto), the environment's
// credentials are used when present (an override may point at an AWS
// account), else dummy static ones.
func FromEnv(region string, local bool) (aws.Config, error) {
	cfg := aws.Config{Region: region}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if local && (id == "" || secret == "") {
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		return cfg, nil
	}
	if id == "" || secret == "" {
		return cfg, ErrNoCredentials
	}
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")))
	return cfg, nil
}
