// Package release takes a bound mini program from code commit through WeChat
// review to release, and serves its QR codes.
package release

import (
	"context"
	"encoding/base64"
	"net/http"
	"regexp"

	"wxchannel/shared/app"
	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/portal"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat"
)

func adminOnly(d *app.Deps, h staffauth.StaffHandler) httpapi.HandlerFunc {
	return staffauth.NewVerifier(d).Require(h, staffauth.RoleAdmin)
}

// Status is the admin's view of the pipeline.
type Status struct {
	Pipeline
	NextActions []string `json:"next_actions"`
}

func statusOf(p Pipeline) Status { return Status{Pipeline: p, NextActions: p.NextActions()} }

// NewHandler builds the reviewsubmit function's handler.
func NewHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	svc := NewService(d)
	rt := httpapi.NewRouter(d.Log)
	rt.Handle("POST /admin/miniprogram/review", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		var req struct {
			TemplateID int64 `json:"template_id"`
			Manual     bool  `json:"manual"`
		}
		if err := httpapi.DecodeJSON(r, &req, 1<<10); err != nil {
			return err
		}
		p, err := svc.Submit(r.Context(), c.TenantID, req.TemplateID, req.Manual)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusAccepted, statusOf(p))
		return nil
	}))
	return rt, nil
}

// NewAdminHandler builds the releaseadmin function's handler: status,
// versions, release, undo, rollback and QR codes.
func NewAdminHandler(ctx context.Context, d *app.Deps) (*httpapi.Router, error) {
	svc := NewService(d)
	sessions := portal.NewSessions(d)
	rt := httpapi.NewRouter(d.Log)
	prepareRoute(svc)(rt)
	rt.Handle("GET /admin/miniprogram/release-status", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		p, err := svc.boundPipeline(r.Context(), c.TenantID)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, statusOf(p))
		return nil
	}))
	rt.Handle("GET /admin/miniprogram/versions", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		wx := d.WeChat
		templates, err := wx.TemplateList(r.Context(), svc.tokens.ComponentTokenSource())
		if err != nil {
			return err
		}
		out := map[string]any{"templates": templates, "mode": "public"}
		latest := latestTemplate(templates)
		if latest != nil {
			out["latest"] = latest
		}
		switch p, err := svc.boundPipeline(r.Context(), c.TenantID); {
		case err == nil:
			pending := p.State == StateUnderReview || p.State == StateDelayed
			out["mode"] = "enterprise"
			out["pipeline"] = statusOf(p)
			out["new_version_available"] = latest != nil && !pending && p.ReleasedVersion != latest.UserVersion
		case !notBound(err):
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	}))
	rt.Handle("POST /admin/miniprogram/release", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		p, err := svc.Release(r.Context(), c.TenantID)
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, statusOf(p))
		return nil
	}))
	rt.Handle("POST /admin/miniprogram/undo-review", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		p, err := svc.changeWith(r.Context(), c.TenantID, (*wechat.Client).UndoAudit, nil, func(p *Pipeline) { p.State = StateWithdrawn })
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, statusOf(p))
		return nil
	}))
	rt.Handle("POST /admin/miniprogram/rollback", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		p, err := svc.changeWith(r.Context(), c.TenantID, (*wechat.Client).RevertRelease, nil, func(p *Pipeline) {
			p.ReleasedVersion, p.PreviousReleased = p.PreviousReleased, ""
		})
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, statusOf(p))
		return nil
	}))
	rt.Handle("GET /admin/miniprogram/qrcode", adminOnly(d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
		deviceSN := r.URL.Query().Get("device_sn")
		if deviceSN != "" && !serialPattern.MatchString(deviceSN) {
			return apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
		}
		p, err := svc.boundPipeline(r.Context(), c.TenantID)
		if err != nil {
			// No enterprise mini program: the public mini program's code
			// opens the tenant's portal (and device) from day one.
			if !notBound(err) {
				return err
			}
			return publicQR(w, r, d, svc, sessions, c.TenantID, deviceSN)
		}
		wx := d.WeChat
		aat := svc.tokens.AuthorizerTokenSource(p.AppID)
		var ct string
		var img []byte
		kind := "release"
		if p.ReleasedVersion == "" {
			// Before the first release only the trial version exists.
			kind = "trial"
			ct, img, err = wx.TrialQRCode(r.Context(), aat, "pages/portal/index")
		} else {
			scene, serr := sessions.EncodeScene(r.Context(), c.TenantID, deviceSN)
			if serr != nil {
				return serr
			}
			ct, img, err = wx.WxaCodeUnlimit(r.Context(), aat, scene, "pages/portal/index", "release")
		}
		if wechat.IsCode(err, 41030) {
			return apperr.E(apperr.Conflict, "not_released", "release the mini program before generating its QR code")
		}
		if err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"kind": kind, "content_type": ct, "image_base64": base64.StdEncoding.EncodeToString(img)})
		return nil
	}))
	return rt, nil
}

var serialPattern = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)

func publicQR(w http.ResponseWriter, r *http.Request, d *app.Deps, svc *Service, sessions *portal.Sessions, tenantID, deviceSN string) error {
	if err := d.Config.Require(config.EnvPublicAppID); err != nil {
		return err
	}
	wx := d.WeChat
	scene, err := sessions.EncodeScene(r.Context(), tenantID, deviceSN)
	if err != nil {
		return err
	}
	ct, img, err := wx.WxaCodeUnlimit(r.Context(), svc.tokens.PublicTokenSource(), scene, "pages/portal/index", "release")
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]string{"kind": "public", "scene": scene, "content_type": ct, "image_base64": base64.StdEncoding.EncodeToString(img)})
	return nil
}
