package contract

import (
	"net/http"
	"reflect"
	"slices"
	"time"

	"wxchannel/shared/authorization"
	"wxchannel/shared/delivery"
	"wxchannel/shared/device"
	"wxchannel/shared/device/qrexport"
	"wxchannel/shared/engineer"
	"wxchannel/shared/fleet"
	"wxchannel/shared/notify"
	"wxchannel/shared/outbox"
	"wxchannel/shared/qrscene"
	"wxchannel/shared/release"
	"wxchannel/shared/signin"
	"wxchannel/shared/tenant"
	"wxchannel/shared/terminaluser"
	"wxchannel/shared/uploads"
	"wxchannel/shared/usersession"
	"wxchannel/shared/workorder"
)

// Paths of more than one route.
const (
	openAccountPath = "/admin/open-account"
	webhookPath     = "/admin/webhook"
)

// enums are the string types whose values the product names in a list:
// the document lists them, so a value outside the list breaks the contract.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[workorder.Status](): stringsOf(workorder.Statuses),
	reflect.TypeFor[notify.Kind]():      stringsOf(notify.Kinds),
}

func stringsOf[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// exampleScene is a tenant's QR scene in the examples.
const exampleScene = "Vp64s90oFg.1Htf4pQXirZ"

// HealthPath is the one templated entry for every function's health route
// (GET /health/<function>, added by the shared wiring).
const HealthPath = "/health/{function}"

// wechatPushQuery is what WeChat adds to every push URL
// (https://developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/Message_encryption_and_decryption.html).
var wechatPushQuery = []Param{
	qs("timestamp", "WeChat's push time (Unix seconds)"),
	qs("nonce", "a random string of the push"),
	qs("signature", "SHA-1 over the Token, timestamp and nonce"),
	qs("encrypt_type", "aes: the body is encrypted"),
	qs("msg_signature", "SHA-1 over the Token, timestamp, nonce and the encrypted message"),
}

var pageQuery = []Param{qi("limit", "page size"), qs("cursor", "the next_cursor of the previous page")}

// pushReply is WeChat's expected answer to a push.
var pushReply = []Reply{{Status: http.StatusOK, ContentType: "text/plain", Description: `the literal "success" WeChat waits for`,
	Example: "success"}}

// authResult answers an authorization's outcome.
var authResult = []Reply{
	{Status: http.StatusOK, Body: authorization.Result{}, Description: "bound"},
	{Status: http.StatusAccepted, Body: authorization.Result{}, Description: "pending: WeChat's event has not arrived yet"},
	{Status: http.StatusUnprocessableEntity, Body: authorization.Result{}, Description: "not bound: the problems with their fixes"},
}

// Routes is every HTTP route of the product, grouped by function in the
// order functions.All lists them.
var Routes = slices.Concat(
	function("health", []Route{
		{Method: http.MethodGet, Path: HealthPath, Summary: "Every HTTP function's health: proves the deployment and the adapter path",
			Replies: []Reply{{Status: http.StatusOK,
				Schema:  object(map[string]*Schema{"status": typed(typeString), "function": typed(typeString)}),
				Example: map[string]any{"status": "ok", "function": "workorders"}}}},
	}),
	function("ticketpush", []Route{
		{Method: http.MethodPost, Path: "/wechat/component/events",
			Summary: "WeChat's authorization event URL: verify tickets and authorization events",
			Query:   wechatPushQuery, RequestContentType: "text/xml", Replies: pushReply,
			CallsWeChat: true,
			Errors: "body_too_large invalid_signature malformed_push stale_push unknown_info_type unsigned_push " +
				"wrong_appid"},
	}),
	function("authcallback", []Route{
		{Method: http.MethodGet, Path: "/wechat/auth/start",
			Summary:    "The authorization start page on the API domain: links to WeChat's authorization page",
			Query:      []Param{qs("t", "the signed start token of POST /admin/miniprogram/authorization")},
			Replies:    []Reply{{Status: http.StatusOK, ContentType: htmlMedia, Description: "the page with WeChat's PC and mobile links"}},
			ErrorPages: true},
		{Method: http.MethodGet, Path: "/wechat/auth/callback", Summary: "WeChat's redirect after the admin authorized",
			Query:   []Param{qs("auth_code", "WeChat's authorization code"), qs("state", "our signed state"), qi("expires_in", "")},
			Replies: authResult, BrowserPages: true,
			CallsWeChat: true,
			Errors:      "authorization_mismatch invalid_state missing_parameters state_expired state_used"},
		{Method: http.MethodGet, Path: "/wechat/fastregister/callback",
			Summary: "WeChat's redirect after quick registration from an official account",
			Query:   []Param{qs("ticket", "WeChat's registration ticket"), qs("state", "our signed state")},
			Replies: authResult, BrowserPages: true,
			CallsWeChat: true,
			Errors:      "authorization_mismatch invalid_state missing_parameters state_expired state_used"},
	}),
	function("adminbinding", []Route{
		{Method: http.MethodPost, Path: "/admin/miniprogram/authorization", Auth: Admin,
			Summary: "A link to our authorization start page, for the console", Replies: created(authorization.StartLink{})},
		{Method: http.MethodGet, Path: "/admin/miniprogram/binding", Auth: Admin,
			Summary: "The tenant's binding, token health and problems with their fixes", Replies: ok(authorization.Status{})},
		{Method: http.MethodDelete, Path: "/admin/miniprogram/binding", Auth: Admin, Summary: "Unbind the enterprise mini program",
			Replies: noContent(),
			Errors:  codeNotFound},
		{Method: http.MethodGet, Path: "/admin/portal/settings", Auth: Admin, Summary: "Portal access settings",
			Replies: ok(tenant.Settings{})},
		{Method: http.MethodPut, Path: "/admin/portal/settings", Auth: Admin,
			Summary: "Change the portal access settings (with the version read)",
			Request: tenant.Settings{}, Replies: ok(tenant.Settings{}),
			Errors: "invalid_settings version_conflict"},
		{Method: http.MethodPost, Path: "/admin/officialaccount/authorization", Auth: Admin,
			Summary: "A start link for connecting an official account", Replies: created(authorization.StartLink{})},
		{Method: http.MethodGet, Path: "/admin/officialaccount/binding", Auth: Admin, Summary: "The official account's binding",
			Replies: ok(authorization.OfficialAccountStatus{})},
		{Method: http.MethodDelete, Path: "/admin/officialaccount/binding", Auth: Admin, Summary: "Disconnect the official account",
			Replies: noContent()},
		{Method: http.MethodPost, Path: "/admin/miniprogram/fast-registration/official-account", Auth: Admin,
			Summary:     "Quick registration of a mini program reusing the official account's qualification: WeChat's page link",
			Replies:     created(authorization.FastRegisterLink{}),
			CallsWeChat: true,
			Errors:      "no_official_account official_account_not_certified other_bound"},
		{Method: http.MethodPost, Path: "/admin/miniprogram/fast-registration/enterprise", Auth: Admin,
			Summary: "Quick registration of a mini program as an enterprise", Request: authorization.EnterpriseRegistration{},
			Replies:     accepted(authorization.RegistrationView{}),
			CallsWeChat: true,
			Errors:      "legal_name_wechat_mismatch registration_pending"},
		{Method: http.MethodGet, Path: "/admin/miniprogram/fast-registration", Auth: Admin, Summary: "The quick registration's status",
			Replies: ok(authorization.RegistrationView{})},
		{Method: http.MethodPost, Path: openAccountPath, Auth: Admin,
			Summary:     "Share one open platform account between the tenant's mini program and official account",
			Replies:     ok(authorization.OpenAccountView{}),
			CallsWeChat: true,
			Errors:      "needs_both_accounts not_same_principal"},
		{Method: http.MethodGet, Path: openAccountPath, Auth: Admin, Summary: "The shared open platform account",
			Replies: ok(authorization.OpenAccountView{})},
		{Method: http.MethodDelete, Path: openAccountPath, Auth: Admin, Summary: "Stop sharing the open platform account",
			Replies:     noContent(),
			CallsWeChat: true,
			Errors:      codeNotFound},
	}),
	function("userlogin", []Route{
		{Method: http.MethodPost, Path: "/portal/login", Summary: "Terminal user login: a wx.login code for our session",
			Request: signin.LoginRequest{}, RequestExample: signin.LoginRequest{Code: "0a3Xk8000a1bC22qLm100Dq3Kd3Xk80r", Scene: exampleScene},
			Replies:     ok(signin.LoginReply{}),
			CallsWeChat: true,
			Errors: "code_used invalid_code invalid_request login_rate_limited mini_program_not_authorized " +
				"mini_program_not_connected public_qr_retired scene_not_for_this_mini_program " +
				"too_many_failed_logins"},
		{Method: http.MethodPost, Path: "/portal/session/refresh", Summary: "A new session from the refresh token (rotated)",
			Request: struct {
				RefreshToken string `json:"refresh_token"`
			}{}, Replies: []Reply{{Status: http.StatusOK, Body: usersession.Tokens{}, Example: usersession.Tokens{
				SessionToken: "eyJ0IjoiZGVtbyIsInUiOiJ1c2VyLTEifQ.c2lnbmF0dXJl", ExpiresAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
				RefreshToken: "rt_2b7e151628aed2a6abf7158809cf4f3c"}}},
			Errors: "invalid_refresh_token mini_program_unbound public_qr_retired refresh_token_reused " +
				"session_expired session_revoked"},
	}),
	function("portalregister", []Route{
		{Method: http.MethodGet, Path: "/portal/me", Auth: Session,
			Summary: "The user, the tenant's access settings, the registration and the user's sections", Replies: okSchema(portalMe()),
			Errors: "mini_program_unbound"},
		{Method: http.MethodPost, Path: "/portal/registration/invitation", Auth: Session, Summary: "Register with an invitation code",
			Request: struct {
				Code string `json:"code"`
			}{}, Replies: ok(struct {
				User terminaluser.User `json:"user"`
			}{}),
			Errors: "already_registered invitation_invalid too_many_attempts"},
		{Method: http.MethodPost, Path: "/portal/registration/device", Auth: Session,
			Summary: "Register with an equipment serial number (the admin decides)", Request: terminaluser.DeviceRegistration{},
			Replies: accepted(terminaluser.Registration{}),
			Errors:  "already_registered"},
		{Method: http.MethodGet, Path: "/portal/devices", Auth: Session, Summary: "My devices with their orders",
			Replies: ok(struct {
				Devices []device.MyDevice `json:"devices"`
			}{})},
		{Method: http.MethodGet, Path: "/portal/scene/{scene}", Auth: Session, Summary: "What a scanned QR code names",
			Replies: ok(device.SceneView{}),
			Errors:  "scene_not_found"},
		{Method: http.MethodGet, Path: "/portal/subscriptions", Auth: Session, Summary: "Subscribe-message consent",
			Replies: ok(notify.Subscriptions{})},
		{Method: http.MethodPost, Path: "/portal/subscriptions", Auth: Session,
			Summary: "Record wx.requestSubscribeMessage's results", Request: struct {
				Results map[string]string `json:"results"`
			}{}, Replies: ok(notify.Subscriptions{}),
			Errors: "unknown_template"},
		{Method: http.MethodGet, Path: "/portal/notifications", Auth: Session, Summary: "The in-app notification feed",
			Query: pageQuery, Replies: ok(notify.FeedPage{}),
			Errors: codeInvalidField},
		{Method: http.MethodPost, Path: "/portal/notifications/read", Auth: Session, Summary: "Mark notifications read",
			Request: struct {
				IDs []string `json:"ids"`
				All bool     `json:"all"`
			}{}, Replies: []Reply{{Status: http.StatusOK, Schema: object(map[string]*Schema{"unread": typed(typeInteger)}),
				Example: map[string]any{"unread": 0}}}},
	}),
	function("adminportal", []Route{
		{Method: http.MethodGet, Path: "/admin/invitations", Auth: Admin, Summary: "The tenant's invitation codes, by code",
			Query:   []Param{qi("limit", "1 to 200 (100)"), qs("cursor", "next_cursor of the previous page")},
			Replies: ok(terminaluser.InvitationPage{}), Errors: codeInvalidField},
		{Method: http.MethodPost, Path: "/admin/invitations", Auth: Admin, Summary: "Issue an invitation code",
			Request: terminaluser.NewInvitation{}, Replies: created(terminaluser.Invitation{})},
		{Method: http.MethodDelete, Path: "/admin/invitations/{code}", Auth: Admin, Summary: "Revoke an invitation code",
			Replies: noContent(),
			Errors:  codeNotFound},
		{Method: http.MethodGet, Path: "/admin/registrations", Auth: Admin, Summary: "Registrations waiting for a decision",
			Replies: ok(struct {
				Pending []terminaluser.Registration `json:"pending"`
			}{})},
		{Method: http.MethodPost, Path: "/admin/registrations/{id}/approve", Auth: Admin, Summary: "Approve a registration",
			Request: terminaluser.Approval{}, Replies: noContent(),
			Errors: "device_registered_to_another_user not_found registration_changed"},
		{Method: http.MethodPost, Path: "/admin/registrations/{id}/reject", Auth: Admin, Summary: "Reject a registration",
			Request: terminaluser.Rejection{}, Replies: noContent(),
			Errors: "not_found registration_changed"},
		{Method: http.MethodGet, Path: "/admin/devices", Auth: Admin, Summary: "Devices",
			Query: append([]Param{qs("prefix", "serial number prefix")}, pageQuery...), Replies: ok(device.Page{}),
			Errors: codeInvalidField},
		{Method: http.MethodGet, Path: "/admin/devices/{sn}", Auth: Admin, Summary: "A device and its order history",
			Replies: ok(device.WithHistory{}),
			Errors:  "invalid_field not_found"},
		{Method: http.MethodPost, Path: "/admin/qr-scenes", Auth: Admin, Summary: "A QR scene for the tenant or a device",
			Request: struct {
				DeviceSN string `json:"device_sn"`
			}{}, Replies: []Reply{{Status: http.StatusCreated,
				Schema:  object(map[string]*Schema{"scene": typed(typeString), "page": typed(typeString)}),
				Example: map[string]any{"scene": exampleScene, "page": qrscene.PortalPage}}}},
	}),
	function("workordercreate", []Route{
		{Method: http.MethodPost, Path: "/portal/work-orders", Auth: Session,
			Summary: "Create a work order (Idempotency-Key makes a retry return the same order)", Request: workorder.CreateRequest{},
			RequestExample: workorder.CreateRequest{Category: "repair", Description: "The pump leaks at the outlet.", DeviceSN: "SN-2024-0042",
				ContactName: "Li Wei", Phone: "13800138000", Address: "88 Century Avenue, Pudong, Shanghai", Latitude: 31.2304, Longitude: 121.4737},
			Replies: []Reply{
				{Status: http.StatusCreated, Schema: workOrderCreated(), Description: "created"},
				{Status: http.StatusOK, Schema: workOrderCreated(), Description: "a replayed or duplicate request: the existing order"},
			},
			Errors: "idempotency_key_reused invalid_idempotency_key mini_program_unbound photo_not_an_image " +
				"photo_not_uploaded photo_storage_unavailable photo_too_large rate_limited " +
				"registration_required"},
		{Method: http.MethodPost, Path: "/portal/uploads", Auth: Session, Summary: "Signed upload forms for wx.uploadFile",
			Request: uploads.Request{}, Replies: []Reply{{Status: http.StatusCreated, Schema: uploadForms()}},
			Errors: "too_many_uploads"},
	}),
	function("workorders", []Route{
		{Method: http.MethodGet, Path: "/portal/work-orders", Auth: Session, Summary: "My work orders", Query: pageQuery,
			Replies: ok(workorder.Page{}),
			Errors:  "invalid_field mini_program_unbound"},
		{Method: http.MethodGet, Path: "/portal/work-orders/{id}", Auth: Session, Summary: "A work order with its timeline",
			Replies: ok(workorder.Detail{}),
			Errors:  codeNotFound},
		{Method: http.MethodPost, Path: "/portal/work-orders/{id}/cancel", Auth: Session, Summary: "Cancel my work order",
			Replies: ok(workorder.Order{}),
			Errors:  "cannot_cancel not_found"},
		{Method: http.MethodPost, Path: "/portal/work-orders/{id}/rating", Auth: Session, Summary: "Rate the service (once)",
			Request: workorder.RatingRequest{}, Replies: ok(workorder.Order{}),
			Errors: "already_rated"},
	}),
	function("engineerapi", []Route{
		{Method: http.MethodGet, Path: "/engineer/work-orders/nearby", Auth: Engineer, Summary: "Open work orders near a place",
			Query: []Param{qn("lat", "latitude"), qn("lng", "longitude"), qn("radius_km", "search radius (default 10)")},
			Replies: ok(struct {
				WorkOrders []workorder.NearbyOrder `json:"work_orders"`
			}{}),
			Errors: "invalid_field invalid_location"},
		{Method: http.MethodGet, Path: "/engineer/work-orders/{id}", Auth: Engineer,
			Summary: "A work order: in full to its engineer, without the customer's details while it is offered",
			Replies: okSchema(anyOf(goType(workorder.Detail{}), goType(workorder.OfferedOrder{}))),
			Errors:  codeNotFound},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/accept", Auth: Engineer, Summary: "Accept an offered order",
			Replies: ok(workorder.Order{}),
			Errors:  "not_available not_found"},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/status", Auth: Engineer, Summary: "Move an order to its next status",
			Request: workorder.MoveRequest{}, Replies: ok(workorder.Order{})},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/check-in", Auth: Engineer, Summary: "Check in on site",
			Request: workorder.Location{}, RequestExample: workorder.Location{Latitude: 31.2306, Longitude: 121.4739},
			Replies: created(workorder.Visit{}),
			Errors:  "already_checked_in checkin_limit too_far_from_site"},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/check-out", Auth: Engineer, Summary: "Check out",
			Request: workorder.CheckOutRequest{}, Replies: ok(workorder.Visit{}),
			Errors: "not_checked_in visit_auto_closed visit_changed"},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/visit-photos", Auth: Engineer, Summary: "Attach photos to the visit",
			Request: workorder.VisitPhotosRequest{}, Replies: ok(workorder.Visit{}),
			Errors: "no_photos not_checked_in photo_not_an_image photo_not_uploaded signature_recorded " +
				"too_many_photos visit_auto_closed visit_changed"},
		{Method: http.MethodPost, Path: "/engineer/uploads", Auth: Engineer, Summary: "Signed upload forms for wx.uploadFile",
			Request: uploads.Request{}, Replies: []Reply{{Status: http.StatusCreated, Schema: uploadForms()}}},
		{Method: http.MethodGet, Path: "/engineer/mileage", Auth: Engineer, Summary: "My mileage for reimbursement",
			Query:   []Param{qs("day", "YYYY-MM-DD"), qs("from", "YYYY-MM-DD"), qs("to", "YYYY-MM-DD")},
			Replies: ok(workorder.MileageReport{}),
			Errors:  "invalid_period"},
		{Method: http.MethodGet, Path: "/engineer/work-orders", Auth: Engineer, Summary: "My day: offered and assigned orders",
			Replies: ok(workorder.DeskPage{})},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/decline", Auth: Engineer, Summary: "Decline an offered order",
			Request: workorder.ReasonRequest{}, Replies: ok(workorder.Order{})},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/transfer", Auth: Engineer, Summary: "Transfer an order to another engineer",
			Request: workorder.TransferRequest{}, Replies: ok(workorder.Order{})},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/hold", Auth: Engineer, Summary: "Put an order on hold",
			Request: workorder.ReasonRequest{}, Replies: ok(workorder.Order{})},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/resume", Auth: Engineer, Summary: "Resume an order on hold",
			Replies: ok(workorder.Order{}),
			Errors:  "not_assigned"},
		{Method: http.MethodPost, Path: "/engineer/work-orders/{id}/cannot-complete", Auth: Engineer,
			Summary: "Report that an order cannot be completed", Request: workorder.ReasonRequest{}, Replies: ok(workorder.Order{})},
	}),
	function("adminmileage", []Route{
		{Method: http.MethodGet, Path: "/admin/mileage", Auth: Admin, Summary: "Engineers' mileage for a period (JSON or CSV)",
			Query: []Param{qs("from", "YYYY-MM-DD"), qs("to", "YYYY-MM-DD"), qs("engineer_id", "one engineer"),
				qs("format", "json (default) or csv")},
			Replies: []Reply{{Status: http.StatusOK, Body: workorder.TenantMileage{}},
				{Status: http.StatusOK, ContentType: "text/csv", Description: "format=csv: one row per leg"}},
			Errors: "invalid_field invalid_period"},
		{Method: http.MethodPost, Path: "/admin/mileage/corrections", Auth: Admin, Summary: "Correct a leg, with a reason",
			Request: workorder.CorrectionRequest{}, Replies: created(workorder.CorrectionResult{}),
			Errors: "not_a_leg not_found"},
		{Method: http.MethodGet, Path: "/admin/mileage/corrections", Auth: Admin, Summary: "The corrections' audit trail",
			Query: []Param{qs("from", "YYYY-MM-DD"), qs("to", "YYYY-MM-DD")},
			Replies: ok(struct {
				Corrections []workorder.CorrectionEntry `json:"corrections"`
			}{})},
		{Method: http.MethodGet, Path: "/admin/work-orders/{id}", Auth: Admin, Summary: "A work order with its photos",
			Replies: ok(workorder.Detail{}),
			Errors:  codeNotFound},
	}),
	function("reviewsubmit", []Route{
		{Method: http.MethodPost, Path: "/admin/miniprogram/review", Auth: Admin,
			Summary: "Commit the code template and submit it for review", Request: struct {
				TemplateID int64 `json:"template_id"`
				Manual     bool  `json:"manual"`
			}{}, Replies: accepted(release.Status{}),
			CallsWeChat: true,
			Errors: "basic_info_incomplete manual_required no_mini_program privacy_not_declared review_pending " +
				"review_quota_exceeded"},
	}),
	function("wechatevents", []Route{
		{Method: http.MethodPost, Path: "/wechat/events/{appid}", Summary: "WeChat's message and event URL (audit results)",
			Query: wechatPushQuery, RequestContentType: "text/xml", Replies: pushReply,
			Errors: "invalid_signature malformed_push stale_push unknown_mini_program unsigned_push wrong_appid"},
	}),
	function("releaseadmin", []Route{
		{Method: http.MethodPost, Path: "/admin/miniprogram/prepare", Auth: Admin,
			Summary: "Prepare the mini program for review: each step's state", Replies: ok(struct {
				Steps []release.Step `json:"steps"`
			}{}),
			CallsWeChat: true},
		{Method: http.MethodGet, Path: "/admin/miniprogram/release-status", Auth: Admin, Summary: "The review and release status",
			Replies: ok(release.Overview{})},
		{Method: http.MethodGet, Path: "/admin/miniprogram/versions", Auth: Admin, Summary: "Versions, with the new-version alert",
			Replies:     ok(release.Versions{}),
			CallsWeChat: true},
		{Method: http.MethodPost, Path: "/admin/miniprogram/release", Auth: Admin, Summary: "Release the approved version",
			Replies:     ok(release.Status{}),
			CallsWeChat: true,
			Errors:      "no_approved_version not_releasable"},
		{Method: http.MethodPost, Path: "/admin/miniprogram/undo-review", Auth: Admin, Summary: "Withdraw the submission",
			Replies:     ok(release.Status{}),
			CallsWeChat: true},
		{Method: http.MethodPost, Path: "/admin/miniprogram/rollback", Auth: Admin, Summary: "Roll back to the previous release",
			Replies:     ok(release.Status{}),
			CallsWeChat: true,
			Errors:      "no_previous_version"},
		{Method: http.MethodGet, Path: "/admin/miniprogram/qrcode", Auth: Admin, Summary: "The release or trial QR code",
			Query:       []Param{qs("kind", "trial, or none for the code users scan"), qs("device_sn", "a device's code")},
			Replies:     ok(release.QRCode{}),
			CallsWeChat: true,
			Errors:      codeInvalidField + " no_trial_version not_released"},
		{Method: http.MethodGet, Path: "/admin/miniprogram/testers", Auth: Admin, Summary: "Trial testers",
			Replies: ok(struct {
				Testers []release.Tester `json:"testers"`
			}{}),
			CallsWeChat: true,
			Errors:      codeNoMiniProgram},
		{Method: http.MethodPost, Path: "/admin/miniprogram/testers", Auth: Admin, Summary: "Add a trial tester",
			Request: struct {
				WeChatID string `json:"wechat_id"`
			}{}, Replies: created(release.Tester{}),
			CallsWeChat: true,
			Errors:      "already_tester tester_limit_reached user_tester_limit_reached wechat_user_not_found"},
		{Method: http.MethodDelete, Path: "/admin/miniprogram/testers/{userstr}", Auth: Admin, Summary: "Remove a trial tester",
			Replies:     noContent(),
			CallsWeChat: true,
			Errors:      "invalid_field tester_not_found"},
		{Method: http.MethodPost, Path: "/admin/miniprogram/speedup", Auth: Admin, Summary: "Ask WeChat to speed up the review",
			Replies:     ok(release.Status{}),
			CallsWeChat: true,
			Errors:      "already_sped_up no_review_pending review_not_slow speedup_quota_exhausted"},
		{Method: http.MethodGet, Path: "/admin/miniprogram/audit-screenshots", Auth: Admin,
			Summary: "The rejection's screenshots", Replies: ok(release.AuditScreenshots{}),
			CallsWeChat: true,
			Errors:      codeNoMiniProgram},
		{Method: http.MethodPost, Path: "/admin/devices/qr-export", Auth: Admin,
			Summary: "Device QR stickers in batch: a zip of PNGs with a manifest", Request: qrexport.Request{},
			Replies:     []Reply{{Status: http.StatusOK, ContentType: "application/zip", Description: "the zip"}},
			CallsWeChat: true,
			Errors:      "no_released_mini_program"},
	}),
	function("admindesk", []Route{
		{Method: http.MethodGet, Path: "/admin/work-orders", Auth: Admin, Summary: "The work-order desk, overdue first",
			Query: pageQuery, Replies: ok(workorder.DeskPage{}),
			Errors: "invalid_field one_key_filter"},
		{Method: http.MethodPost, Path: "/admin/work-orders/{id}/assign", Auth: Admin, Summary: "Assign an order to an engineer",
			Request: workorder.AssignRequest{}, Replies: ok(workorder.Order{}),
			Errors: "engineer_lacks_skill work_order_changed"},
		{Method: http.MethodPost, Path: "/admin/work-orders/{id}/priority", Auth: Admin, Summary: "Set an order's priority",
			Request: workorder.PriorityRequest{}, Replies: ok(workorder.Order{})},
		{Method: http.MethodPost, Path: "/admin/work-orders/{id}/cancel", Auth: Admin, Summary: "Cancel an order",
			Request: workorder.ReasonRequest{}, Replies: ok(workorder.Order{})},
		{Method: http.MethodGet, Path: "/admin/engineers", Auth: Admin, Summary: "The engineer directory",
			Query: []Param{qb("active", "only active engineers")},
			Replies: ok(struct {
				Engineers []engineer.Engineer `json:"engineers"`
			}{})},
		{Method: http.MethodGet, Path: "/admin/engineers/{id}", Auth: Admin, Summary: "An engineer", Replies: ok(engineer.Engineer{}),
			Errors: codeNotFound},
		{Method: http.MethodPut, Path: "/admin/engineers/{id}", Auth: Admin, Summary: "Create (version 0) or change an engineer",
			Request: engineer.PutRequest{}, Replies: []Reply{{Status: http.StatusOK, Body: engineer.Engineer{}, Description: "changed"},
				{Status: http.StatusCreated, Body: engineer.Engineer{}, Description: "created"}},
			Errors: codeNotFound + " engineer_changed directory_full"},
	}),
	function("adminevents", []Route{
		{Method: http.MethodGet, Path: webhookPath, Auth: Admin, Summary: "The tenant's webhook", Replies: ok(delivery.WebhookView{}),
			Errors: codeNotFound},
		{Method: http.MethodPut, Path: webhookPath, Auth: Admin, Summary: "Set the webhook (version 0 creates it)",
			Request: delivery.WebhookRequest{}, Replies: []Reply{{Status: http.StatusOK, Body: delivery.WebhookView{}, Description: "changed"},
				{Status: http.StatusCreated, Body: delivery.WebhookView{}, Description: "created, with its generated secret"}},
			Errors: codeWebhookChanged},
		{Method: http.MethodDelete, Path: webhookPath, Auth: Admin, Summary: "Remove the webhook",
			Query: []Param{{Name: "version", Type: typeInteger, Description: "the version read", Required: true}}, Replies: noContent(),
			Errors: codeWebhookChanged},
		{Method: http.MethodPost, Path: "/admin/webhook/test", Auth: Admin, Summary: "Send a test event to the webhook",
			Replies: ok(delivery.TestResult{}),
			Errors:  codeNotFound},
		{Method: http.MethodGet, Path: "/admin/events", Auth: Admin, Summary: "The event feed",
			Query: append([]Param{qs("types", "comma-separated event types")}, pageQuery...), Replies: ok(outbox.Page{})},
		{Method: http.MethodGet, Path: "/admin/events/status", Auth: Admin, Summary: "Delivery status and backlog",
			Replies: ok(delivery.StatusView{})},
		{Method: http.MethodPost, Path: "/admin/events/replay", Auth: Admin, Summary: "Replay events to the webhook",
			Request: delivery.ReplayRequest{}, Replies: ok(delivery.ReplayResult{}),
			Errors: "replay_mixed"},
	}),
	function("adminnotify", []Route{
		{Method: http.MethodGet, Path: "/admin/notifications", Auth: Admin,
			Summary: "Which notifications are on, the templates, counts and the last problem", Replies: ok(struct {
				Settings  notify.Settings   `json:"settings"`
				Kinds     []notify.KindView `json:"kinds"`
				Stats     notify.Stats      `json:"stats"`
				Templates struct {
					Enterprise *notify.Templates `json:"enterprise"`
					Public     *notify.Templates `json:"public"`
				} `json:"templates"`
			}{})},
		{Method: http.MethodPut, Path: "/admin/notifications/settings", Auth: Admin, Summary: "Turn notifications on or off",
			Request: struct {
				Off     []notify.Kind `json:"off"`
				Version *int          `json:"version"`
			}{}, Replies: ok(notify.Settings{}),
			Errors: "version_conflict"},
	}),
	function("console", []Route{
		{Method: http.MethodGet, Path: "/console/", Summary: "The tenant admin's web console (the staff token travels in the URL fragment)",
			Replies: []Reply{{Status: http.StatusOK, ContentType: htmlMedia, Description: "the page, revalidated on every visit"}},
			Errors:  codeRouteNotFound},
		{Method: http.MethodGet, Path: "/console/assets/{path}", Wildcard: true,
			Summary: "The console's files: {path} is <version>/<file> (it spans segments); the current version is cached for a year",
			Replies: []Reply{{Status: http.StatusOK, ContentType: "text/javascript", Description: "a script"},
				{Status: http.StatusOK, ContentType: "text/css", Description: "a style sheet"},
				{Status: http.StatusOK, ContentType: "image/svg+xml", Description: "an image"},
				{Status: http.StatusOK, ContentType: "image/png", Description: "an image"}},
			Errors: codeRouteNotFound},
	}),
	function("platformadmin", []Route{
		{Method: http.MethodGet, Path: "/platform/versions", Auth: Operator,
			Summary: "Which code template each enterprise mini program runs", Replies: ok(fleet.Report{})},
		{Method: http.MethodPost, Path: "/platform/bulk-submit", Auth: Operator, Summary: "Submit a template in bulk, throttled",
			Request: fleet.BulkRequest{}, Replies: ok(fleet.JobView{}), CallsWeChat: true,
			Errors: "invalid_selection manual_required template_not_found bulk_job_mismatch bulk_run_in_progress"},
		{Method: http.MethodGet, Path: "/platform/bulk-submit/{id}", Auth: Operator, Summary: "A bulk submission's per-tenant results",
			Replies: ok(fleet.JobView{}), Errors: codeInvalidField + " bulk_job_not_found"},
	}),
	function("apispec", []Route{
		{Method: http.MethodGet, Path: "/openapi.json", Summary: "This document",
			Replies: []Reply{{Status: http.StatusOK, Schema: typed(typeObject), Description: "the OpenAPI 3.1 document (cacheable for an hour)"},
				{Status: http.StatusNotModified, Description: "If-None-Match named the current ETag"}}},
	}),
)

func workOrderCreated() *Schema {
	s := object(map[string]*Schema{"work_order": goType(workorder.Order{}), "duplicate": typed(typeBoolean), "replayed": typed(typeBoolean)})
	s.Properties["subscribe"] = &Schema{Description: "what the mini program asks the user to accept next (wx.requestSubscribeMessage)"}
	return s
}

func uploadForms() *Schema {
	return object(map[string]*Schema{"uploads": arrayOf(goType(uploads.FormUpload{})), "max_bytes": typed(typeInteger)})
}

// portalMe is GET /portal/me: its fixed fields, and the sections the
// function adds (portalregister adds "subscriptions").
func portalMe() *Schema {
	s := object(map[string]*Schema{
		"user":                   goType(terminaluser.User{}),
		"access":                 describe(goType(tenant.Settings{}), "the tenant's access settings a user may see"),
		"can_create_work_orders": typed(typeBoolean),
	})
	s.Properties["registration"] = describe(goType(terminaluser.Registration{}), "the user's registration, when there is one")
	s.Properties["subscriptions"] = goType(notify.Subscriptions{})
	return s
}
