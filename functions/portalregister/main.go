// Command portalregister is the Lambda through which terminal users register
// (invitation code, equipment serial number), read their profile and their
// devices, and look up the QR codes they scan.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/terminaluser"
)

func main() { lambdarun.HTTP("portalregister", terminaluser.NewRegistrationHandler) }
