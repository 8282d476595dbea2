// Command devserver runs the whole product on one local HTTP server (see
// shared/local/stack): every function's handler on its route, the schedules on
// tickers, the embedded DynamoDB-protocol server and the WeChat simulator.
// Nothing leaves the machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	addr := fs.String("addr", envOr(getenv, "DEV_ADDR", "127.0.0.1:8080"), "listen address (loopback)")
	dynamoEndpoint := fs.String("dynamodb-endpoint", getenv(config.EnvDynamoDBEndpoint),
		"use this DynamoDB endpoint instead of the embedded server")
	wechatBase := fs.String("wechat-base", getenv(config.EnvWeChatBaseURL), "use this WeChat API base URL instead of the simulator")
	ticketEvery := fs.Duration("ticket-every", 10*time.Minute, "how often the simulator pushes a component_verify_ticket")
	scheduleScale := fs.Float64("schedule-scale", 1, "run schedules this many times faster (e.g. 60: a 5-minute job every 5 s)")
	logLevel := fs.String("log-level", envOr(getenv, config.EnvLogLevel, "info"), "log level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := stack.Start(ctx, stack.Options{Addr: *addr, DynamoDBEndpoint: *dynamoEndpoint, WeChatBase: *wechatBase,
		TicketEvery: *ticketEvery, ScheduleScale: *scheduleScale, LogLevel: *logLevel, Log: stdout, Getenv: getenv}, functions.Mount)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := printBanner(stdout, st); err != nil {
		return err
	}
	return st.Wait(ctx)
}

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

Next:
  make demo           in another terminal: the whole story over HTTP against this server
                      (ticket push, authorization, review, release, login, work order, check-in/out, mileage)
  curl -s %s/health/ticketpush
  curl -s %s/dev/info          # simulator address and the demo tokens, as JSON
  curl -s -H "Authorization: Bearer <admin token>" %s/admin/miniprogram/binding
  docs/portal-api.md and docs/authorization.md list every route.
Stop with Ctrl-C.
`, in.API, st.Deps.Config.DynamoDBEndpoint, sim, st.Deps.Config.S3Endpoint, in.Tenant, in.AdminToken, in.EngineerToken,
		in.API, in.API, in.API)
	return err
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}
