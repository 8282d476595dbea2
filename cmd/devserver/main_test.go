package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
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
