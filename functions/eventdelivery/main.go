// Command eventdelivery consumes the events queue and delivers each event
// to its tenant's webhook.
package main

import (
	"wxchannel/shared/delivery"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.Queue("eventdelivery", delivery.NewDeliveryHandler) }
