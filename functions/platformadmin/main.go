// Command platformadmin serves the platform operator: which template
// version each enterprise mini program runs, and submissions in bulk.
package main

import (
	"wxchannel/shared/fleet"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("platformadmin", fleet.NewPlatformHandler) }
