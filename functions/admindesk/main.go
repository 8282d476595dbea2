// Command admindesk serves the work-order desk (list, assign, priority,
// cancel) and the tenant's engineer directory.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/workorder"
)

func main() { lambdarun.HTTP("admindesk", workorder.NewDeskHandler) }
