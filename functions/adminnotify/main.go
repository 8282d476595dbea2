// Command adminnotify serves a tenant admin's customer-notification
// settings, templates and statistics.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/notify"
)

func main() { lambdarun.HTTP("adminnotify", notify.NewAdminHandler) }
