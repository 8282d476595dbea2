// Command workorders is the Lambda through which terminal users follow their work orders.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/workorder"
)

func main() { lambdarun.HTTP("workorders", workorder.NewFollowUpHandler) }
