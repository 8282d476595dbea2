package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxchannel/functions"
)

// TestDevServerServesEveryFunction starts the dev server as `make run` does
// (on a free loopback port) and calls each function's health route and an
// unknown route over HTTP.
func TestDevServerServesEveryFunction(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, func(string) string { return "" }, pw)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("dev server did not stop")
		}
	})

	base := ""
	adminToken := ""
	sc := bufio.NewScanner(pr)
	listening := regexp.MustCompile(`listening on\s+(http://\S+)`)
	admin := regexp.MustCompile(`admin token\s+(\S+)`)
	for sc.Scan() {
		line := sc.Text()
		if m := listening.FindStringSubmatch(line); m != nil {
			base = m[1]
		}
		if m := admin.FindStringSubmatch(line); m != nil {
			adminToken = m[1]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" || adminToken == "" {
		t.Fatalf("the banner did not name the address and a token")
	}

	for _, f := range functions.All {
		if f.HTTP == nil {
			continue
		}
		name := f.Name
		resp, err := http.Get(base + "/health/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body["function"] != name {
			t.Errorf("%s health: %d %v", name, resp.StatusCode, body)
		}
	}
	resp, err := http.Get(base + "/nowhere")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"route_not_found"`) {
		t.Errorf("unknown route: %d %s", resp.StatusCode, b)
	}
}

// TestHelpListsEveryFlagAndVariable: -h exits cleanly (exit code 0 in
// main) and names every flag and environment variable.
func TestHelpListsEveryFlagAndVariable(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"-addr", "-allow-remote", "-dynamodb-endpoint", "-wechat-base", "-ticket-every", "-schedule-scale",
		"-log-level", "DEV_ADDR", "DEV_ALLOW_REMOTE", "DYNAMODB_ENDPOINT", "COMPONENT_APPID"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %s:\n%s", want, out.String())
		}
	}
}

// TestNonLoopbackAddressIsRefused: /dev/info hands out staff tokens, so
// the server listens beyond loopback only when told to.
func TestNonLoopbackAddressIsRefused(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "0.0.0.0:0"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-allow-remote") {
		t.Fatalf("0.0.0.0: %v", err)
	}
	for _, ok := range []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"} {
		if err := checkLoopback(ok, false); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := checkLoopback("192.0.2.10:8080", true); err != nil {
		t.Errorf("allowed remote: %v", err)
	}
}

// TestStopsOnSIGTERMAndWhenOrphaned builds the server as `make run` does
// and stops it the two ways a tool does: SIGTERM to the server (it prints
// its one-line summary and exits 0), and killing the process that started
// it (it notices and frees the port).
func TestStopsOnSIGTERMAndWhenOrphaned(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "devserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	var out strings.Builder
	cmd := exec.Command(bin, "-addr", addr, "-log-level", "warn")
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, addr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "devserver: stopped (signal)") {
		t.Fatalf("no summary:\n%s", out.String())
	}

	// A shell starts it in the background and is killed: the server is
	// orphaned and must let the port go.
	addr = freeAddr(t)
	sh := exec.Command("sh", "-c", bin+" -addr "+addr+" -log-level warn >/dev/null & wait")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	waitListening(t, addr)
	_ = sh.Process.Kill()
	_ = sh.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned server still holds %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health/ticketpush")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not listen on %s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
