package release

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/wechat"
)

// Release operations the admin reaches for around a review: trial testers,
// the platform's review quota with the speed-up of a slow review
// (docs/release-pipeline.md, "Release operations").

// Tester is a WeChat user who may open the trial version. WeChat lists
// testers by an opaque userstr only; the WeChat ID and who added the
// tester are known for testers added through us.
type Tester struct {
	UserStr  string `json:"userstr"`
	WeChatID string `json:"wechat_id,omitempty"`
	AddedBy  string `json:"added_by,omitempty"`
	AddedAt  int64  `json:"added_at,omitempty"`
}

// testerRecord is what we keep of a tester we added, beside the mini
// program's pipeline (pk authorizer#<appid>, sk tester#<userstr>).
type testerRecord struct {
	PK       string `dynamo:"pk,hash"`
	SK       string `dynamo:"sk,range"`
	UserStr  string `dynamo:"userstr"`
	WeChatID string `dynamo:"wechat_id"`
	AddedBy  string `dynamo:"added_by"`
	AddedAt  int64  `dynamo:"added_at"`
}

// testerSK is the sort key of a tester's record.
func testerSK(userStr string) string { return "tester#" + userStr }

var (
	// wechatIDPattern bounds what may be sent as a WeChat ID: WeChat's own
	// rule is 6–20 letters, digits, _ or - starting with a letter, but
	// older accounts' generated ids (wxid_…) and phone numbers are also
	// accepted by the search WeChat runs, so only the character set and
	// a generous length are checked; WeChat decides (85001).
	wechatIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$`)
	// userStrPattern bounds a userstr taken from a path.
	userStrPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// fix is the details of a refusal: the solution the admin can follow.
func fix(solution string) map[string]string { return map[string]string{"solution": solution} }

// testerRefusals are bind_tester's refusals as the admin reads them.
var testerRefusals = map[int]*apperr.Error{
	wechat.CodeTesterNotFound: apperr.E(apperr.Rejected, "wechat_user_not_found",
		"No WeChat user can be found by that WeChat ID.").WithDetails(fix("Copy the WeChat ID from the " +
		"colleague's profile (Me, under the name), and ask them to allow being found by it (Settings > Privacy > Add Me).")),
	wechat.CodeTesterLimit: apperr.E(apperr.Rejected, "tester_limit_reached",
		"The mini program has as many testers as WeChat allows.").WithDetails(fix("Remove a tester " +
		"who no longer needs the trial version, then add the colleague again.")),
	wechat.CodeTesterOfTooMany: apperr.E(apperr.Rejected, "user_tester_limit_reached",
		"This WeChat user is a tester of as many mini programs as WeChat allows.").WithDetails(fix("Ask " +
		"the colleague to be removed as a tester of another mini program, or choose another colleague.")),
	wechat.CodeAlreadyTester: apperr.E(apperr.Conflict, "already_tester",
		"This WeChat user is already a tester.").WithDetails(fix("Nothing to do: they can open the " +
		"trial QR code now.")),
}

// Testers lists the trial version's testers: WeChat's list, with what we
// know of those added here.
func (s *Service) Testers(ctx context.Context, tenantID string) ([]Tester, error) {
	b, err := s.boundApp(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ids, err := s.wx.Testers(ctx, s.tokens.AuthorizerTokenSource(b.AppID))
	if err != nil {
		return nil, fmt.Errorf("list testers: %w", err)
	}
	known, err := s.testerRecords(ctx, b.AppID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Tester, 0, len(ids))
	for _, id := range ids {
		t := Tester{UserStr: id}
		if r, ok := known[id]; ok {
			t.WeChatID, t.AddedBy, t.AddedAt = r.WeChatID, r.AddedBy, r.AddedAt
		}
		out = append(out, t)
	}
	return out, nil
}

// testerRecords reads our records of the listed testers in one
// BatchGetItem (testers added on WeChat's console have none).
func (s *Service) testerRecords(ctx context.Context, appid string, userStrs []string) (map[string]testerRecord, error) {
	out := map[string]testerRecord{}
	if len(userStrs) == 0 {
		return out, nil
	}
	keys := make([]dynamo.Keyed, 0, len(userStrs))
	for _, u := range userStrs {
		keys = append(keys, dynamo.Keys{pipelinePK(appid), testerSK(u)})
	}
	var recs []testerRecord
	err := s.table.Batch("pk", "sk").Get(keys...).All(ctx, &recs)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("read tester records: %w", err)
	}
	for _, r := range recs {
		out[r.UserStr] = r
	}
	return out, nil
}

// AddTester makes the user with wechatID a tester of the tenant's trial
// version, on behalf of the admin addedBy.
func (s *Service) AddTester(ctx context.Context, tenantID, wechatID, addedBy string) (Tester, error) {
	if !wechatIDPattern.MatchString(wechatID) {
		return Tester{}, apperr.InvalidField("wechat_id", "the colleague's WeChat ID: 3–40 letters, digits, _ or -")
	}
	b, err := s.boundApp(ctx, tenantID)
	if err != nil {
		return Tester{}, err
	}
	userStr, err := s.wx.BindTester(ctx, s.tokens.AuthorizerTokenSource(b.AppID), wechatID)
	if err != nil {
		if e, ok := errors.AsType[*wechat.APIError](err); ok {
			if refusal, ok := testerRefusals[e.Code]; ok {
				return Tester{}, refusal.Wrap(err)
			}
		}
		return Tester{}, fmt.Errorf("bind tester: %w", err)
	}
	r := testerRecord{PK: pipelinePK(b.AppID), SK: testerSK(userStr), UserStr: userStr, WeChatID: wechatID,
		AddedBy: addedBy, AddedAt: s.cfg.Now().Unix()}
	if err := s.table.Put(r).Run(ctx); err != nil {
		// WeChat has the tester; only the WeChat ID shown beside it is lost.
		return Tester{}, fmt.Errorf("record tester: %w", err)
	}
	return Tester{UserStr: userStr, WeChatID: wechatID, AddedBy: addedBy, AddedAt: r.AddedAt}, nil
}

// RemoveTester removes the tester userStr (as Testers lists it) from the
// trial version.
func (s *Service) RemoveTester(ctx context.Context, tenantID, userStr string) error {
	if !userStrPattern.MatchString(userStr) {
		return apperr.InvalidField("userstr", "a tester's userstr as the tester list gives it")
	}
	b, err := s.boundApp(ctx, tenantID)
	if err != nil {
		return err
	}
	aat := s.tokens.AuthorizerTokenSource(b.AppID)
	// WeChat answers ok for someone who is no tester: ask first, so that a
	// wrong id is a clear 404 and not a silent success.
	ids, err := s.wx.Testers(ctx, aat)
	if err != nil {
		return fmt.Errorf("list testers: %w", err)
	}
	if !slices.Contains(ids, userStr) {
		return apperr.E(apperr.NotFound, "tester_not_found", "no such tester; reload the tester list")
	}
	if err := s.wx.UnbindTester(ctx, aat, userStr); err != nil {
		return fmt.Errorf("unbind tester: %w", err)
	}
	if err := s.table.Delete("pk", pipelinePK(b.AppID)).Range("sk", testerSK(userStr)).Run(ctx); err != nil {
		return fmt.Errorf("delete tester record: %w", err)
	}
	return nil
}

// SlowReviewAfter is how long a review may take before the admin is
// offered a speed-up. WeChat gives no figure for a normal review; a
// review usually ends within a day, and a sped-up one within 2–12 hours.
// A review WeChat itself delays (weapp_audit_delay) is slow at once.
const SlowReviewAfter = 24 * time.Hour

// quotaTimeout bounds the quota query of the release status, which must
// answer even when WeChat does not.
const quotaTimeout = 3 * time.Second

// SpeedUpOffer says whether the pending review may be sped up and, when
// not, why (Reason: no_review_pending, already_sped_up, not_slow_yet,
// no_speedup_quota, quota_unknown).
type SpeedUpOffer struct {
	Offered bool   `json:"offered"`
	Reason  string `json:"reason,omitempty"`
	// SlowAfter is when the pending review counts as slow (Unix seconds).
	SlowAfter int64 `json:"slow_after,omitempty"`
}

// Overview is the release status with the platform's review quota
// and the speed-up offer.
type Overview struct {
	Status
	// ReviewQuota is the platform's quota this month, shared by every
	// tenant's mini program; nil when WeChat did not answer
	// (ReviewQuotaUnavailable says so).
	ReviewQuota            *wechat.ReviewQuota `json:"review_quota,omitempty"`
	ReviewQuotaUnavailable *Problem            `json:"review_quota_unavailable,omitempty"`
	SpeedUp                SpeedUpOffer        `json:"speed_up"`
}

var quotaUnavailable = Problem{Code: "review_quota_unavailable", Message: "WeChat did not tell the review quota just now.",
	Solution: "Reload the status in a moment."}

// ReleaseStatus returns the tenant's pipeline with the review quota and
// whether a speed-up is offered.
func (s *Service) ReleaseStatus(ctx context.Context, tenantID string) (Overview, error) {
	p, err := s.boundPipeline(ctx, tenantID)
	if err != nil {
		return Overview{}, err
	}
	out := Overview{Status: statusOf(p)}
	qctx, cancel := context.WithTimeout(ctx, quotaTimeout)
	defer cancel()
	q, err := s.wx.ReviewQuota(qctx, s.tokens.AuthorizerTokenSource(p.AppID))
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "review quota", "appid", p.AppID, "err", err.Error())
		pr := quotaUnavailable
		out.ReviewQuotaUnavailable = &pr
	} else {
		out.ReviewQuota = &q
	}
	out.SpeedUp = p.speedUpOffer(s.cfg.Now(), out.ReviewQuota)
	if out.SpeedUp.Offered {
		out.NextActions = append(slices.Clone(out.NextActions), ActionSpeedUp)
	}
	return out, nil
}

// slowAfter is when the pending review counts as slow.
func (p Pipeline) slowAfter() time.Time {
	if p.State == StateDelayed || p.SubmittedAt == 0 {
		return time.Unix(p.SubmittedAt, 0)
	}
	return time.Unix(p.SubmittedAt, 0).Add(SlowReviewAfter)
}

// speedUpReason says why the pending review may not be sped up at now ("":
// it may, as far as we know; WeChat decides on the quota).
func (p Pipeline) speedUpReason(now time.Time) string {
	switch {
	case !p.State.reviewPending():
		return "no_review_pending"
	case p.SpedUpAt != 0:
		return "already_sped_up"
	case now.Before(p.slowAfter()):
		return "not_slow_yet"
	}
	return ""
}

func (p Pipeline) speedUpOffer(now time.Time, q *wechat.ReviewQuota) SpeedUpOffer {
	o := SpeedUpOffer{Reason: p.speedUpReason(now)}
	if p.State.reviewPending() {
		o.SlowAfter = p.slowAfter().Unix()
	}
	switch {
	case o.Reason != "":
	case q == nil:
		o.Reason = "quota_unknown"
	case q.SpeedUpRest <= 0:
		o.Reason = "no_speedup_quota"
	default:
		o.Offered = true
	}
	return o
}

// speedUpRefusals are speedupaudit's refusals as the admin reads them.
var speedUpRefusals = map[int]*apperr.Error{
	wechat.CodeSpeedUpQuota: apperr.E(apperr.Rejected, "speedup_quota_exhausted",
		"The platform's speed-ups for this month are used up.").WithDetails(fix("Wait for the " +
		"review; speed-ups are granted again next month.")),
	wechat.CodeSpeedUpNotQueued: apperr.E(apperr.Conflict, "review_not_queued",
		"WeChat has no review of this mini program waiting.").WithDetails(fix("Reload the release " +
		"status: the review has probably just ended.")),
	wechat.CodeSpeedUpUnsupported: apperr.E(apperr.Rejected, "speedup_not_supported",
		"WeChat does not speed up this kind of review.").WithDetails(fix("Wait for the normal review.")),
	wechat.CodeSpeedUpUnstable: apperr.E(apperr.Unavailable, "speedup_unavailable",
		"WeChat's speed-up is unavailable just now.").WithDetails(fix("Try again in a few minutes.")),
}

// SpeedUp asks WeChat to speed up the tenant's pending review, once it is
// slow (SlowReviewAfter) and only once. WeChat decides on the quota:
// 89405 is the refusal when none is left.
func (s *Service) SpeedUp(ctx context.Context, tenantID string) (Pipeline, error) {
	p, err := s.boundPipeline(ctx, tenantID)
	if err != nil {
		return Pipeline{}, err
	}
	now := s.cfg.Now()
	switch p.speedUpReason(now) {
	case "no_review_pending":
		return Pipeline{}, apperr.E(apperr.Conflict, "no_review_pending", "no review is pending; submit for review first")
	case "already_sped_up":
		return Pipeline{}, apperr.E(apperr.Conflict, "already_sped_up", "this review was already sped up; wait for its result")
	case "not_slow_yet":
		return Pipeline{}, apperr.Errorf(apperr.Rejected, "review_not_slow",
			"a review may be sped up once it has taken %d hours; wait", int(SlowReviewAfter.Hours())).
			WithDetails(map[string]int64{"slow_after": p.slowAfter().Unix()})
	}
	err = s.wx.SpeedUpAudit(ctx, s.tokens.AuthorizerTokenSource(p.AppID), p.AuditID)
	if e, ok := errors.AsType[*wechat.APIError](err); ok && e.Code != wechat.CodeSpeedUpDone {
		if refusal, ok := speedUpRefusals[e.Code]; ok {
			return Pipeline{}, refusal.Wrap(err)
		}
	}
	if err != nil && !wechat.IsCode(err, wechat.CodeSpeedUpDone) { // 89404: a repeat of ours that reached WeChat
		return Pipeline{}, fmt.Errorf("speed up review: %w", err)
	}
	p.SpedUpAt = now.Unix()
	return s.save(ctx, p)
}
