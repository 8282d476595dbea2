// Command adminbinding is the Lambda behind the admin routes for the
// enterprise mini program binding and the portal settings.
package main

import (
	"wxchannel/shared/authorization"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("adminbinding", authorization.NewAdminHandler) }
