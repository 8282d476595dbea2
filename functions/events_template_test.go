package functions_test

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"wxchannel/shared/local/stack"
)

// TestEventTriggersMatchWhatTheLocalStackRuns: the stream and queue that
// trigger the event functions in AWS are configured as the local stack
// plays them (the filter, the batch item failures, the FIFO queue and its
// redrive), so what the tests prove is what is deployed.
func TestEventTriggersMatchWhatTheLocalStackRuns(t *testing.T) {
	raw := readTemplate(t)
	resources := raw.resources()
	fns := raw.functionResources()

	fanout := dig(resources[fns["eventfanout"]], "Properties", "Events", "Stream", "Properties")
	if got := fmt.Sprint(dig(fanout, "Stream")); got != "map[Fn::GetAtt:[ServiceTable StreamArn]]" {
		t.Errorf("eventfanout reads stream %s, want the service table's", got)
	}
	filters, _ := dig(fanout, "FilterCriteria", "Filters").([]any)
	if len(filters) != 1 || dig(filters[0], "Pattern") != stack.FanoutFilterPattern {
		t.Errorf("eventfanout's filter is %v, want the local stack's %s", filters, stack.FanoutFilterPattern)
	}
	for name, props := range map[string]any{"eventfanout": fanout,
		"eventdelivery": dig(resources[fns["eventdelivery"]], "Properties", "Events", "Queue", "Properties")} {
		types, _ := dig(props, "FunctionResponseTypes").([]any)
		if !slices.Contains(types, any("ReportBatchItemFailures")) {
			t.Errorf("%s does not report batch item failures: its partial retries would redo whole batches", name)
		}
	}
	if got := fmt.Sprint(dig(fanout, "BisectBatchOnFunctionError")); got != "false" {
		t.Errorf("eventfanout bisects failed batches (%s): events would be queued out of order", got)
	}
	if got := fmt.Sprint(dig(fanout, "DestinationConfig", "OnFailure", "Destination")); got != "map[Fn::GetAtt:[StreamFailuresQueue Arn]]" {
		t.Errorf("eventfanout's failures go to %s", got)
	}

	delivery := dig(resources[fns["eventdelivery"]], "Properties", "Events", "Queue", "Properties")
	if got := fmt.Sprint(dig(delivery, "Queue")); got != "map[Fn::GetAtt:[EventsQueue Arn]]" {
		t.Errorf("eventdelivery consumes %s, want the events queue", got)
	}
	queue := dig(resources["EventsQueue"], "Properties")
	if fmt.Sprint(dig(queue, "FifoQueue")) != "true" {
		t.Error("the events queue is not FIFO: a work order's events could be delivered out of order")
	}
	if got := fmt.Sprint(dig(queue, "RedrivePolicy", "maxReceiveCount")); got != stack.EventsMaxReceives {
		t.Errorf("the events queue redrives after %s receives, the local stack after %s", got, stack.EventsMaxReceives)
	}
	if got := fmt.Sprint(dig(queue, "VisibilityTimeout")); got != stack.EventsVisibility {
		t.Errorf("the events queue's visibility timeout is %s, the local stack's %s", got, stack.EventsVisibility)
	}
	visibility, _ := strconv.Atoi(stack.EventsVisibility)
	timeout, _ := strconv.Atoi(fmt.Sprint(dig(resources[fns["eventdelivery"]], "Properties", "Timeout")))
	if timeout == 0 || visibility < 6*timeout {
		t.Errorf("the queue's visibility timeout %d s is under six times the delivery function's timeout %d s", visibility, timeout)
	}
	if fmt.Sprint(dig(resources["EventsDeadLetterQueue"], "Properties", "FifoQueue")) != "true" {
		t.Error("the events dead-letter queue is not FIFO (SQS requires it for a FIFO source)")
	}
	if fmt.Sprint(dig(resources["ServiceTable"], "Properties", "StreamSpecification", "StreamViewType")) != "NEW_AND_OLD_IMAGES" {
		t.Error("the service table has no stream for the outbox")
	}
	for _, alarm := range []string{"EventsDeadLetterAlarm", "EventsDeliveryAgeAlarm", "EventFanoutIteratorAgeAlarm", "StreamFailuresAlarm"} {
		if resources[alarm]["Type"] != "AWS::CloudWatch::Alarm" {
			t.Errorf("no %s", alarm)
		}
	}
}
