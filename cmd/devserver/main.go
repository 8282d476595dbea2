// Command devserver runs the whole product on one local HTTP server: every
// function's handler on its route, the schedules on tickers, the embedded
// DynamoDB-protocol server and the WeChat simulator. Nothing leaves the
// machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/app"
	"wxchannel/shared/config"
	"wxchannel/shared/localdynamo"
	"wxchannel/shared/logging"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat/wechatsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

// Local defaults. They are development values, not secrets of any real
// platform; the simulator accepts them.
var devDefaults = map[string]string{
	config.EnvStage:                "local",
	config.EnvPlatformTable:        "wxchannel-platform",
	config.EnvServiceTable:         "wxchannel-service",
	config.EnvComponentAppID:       "wxd0c0mp0nent0dev1",
	config.EnvPublicAppID:          "wxd0pub11c0app0dev",
	config.SecretComponentSecret:   "dev-component-secret",
	config.SecretComponentToken:    "devtoken",
	config.SecretEncodingAESKey:    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	config.SecretPublicAppSecret:   "dev-public-app-secret",
	config.SecretSessionSigningKey: "dev-session-signing-key-0123456789abcdef",
	config.SecretAdminSigningKey:   "dev-admin-signing-key-0123456789abcdef",
	config.SecretStateSigningKey:   "dev-state-signing-key-0123456789abcdef",
}

// DemoTenant is the tenant the dev server prints tokens for.
const DemoTenant = "demo"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	addr := fs.String("addr", envOr(getenv, "DEV_ADDR", "127.0.0.1:8080"), "listen address (loopback)")
	dynamoEndpoint := fs.String("dynamodb-endpoint", getenv(config.EnvDynamoDBEndpoint), "use this DynamoDB endpoint instead of the embedded server")
	wechatBase := fs.String("wechat-base", getenv(config.EnvWeChatBaseURL), "use this WeChat API base URL instead of the simulator")
	ticketEvery := fs.Duration("ticket-every", 10*time.Minute, "how often the simulator pushes a component_verify_ticket")
	scheduleScale := fs.Float64("schedule-scale", 1, "run schedules this many times faster (e.g. 60: a 5-minute job every 5 s)")
	logLevel := fs.String("log-level", envOr(getenv, config.EnvLogLevel, "info"), "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := logging.New(stdout, *logLevel)

	vars := map[string]string{}
	for k, v := range devDefaults {
		vars[k] = v
	}
	for _, k := range append([]string{config.EnvPlatformTable, config.EnvServiceTable, config.EnvComponentAppID, config.EnvPublicAppID, config.EnvAPIBaseURL}, config.SecretNames...) {
		if v := getenv(k); v != "" {
			vars[k] = v
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if vars[config.EnvAPIBaseURL] == "" {
		vars[config.EnvAPIBaseURL] = base
	}

	if *dynamoEndpoint == "" {
		dyn, err := localdynamo.Start()
		if err != nil {
			return fmt.Errorf("start embedded DynamoDB: %w", err)
		}
		defer dyn.Close()
		*dynamoEndpoint = dyn.URL
	}
	vars[config.EnvDynamoDBEndpoint] = *dynamoEndpoint

	if getenv(config.EnvUploadBucket) == "" {
		s3URL, stopS3, err := startS3(devUploadBucket)
		if err != nil {
			return err
		}
		defer stopS3()
		vars[config.EnvUploadBucket], vars[config.EnvS3Endpoint] = devUploadBucket, s3URL
	} else {
		vars[config.EnvUploadBucket], vars[config.EnvS3Endpoint] = getenv(config.EnvUploadBucket), getenv(config.EnvS3Endpoint)
	}

	var sim *wechatsim.Sim
	if *wechatBase == "" {
		sim, err = wechatsim.Start(wechatsim.Options{
			ComponentAppID: vars[config.EnvComponentAppID], ComponentSecret: vars[config.SecretComponentSecret],
			Token: vars[config.SecretComponentToken], EncodingAESKey: vars[config.SecretEncodingAESKey],
			Logger: log.With("component", "wechatsim"),
		})
		if err != nil {
			return fmt.Errorf("start WeChat simulator: %w", err)
		}
		defer sim.Close()
		sim.AddPublicApp(vars[config.EnvPublicAppID], vars[config.SecretPublicAppSecret])
		*wechatBase = sim.URL
	}
	vars[config.EnvWeChatBaseURL] = *wechatBase

	getvar := func(k string) string { return vars[k] }
	cfg, err := config.FromEnv(getvar)
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, storage.Options{Region: cfg.Region, Endpoint: cfg.DynamoDBEndpoint, PlatformTable: cfg.PlatformTable, ServiceTable: cfg.ServiceTable})
	if err != nil {
		return err
	}
	if err := storage.CreateTables(ctx, db.Client, map[string]string{"PlatformTable": cfg.PlatformTable, "ServiceTable": cfg.ServiceTable}); err != nil {
		return err
	}
	deps := &app.Deps{Config: cfg, Log: log, DB: db, Secrets: config.EnvSecrets{Getenv: getvar}, Now: time.Now,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}}

	mux, jobs, err := functions.Mount(ctx, deps)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, j := range jobs {
		go runEvery(ctx, j, time.Duration(float64(j.Every) / *scheduleScale))
	}
	if sim != nil {
		sim.SetPushURL(base + "/wechat/component/events")
		sim.SetMessageURL(base + "/wechat/events/$APPID$")
		// The platform's code template, as uploaded from the developer tools.
		sim.AddTemplate(wechatsim.Template{ID: 1, Version: "1.0.0", Desc: "after-sales service portal"})
		go sim.StartTicketPusher(ctx, base+"/wechat/component/events", *ticketEvery)
	}
	if err := printBanner(stdout, base, cfg, sim, deps); err != nil {
		return err
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, done := context.WithTimeout(context.Background(), 2*time.Second)
	defer done()
	if err := srv.Shutdown(shutdown); err != nil {
		// Connections that never sent a request keep Shutdown waiting.
		return srv.Close()
	}
	return nil
}

func runEvery(ctx context.Context, j functions.Scheduled, every time.Duration) {
	if every < time.Second {
		every = time.Second
	}
	// Run once at start so tokens exist as soon as a ticket arrives.
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_, _ = j.Run(ctx) // the job logs its own summary or error
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func printBanner(w io.Writer, base string, cfg config.Config, sim *wechatsim.Sim, d *app.Deps) error {
	key, err := d.Secrets.Get(context.Background(), config.SecretAdminSigningKey)
	if err != nil {
		return err
	}
	admin, err := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: DemoTenant, Subject: "demo-admin", Role: staffauth.RoleAdmin}, staffauth.MaxTTL, time.Now())
	if err != nil {
		return err
	}
	engineer, err := staffauth.Issue([]byte(key), staffauth.Claims{TenantID: DemoTenant, Subject: "demo-engineer", Role: staffauth.RoleEngineer}, staffauth.MaxTTL, time.Now())
	if err != nil {
		return err
	}
	simURL := "(external: " + cfg.WeChatBaseURL + ")"
	if sim != nil {
		simURL = sim.URL
	}
	_, err = fmt.Fprintf(w, `
wxchannel dev server
  listening on        %s
  DynamoDB endpoint   %s
  WeChat simulator    %s
  S3 (photo uploads)  %s
  tenant              %s
  admin token         %s
  engineer token      %s

Try:
  curl -s %s/health/ticketpush
  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" %s/admin/miniprogram/binding
Stop with Ctrl-C.
`, base, cfg.DynamoDBEndpoint, simURL, cfg.S3Endpoint, DemoTenant, admin, engineer, base, base)
	return err
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}
