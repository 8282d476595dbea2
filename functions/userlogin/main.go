// Command userlogin is the userlogin Lambda function.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/signin"
)

func main() { lambdarun.HTTP("userlogin", signin.NewLoginHandler) }
