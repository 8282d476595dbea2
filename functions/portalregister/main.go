// Command portalregister is the Lambda through which terminal users see
// themselves and register: profile, registration by invitation code or
// serial number, devices, and their notifications (subscriptions and the
// in-app feed).
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/notify"
)

func main() { lambdarun.HTTP("portalregister", notify.WithPortal) }
