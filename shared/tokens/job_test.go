package tokens_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"wxchannel/shared/local/testenv"
	"wxchannel/shared/logging"
	"wxchannel/shared/tokens"
)

// runJobLoggingMetrics runs the scheduled refresher once, built from env
// with a logger that keeps its lines, and returns its metrics line.
func runJobLoggingMetrics(t *testing.T, env *testenv.Env) (map[string]any, error) {
	t.Helper()
	var logs bytes.Buffer
	d := *env.Deps
	d.Log = logging.New(&logs, "error")
	job, err := tokens.NewRefreshJob(managerCtx(), &d)
	if err != nil {
		t.Fatal(err)
	}
	_, runErr := job.Run(logging.WithRequestID(refreshJob(managerCtx()), "schedule-tokenrefresh"))
	var found map[string]any
	for line := range bytes.SplitSeq(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if _, ok := rec[tokens.MetricRefreshFailures]; ok {
			if found != nil {
				t.Fatalf("two metric lines:\n%s", logs.String())
			}
			found = rec
		}
	}
	if found == nil || found["_aws"] == nil || found["request_id"] != "schedule-tokenrefresh" {
		t.Fatalf("no metrics line with its request id:\n%s", logs.String())
	}
	return found, runErr
}

// TestEveryRefreshRunReportsItsFailures: a good run reports 0 failures
// and a failed one (no verify ticket yet, so no component token) at least
// one, so that the alarm sees both and a silent job as failing.
func TestEveryRefreshRunReportsItsFailures(t *testing.T) {
	env, m := world(t)
	appids := authorize(t, env, m, 2)
	env.Clock.Advance(2*time.Hour - tokens.RefreshWindow/2) // both due
	rec, err := runJobLoggingMetrics(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if rec[tokens.MetricRefreshFailures] != 0.0 || rec[tokens.MetricRefreshed] != float64(len(appids)) {
		t.Errorf("good run reported %v", rec)
	}

	rec, err = runJobLoggingMetrics(t, testenv.New(t))
	if err == nil {
		t.Fatal("a run without a verify ticket succeeded")
	}
	if failures, _ := rec[tokens.MetricRefreshFailures].(float64); failures < 1 {
		t.Errorf("failed run reported %v", rec)
	}
}
