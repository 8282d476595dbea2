package authorization

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/config"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

// Quick registration: a tenant without a mini program gets one registered
// by the platform, either from its official account's qualification or
// from its company's details, and the new mini program is bound like an
// authorized one.

// FastRegisterCallbackPath is where WeChat's quick registration page sends
// the admin's browser back with a ticket (on the API domain, which WeChat
// requires of redirect_uri).
const FastRegisterCallbackPath = "/wechat/fastregister/callback"

// FastRegisterLinkTTL bounds a quick registration link, like a flow.
const FastRegisterLinkTTL = StateTTL

// FastRegisterLink is WeChat's confirmation page for the tenant's official
// account, which the console opens for the admin.
type FastRegisterLink struct {
	URL       string    `json:"confirm_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Errors of quick registration.
var (
	errNoOfficialAccount = apperr.E(apperr.Conflict, "no_official_account",
		"connect your enterprise's Official Account first (Settings > WeChat Official Account)")
	errMiniProgramBound = apperr.E(apperr.Conflict, ReasonOtherBound,
		"your enterprise already has a mini program connected; unbind it before registering a new one")
)

// requireNoMiniProgram refuses a registration while the tenant has a
// bound mini program: the new one could not be bound.
func (s *Service) requireNoMiniProgram(ctx context.Context, tenantID string) error {
	b, err := s.store.ByTenant(ctx, tenantID)
	if err == nil && b.Bound() {
		return errMiniProgramBound
	}
	if err != nil && !storage.IsNotFound(err) {
		return err
	}
	return nil
}

// StartOfficialAccountRegistration gives the admin WeChat's confirmation
// page for registering a mini program from the tenant's official account,
// reusing its certification (copy_wx_verify=1). WeChat comes back to
// FastRegisterCallbackPath with a ticket; the link is single use.
func (s *Service) StartOfficialAccountRegistration(ctx context.Context, tenantID string) (FastRegisterLink, error) {
	if s.cfg.APIBaseURL == "" {
		return FastRegisterLink{}, &config.MissingError{Names: []string{config.EnvAPIBaseURL}}
	}
	oa, err := s.store.OfficialAccountOf(ctx, tenantID)
	if storage.IsNotFound(err) || (err == nil && !oa.Bound()) {
		return FastRegisterLink{}, errNoOfficialAccount
	}
	if err != nil {
		return FastRegisterLink{}, err
	}
	if !oa.Certified {
		p := registrationErrorProblems[wechat.CodeFastRegisterNotCertified]
		return FastRegisterLink{}, apperr.E(apperr.Rejected, p.Code, p.Message).WithDetails(p)
	}
	if err := s.requireNoMiniProgram(ctx, tenantID); err != nil {
		return FastRegisterLink{}, err
	}
	keys, err := s.cfg.StateKeys.Keys(ctx)
	if err != nil {
		return FastRegisterLink{}, err
	}
	now := s.cfg.Now()
	expires := now.Add(FastRegisterLinkTTL)
	st := flowState{Tenant: tenantID, Nonce: newNonce(), Expires: expires.Unix()}
	if err := s.store.putFastReg(ctx, fastRegItem{PK: fastRegPK(st.Nonce), SK: skFlow, TenantID: tenantID, OAAppID: oa.AppID,
		State: fastRegIssued, TTL: expires.Add(24 * time.Hour).Unix()}); err != nil {
		return FastRegisterLink{}, fmt.Errorf("store the quick registration: %w", err)
	}
	state := signToken(keys.Current, kindFastRegister, st)
	redirect := s.cfg.APIBaseURL + FastRegisterCallbackPath + "?" + url.Values{"state": {state}}.Encode()
	return FastRegisterLink{URL: s.wx.FastRegisterAuthURL(oa.AppID, redirect, true), ExpiresAt: expires.UTC()}, nil
}

func ticketHash(ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return hex.EncodeToString(sum[:16])
}

// FastRegisterCallback answers WeChat's redirect from its confirmation
// page: it registers the mini program with the ticket and the official
// account's token, and binds it with the authorization code WeChat
// returns. The link takes one ticket; the same redirect again shows the
// outcome (or that it is still under way), another ticket is refused.
func (s *Service) FastRegisterCallback(ctx context.Context, rawState, ticket string) (Result, error) {
	now := s.cfg.Now()
	st, err := config.Verify(ctx, s.cfg.StateKeys, func(keys config.KeyRing) (flowState, error) {
		return verifyFlowToken(keys, kindFastRegister, rawState, now)
	}, func(err error) bool { return errors.Is(err, errTokenSignature) })
	if err != nil {
		return Result{}, err
	}
	h := ticketHash(ticket)
	if err := s.store.claimFastReg(ctx, st.Nonce, st.Tenant, h); errors.Is(err, storage.ErrConflict) {
		return s.fastRegAgain(ctx, st, h)
	} else if err != nil {
		return Result{}, err
	}
	it, err := s.store.fastReg(ctx, st.Nonce)
	if err != nil {
		return Result{}, err
	}
	reg, err := s.wx.FastRegisterFromOfficialAccount(ctx, s.tokens.AuthorizerTokenSource(it.OAAppID), ticket)
	if err != nil {
		p, known := problemOfRegistrationError(err)
		if !known {
			// Free the link: the admin may retry (WeChat asks for more than
			// 5 s between tries of one ticket).
			if rerr := s.store.moveFastReg(ctx, st.Nonce, h, fastRegRegistering, fastRegIssued, nil); rerr != nil {
				s.cfg.Log.WarnContext(ctx, "free the quick registration link", "err", rerr.Error())
			}
			return Result{}, fmt.Errorf("fastregister: %w", err)
		}
		res := Result{Problems: []Problem{p}}
		return res, s.finishFastReg(ctx, st.Nonce, h, fastRegRegistering, res)
	}
	err = s.store.moveFastReg(ctx, st.Nonce, h, fastRegRegistering, fastRegRegistered, func(u *dynamo.Update) *dynamo.Update {
		return u.Set("appid", reg.AppID).Set("auth_code", reg.AuthorizationCode)
	})
	if err != nil {
		return Result{}, fmt.Errorf("record the registered mini program %s: %w", reg.AppID, err)
	}
	return s.bindRegistered(ctx, st, h, reg.AuthorizationCode)
}

// bindRegistered binds the registered mini program from its code and
// records the outcome on the link.
func (s *Service) bindRegistered(ctx context.Context, st flowState, h, authCode string) (Result, error) {
	res, err := s.complete(ctx, st.Tenant, kindRegistered, authCode)
	if err != nil {
		return Result{}, err
	}
	return res, s.finishFastReg(ctx, st.Nonce, h, fastRegRegistered, res)
}

func (s *Service) finishFastReg(ctx context.Context, nonce, h string, from FastRegisterState, res Result) error {
	return s.store.moveFastReg(ctx, nonce, h, from, fastRegDone, func(u *dynamo.Update) *dynamo.Update {
		u = u.Set("bound", res.Bound).Remove("auth_code")
		if res.AppID != "" {
			u = u.Set("appid", res.AppID)
		}
		if len(res.Problems) > 0 {
			u = u.Set("problems", res.Problems)
		}
		return u
	})
}

// fastRegAgain answers a redirect whose link was claimed already: by this
// ticket (a reload), it shows the outcome or finishes the binding; by
// another, or never issued, the state is used.
func (s *Service) fastRegAgain(ctx context.Context, st flowState, h string) (Result, error) {
	it, err := s.store.fastReg(ctx, st.Nonce)
	if storage.IsNotFound(err) || (err == nil && (it.TicketHash != h || it.TenantID != st.Tenant)) {
		return Result{}, ErrStateUsed
	}
	if err != nil {
		return Result{}, err
	}
	switch it.State {
	case fastRegRegistered:
		return s.bindRegistered(ctx, st, h, it.AuthCode)
	case fastRegDone:
		res := Result{Bound: it.Bound, AppID: it.AppID, Problems: it.Problems}
		if it.Bound {
			if b, err := s.store.ByAppID(ctx, it.AppID); err == nil && b.TenantID == st.Tenant {
				res.Binding = &b
			}
		}
		return res, nil
	}
	return Result{Pending: true, Message: "WeChat is registering the mini program; this page shows the outcome when you reload it."}, nil
}

// EnterpriseRegistration is what the admin enters to register a mini
// program from the company's details.
type EnterpriseRegistration struct {
	Name               string `json:"name"`
	Code               string `json:"code"`
	CodeType           int    `json:"code_type"`
	LegalPersonaWechat string `json:"legal_persona_wechat"`
	LegalPersonaName   string `json:"legal_persona_name"`
	ComponentPhone     string `json:"component_phone"`
}

var (
	// creditCodePattern is the unified social credit code: 18 characters
	// of digits and capitals without I, O, S, V, Z (GB 32100-2015).
	creditCodePattern = regexp.MustCompile(`^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$`)
	// wechatIDPattern is a WeChat id (微信号): 6–20 letters, digits, _ and
	// -, starting with a letter.
	wechatIDPattern = regexp.MustCompile(`^[A-Za-z][-_A-Za-z0-9]{5,19}$`)
	phonePattern    = regexp.MustCompile(`^[0-9+][0-9 -]{4,19}$`)
)

// validate checks the details, normalising the code to capitals.
func (r *EnterpriseRegistration) validate() error {
	r.Name, r.LegalPersonaName = strings.TrimSpace(r.Name), strings.TrimSpace(r.LegalPersonaName)
	r.Code, r.LegalPersonaWechat = strings.ToUpper(strings.TrimSpace(r.Code)), strings.TrimSpace(r.LegalPersonaWechat)
	r.ComponentPhone = strings.TrimSpace(r.ComponentPhone)
	switch {
	case r.Name == "" || utf8.RuneCountInString(r.Name) > 100:
		return apperr.InvalidField("name", "the company name as on the business licence, at most 100 characters")
	case r.CodeType != wechat.CodeTypeCreditCode:
		return apperr.InvalidField("code_type", "1: the unified social credit code (统一社会信用代码)")
	case !creditCodePattern.MatchString(r.Code):
		return apperr.InvalidField("code", "the 18-character unified social credit code")
	case r.LegalPersonaName == "" || utf8.RuneCountInString(r.LegalPersonaName) > 50:
		return apperr.InvalidField("legal_persona_name", "the legal representative's name, at most 50 characters")
	case !wechatIDPattern.MatchString(r.LegalPersonaWechat):
		return apperr.InvalidField("legal_persona_wechat", "the legal representative's WeChat id (微信号): 6–20 letters, digits, _ or -")
	case r.ComponentPhone != "" && !phonePattern.MatchString(r.ComponentPhone):
		return apperr.InvalidField("component_phone", "a contact phone number")
	}
	return nil
}

// RegistrationView is the tenant's enterprise registration as the console
// shows it: the task and, while pending, what WeChat says of it.
type RegistrationView struct {
	Registration *RegistrationTask        `json:"registration"`
	WeChatState  wechat.RegistrationState `json:"wechat_state,omitempty"`
	Message      string                   `json:"message,omitempty"`
}

// RegisterEnterprise asks WeChat to register a mini program for the
// company: WeChat asks the legal representative to confirm, and pushes the
// outcome. The registration is recorded pending first (one transaction),
// so the push always finds it.
func (s *Service) RegisterEnterprise(ctx context.Context, tenantID string, req EnterpriseRegistration) (RegistrationView, error) {
	if err := req.validate(); err != nil {
		return RegistrationView{}, err
	}
	if err := s.requireNoMiniProgram(ctx, tenantID); err != nil {
		return RegistrationView{}, err
	}
	now := s.cfg.Now()
	t := RegistrationTask{TenantID: tenantID, Key: componentpush.RegistrationPartition(req.Code, req.LegalPersonaWechat),
		Status: RegistrationPending, Name: req.Name, Code: req.Code, CodeType: req.CodeType, LegalPersonaWechat: req.LegalPersonaWechat,
		LegalPersonaName: req.LegalPersonaName, ComponentPhone: req.ComponentPhone, CreatedAt: now.Unix(), UpdatedAt: now.Unix()}
	if err := s.store.startRegistration(ctx, t, now); errors.Is(err, storage.ErrConflict) {
		if cur, gerr := s.store.Registration(ctx, tenantID); gerr == nil && cur.Status == RegistrationPending {
			return RegistrationView{}, apperr.E(apperr.Conflict, "registration_pending",
				"a registration is waiting for the legal representative; see its status").WithDetails(cur)
		}
		return RegistrationView{}, apperr.E(apperr.Conflict, "registration_elsewhere",
			"another enterprise on our platform is registering a mini program for this company")
	} else if err != nil {
		return RegistrationView{}, fmt.Errorf("record the registration: %w", err)
	}
	err := s.wx.CreateEnterpriseRegistration(ctx, s.tokens.ComponentTokenSource(), wechat.EnterpriseRegistration{
		Name: req.Name, Code: req.Code, CodeType: req.CodeType, LegalPersonaWechat: req.LegalPersonaWechat,
		LegalPersonaName: req.LegalPersonaName, ComponentPhone: req.ComponentPhone})
	if err == nil {
		return RegistrationView{Registration: &t, Message: waitingForLegalRep}, nil
	}
	p, known := problemOfRegistrationError(err)
	switch {
	case known:
	case wechat.NotSent(err):
		p = registrationProblem("wechat_unavailable", "WeChat could not be reached.", "Try again in a few minutes.")
	default:
		// WeChat may have the task: its push settles the registration.
		s.cfg.Log.WarnContext(ctx, "registration create unconfirmed", "err", err.Error())
		return RegistrationView{Registration: &t, Message: waitingForLegalRep}, nil
	}
	t.Status, t.Problem = RegistrationFailed, &p
	if serr := s.store.settleRegistration(ctx, t, now); serr != nil {
		return RegistrationView{}, fmt.Errorf("record the refused registration: %w", serr)
	}
	return RegistrationView{}, apperr.E(apperr.Rejected, p.Code, p.Message).WithDetails(p)
}

const waitingForLegalRep = "WeChat has asked the legal representative to confirm in WeChat within 24 hours."

// RegistrationStatusOf shows the tenant's latest enterprise registration;
// a pending one with what WeChat says of it now.
func (s *Service) RegistrationStatusOf(ctx context.Context, tenantID string) (RegistrationView, error) {
	t, err := s.store.Registration(ctx, tenantID)
	if storage.IsNotFound(err) {
		return RegistrationView{}, apperr.Missing("no registration was started")
	}
	if err != nil {
		return RegistrationView{}, err
	}
	v := RegistrationView{Registration: &t}
	if t.Status != RegistrationPending {
		return v, nil
	}
	v.Message = waitingForLegalRep
	state, err := s.wx.SearchEnterpriseRegistration(ctx, s.tokens.ComponentTokenSource(), wechat.EnterpriseRegistration{
		Name: t.Name, LegalPersonaWechat: t.LegalPersonaWechat, LegalPersonaName: t.LegalPersonaName})
	if err != nil {
		s.cfg.Log.WarnContext(ctx, "registration search", "err", err.Error()) // the stored state still shows
		return v, nil
	}
	v.WeChatState = state
	return v, nil
}

// registrationPushed settles the registration a notify_third_fasteregister
// push names: on success it binds the new mini program with the push's
// authorization code. A push for no pending registration of ours changes
// nothing (a repeat, or a registration made elsewhere).
func (s *Service) registrationPushed(ctx context.Context, ev componentpush.Event) error {
	link, err := s.store.registrationLink(ctx, ev.RegistrationKey)
	if storage.IsNotFound(err) {
		s.cfg.Log.WarnContext(ctx, "registration push for no registration of ours", "status", ev.RegistrationStatus)
		return nil
	}
	if err != nil {
		return err
	}
	t, err := s.store.Registration(ctx, link.TenantID)
	if err != nil && !storage.IsNotFound(err) {
		return err
	}
	if err != nil || t.Key != ev.RegistrationKey || t.Status != RegistrationPending {
		return nil
	}
	t.WeChatStatus = ev.RegistrationStatus
	if ev.RegistrationStatus != 0 {
		p := problemOfRegistrationStatus(ev.RegistrationStatus, ev.RegistrationMsg)
		t.Status, t.Problem = RegistrationFailed, &p
	} else {
		res, err := s.complete(ctx, link.TenantID, kindRegistered, ev.AuthorizationCode)
		if err != nil {
			return err
		}
		t.Status, t.AppID = RegistrationSucceeded, ev.AuthorizerAppID
		if !res.Bound && len(res.Problems) > 0 {
			t.Status, t.Problem = RegistrationFailed, &res.Problems[0]
		}
	}
	if err := s.store.settleRegistration(ctx, t, s.cfg.Now()); err != nil && !errors.Is(err, storage.ErrConflict) {
		return err
	}
	return nil
}
