// Command devserver runs the whole product on one local HTTP server (see
// shared/local/stack): every function's handler on its route, the schedules on
// tickers, the embedded DynamoDB-protocol server and the WeChat simulator.
// Nothing leaves the machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wxchannel/functions"
	"wxchannel/shared/config"
	"wxchannel/shared/local/stack"
)

func main() {
	os.Exit(serve())
}

// serve runs the dev server until interrupted and returns the process's
// exit code; it returns rather than exits so that the signal handler is
// stopped first.
func serve() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		return 1
	}
	return 0
}

// envVars are the environment variables the dev server reads, for -h.
var envVars = []struct{ name, what string }{
	{"DEV_ADDR", "listen address (the -addr default); make demo finds the server through it too"},
	{"DEV_ALLOW_REMOTE", "1: serve on a non-loopback address (the -allow-remote default)"},
	{config.EnvDynamoDBEndpoint, "an external DynamoDB endpoint instead of the embedded server (the -dynamodb-endpoint default)"},
	{config.EnvWeChatBaseURL, "an external WeChat API base URL instead of the simulator (the -wechat-base default)"},
	{config.EnvLogLevel, "log level (the -log-level default)"},
	{config.EnvComponentAppID + ", " + config.EnvPublicAppID, "the platform's appids"},
	{config.EnvPlatformTable + ", " + config.EnvServiceTable, "table names"},
	{config.EnvAPIBaseURL, "the public API base URL WeChat and the mini program are told"},
	{config.EnvUploadBucket + ", " + config.EnvS3Endpoint, "an external photo bucket instead of the in-process S3"},
	{strings.Join(config.SecretNames, ", "), "secrets (dev defaults otherwise; shown in the banner and /dev/info)"},
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", envOr(getenv, "DEV_ADDR", "127.0.0.1:8080"), "listen address (loopback unless -allow-remote)")
	allowRemote := fs.Bool("allow-remote", getenv("DEV_ALLOW_REMOTE") == "1",
		"serve on a non-loopback address: /dev/info hands out 12-hour admin and engineer tokens to whoever asks")
	dynamoEndpoint := fs.String("dynamodb-endpoint", getenv(config.EnvDynamoDBEndpoint),
		"use this DynamoDB endpoint instead of the embedded server")
	wechatBase := fs.String("wechat-base", getenv(config.EnvWeChatBaseURL), "use this WeChat API base URL instead of the simulator")
	ticketEvery := fs.Duration("ticket-every", 10*time.Minute, "how often the simulator pushes a component_verify_ticket")
	scheduleScale := fs.Float64("schedule-scale", 1, "run schedules this many times faster (e.g. 60: a 5-minute job every 5 s)")
	logLevel := fs.String("log-level", envOr(getenv, config.EnvLogLevel, "info"), "log level")
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: devserver [flags]  (make run)\n\nRuns the whole product on one local HTTP server.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stdout, "\nEnvironment:\n")
		for _, v := range envVars {
			fmt.Fprintf(stdout, "  %s\n    \t%s\n", v.name, v.what)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkLoopback(*addr, *allowRemote); err != nil {
		return err
	}
	started := time.Now()
	ctx, why := watchParent(ctx)
	st, err := stack.Start(ctx, stack.Options{Addr: *addr, DynamoDBEndpoint: *dynamoEndpoint, WeChatBase: *wechatBase,
		TicketEvery: *ticketEvery, ScheduleScale: *scheduleScale, LogLevel: *logLevel, Log: stdout, Getenv: getenv}, functions.Mount)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := printBanner(stdout, st); err != nil {
		return err
	}
	err = st.Wait(ctx)
	fmt.Fprintf(stdout, "devserver: stopped (%s) after %s\n", why(), time.Since(started).Round(time.Second))
	return err
}

// checkLoopback refuses a listen address reachable from other machines
// unless asked: the dev server's /dev/info hands out staff tokens.
func checkLoopback(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if allowRemote {
		return nil
	}
	return fmt.Errorf("-addr %s is not a loopback address: other machines could read /dev/info, which hands out admin and "+
		"engineer tokens; use 127.0.0.1, or pass -allow-remote (DEV_ALLOW_REMOTE=1) if that is what you want", addr)
}

// watchParent ends ctx when the process that started the dev server goes
// away (a tool that stops `make run` without signalling its children), so
// that no orphan keeps the port; why says what stopped the server.
func watchParent(ctx context.Context) (context.Context, func() string) {
	ctx, cancel := context.WithCancelCause(ctx)
	parent := os.Getppid()
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if os.Getppid() != parent {
					cancel(errParentGone)
					return
				}
			}
		}
	}()
	return ctx, func() string {
		if errors.Is(context.Cause(ctx), errParentGone) {
			return "the process that started it exited"
		}
		return "signal"
	}
}

var errParentGone = errors.New("parent exited")

func printBanner(w io.Writer, st *stack.Stack) error {
	in := st.Info()
	sim := in.WeChatSimulator
	if sim == "" {
		sim = "(external WeChat API: " + st.Deps.Config.WeChatBaseURL + ")"
	}
	_, err := fmt.Fprintf(w, `
wxchannel dev server
  listening on        %s
  DynamoDB endpoint   %s
  WeChat simulator    %s
  S3 (photo uploads)  %s
  tenant              %s (Demo Equipment Co.: guest access, invitation codes, serial registration)
  admin token         %s
  engineer token      %s
  operator token      %s   (the platform operator: /platform/...)
  console             %s/console/#token=%s
                      (the tenant admin's console: open it in a browser)

WeChat side (what a push tool of your own needs)
  component appid     %s
  authorization URL   %s   (授权事件接收URL)
  message URL         %s   (消息与事件接收URL)
  message Token       %s
  EncodingAESKey      %s
  simulator console   %s/sim/...   (docs/simulator.md: play the human steps and WeChat's pushes)

Next:
  make demo           in another terminal: the whole story over HTTP against this server
                      (ticket push, authorization, review, release, login, work order, check-in/out, mileage)
  curl -s %s/health/ticketpush
  curl -s %s/dev/info          # simulator address, the demo tokens and the WeChat-side settings, as JSON
  curl -s -H "Authorization: Bearer <admin token>" %s/admin/miniprogram/binding
  docs/portal-api.md and docs/authorization.md list every route.
Stop with Ctrl-C (or SIGTERM).
`, in.API, st.Deps.Config.DynamoDBEndpoint, sim, st.Deps.Config.S3Endpoint, in.Tenant, in.AdminToken, in.EngineerToken,
		in.OperatorToken, in.API, in.AdminToken,
		in.ComponentAppID, in.AuthorizationEventURL, in.MessageEventURL, in.MessageToken, in.EncodingAESKey, sim,
		in.API, in.API, in.API)
	return err
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}
