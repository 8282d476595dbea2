package wechat

import (
	"context"
	"errors"
)

// Release operations of an authorized mini program (authorizer token):
// trial testers, the platform's review quota and speed-up, and the
// material behind a rejection's screenshots.
//   - testers: https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/member-management/api_bindtester.html
//     (and api_unbindtester, api_gettester beside it);
//   - quota: https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_setcodeauditquota
//   - speed-up: https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_speedupcodeaudit
//   - screenshots: get_auditstatus says they are fetched with get_material
//     https://developers.weixin.qq.com/doc/oplatform/openApi/miniprogram-management/code-management/api_getauditstatus

// Error codes of the release operations.
const (
	// CodeInvalidMediaID: get_material does not know the media id.
	CodeInvalidMediaID = 40007
	// CodeTesterNotFound: no WeChat user has that WeChat ID, or the user
	// cannot be searched by it.
	CodeTesterNotFound = 85001
	// CodeTesterLimit: the mini program has as many testers as allowed.
	CodeTesterLimit = 85002
	// CodeTesterOfTooMany: the user is a tester of too many mini programs.
	CodeTesterOfTooMany = 85003
	// CodeAlreadyTester: the user is already a tester.
	CodeAlreadyTester = 85004
	// CodeSpeedUpUnstable: WeChat's speed-up system is unstable; retry.
	CodeSpeedUpUnstable = 89401
	// CodeSpeedUpNotQueued: the review is not waiting in the queue
	// (finished, withdrawn, or another audit id).
	CodeSpeedUpNotQueued = 89402
	// CodeSpeedUpUnsupported: this kind of review cannot be sped up.
	CodeSpeedUpUnsupported = 89403
	// CodeSpeedUpDone: the review was already sped up.
	CodeSpeedUpDone = 89404
	// CodeSpeedUpQuota: the month's speed-up quota is used up.
	CodeSpeedUpQuota = 89405
)

// experiencerAction is memberauth's only documented action: list testers.
const experiencerAction = "get_experiencer"

// BindTester makes the user with wechatID a tester of the mini program's
// trial version and returns WeChat's id for that tester (userstr). Not
// retried: a repeat that reached WeChat is 85004.
func (c *Client) BindTester(ctx context.Context, aat TokenSource, wechatID string) (string, error) {
	var out struct {
		UserStr string `json:"userstr"`
	}
	if err := c.Do(ctx, appPost("/wxa/bind_tester", aat, map[string]string{"wechatid": wechatID}), &out); err != nil {
		return "", err
	}
	if out.UserStr == "" {
		return "", errors.New("bind_tester: reply without userstr")
	}
	return out.UserStr, nil
}

// UnbindTester removes a tester named by userstr (what Testers lists).
func (c *Client) UnbindTester(ctx context.Context, aat TokenSource, userStr string) error {
	return c.Do(ctx, appPost("/wxa/unbind_tester", aat, map[string]string{"userstr": userStr}).retryable(), nil)
}

// Testers lists the trial version's testers by userstr: WeChat shows no
// WeChat ID or name for them.
func (c *Client) Testers(ctx context.Context, aat TokenSource) ([]string, error) {
	var out struct {
		Members []struct {
			UserStr string `json:"userstr"`
		} `json:"members"`
	}
	err := c.Do(ctx, appPost("/wxa/memberauth", aat, struct {
		Action string `json:"action"`
	}{experiencerAction}).retryable(), &out)
	ids := make([]string, 0, len(out.Members))
	for _, m := range out.Members {
		ids = append(ids, m.UserStr)
	}
	return ids, err
}

// ReviewQuota is queryquota's reply: the platform's review submissions and
// speed-ups this month, shared by every mini program it manages.
type ReviewQuota struct {
	Rest         int `json:"rest"`
	Limit        int `json:"limit"`
	SpeedUpRest  int `json:"speedup_rest"`
	SpeedUpLimit int `json:"speedup_limit"`
}

// ReviewQuota reads the platform's quota with any authorizer's token.
func (c *Client) ReviewQuota(ctx context.Context, aat TokenSource) (ReviewQuota, error) {
	var out ReviewQuota
	err := c.Do(ctx, appGet("/wxa/queryquota", aat).retryable(), &out)
	return out, err
}

// SpeedUpAudit asks WeChat to review auditID sooner (2–12 hours, says the
// documentation). Not retried: a repeat that reached WeChat is 89404.
func (c *Client) SpeedUpAudit(ctx context.Context, aat TokenSource, auditID int64) error {
	return c.Do(ctx, appPost("/wxa/speedupaudit", aat, map[string]int64{"auditid": auditID}), nil)
}

// Material downloads a permanent material, such as a rejection's
// screenshot: an image's bytes come back as they are, an error as JSON.
// The Content-Type WeChat sends is returned but not to be trusted.
func (c *Client) Material(ctx context.Context, aat TokenSource, mediaID string) (string, []byte, error) {
	return c.DoBinary(ctx, appPost("/cgi-bin/material/get_material", aat, map[string]string{"media_id": mediaID}).retryable())
}
