package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"wxchannel/shared/logging"
)

// TestMetricsLineIsEmbeddedMetricFormat: the line CloudWatch Logs turns
// into metrics has the _aws directive naming each metric and the
// dimension, the values and the dimension at the top level, and the
// request id; it is written even when the log level hides info records.
func TestMetricsLineIsEmbeddedMetricFormat(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "error")
	ctx := logging.WithRequestID(context.Background(), "req-1")
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

	logging.EmitMetrics(ctx, log, "prod", at,
		logging.Metric{Name: "Stored", Unit: logging.UnitCount, Value: 1},
		logging.Metric{Name: "Age", Unit: logging.UnitSeconds, Value: 2.5})

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("want one line, got %q", buf.String())
	}
	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage     string
		Stored    float64
		Age       float64
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(lines[0], &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, lines[0])
	}
	if got.AWS.Timestamp != at.UnixMilli() {
		t.Errorf("Timestamp %d, want %d (milliseconds)", got.AWS.Timestamp, at.UnixMilli())
	}
	if len(got.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("CloudWatchMetrics %+v", got.AWS.CloudWatchMetrics)
	}
	d := got.AWS.CloudWatchMetrics[0]
	if d.Namespace != logging.MetricsNamespace || !reflect.DeepEqual(d.Dimensions, [][]string{{"Stage"}}) {
		t.Errorf("directive %+v", d)
	}
	want := []struct{ Name, Unit string }{{"Stored", "Count"}, {"Age", "Seconds"}}
	if !reflect.DeepEqual(d.Metrics, want) {
		t.Errorf("metrics %+v, want %+v", d.Metrics, want)
	}
	if got.Stage != "prod" || got.Stored != 1 || got.Age != 2.5 || got.RequestID != "req-1" {
		t.Errorf("top-level values %+v", got)
	}
}

func TestNoMetricsWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	logging.EmitMetrics(context.Background(), logging.New(&buf, "info"), "prod", time.Now())
	if buf.Len() != 0 {
		t.Fatalf("wrote %q", buf.String())
	}
}
