// Command portalregister is the Lambda through which terminal users register
// (invitation code, equipment serial number) and read their profile.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/terminaluser"
)

func main() { lambdarun.HTTP("portalregister", terminaluser.NewRegistrationHandler) }
