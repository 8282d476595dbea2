// Command authcallback is the authcallback Lambda function.
package main

import (
	"wxchannel/shared/authorization"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("authcallback", authorization.NewCallbackHandler) }
