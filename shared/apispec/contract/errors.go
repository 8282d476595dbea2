package contract

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Codes, space-separated, every route of a kind answers with; a route's
// table entry adds its own.
const (
	// anyRoute: failures of what every route depends on.
	anyRoute = "internal timeout storage_unavailable dependency_unavailable transaction_conflict"
	// jsonBody: DecodeJSON's refusals of a request body.
	jsonBody = "malformed_json invalid_field invalid_body unknown_field empty_body unreadable_body body_too_large unsupported_media_type"
	// queryParams: a query parameter out of its range.
	queryParams = codeInvalidField
	// sessionAuth: a missing, expired or forged session token.
	sessionAuth = "missing_session session_expired invalid_session"
	// staffAuth: a missing, expired or forged staff token, or another role.
	staffAuth = "missing_token token_expired invalid_token forbidden_role"
	// wechatCalls: WeChat refusing or not answering.
	wechatCalls = "wechat_error wechat_unavailable"
)

// Codes more than one route names on its own.
const (
	codeNotFound       = "not_found"
	codeInvalidField   = "invalid_field"
	codeNoMiniProgram  = "no_mini_program"
	codeWebhookChanged = "webhook_changed"
	// codeRouteNotFound: the router's answer to a path it has no route for.
	codeRouteNotFound = "route_not_found"
)

// Statuses by the error kinds of shared/apperr, as shared/httpapi maps them.
const (
	invalid         = http.StatusBadRequest
	unauthenticated = http.StatusUnauthorized
	forbidden       = http.StatusForbidden
	notFound        = http.StatusNotFound
	conflict        = http.StatusConflict
	rejected        = http.StatusUnprocessableEntity
	rateLimited     = http.StatusTooManyRequests
	upstream        = http.StatusBadGateway
	unavailable     = http.StatusServiceUnavailable
)

// codeStatus is the status each error code comes with. Every code a route
// lists must be here.
var codeStatus = map[string]int{
	"bad_timestamp": invalid, "empty_body": invalid, "invalid_body": invalid, codeInvalidField: invalid,
	"invalid_idempotency_key": invalid, "invalid_location": invalid, "invalid_period": invalid, "invalid_request": invalid,
	"invalid_settings": invalid, "invalid_state": invalid, "malformed_json": invalid, "malformed_push": invalid,
	"manual_required": invalid, "missing_parameters": invalid, "no_photos": invalid, "one_key_filter": invalid,
	"replay_mixed": invalid, "state_expired": invalid, "unknown_field": invalid, "unknown_info_type": invalid,
	"unknown_template": invalid, "unreadable_body": invalid, "invalid_selection": invalid,
	"invalid_code": unauthenticated, "invalid_refresh_token": unauthenticated, "invalid_session": unauthenticated,
	"invalid_signature": unauthenticated, "invalid_token": unauthenticated, "mini_program_unbound": unauthenticated,
	"missing_session": unauthenticated, "missing_token": unauthenticated, "refresh_token_reused": unauthenticated,
	"session_expired": unauthenticated, "session_revoked": unauthenticated, "stale_push": unauthenticated,
	"token_expired": unauthenticated, "unsigned_push": unauthenticated,
	"forbidden_role": forbidden, "mini_program_not_authorized": forbidden, "mini_program_not_connected": forbidden,
	"not_assigned": forbidden, "public_qr_retired": forbidden, "registration_required": forbidden,
	"scene_not_for_this_mini_program": forbidden, "unknown_mini_program": forbidden, "wrong_appid": forbidden,
	codeNotFound: notFound, codeRouteNotFound: notFound, "bulk_job_not_found": notFound, "template_not_found": notFound,
	"scene_not_found": notFound, "tester_not_found": notFound,
	"already_checked_in": conflict, "already_rated": conflict, "already_registered": conflict, "already_sped_up": conflict,
	"already_tester": conflict, "authorization_mismatch": conflict, "cannot_cancel": conflict, "code_used": conflict,
	"device_registered_to_another_user": conflict, "engineer_lacks_skill": conflict, "idempotency_key_reused": conflict,
	"invitation_invalid": conflict, "needs_both_accounts": conflict, codeNoMiniProgram: conflict, "no_official_account": conflict,
	"no_released_mini_program": conflict, "no_review_pending": conflict, "not_available": conflict, "not_checked_in": conflict,
	"other_bound": conflict, "registration_changed": conflict, "registration_pending": conflict, "review_pending": conflict,
	"signature_recorded": conflict, "state_used": conflict, "transaction_conflict": conflict, "version_conflict": conflict,
	"visit_auto_closed": conflict, "visit_changed": conflict, "engineer_changed": conflict, "bulk_job_mismatch": conflict,
	"no_trial_version": conflict,
	"not_released":     conflict, codeWebhookChanged: conflict, "work_order_changed": conflict,
	"body_too_large": http.StatusRequestEntityTooLarge, "photo_too_large": http.StatusRequestEntityTooLarge,
	"unsupported_media_type": http.StatusUnsupportedMediaType,
	"basic_info_incomplete":  rejected, "legal_name_wechat_mismatch": rejected, "no_approved_version": rejected,
	"no_previous_version": rejected, "not_a_leg": rejected, "not_releasable": rejected, "not_same_principal": rejected,
	"official_account_not_certified": rejected, "photo_not_an_image": rejected, "photo_not_uploaded": rejected,
	"privacy_not_declared": rejected, "review_not_slow": rejected, "review_quota_exceeded": rejected,
	"speedup_quota_exhausted": rejected, "directory_full": rejected, "tester_limit_reached": rejected, "too_far_from_site": rejected,
	"too_many_photos": rejected, "user_tester_limit_reached": rejected, "wechat_user_not_found": rejected,
	"checkin_limit": rateLimited, "login_rate_limited": rateLimited, "rate_limited": rateLimited, "too_many_attempts": rateLimited,
	"too_many_failed_logins": rateLimited, "too_many_uploads": rateLimited, "bulk_run_in_progress": rateLimited,
	"internal":     http.StatusInternalServerError,
	"wechat_error": upstream, "wechat_unavailable": upstream,
	"dependency_unavailable": unavailable, "photo_storage_unavailable": unavailable, "storage_unavailable": unavailable,
	"timeout": http.StatusGatewayTimeout,
}

// errorCodes is every code r can answer with.
func errorCodes(r Route) []string {
	codes := []string{anyRoute, r.Errors}
	switch r.Auth {
	case Session:
		codes = append(codes, sessionAuth)
	case Admin, Engineer, Operator:
		codes = append(codes, staffAuth)
	case Public:
	}
	if r.Request != nil || r.RequestSchema != nil {
		codes = append(codes, jsonBody)
	}
	if len(r.Query) > 0 {
		codes = append(codes, queryParams)
	}
	if r.CallsWeChat {
		codes = append(codes, wechatCalls)
	}
	out := strings.Fields(strings.Join(codes, " "))
	slices.Sort(out)
	return slices.Compact(out)
}

// errorResponses groups r's error codes by status: one response per status,
// the error envelope listing its codes (x-error-codes), and a default for
// what no code names.
func errorResponses(r Route) (map[string]*response, error) {
	if r.ErrorPages {
		page := func(desc string) *response {
			return &response{Description: desc, Content: map[string]mediaType{htmlMedia: {Schema: typed(typeString)}}}
		}
		return map[string]*response{
			"400":     page("the link is not valid: a page saying to start again from the console"),
			"410":     page("the link expired: a page saying to start again from the console"),
			"default": page("WeChat or a dependency failed: a page saying to retry"),
		}, nil
	}
	byStatus := map[int][]string{}
	for _, c := range errorCodes(r) {
		st, ok := codeStatus[c]
		if !ok {
			return nil, fmt.Errorf("error code %q has no status in codeStatus", c)
		}
		byStatus[st] = append(byStatus[st], c)
	}
	out := map[string]*response{}
	for st, codes := range byStatus {
		out[strconv.Itoa(st)] = &response{Description: http.StatusText(st) + ": " + strings.Join(codes, ", "),
			Content: map[string]mediaType{jsonMedia: {Schema: errorRef}}, ErrorCodes: codes}
	}
	out["default"] = &response{Description: "any other refusal or failure, in the error envelope",
		Content: map[string]mediaType{jsonMedia: {Schema: errorRef}}}
	return out, nil
}
