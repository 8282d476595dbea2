// Command adminportal is the Lambda behind the admin routes for invitations, registration decisions, devices and QR scenes.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/terminaluser"
)

func main() { lambdarun.HTTP("adminportal", terminaluser.NewAdminHandler) }
