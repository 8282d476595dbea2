// Command adminevents serves a tenant admin's webhook, event feed,
// delivery status and replays.
package main

import (
	"wxchannel/shared/delivery"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("adminevents", delivery.NewAdminHandler) }
