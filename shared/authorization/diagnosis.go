package authorization

import (
	"fmt"
	"slices"
	"strings"

	"wxchannel/shared/wechat"
)

// RequiredPermissions are the permission sets the product needs: 18 code
// management (commit, review, release), 17 mini program codes (QR codes),
// 30 basic information and categories.
var RequiredPermissions = []int{18, 17, 30}

var permissionNames = map[int]string{
	18: "Mini Program development and data analysis (18)",
	17: "Mini Program codes (17)",
	30: "Mini Program basic information management (30)",
}

// Reason codes an admin sees when an authorization cannot be used.
const (
	ReasonNotMiniProgram     = "not_mini_program"
	ReasonNotCertified       = "not_certified"
	ReasonMissingPermissions = "missing_permissions"
	ReasonIncompleteInfo     = "incomplete_info"
	ReasonBoundElsewhere     = "bound_elsewhere"
	ReasonOtherBound         = "other_bound"
	ReasonAccountAbnormal    = "account_abnormal"
	ReasonAuthCodeExpired    = "auth_code_expired"
	ReasonRevoked            = "authorization_revoked"
	// Official accounts.
	ReasonNotOfficialAccount = "not_official_account"
	ReasonOABoundElsewhere   = "official_account_bound_elsewhere"
	ReasonOtherOABound       = "other_official_account_bound"
)

// Problem is a failure reason with what the admin should do about it.
type Problem struct {
	Code     string `json:"code" dynamo:"code"`
	Message  string `json:"message" dynamo:"message"`
	Solution string `json:"solution" dynamo:"solution"`
}

// Solutions per reason, as the admin reads them.
var solutions = map[string]Problem{
	ReasonNotMiniProgram: {
		Code:     ReasonNotMiniProgram,
		Message:  "The account you authorized is an Official Account, not a Mini Program.",
		Solution: "Scan the authorization QR code again and choose your enterprise's Mini Program (not its Official Account).",
	},
	ReasonNotCertified: {
		Code:    ReasonNotCertified,
		Message: "The Mini Program has not completed WeChat certification.",
		Solution: "Complete WeChat certification (微信认证) for the Mini Program on mp.weixin.qq.com, " +
			"wait for approval, then authorize again.",
	},
	ReasonMissingPermissions: {
		Code:    ReasonMissingPermissions,
		Message: "Some permission sets the service needs were not granted.",
		Solution: "Authorize again and keep every listed permission selected. If code management (18) is held by " +
			"another service provider, revoke that provider's authorization on mp.weixin.qq.com first.",
	},
	ReasonIncompleteInfo: {
		Code:     ReasonIncompleteInfo,
		Message:  "The Mini Program's basic information is incomplete.",
		Solution: "On mp.weixin.qq.com, set the Mini Program's name, icon, description and at least one service category, then authorize again.",
	},
	ReasonBoundElsewhere: {
		Code:     ReasonBoundElsewhere,
		Message:  "This Mini Program already serves another enterprise on our platform; a Mini Program can serve exactly one application.",
		Solution: "Use a Mini Program that belongs to your enterprise, or ask the other enterprise's administrator to unbind it first.",
	},
	ReasonOtherBound: {
		Code:     ReasonOtherBound,
		Message:  "Your enterprise already has a different Mini Program connected.",
		Solution: "Unbind the current Mini Program in Settings > WeChat Mini Program, then authorize the new one.",
	},
	ReasonAccountAbnormal: {
		Code:     ReasonAccountAbnormal,
		Message:  "The Mini Program's account is not in normal status (banned, frozen or deregistered).",
		Solution: "Resolve the account status on mp.weixin.qq.com, then authorize again.",
	},
	ReasonAuthCodeExpired: {
		Code:     ReasonAuthCodeExpired,
		Message:  "The authorization took too long and its code expired.",
		Solution: "Start the authorization again from Settings > WeChat Mini Program and finish it within 10 minutes.",
	},
	ReasonNotOfficialAccount: {
		Code:     ReasonNotOfficialAccount,
		Message:  "The account you authorized is a Mini Program, not an Official Account.",
		Solution: "Scan the authorization QR code again and choose your enterprise's Official Account.",
	},
	ReasonOABoundElsewhere: {
		Code:     ReasonOABoundElsewhere,
		Message:  "This Official Account is already connected to another enterprise on our platform.",
		Solution: "Use your enterprise's own Official Account, or ask the other enterprise's administrator to disconnect it first.",
	},
	ReasonOtherOABound: {
		Code:     ReasonOtherOABound,
		Message:  "Your enterprise already has a different Official Account connected.",
		Solution: "Disconnect the current Official Account in Settings > WeChat Official Account, then authorize the new one.",
	},
	ReasonRevoked: {
		Code:     ReasonRevoked,
		Message:  "The Mini Program's authorization was revoked in WeChat.",
		Solution: "Authorize the Mini Program again from Settings > WeChat Mini Program.",
	},
}

// ProblemFor returns the admin-facing problem for a reason code; detail is
// appended to the message (e.g. which permissions are missing).
func ProblemFor(code, detail string) Problem {
	p := solutions[code]
	if detail != "" {
		p.Message += " " + detail
	}
	return p
}

// Diagnose checks an authorizer against the product's requirements and
// returns every problem found, most fundamental first.
func Diagnose(resp wechat.AuthorizerInfoResponse, granted []int) []Problem {
	info := resp.AuthorizerInfo
	if info.MiniProgramInfo == nil {
		return []Problem{ProblemFor(ReasonNotMiniProgram, "")}
	}
	var out []Problem
	if info.VerifyTypeInfo.ID == -1 {
		out = append(out, ProblemFor(ReasonNotCertified, ""))
	}
	if info.AccountStatus != 0 && info.AccountStatus != 1 {
		out = append(out, ProblemFor(ReasonAccountAbnormal, fmt.Sprintf("(account status %d)", info.AccountStatus)))
	}
	var missing []string
	for _, id := range RequiredPermissions {
		if !slices.Contains(granted, id) {
			missing = append(missing, permissionNames[id])
		}
	}
	if len(missing) > 0 {
		out = append(out, ProblemFor(ReasonMissingPermissions, "Missing: "+strings.Join(missing, ", ")+"."))
	}
	var incomplete []string
	if strings.TrimSpace(info.NickName) == "" {
		incomplete = append(incomplete, "name")
	}
	if strings.TrimSpace(info.HeadImg) == "" {
		incomplete = append(incomplete, "icon")
	}
	if strings.TrimSpace(info.Signature) == "" {
		incomplete = append(incomplete, "description")
	}
	if len(info.MiniProgramInfo.Categories) == 0 {
		incomplete = append(incomplete, "service categories")
	}
	if len(incomplete) > 0 {
		out = append(out, ProblemFor(ReasonIncompleteInfo, "Missing: "+strings.Join(incomplete, ", ")+"."))
	}
	return out
}

// DiagnoseRegistered checks a mini program the platform registered for the
// tenant (quick registration). It is new: it has no name, icon,
// description or category yet (preparation sets what the product needs),
// and one registered from an enterprise's documents starts uncertified.
// What still makes it unusable: not a mini program, an abnormal account,
// or a permission set not granted.
func DiagnoseRegistered(resp wechat.AuthorizerInfoResponse, granted []int) []Problem {
	keep := []string{ReasonNotMiniProgram, ReasonAccountAbnormal, ReasonMissingPermissions}
	var out []Problem
	for _, p := range Diagnose(resp, granted) {
		if slices.Contains(keep, p.Code) {
			out = append(out, p)
		}
	}
	return out
}

// DiagnoseOfficialAccount checks an authorized official account: it must be
// one, in normal status. An uncertified one is connected (the status shows
// it): quick registration is the step that needs the certification.
func DiagnoseOfficialAccount(resp wechat.AuthorizerInfoResponse) []Problem {
	info := resp.AuthorizerInfo
	if info.MiniProgramInfo != nil {
		return []Problem{ProblemFor(ReasonNotOfficialAccount, "")}
	}
	if info.AccountStatus != 0 && info.AccountStatus != 1 {
		p := ProblemFor(ReasonAccountAbnormal, fmt.Sprintf("(account status %d)", info.AccountStatus))
		p.Message = strings.Replace(p.Message, "Mini Program", "Official Account", 1)
		return []Problem{p}
	}
	return nil
}
