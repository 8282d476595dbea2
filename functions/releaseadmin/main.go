// Command releaseadmin is the Lambda behind the admin routes of the release
// pipeline (status, versions, release, undo, rollback, QR codes) and the
// batch export of device QR codes, which also calls WeChat.
package main

import (
	"wxchannel/shared/device/qrexport"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/release"
)

func main() { lambdarun.HTTP("releaseadmin", qrexport.WithQRExport(release.NewAdminHandler)) }
