// Command console serves the tenant admin's web console: the page, its
// scripts and style sheet, on the API's domain.
package main

import (
	"wxchannel/shared/console"
	"wxchannel/shared/lambdarun"
)

func main() { lambdarun.HTTP("console", console.NewHandler) }
