// Command workordercreate is the workordercreate Lambda function.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/workorder"
)

func main() { lambdarun.HTTP("workordercreate", workorder.NewCreateHandler) }
