// Command ticketpush is the ticketpush Lambda function.
package main

import (
	"wxchannel/shared/componentpush"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("ticketpush", componentpush.NewHandler) }
