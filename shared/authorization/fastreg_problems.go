package authorization

import (
	"fmt"

	"wxchannel/shared/wechat"
)

// What the admin is told when a quick registration fails, with the fix.
// WeChat's texts and codes: the status table of the notify_third_fasteregister
// push and the errcode tables of fastregisterweapp and account/fastregister
// (docs/authorization.md lists the sources).

// registrationProblem is a failure code with its message and fix.
func registrationProblem(code, message, solution string) Problem {
	return Problem{Code: code, Message: message, Solution: solution}
}

const (
	fixStartAgain   = "Check the details and start the registration again."
	fixRegistryWait = "The business registry has not caught up: wait 5–15 working days, then start the registration again."
	fixQuota        = "WeChat limits how many accounts one enterprise or person may hold: " +
		"free one (or use another administrator), then try again."
	fixBlacklist    = "WeChat refuses this enterprise or person after a violation: resolve it with WeChat (mp.weixin.qq.com) first."
	fixLegalConfirm = "Ask the legal representative to watch for WeChat's message and confirm (with face verification) within 24 hours, " +
		"then start the registration again."
)

// registrationStatusProblems are the failure statuses of the
// notify_third_fasteregister push.
var registrationStatusProblems = map[int]Problem{
	-1: registrationProblem("company_legal_name_mismatch", "The company and the legal representative's name do not match.", fixStartAgain),
	100001: registrationProblem("legal_representative_not_confirmed",
		"The legal representative did not confirm within 24 hours (identity card not checked).", fixLegalConfirm),
	100002: registrationProblem("legal_representative_not_confirmed",
		"The legal representative did not confirm within 24 hours (face verification not done).", fixLegalConfirm),
	100003: registrationProblem("legal_representative_not_confirmed",
		"The legal representative did not confirm WeChat's request within 24 hours, or declined it.", fixLegalConfirm),
	101: registrationProblem("company_deregistered", "The business registry says the company is deregistered.",
		"Register a mini program for a company that exists."),
	102: registrationProblem("company_not_found", "The business registry does not know the company, or its record is not up to date.",
		"Check the company name and the unified social credit code against the business licence, then start again."),
	103: registrationProblem("legal_representative_name_mismatch",
		"The business registry names another legal representative for this company.",
		"Enter the legal representative exactly as on the business licence, then start again."),
	104: registrationProblem("legal_representative_id_mismatch",
		"The legal representative's identity card does not match the business registry.", fixStartAgain),
	105: registrationProblem("registry_not_updated", "The business registry has not recorded the legal representative's identity card yet.",
		fixRegistryWait),
	1000: registrationProblem("company_mismatch",
		"The company's details or its legal representative do not match the business registry (for example the company name).",
		"Enter the company name exactly as on the business licence, with its unified social credit code, then start again."),
	1001: registrationProblem("principal_quota", "The company has registered as many mini programs as WeChat allows.", fixQuota),
	1002: registrationProblem("principal_blacklisted", "WeChat has blacklisted the company.", fixBlacklist),
	1003: registrationProblem("admin_quota", "The administrator is bound to as many accounts as WeChat allows.", fixQuota),
	1004: registrationProblem("admin_blacklisted", "WeChat has blacklisted the administrator.", fixBlacklist),
	1005: registrationProblem("admin_phone_quota",
		"The administrator's phone number is bound to as many accounts as WeChat allows.", fixQuota),
	1006: registrationProblem("admin_phone_blacklisted", "WeChat has blacklisted the administrator's phone number.", fixBlacklist),
	1007: registrationProblem("admin_id_quota", "The administrator's identity card has created as many accounts as WeChat allows.", fixQuota),
	1008: registrationProblem("admin_id_blacklisted", "WeChat has blacklisted the administrator's identity card.", fixBlacklist),
}

// problemOfRegistrationStatus is the problem of a failed registration push;
// a status the table lacks is shown with WeChat's own message.
func problemOfRegistrationStatus(status int, msg string) Problem {
	if p, ok := registrationStatusProblems[status]; ok {
		return p
	}
	return registrationProblem("registration_failed", fmt.Sprintf("WeChat did not register the mini program (status %d: %s).", status, msg),
		"Check the details and start the registration again; if it fails again, contact your service provider.")
}

// registrationErrorProblems are fastregisterweapp's refusals of a create,
// and account/fastregister's.
var registrationErrorProblems = map[int]Problem{
	wechat.CodeFastRegisterTaskRunning: registrationProblem("registration_running",
		"WeChat is already registering a mini program for this company.",
		"Wait for the legal representative to confirm the running registration, or 24 hours after it started, then try again."),
	wechat.CodeFastRegisterInvalidWeChatID: registrationProblem("invalid_legal_wechat",
		"WeChat does not know the legal representative's WeChat id.",
		"Enter the WeChat id (微信号) shown in the legal representative's WeChat profile, not a nickname or phone number."),
	wechat.CodeFastRegisterLegalNameWeChat: registrationProblem("legal_name_wechat_mismatch",
		"The legal representative's name does not match the WeChat id's real name.",
		"Enter the legal representative's name exactly as verified in their WeChat Pay (bank card) details."),
	wechat.CodeFastRegisterInvalidCodeType: registrationProblem("invalid_code", "WeChat refused the kind of company code.", fixStartAgain),
	wechat.CodeFastRegisterInvalidCode: registrationProblem("invalid_code",
		"WeChat refused the unified social credit code.", "Enter the 18-character code exactly as on the business licence."),
	wechat.CodeFastRegisterMissingParams: registrationProblem("missing_details", "WeChat found a detail missing.", fixStartAgain),
	wechat.CodeFastRegisterComponentScopes: registrationProblem("platform_not_ready",
		"Our platform lacks a WeChat permission needed to register mini programs.", "Contact your service provider."),
	wechat.CodeFastRegisterInnerError: registrationProblem("wechat_error", "WeChat failed internally.", "Try again in a few minutes."),
	wechat.CodeFastRegisterPrincipalType: registrationProblem("principal_type_not_allowed",
		"WeChat does not allow this Official Account's kind of principal to register mini programs quickly.",
		"Register the mini program with the enterprise's details instead (Register with company details)."),
	wechat.CodeFastRegisterNotCertified: registrationProblem("official_account_not_certified",
		"The Official Account is not certified, so its qualification cannot be reused.",
		"Complete WeChat certification of the Official Account, or register with the company's details instead."),
	wechat.CodeFastRegisterPrincipalQuota: registrationProblem("principal_quota",
		"The enterprise has registered as many mini programs as WeChat allows.", fixQuota),
	wechat.CodeFastRegisterBlacklisted: registrationProblem("principal_blacklisted", "WeChat has blacklisted the enterprise.", fixBlacklist),
	wechat.CodeFastRegisterMonthlyQuota: registrationProblem("monthly_quota",
		"The Official Account has used this month's quick registrations.", "Try again next month, or register with the company's details."),
	wechat.CodeFastRegisterMustVerify: registrationProblem("must_reuse_certification",
		"Government, media and other organisations must reuse the Official Account's certification.", fixStartAgain),
	wechat.CodeFastRegisterInProgress: registrationProblem("registration_running",
		"Another mini program is being registered from this Official Account.", "Wait until it finishes, then try again."),
	wechat.CodeFastRegisterTicketInvalid: registrationProblem("confirmation_invalid",
		"WeChat did not accept the confirmation (it was used already, or expired).",
		"Check Settings > WeChat Mini Program: the mini program may already be registered. If not, start again and confirm once."),
	wechat.CodeFastRegisterPlatformDraft: registrationProblem("platform_not_ready",
		"Our platform is not released on WeChat yet.", "Contact your service provider."),
	wechat.CodeFastRegisterPlatformScopes: registrationProblem("platform_not_ready",
		"Our platform lacks a WeChat permission needed to register mini programs.", "Contact your service provider."),
	wechat.CodeFastRegisterBadRedirect: registrationProblem("platform_not_ready",
		"WeChat refused our return address.", "Contact your service provider."),
	wechat.CodeFastRegisterOverseasAccount: registrationProblem("overseas_account",
		"WeChat does not allow overseas Official Accounts to register mini programs quickly.",
		"Register with the company's details instead."),
	wechat.CodeFastRegisterAPIUnauthorized: registrationProblem("permission_not_granted",
		"The Official Account did not grant our platform the permission to register mini programs.",
		"Connect the Official Account again and keep every permission selected."),
}

// problemOfRegistrationError is the problem of a WeChat refusal, or false
// when err is no refusal the admin can act on.
func problemOfRegistrationError(err error) (Problem, bool) {
	for code, p := range registrationErrorProblems {
		if wechat.IsCode(err, code) {
			return p, true
		}
	}
	return Problem{}, false
}
