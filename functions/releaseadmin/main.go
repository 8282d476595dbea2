// Command releaseadmin is the Lambda behind the admin routes of the release
// pipeline: status, versions, release, undo, rollback and QR codes.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/release"
)

func main() { lambdarun.HTTP("releaseadmin", release.NewAdminHandler) }
