// Command ticketpush is the Lambda behind WeChat's authorization event URL.
package main

import (
	"wxchannel/shared/authorization"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/lambdarun"
)

func main() {
	lambdarun.HTTP("ticketpush", componentpush.NewTicketPushHandler(authorization.NewEventProcessor))
}
