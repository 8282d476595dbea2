// Command engineerapi is the Lambda through which engineers find nearby work orders, work them, check in and out, and read their mileage.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/workorder"
)

func main() { lambdarun.HTTP("engineerapi", workorder.NewEngineerHandler) }
