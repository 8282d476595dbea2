// Command tokenrefresh is the scheduled Lambda that refreshes WeChat tokens
// ahead of expiry.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/tokens"
)

func main() { lambdarun.Job("tokenrefresh", tokens.NewRefreshJob) }
