// Package functions lists every Lambda function of the deployment: its
// name (the folder under functions/ and the template's resource), how it is
// built, its schedule and whether it calls WeChat. The dev server mounts
// the same list, and the template check compares it with template.yaml.
package functions

import (
	"time"

	"wxchannel/shared/apispec"
	"wxchannel/shared/app"
	"wxchannel/shared/authorization"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/console"
	"wxchannel/shared/delivery"
	"wxchannel/shared/device/qrexport"
	"wxchannel/shared/fleet"
	"wxchannel/shared/notify"
	"wxchannel/shared/release"
	"wxchannel/shared/signin"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/tokens"
	"wxchannel/shared/workorder"
)

// Function is one deployable function: HTTP (routes come from its
// handler), scheduled, a stream consumer or a queue consumer.
type Function struct {
	Name string
	HTTP app.HandlerFactory
	Job  app.JobFactory
	// Stream consumes the service table's stream (new outbox events);
	// Queue consumes the events queue.
	Stream app.StreamFactory
	Queue  app.QueueFactory
	// Every is the schedule of a job; template.yaml declares it as
	// rate(...) and the dev server runs it on a ticker.
	Every time.Duration
	// CallsWeChat is set for a function that calls WeChat's API (it builds
	// a token manager or uses the WeChat client). WeChat refuses platform
	// calls from IPs not on the platform's whitelist (61004), so exactly
	// these functions run in template.yaml's VPC, behind NAT gateways with
	// Elastic IPs.
	CallsWeChat bool
	// FixedEgress puts a function that calls the tenants' CRMs behind the
	// same NAT gateways, so a CRM can whitelist the product's addresses too.
	FixedEgress bool
}

// InVPC reports whether the function runs in template.yaml's VPC.
func (f Function) InVPC() bool { return f.CallsWeChat || f.FixedEgress }

// All is every function, in the order the README lists them.
var All = []Function{
	{Name: "ticketpush", HTTP: componentpush.NewTicketPushHandler(authorization.NewEventProcessor), CallsWeChat: true},
	{Name: "authcallback", HTTP: authorization.NewCallbackHandler, CallsWeChat: true},
	{Name: "adminbinding", HTTP: authorization.NewAdminHandler, CallsWeChat: true},
	{Name: "userlogin", HTTP: signin.NewLoginHandler, CallsWeChat: true},
	// The user's own view: profile, registration, devices, and their
	// notifications (subscriptions and the in-app feed).
	{Name: "portalregister", HTTP: notify.WithPortal},
	{Name: "adminportal", HTTP: terminaluser.NewAdminHandler},
	{Name: "workordercreate", HTTP: workorder.NewCreateHandler},
	{Name: "workorders", HTTP: workorder.NewFollowUpHandler},
	{Name: "engineerapi", HTTP: workorder.NewEngineerHandler},
	{Name: "adminmileage", HTTP: workorder.NewMileageAdminHandler},
	{Name: "reviewsubmit", HTTP: release.NewReviewSubmitHandler, CallsWeChat: true},
	{Name: "wechatevents", HTTP: release.NewEventsHandler, CallsWeChat: true},
	// The device QR export calls WeChat: it joins the function that already makes QR codes.
	{Name: "releaseadmin", HTTP: qrexport.WithQRExport(release.NewAdminHandler), CallsWeChat: true},
	{Name: "tokenrefresh", Job: tokens.NewRefreshJob, Every: 5 * time.Minute, CallsWeChat: true},
	{Name: "auditreconcile", Job: release.NewReconcileJob, Every: 10 * time.Minute, CallsWeChat: true},
	{Name: "visitclose", Job: workorder.NewVisitCloseJob, Every: 15 * time.Minute},
	{Name: "admindesk", HTTP: workorder.NewDeskHandler},
	{Name: "adminevents", HTTP: delivery.NewAdminHandler, FixedEgress: true},
	{Name: "eventfanout", Stream: delivery.NewFanoutHandler},
	// Delivers each event to the tenant's CRM and sends the customer's
	// subscribe messages (notify.Sender) from the same queue.
	{Name: "eventdelivery", Queue: delivery.NewDeliveryHandler, FixedEgress: true, CallsWeChat: true},
	{Name: "adminnotify", HTTP: notify.NewAdminHandler},
	// The tenant admin's web console: embedded static files on the API's domain.
	{Name: "console", HTTP: console.NewHandler},
	// The OpenAPI document of every route (docs/api-contract.md).
	{Name: "apispec", HTTP: apispec.NewHandler},
	// The platform operator's view across tenants and bulk submissions.
	{Name: "platformadmin", HTTP: fleet.NewPlatformHandler, CallsWeChat: true},
}
