// Command adminportal is the Lambda through which the admin routes for invitations, registration approvals and QR scenes.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/terminaluser"
)

func main() { lambdarun.HTTP("adminportal", terminaluser.NewAdminHandler) }
