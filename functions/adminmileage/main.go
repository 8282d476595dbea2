// Command adminmileage is the Lambda through which admins read the engineers' mileage report (JSON or CSV) and correct legs.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/workorder"
)

func main() { lambdarun.HTTP("adminmileage", workorder.NewMileageAdminHandler) }
