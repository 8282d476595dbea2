package logging

import (
	"context"
	"log/slog"
	"time"
)

// MetricsNamespace is the CloudWatch namespace of the product's own
// metrics; template.yaml's alarms read them there.
const MetricsNamespace = "wxchannel"

// MetricsDimension is the one dimension of every metric: the stage
// (STAGE), so that stacks sharing an account keep their metrics apart.
const MetricsDimension = "Stage"

// Units of CloudWatch metrics.
const (
	UnitCount   = "Count"
	UnitSeconds = "Seconds"
)

// Metric is one value of a metrics line.
type Metric struct {
	Name  string
	Unit  string
	Value float64
}

// EmitMetrics writes one log line in CloudWatch embedded metric format:
// CloudWatch Logs turns it into metrics in MetricsNamespace with the
// dimension Stage=stage, at no API call and with no IAM permission (see
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
// The line goes through log's handler, so it carries the request id like
// any other; it is written whatever the log level, since an alarm that
// watches for a metric's absence must never be silenced by LOG_LEVEL.
func EmitMetrics(ctx context.Context, log *slog.Logger, stage string, at time.Time, metrics ...Metric) {
	if len(metrics) == 0 {
		return
	}
	directive := emfDirective{Namespace: MetricsNamespace, Dimensions: [][]string{{MetricsDimension}}}
	attrs := make([]slog.Attr, 0, len(metrics)+2)
	for _, m := range metrics {
		directive.Metrics = append(directive.Metrics, emfMetric{Name: m.Name, Unit: m.Unit})
		attrs = append(attrs, slog.Float64(m.Name, m.Value))
	}
	attrs = append(attrs,
		slog.Any("_aws", emfMetadata{Timestamp: at.UnixMilli(), CloudWatchMetrics: []emfDirective{directive}}),
		slog.String(MetricsDimension, stage))
	r := slog.NewRecord(at, slog.LevelInfo, "metrics", 0)
	r.AddAttrs(attrs...)
	// Handle, not Log: the record skips the level check.
	_ = log.Handler().Handle(ctx, r)
}

// emfMetadata is the "_aws" member of an embedded-metric-format line.
type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}
