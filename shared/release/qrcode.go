package release

import (
	"context"
	"encoding/base64"
	"regexp"

	"wxchannel/shared/apperr"
	"wxchannel/shared/config"
	"wxchannel/shared/wechat"
)

// portalPage is the mini program page every QR code opens.
const portalPage = "pages/portal/index"

var serialPattern = regexp.MustCompile(`^[A-Za-z0-9-]{4,40}$`)

// QRKind says which mini program and version a QR code opens.
type QRKind string

// QR code kinds.
const (
	QRTrial   QRKind = "trial"   // the tenant's trial version, before its first release
	QRRelease QRKind = "release" // the tenant's released mini program
	QRPublic  QRKind = "public"  // the platform's public mini program
)

// QRCode is a QR image for the admin to print or show.
type QRCode struct {
	Kind        QRKind `json:"kind"`
	Scene       string `json:"scene,omitempty"`
	ContentType string `json:"content_type"`
	ImageBase64 string `json:"image_base64"`
}

// QRCode returns the tenant's QR code (for one device when deviceSN is
// set): the enterprise mini program's trial or release code when one is
// bound, else the public mini program's, which opens the tenant's portal
// from day one.
func (s *Service) QRCode(ctx context.Context, tenantID, deviceSN string) (QRCode, error) {
	if deviceSN != "" && !serialPattern.MatchString(deviceSN) {
		return QRCode{}, apperr.InvalidField("device_sn", "4–40 letters, digits or dashes")
	}
	p, err := s.boundPipeline(ctx, tenantID)
	if notBound(err) {
		return s.publicQR(ctx, tenantID, deviceSN)
	}
	if err != nil {
		return QRCode{}, err
	}
	aat := s.tokens.AuthorizerTokenSource(p.AppID)
	out := QRCode{Kind: QRRelease}
	var img []byte
	if p.ReleasedVersion == "" {
		// Before the first release only the trial version exists.
		out.Kind = QRTrial
		out.ContentType, img, err = s.wx.TrialQRCode(ctx, aat, portalPage)
	} else {
		scene, serr := s.scenes.Encode(ctx, tenantID, deviceSN)
		if serr != nil {
			return QRCode{}, serr
		}
		out.ContentType, img, err = s.wx.WxaCodeUnlimit(ctx, aat, scene, portalPage, "release")
	}
	if wechat.IsCode(err, wechat.CodePageNotPublished) {
		return QRCode{}, apperr.E(apperr.Conflict, "not_released", "release the mini program before generating its QR code")
	}
	if err != nil {
		return QRCode{}, err
	}
	out.ImageBase64 = base64.StdEncoding.EncodeToString(img)
	return out, nil
}

// TrialQRCode returns the trial version's QR code of the tenant's own
// mini program, before and after its first release: testers open the
// next version with it (only the admin and bound testers can).
func (s *Service) TrialQRCode(ctx context.Context, tenantID string) (QRCode, error) {
	p, err := s.boundPipeline(ctx, tenantID)
	if notBound(err) {
		return QRCode{}, apperr.E(apperr.Conflict, "no_trial_version",
			"the public mini program has no trial version of yours: connect your own mini program")
	}
	if err != nil {
		return QRCode{}, err
	}
	ct, img, err := s.wx.TrialQRCode(ctx, s.tokens.AuthorizerTokenSource(p.AppID), portalPage)
	if err != nil {
		return QRCode{}, err
	}
	return QRCode{Kind: QRTrial, ContentType: ct, ImageBase64: base64.StdEncoding.EncodeToString(img)}, nil
}

func (s *Service) publicQR(ctx context.Context, tenantID, deviceSN string) (QRCode, error) {
	if s.cfg.PublicAppID == "" {
		return QRCode{}, &config.MissingError{Names: []string{config.EnvPublicAppID}}
	}
	scene, err := s.scenes.Encode(ctx, tenantID, deviceSN)
	if err != nil {
		return QRCode{}, err
	}
	ct, img, err := s.wx.WxaCodeUnlimit(ctx, s.tokens.PublicTokenSource(), scene, portalPage, "release")
	if err != nil {
		return QRCode{}, err
	}
	return QRCode{Kind: QRPublic, Scene: scene, ContentType: ct, ImageBase64: base64.StdEncoding.EncodeToString(img)}, nil
}

// Versions is the code-template catalogue as the admin sees it, with the
// tenant's pipeline when a mini program is bound.
type Versions struct {
	Templates           []wechat.Template `json:"templates"`
	Mode                string            `json:"mode"`
	Latest              *wechat.Template  `json:"latest,omitempty"`
	Pipeline            *Status           `json:"pipeline,omitempty"`
	NewVersionAvailable *bool             `json:"new_version_available,omitempty"`
	// ReleasePending: an approved version waits to be released (the
	// latest, when NewVersionAvailable is false).
	ReleasePending *bool `json:"release_pending,omitempty"`
}

// Versions lists the platform's code templates and, for an enterprise
// tenant, whether a newer one than the released version can be submitted.
func (s *Service) Versions(ctx context.Context, tenantID string) (Versions, error) {
	templates, err := s.wx.TemplateList(ctx, s.tokens.ComponentTokenSource())
	if err != nil {
		return Versions{}, err
	}
	out := Versions{Templates: templates, Mode: "public", Latest: latestTemplate(templates)}
	p, err := s.boundPipeline(ctx, tenantID)
	switch {
	case err == nil:
		st := statusOf(p)
		pending := p.ReleasePending()
		// The same rule the operator's view across tenants applies.
		available := p.NewVersionAvailable(out.Latest)
		out.Mode, out.Pipeline, out.NewVersionAvailable, out.ReleasePending = "enterprise", &st, &available, &pending
	case !notBound(err):
		return Versions{}, err
	}
	return out, nil
}
