package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"wxchannel/functions"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/local/testenv"
)

// TestWalkthrough runs the walkthrough twice against a dev stack, as
// `make demo` runs it against `make run`: every step must succeed, and a
// second run must work on the state the first one left.
func TestWalkthrough(t *testing.T) {
	ctx := context.Background()
	o := stack.Options{Addr: "127.0.0.1:0", LogLevel: "error"}
	testenv.StackOn(t, &o)
	started := testenv.RecordIAM(t, &o) // the walkthrough's calls must be allowed too
	st, err := stack.Start(ctx, o, functions.Mount)
	if err != nil {
		t.Fatal(err)
	}
	started(st)
	t.Cleanup(st.Close)
	for run := 1; run <= 2; run++ {
		var out bytes.Buffer
		if err := Run(ctx, st.URL, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out.String())
		}
		text := out.String()
		wants := []string{"GET /wechat/auth/start → text/html page", "(Referrer-Policy origin)", "bound=true", "release-status approved", "→ released " + stack.TemplateVersion,
			"release code", "replayed=true", "customer CUST-0042", "submitted → accepted → en_route → in_progress → completed", "km today", "admin corrects the leg",
			"the enterprise's CRM receives the order"}
		if st.Events != nil { // the embedded DynamoDB server's stream feeds the pipeline
			wants = append(wants, "created → accepted → en_route → checked_in → in_progress → checked_out → completed → rated")
		}
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("run %d: output lacks %q:\n%s", run, want, text)
			}
		}
		if run == 2 && !strings.Contains(text, "unbind the previous run's mini program") {
			t.Errorf("the second run did not replace the first run's binding:\n%s", text)
		}
		t.Logf("run %d:\n%s", run, text)
	}
	if st.Sim.Calls("submit_audit") != 2 || st.Sim.Calls("release") != 2 {
		t.Errorf("WeChat saw %d submissions and %d releases, want 2 each", st.Sim.Calls("submit_audit"), st.Sim.Calls("release"))
	}
}

// TestDemoFindsTheServerAsMakeRunWasTold: DEMO_API wins, else DEV_ADDR
// (what `make run` listens on), else the dev server's default.
func TestDemoFindsTheServerAsMakeRunWasTold(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "http://127.0.0.1:8080"},
		{map[string]string{"DEV_ADDR": "127.0.0.1:18080"}, "http://127.0.0.1:18080"},
		{map[string]string{"DEV_ADDR": "127.0.0.1:18080", "DEMO_API": "http://127.0.0.1:9000"}, "http://127.0.0.1:9000"},
	} {
		if got := defaultAPI(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: %s, want %s", c.env, got, c.want)
		}
	}
}
