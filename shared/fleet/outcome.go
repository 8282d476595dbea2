package fleet

import (
	"errors"

	"wxchannel/shared/apperr"
	"wxchannel/shared/release"
	"wxchannel/shared/wechat"
)

// Codes of a tenant's outcome besides the pipeline's own (WeChat's
// refusals with their fixes, release.Service's state conflicts).
const (
	codeNotBound           = "not_bound"
	codeNotPrepared        = "not_prepared"
	codeReviewPending      = "review_pending"
	codeAlreadyUnderReview = "already_under_review"
	codeUpToDate           = "up_to_date"
	codeReleasePending     = "release_pending"
	codeWeChatError        = "wechat_error"
	// codeUnavailable is a passing failure: the tenant stays pending.
	codeUnavailable = "unavailable"
)

// skips are why a bulk submission leaves a tenant alone, with what the
// operator can do about it.
var skips = map[string]struct{ message, solution string }{
	codeNotBound: {"The tenant has no enterprise mini program bound.",
		"Nothing to submit: the tenant's admin connects a mini program first."},
	codeNotPrepared: {"The mini program was never submitted for review: its admin has not prepared it yet.",
		"The tenant's admin runs Prepare and the first submission from the console."},
	codeReviewPending: {"A review of another version is in progress.",
		"Wait for the review to end (or the tenant's admin withdraws it), then submit in a new job."},
	codeAlreadyUnderReview: {"A review of this version is already in progress.", "Nothing to do: wait for the review."},
	codeUpToDate:           {"This version is already released.", "Nothing to do."},
	codeReleasePending: {"This version passed review and waits to be released.",
		"The tenant's admin releases it (automatic release does it at once)."},
}

func skipResult(tenantID, appid, code string) *Result {
	s := skips[code]
	return &Result{TenantID: tenantID, AppID: appid, Outcome: OutcomeSkipped, Code: code, Message: s.message, Solution: s.solution}
}

// skipReason says why submitting version would skip the bound mini
// program m (nil when it would submit it): the pipeline's state decides,
// as it does for the tenant's admin.
func skipReason(m release.Member, version string) *Result {
	p := m.Pipeline
	code := ""
	switch {
	case p.ReviewPending() && p.Version == version:
		code = codeAlreadyUnderReview
	case p.ReviewPending():
		code = codeReviewPending
	case p.ReleasedVersion == version:
		code = codeUpToDate
	case p.ReleasePending() && p.Version == version:
		code = codeReleasePending
	case !p.HasBeenReviewed():
		code = codeNotPrepared
	default:
		return nil
	}
	r := skipResult(m.TenantID, m.AppID, code)
	r.State = p.State
	return r
}

// next is what a run does with a submission's result.
type next int

const (
	recordIt next = iota // the tenant's outcome
	haltRun              // the platform's quota is spent: stop, leave the tenant pending
	deferIt              // a passing failure: leave the tenant pending for the next run
)

// resultOf turns release.Service.Submit's answer into the tenant's
// outcome. WeChat's refusals the pipeline knows come with their fix (and
// are recorded on the pipeline too); a state that forbids the submission
// is a skip; a failure that may pass (a timeout, WeChat busy, storage
// unavailable) is deferred to the next run.
func resultOf(m release.Member, p release.Pipeline, err error) (Result, next) {
	res := Result{TenantID: m.TenantID, AppID: m.AppID}
	if err == nil {
		res.Outcome, res.State, res.AuditID = OutcomeSubmitted, p.State, p.AuditID
		return res, recordIt
	}
	var wx *wechat.APIError
	if errors.As(err, &wx) {
		res.WeChatCode = wx.Code
	}
	if e, ok := apperr.As(err); ok {
		res.Code, res.Message = e.Code, e.Message
		if d, ok := e.Details.(map[string]any); ok {
			res.Solution, _ = d["solution"].(string)
			if st, ok := d["state"].(release.State); ok {
				res.State = st
			}
		}
		switch {
		case wechat.IsCode(err, wechat.CodeAuditQuota):
			return res, haltRun
		case e.Kind == apperr.Rejected, e.Kind == apperr.Invalid, e.Kind == apperr.NotFound:
			res.Outcome = OutcomeFailed
			return res, recordIt
		case e.Kind == apperr.Conflict:
			res.Outcome = OutcomeSkipped
			return res, recordIt
		}
		return res, deferIt
	}
	if wx != nil && !transient(wx.Code) {
		res.Outcome, res.Code, res.Message = OutcomeFailed, codeWeChatError, "WeChat refused the submission: "+wx.Msg
		res.Solution = "Look the errcode up in WeChat's documentation of submit_audit, fix it, then submit in a new job."
		return res, recordIt
	}
	res.Code, res.Message = codeUnavailable, "WeChat or storage did not answer in time; the next run tries again"
	return res, deferIt
}

// transient says a WeChat errcode may pass by itself: system busy, or
// the API's minute frequency limit.
func transient(code int) bool {
	return code == wechat.CodeBusy || code == wechat.CodeQuotaMinute
}
