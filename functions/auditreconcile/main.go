// Command auditreconcile is the scheduled Lambda that follows reviews whose
// result push never came.
package main

import (
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/release"
)

func main() { lambdarun.Job("auditreconcile", release.NewReconcileJob) }
