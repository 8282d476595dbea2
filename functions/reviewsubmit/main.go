// Command reviewsubmit is the reviewsubmit Lambda function.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/release"
)

func main() { lambdarun.HTTP("reviewsubmit", release.NewReviewSubmitHandler) }
