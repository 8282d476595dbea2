// Package functions lists every Lambda function of the deployment: its
// name (the folder under functions/ and the template's resource), how it is
// built, and its schedule. The dev server mounts the same list, and the
// template check compares it with template.yaml.
package functions

import (
	"time"

	"wxchannel/shared/app"
	"wxchannel/shared/authorization"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/release"
	"wxchannel/shared/signin"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/tokens"
	"wxchannel/shared/workorder"
)

// Function is one deployable function: either HTTP (routes come from its
// handler) or scheduled.
type Function struct {
	Name string
	HTTP app.HandlerFactory
	Job  app.JobFactory
	// Every is the schedule of a job; template.yaml declares it as
	// rate(...) and the dev server runs it on a ticker.
	Every time.Duration
}

// All is every function, in the order the README lists them.
var All = []Function{
	{Name: "ticketpush", HTTP: componentpush.NewTicketPushHandler(authorization.NewEventProcessor)},
	{Name: "authcallback", HTTP: authorization.NewCallbackHandler},
	{Name: "adminbinding", HTTP: authorization.NewAdminHandler},
	{Name: "userlogin", HTTP: signin.NewLoginHandler},
	{Name: "portalregister", HTTP: terminaluser.NewRegistrationHandler},
	{Name: "adminportal", HTTP: terminaluser.NewAdminHandler},
	{Name: "workordercreate", HTTP: workorder.NewCreateHandler},
	{Name: "workorders", HTTP: workorder.NewFollowUpHandler},
	{Name: "engineerapi", HTTP: workorder.NewEngineerHandler},
	{Name: "reviewsubmit", HTTP: release.NewReviewSubmitHandler},
	{Name: "wechatevents", HTTP: release.NewEventsHandler},
	{Name: "releaseadmin", HTTP: release.NewAdminHandler},
	{Name: "tokenrefresh", Job: tokens.NewRefreshJob, Every: 5 * time.Minute},
	{Name: "auditreconcile", Job: release.NewReconcileJob, Every: 10 * time.Minute},
}
