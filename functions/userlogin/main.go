// Command userlogin is the userlogin Lambda function.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/terminaluser"
)

func main() { lambdarun.HTTP("userlogin", terminaluser.NewLoginHandler) }
