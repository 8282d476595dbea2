package functions

import (
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// scheduledEvent is the EventBridge event a schedule delivers in AWS.
func scheduledEvent(function string) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version: "0", ID: "local-" + function + "-" + time.Now().UTC().Format("20060102T150405"),
		DetailType: "Scheduled Event", Source: "aws.events", Time: time.Now().UTC(),
	}
}
