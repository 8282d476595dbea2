package release

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"wxchannel/shared/config"
	"wxchannel/shared/notify"
	"wxchannel/shared/tenant"
	"wxchannel/shared/uploads"
	"wxchannel/shared/wechat"
)

// The service categories the product's mini program serves under.
var wantedCategories = [][2]string{
	{"Business Services", "Enterprise Management"},
	{"Lifestyle Services", "Home Services"},
	{"Tools", "Equipment Management"},
}

// StepStatus is how a preparation step ended.
type StepStatus string

// Preparation step outcomes.
const (
	StepDone        StepStatus = "done"
	StepUnderReview StepStatus = "under_review"
	StepFailed      StepStatus = "failed"
)

// Step is one preparation step's outcome.
type Step struct {
	Step   string     `json:"step"`
	Status StepStatus `json:"status"`
	Detail string     `json:"detail,omitempty"`
}

// preparing is one run of Prepare for a bound mini program.
type preparing struct {
	s        *Service
	aat      wechat.TokenSource
	settings tenant.Settings
	appid    string
	tenantID string
}

// Prepare sets categories, applies for the location privacy interface,
// declares the privacy settings, sets the server domains and sets up the
// subscribe-message templates of the customers' notifications. Every step is
// idempotent: running it again only does what is missing.
func (s *Service) Prepare(ctx context.Context, tenantID string) ([]Step, error) {
	b, err := s.boundApp(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	st, err := s.settings.Settings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	run := preparing{s: s, aat: s.tokens.AuthorizerTokenSource(b.AppID), settings: st, appid: b.AppID, tenantID: tenantID}
	return []Step{
		step("categories", func() (StepStatus, string, error) { return run.categories(ctx) }),
		step("location_privacy_interface", func() (StepStatus, string, error) { return run.locationInterface(ctx) }),
		step("privacy_settings", func() (StepStatus, string, error) { return run.privacySettings(ctx) }),
		step("server_domains", func() (StepStatus, string, error) { return run.serverDomains(ctx) }),
		step("subscribe_templates", func() (StepStatus, string, error) { return run.subscribeTemplates(ctx) }),
		{Step: "ext_json", Status: StepDone, Detail: s.ExtJSON(b.AppID, tenantID, st.DisplayName)},
	}, nil
}

func step(name string, run func() (StepStatus, string, error)) Step {
	status, detail, err := run()
	if err != nil {
		if p, ok := problemOf(err); ok {
			return Step{Step: name, Status: StepFailed, Detail: p.Message + " " + p.Solution}
		}
		return Step{Step: name, Status: StepFailed, Detail: err.Error()}
	}
	return Step{Step: name, Status: status, Detail: detail}
}

func (run preparing) categories(ctx context.Context) (StepStatus, string, error) {
	wx := run.s.wx
	have, err := wx.Categories(ctx, run.aat)
	if err != nil {
		return "", "", err
	}
	all, err := wx.AllCategories(ctx, run.aat)
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
		return StepDone, "categories already set", nil
	}
	if err := wx.AddCategories(ctx, run.aat, missing); err != nil {
		return "", "", err
	}
	return StepDone, "categories added", nil
}

func (run preparing) locationInterface(ctx context.Context) (StepStatus, string, error) {
	list, err := run.s.wx.PrivacyInterfaces(ctx, run.aat)
	if err != nil {
		return "", "", err
	}
	for _, p := range list {
		if p.APIName != "wx.getLocation" {
			continue
		}
		switch p.Status {
		case wechat.PrivacyEnabled:
			return StepDone, "wx.getLocation enabled", nil
		case wechat.PrivacyApplying:
			return StepUnderReview, "WeChat is reviewing the wx.getLocation application", nil
		}
	}
	reason := run.settings.LocationReason
	if err := run.s.wx.ApplyPrivacyInterface(ctx, run.aat, "wx.getLocation", reason); err != nil {
		return "", "", err
	}
	return StepUnderReview, "applied for wx.getLocation: " + reason, nil
}

func (run preparing) privacySettings(ctx context.Context) (StepStatus, string, error) {
	err := run.s.wx.SetPrivacySetting(ctx, run.aat, "service@"+hostOf(run.s.cfg.APIBaseURL), map[string]string{
		"Location":    "to locate the equipment that needs service",
		"PhoneNumber": "to contact you about the work order",
		"Album":       "to attach photos of the fault",
	})
	return StepDone, "Location, PhoneNumber, Album declared", err
}

func (run preparing) serverDomains(ctx context.Context) (StepStatus, string, error) {
	cfg := run.s.cfg
	api := []string{cfg.APIBaseURL}
	uploadFile := []string{cfg.APIBaseURL}
	if cfg.UploadBucket != "" {
		// The bucket's domain as the SDK resolves it for the region's
		// partition (amazonaws.com.cn in China, amazonaws.com elsewhere):
		// the one wx.uploadFile posts the photo forms to.
		bucket, err := uploads.UploadDomain(config.Config{UploadBucket: cfg.UploadBucket, Region: cfg.Region})
		if err != nil {
			return "", "", fmt.Errorf("upload domain: %w", err)
		}
		uploadFile = append(uploadFile, bucket)
	}
	return StepDone, cfg.APIBaseURL, run.s.wx.SetServerDomains(ctx, run.aat, api, uploadFile, api)
}

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "example.invalid"
	}
	return u.Hostname()
}

// subscribeTemplates gives each notification kind a template in the mini
// program (after the categories step: the library files titles by
// category) and records them for the sender.
func (run preparing) subscribeTemplates(ctx context.Context) (StepStatus, string, error) {
	res, err := run.s.notify.Run(ctx, run.aat, run.appid, notify.TemplatesKey(run.tenantID))
	if err != nil {
		return "", "", err
	}
	if !res.Ready() {
		return StepFailed, res.Summary(), nil
	}
	return StepDone, res.Summary(), nil
}

// SetUpPublicTemplates sets up the subscribe-message templates of the
// platform's public mini program (with its own token). The reconcile job
// runs it when they are missing; it is idempotent.
func (s *Service) SetUpPublicTemplates(ctx context.Context) (notify.SetupResult, error) {
	if s.cfg.PublicAppID == "" {
		return notify.SetupResult{}, &config.MissingError{Names: []string{config.EnvPublicAppID}}
	}
	return s.notify.Run(ctx, s.tokens.PublicTokenSource(), s.cfg.PublicAppID, notify.PublicTemplatesKey(s.cfg.PublicAppID))
}

// publicTemplatesRetry is how long the reconcile job waits before it tries
// again to set up public templates that were incomplete.
const publicTemplatesRetry = time.Hour

// keepPublicTemplates sets the public mini program's templates up when
// they were never set up, or were incomplete an hour ago; it says what it
// did ("" when nothing was needed). One read when they are in place.
func (s *Service) keepPublicTemplates(ctx context.Context) (string, error) {
	if s.cfg.PublicAppID == "" {
		return "", nil
	}
	have, err := s.notify.Load(ctx, notify.PublicTemplatesKey(s.cfg.PublicAppID))
	if err != nil {
		return "", err
	}
	stale := s.cfg.Now().Sub(time.Unix(have.UpdatedAt, 0)) >= publicTemplatesRetry
	if have.AppID != "" && (len(have.Missing) == 0 || !stale) {
		return "", nil
	}
	res, err := s.SetUpPublicTemplates(ctx)
	if err != nil {
		return "", err
	}
	return res.Summary(), nil
}
