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
	for i := 0; i < runs; i++ {
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

func startOnce(ctx context.Context, bin, name string, httpFn bool, sk *sink) (ready, served time.Duration, conns int64, err error) {
	var (
		mu        sync.Mutex
		start     time.Time
		readyAt   time.Time
		servedAt  time.Time
		nexts     int
		readyCh   = make(chan struct{})
		servedCh  = make(chan struct{})
		failure   = make(chan string, 1)
		connsSeen int64
	)
	event := healthEvent(name)
	done := make(chan struct{})
	rt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
			mu.Lock()
			nexts++
			n := nexts
			if n == 1 {
				readyAt = time.Now()
				connsSeen = sk.conns.Load()
				close(readyCh)
			}
			mu.Unlock()
			if n > 1 || !httpFn {
				select { // no (more) events: wait to be stopped
				case <-done:
				case <-r.Context().Done():
				}
				return
			}
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", "startup-1")
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws-cn:lambda:cn-north-1:000000000000:function:"+name)
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
			_, _ = w.Write(event)
		case r.Method == http.MethodPost && r.URL.Path == "/2018-06-01/runtime/invocation/startup-1/response":
			body, _ := io.ReadAll(r.Body)
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != http.StatusOK {
				select {
				case failure <- fmt.Sprintf("health response %s", body):
				default:
				}
			}
			mu.Lock()
			servedAt = time.Now()
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
			close(servedCh)
		default:
			body, _ := io.ReadAll(r.Body)
			select {
			case failure <- fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, body):
			default:
			}
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	defer rt.Close()
	defer close(done)

	sinkURL := "http://" + sk.ln.Addr().String()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + rt.Listener.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=" + name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=cn-north-1", "AWS_ACCESS_KEY_ID=startup", "AWS_SECRET_ACCESS_KEY=startup", "AWS_SESSION_TOKEN=startup",
		"STAGE=bench", "PLATFORM_TABLE=platform", "SERVICE_TABLE=service", "COMPONENT_APPID=wxd0c0mp0nent0dev1",
		"PUBLIC_APPID=wxd0pub11c0app0dev", "API_BASE_URL=https://api.wxchannel.test", "UPLOAD_BUCKET=uploads",
		// As deployed: secrets come from Secrets Manager, read on first use.
		"SECRETS_ARN=arn:aws-cn:secretsmanager:cn-north-1:000000000000:secret:wxchannel-bench",
		"DYNAMODB_ENDPOINT=" + sinkURL, "WECHAT_API_BASE=" + sinkURL,
		"HTTPS_PROXY=" + sinkURL, "HTTP_PROXY=" + sinkURL, "LOG_LEVEL=warn",
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	start = time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	waitFor := func(ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case msg := <-failure:
			return errors.New(msg)
		case err := <-exited:
			return fmt.Errorf("bootstrap exited: %v", err)
		case <-time.After(15 * time.Second):
			return errors.New("timed out")
		}
	}
	if err := waitFor(readyCh); err != nil {
		return 0, 0, 0, err
	}
	if httpFn {
		if err := waitFor(servedCh); err != nil {
			return 0, 0, 0, err
		}
	}
	mu.Lock()
	defer mu.Unlock()
	ready = readyAt.Sub(start)
	served = ready
	if httpFn {
		served = servedAt.Sub(start)
	}
	return ready, served, connsSeen, nil
}

func healthEvent(name string) []byte {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: "/health/" + name,
		Headers: map[string]string{"accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "startup-1", Stage: "$default", DomainName: "api.wxchannel.test",
			TimeEpoch: time.Now().UnixMilli(),
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/health/" + name, Protocol: "HTTP/1.1", SourceIP: "203.0.113.10"}}}
	raw, _ := json.Marshal(ev)
	return raw
}

// buildAll builds every function's bootstrap for goos/goarch as `make
// build` does and returns the paths by function.
func buildAll(ctx context.Context, dir, goos, goarch string, names []string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		bin := filepath.Join(dir, goos+"-"+goarch, n, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w -buildid=", "-o", bin, "./functions/"+n)
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
