package release

import (
	"context"
	"net/http"
	"net/url"

	"wxchannel/shared/httpapi"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/wechat"
)

// The service categories the product's mini program serves under.
var wantedCategories = [][2]string{
	{"Business Services", "Enterprise Management"},
	{"Lifestyle Services", "Home Services"},
	{"Tools", "Equipment Management"},
}

// Step is one preparation step's outcome.
type Step struct {
	Step   string `json:"step"`
	Status string `json:"status"` // done, under_review, failed
	Detail string `json:"detail,omitempty"`
}

// Prepare sets categories, applies for the location privacy interface,
// declares the privacy settings and sets the server domains. Every step is
// idempotent: running it again only does what is missing.
func (s *Service) Prepare(ctx context.Context, tenantID string) ([]Step, error) {
	b, err := s.boundApp(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	wx := s.d.WeChat
	st, err := s.settings.Settings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	aat := s.tokens.AuthorizerTokenSource(b.AppID)
	steps := []Step{
		s.step("categories", func() (string, string, error) { return s.prepareCategories(ctx, wx, aat) }),
		s.step("location_privacy_interface", func() (string, string, error) {
			list, err := wx.PrivacyInterfaces(ctx, aat)
			if err != nil {
				return "", "", err
			}
			for _, p := range list {
				if p.APIName != "wx.getLocation" {
					continue
				}
				switch p.Status {
				case 5:
					return "done", "wx.getLocation enabled", nil
				case 3:
					return "under_review", "WeChat is reviewing the wx.getLocation application", nil
				}
			}
			if err := wx.ApplyPrivacyInterface(ctx, aat, "wx.getLocation", st.LocationReason); err != nil {
				return "", "", err
			}
			return "under_review", "applied for wx.getLocation: " + st.LocationReason, nil
		}),
		s.step("privacy_settings", func() (string, string, error) {
			err := wx.SetPrivacySetting(ctx, aat, "service@"+hostOf(s.d.Config.APIBaseURL), map[string]string{
				"Location": "to locate the equipment that needs service", "PhoneNumber": "to contact you about the work order", "Album": "to attach photos of the fault",
			})
			return "done", "Location, PhoneNumber, Album declared", err
		}),
		s.step("server_domains", func() (string, string, error) {
			d := []string{s.d.Config.APIBaseURL}
			uploads := d
			if s.d.Config.UploadBucket != "" {
				uploads = append(uploads, "https://"+s.d.Config.UploadBucket+".s3."+s.d.Config.Region+".amazonaws.com.cn")
			}
			return "done", s.d.Config.APIBaseURL, wx.SetServerDomains(ctx, aat, d, uploads, d)
		}),
		{Step: "ext_json", Status: "done", Detail: s.ExtJSON(b.AppID, tenantID, st.DisplayName)},
	}
	return steps, nil
}

func (s *Service) step(name string, run func() (string, string, error)) Step {
	status, detail, err := run()
	if err != nil {
		if p, ok := problemOf(err); ok {
			return Step{Step: name, Status: "failed", Detail: p.Message + " " + p.Solution}
		}
		return Step{Step: name, Status: "failed", Detail: err.Error()}
	}
	return Step{Step: name, Status: status, Detail: detail}
}

func (s *Service) prepareCategories(ctx context.Context, wx *wechat.Client, aat wechat.TokenSource) (string, string, error) {
	have, err := wx.Categories(ctx, aat)
	if err != nil {
		return "", "", err
	}
	all, err := wx.AllCategories(ctx, aat)
	if err != nil {
		return "", "", err
	}
	present := map[int]bool{}
	for _, c := range have {
		present[c.Second] = true
	}
	var missing []wechat.Category
	for _, want := range wantedCategories {
		for _, c := range all {
			if c.FirstName == want[0] && c.SecondName == want[1] && !present[c.Second] {
				missing = append(missing, c)
			}
		}
	}
	if len(missing) == 0 {
		return "done", "categories already set", nil
	}
	if err := wx.AddCategories(ctx, aat, missing); err != nil {
		return "", "", err
	}
	return "done", "categories added", nil
}

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "example.invalid"
	}
	return u.Hostname()
}

func prepareRoute(svc *Service) func(rt *httpapi.Router) {
	return func(rt *httpapi.Router) {
		rt.Handle("POST /admin/miniprogram/prepare", adminOnly(svc.d, func(w http.ResponseWriter, r *http.Request, c staffauth.Claims) error {
			steps, err := svc.Prepare(r.Context(), c.TenantID)
			if err != nil {
				return err
			}
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"steps": steps})
			return nil
		}))
	}
}
