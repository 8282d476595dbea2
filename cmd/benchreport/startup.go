package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// startup is one function's start-up figures.
type startup struct {
	Ready, Served time.Duration // median: until the first /next, until the first response
	InitConns     int64         // connections to storage, WeChat or AWS before the first /next
	Runs          int
}

// sink accepts and counts connections: DynamoDB, the WeChat API and every
// proxied AWS endpoint point at it, so any network call at init shows.
type sink struct {
	ln    net.Listener
	conns atomic.Int64
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			_ = c.Close()
		}
	}()
	return s, nil
}

// measureStartup runs a function's bootstrap (built for this machine) runs
// times against a stand-in Lambda Runtime API. An HTTP function gets one
// API Gateway v2 event for its health route; a scheduled function is
// measured until it asks for its first event.
func measureStartup(ctx context.Context, bin, name string, httpFn bool, runs int) (startup, error) {
	sk, err := startSink()
	if err != nil {
		return startup{}, err
	}
	defer sk.ln.Close()
	var readies, serves []time.Duration
	for i := range runs {
		r, s, conns, err := startOnce(ctx, bin, name, httpFn, sk)
		if err != nil {
			return startup{}, fmt.Errorf("%s run %d: %w", name, i+1, err)
		}
		readies, serves = append(readies, r), append(serves, s)
		if conns > 0 {
			return startup{InitConns: conns}, fmt.Errorf("%s made %d network connections before serving", name, conns)
		}
	}
	return startup{Ready: median(readies), Served: median(serves), Runs: runs}, nil
}

// startOnce starts the bootstrap once against a fresh stand-in Runtime API
// and returns the time until it first asked for an event (ready), until it
// answered the health event (served; ready for a scheduled function), and
// the connections the sink had seen by the time it was ready.
func startOnce(ctx context.Context, bin, name string, httpFn bool, sk *sink) (ready, served time.Duration, conns int64, err error) {
	rt := newRuntimeAPI(name, httpFn, sk)
	srv := httptest.NewServer(rt)
	defer srv.Close()
	defer close(rt.done)

	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = bootstrapEnv(name, srv.Listener.Addr().String(), "http://"+sk.ln.Addr().String())
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	exited := make(chan struct{})
	var exitErr error
	go func() {
		exitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	waitFor := func(ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case msg := <-rt.failure:
			return errors.New(msg)
		case <-exited:
			return exitedEarly(exitErr)
		case <-time.After(15 * time.Second):
			return errors.New("timed out")
		}
	}
	if err := waitFor(rt.ready); err != nil {
		return 0, 0, 0, err
	}
	if httpFn {
		if err := waitFor(rt.served); err != nil {
			return 0, 0, 0, err
		}
	}
	ready, served, conns = rt.since(start)
	return ready, served, conns, nil
}

// exitedEarly is the error of a bootstrap that exited during its start,
// with the error Wait returned.
func exitedEarly(err error) error {
	if err == nil {
		return errors.New("bootstrap exited")
	}
	return fmt.Errorf("bootstrap exited: %w", err)
}

// bootstrapEnv is a function's environment as deployed, except that
// DynamoDB, the WeChat API and every AWS endpoint (through the proxy)
// point at the sink.
func bootstrapEnv(name, runtimeAPI, sinkURL string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME=" + name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=cn-north-1", "AWS_ACCESS_KEY_ID=startup", "AWS_SECRET_ACCESS_KEY=startup", "AWS_SESSION_TOKEN=startup",
		"STAGE=bench", "PLATFORM_TABLE=platform", "SERVICE_TABLE=service", "COMPONENT_APPID=wxd0c0mp0nent0dev1",
		"PUBLIC_APPID=wxd0pub11c0app0dev", "API_BASE_URL=https://api.wxchannel.test", "UPLOAD_BUCKET=uploads",
		"EVENTS_QUEUE_URL=https://sqs.cn-north-1.amazonaws.com.cn/000000000000/wxchannel-bench-events.fifo",
		// As deployed: secrets come from Secrets Manager, read on first use.
		"SECRETS_ARN=arn:aws-cn:secretsmanager:cn-north-1:000000000000:secret:wxchannel-bench",
		"DYNAMODB_ENDPOINT=" + sinkURL, "WECHAT_API_BASE=" + sinkURL,
		"HTTPS_PROXY=" + sinkURL, "HTTP_PROXY=" + sinkURL, "LOG_LEVEL=warn",
	}
}

// runtimeAPI is a stand-in Lambda Runtime API for one start of a
// bootstrap. It notes when the bootstrap first asks for an event (ready);
// an HTTP function then gets one health event, and its response (served)
// must be 200. Any other request is a failure.
type runtimeAPI struct {
	name   string
	httpFn bool
	event  []byte
	sink   *sink

	ready, served chan struct{}
	failure       chan string
	done          chan struct{} // closed when the start is over: no more events

	mu        sync.Mutex
	nexts     int
	readyAt   time.Time
	servedAt  time.Time
	connsSeen int64
}

const (
	nextPath     = "/2018-06-01/runtime/invocation/next"
	responsePath = "/2018-06-01/runtime/invocation/startup-1/response"
)

func newRuntimeAPI(name string, httpFn bool, sk *sink) *runtimeAPI {
	return &runtimeAPI{
		name: name, httpFn: httpFn, event: healthEvent(name), sink: sk,
		ready: make(chan struct{}), served: make(chan struct{}), failure: make(chan string, 1), done: make(chan struct{}),
	}
}

func (rt *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == nextPath:
		rt.next(w, r)
	case r.Method == http.MethodPost && r.URL.Path == responsePath:
		rt.response(w, r)
	default:
		body, _ := io.ReadAll(r.Body)
		rt.fail(fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, body))
		w.WriteHeader(http.StatusAccepted)
	}
}

// next answers the bootstrap's request for an event: the health event the
// first time for an HTTP function, otherwise nothing until the start is
// over.
func (rt *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	rt.mu.Lock()
	rt.nexts++
	n := rt.nexts
	if n == 1 {
		rt.readyAt = time.Now()
		rt.connsSeen = rt.sink.conns.Load()
		close(rt.ready)
	}
	rt.mu.Unlock()
	if n > 1 || !rt.httpFn {
		select { // no (more) events: wait to be stopped
		case <-rt.done:
		case <-r.Context().Done():
		}
		return
	}
	w.Header().Set("Lambda-Runtime-Aws-Request-Id", "startup-1")
	w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws-cn:lambda:cn-north-1:000000000000:function:"+rt.name)
	w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
	_, _ = w.Write(rt.event)
}

// response takes the function's response to the health event.
func (rt *runtimeAPI) response(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != http.StatusOK {
		rt.fail(fmt.Sprintf("health response %s", body))
	}
	rt.mu.Lock()
	rt.servedAt = time.Now()
	rt.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	close(rt.served)
}

// fail reports the first failure; later ones are dropped.
func (rt *runtimeAPI) fail(msg string) {
	select {
	case rt.failure <- msg:
	default:
	}
}

// since returns the start's figures, measured from start.
func (rt *runtimeAPI) since(start time.Time) (ready, served time.Duration, conns int64) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ready = rt.readyAt.Sub(start)
	served = ready
	if rt.httpFn {
		served = rt.servedAt.Sub(start)
	}
	return ready, served, rt.connsSeen
}

func healthEvent(name string) []byte {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: "/health/" + name,
		Headers: map[string]string{"accept": contentTypeJSON},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "startup-1", Stage: "$default", DomainName: "api.wxchannel.test",
			TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: http.MethodGet, Path: "/health/" + name, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10",
			}}}
	raw, _ := json.Marshal(ev)
	return raw
}

// buildAll builds every function's bootstrap for goos/goarch as `make
// build` does and returns the paths by function.
func buildAll(ctx context.Context, dir, goos, goarch string, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		bin := filepath.Join(dir, goos+"-"+goarch, n, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=",
			"-o", bin, "./functions/"+n)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s for %s/%s: %w: %s", n, goos, goarch, err, msg)
		}
		out[n] = bin
	}
	return out, nil
}

func hostArch() (string, string) { return runtime.GOOS, runtime.GOARCH }

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
