// Command wechatevents is the Lambda behind WeChat's message and event URL.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/release"
)

func main() { lambdarun.HTTP("wechatevents", release.NewEventsHandler) }
