// Command visitclose is the scheduled Lambda that closes visits engineers left open past their tenant's auto-checkout hours.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/workorder"
)

func main() { lambdarun.Job("visitclose", workorder.NewVisitCloseJob) }
