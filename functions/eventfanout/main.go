// Command eventfanout consumes the service table's stream and queues each
// new outbox event for delivery.
package main

import (
	"wxchannel/shared/delivery"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.Stream("eventfanout", delivery.NewFanoutHandler) }
