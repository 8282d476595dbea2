package functions_test

import (
	"context"
	"testing"
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/logging"
	"wxchannel/shared/storage"
)

// offlineDeps are dependencies whose storage points nowhere: building a
// handler must not touch the network, so this is enough to list routes.
func offlineDeps(t *testing.T) *app.Deps {
	t.Helper()
	env := map[string]string{config.EnvPlatformTable: "platform", config.EnvServiceTable: "service", config.EnvComponentAppID: "wxcomponent",
		config.EnvEventsQueueURL: "https://sqs.cn-north-1.amazonaws.com.cn/000000000000/wxchannel-test-events.fifo",
		config.EnvSQSEndpoint:    "http://127.0.0.1:1"}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(context.Background(), storage.Options{Region: "us-east-1", Endpoint: "http://127.0.0.1:1", PlatformTable: "platform", ServiceTable: "service"})
	if err != nil {
		t.Fatal(err)
	}
	return &app.Deps{Config: cfg, Log: logging.Discard(), DB: db, Secrets: config.EnvSecrets{Getenv: func(k string) string { return env[k] }}, Now: time.Now}
}
