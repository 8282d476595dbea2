// Package fleet is the platform operator's view of every tenant's
// enterprise mini program: how many are on which code template version,
// which are behind the latest, and a bulk submission of a new version for
// review, throttled to WeChat's limits, with each tenant's outcome kept.
package fleet

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"time"

	"wxchannel/shared/release"
	"wxchannel/shared/wechat"
)

// Service answers the operator's questions over the tenants' release
// pipelines and runs bulk submissions through release.Service.Submit.
type Service struct {
	pipelines *release.Service
	jobs      *Store
	throttle  Throttle
	now       func() time.Time
	log       *slog.Logger
}

// NewService returns the fleet service over the release pipelines and the
// job store, submitting at the pace throttle sets.
func NewService(pipelines *release.Service, jobs *Store, throttle Throttle, now func() time.Time, log *slog.Logger) *Service {
	return &Service{pipelines: pipelines, jobs: jobs, throttle: throttle.withDefaults(), now: now, log: log}
}

// VersionCount is how many tenants stand where on one version.
type VersionCount struct {
	Version string `json:"version"`
	// TemplateID is the catalogue's template of the version (0 when the
	// template was deleted from the catalogue since).
	TemplateID int64 `json:"template_id,omitempty"`
	// Released counts tenants whose live version it is.
	Released int `json:"released"`
	// UnderReview counts tenants WeChat is reviewing it for.
	UnderReview int `json:"under_review"`
	// Approved counts tenants where it passed review and waits to be
	// released.
	Approved int `json:"approved"`
	// Committed counts tenants that have it as their trial version in any
	// other state (rejected, failed to submit, withdrawn, waiting for the
	// privacy scan, failed to release).
	Committed int `json:"committed"`
}

// TenantVersion is one tenant behind the latest version.
type TenantVersion struct {
	TenantID        string        `json:"tenant_id"`
	AppID           string        `json:"appid"`
	ReleasedVersion string        `json:"released_version,omitempty"`
	State           release.State `json:"state"`
	// Version is the tenant's last committed version.
	Version string `json:"version,omitempty"`
	// NewVersionAvailable is the alert the tenant's admin sees.
	NewVersionAvailable bool `json:"new_version_available"`
	// BulkSkip says why a bulk submission of the latest would skip the
	// tenant ("" when it would submit it).
	BulkSkip string `json:"bulk_skip,omitempty"`
}

// Report is the operator's view of versions across tenants.
type Report struct {
	Templates []wechat.Template `json:"templates"`
	Latest    *wechat.Template  `json:"latest,omitempty"`
	// Tenants counts the tenants with a bound enterprise mini program.
	Tenants int `json:"tenants"`
	// NotReleased counts those with no version released yet.
	NotReleased int `json:"not_released"`
	// Versions has a row per catalogue version (newest first), then per
	// version no longer in the catalogue that a tenant still has.
	Versions []VersionCount `json:"versions"`
	// Behind lists the tenants whose live version is not the latest.
	Behind []TenantVersion `json:"behind"`
}

// Versions reports how many tenants are on which version and which are
// behind the latest template.
func (s *Service) Versions(ctx context.Context) (Report, error) {
	templates, err := s.pipelines.Templates(ctx)
	if err != nil {
		return Report{}, err
	}
	members, err := s.pipelines.BoundMiniPrograms(ctx)
	if err != nil {
		return Report{}, err
	}
	return buildReport(templates, members), nil
}

func buildReport(templates []wechat.Template, members []release.Member) Report {
	latest := release.LatestTemplate(templates)
	out := Report{Templates: templates, Latest: latest, Tenants: len(members), Versions: []VersionCount{}, Behind: []TenantVersion{}}
	rows := map[string]*VersionCount{}
	row := func(version string) *VersionCount {
		if rows[version] == nil {
			rows[version] = &VersionCount{Version: version}
		}
		return rows[version]
	}
	for _, t := range templates {
		row(t.UserVersion).TemplateID = t.TemplateID
	}
	for _, m := range members {
		p := m.Pipeline
		if p.ReleasedVersion == "" {
			out.NotReleased++
		} else {
			row(p.ReleasedVersion).Released++
		}
		if p.Version != "" && (p.Version != p.ReleasedVersion || p.ReviewPending() || p.ReleasePending()) {
			countTrial(row(p.Version), p)
		}
		if latest != nil && p.ReleasedVersion != latest.UserVersion {
			tv := TenantVersion{TenantID: m.TenantID, AppID: m.AppID, ReleasedVersion: p.ReleasedVersion, State: p.State,
				Version: p.Version, NewVersionAvailable: p.NewVersionAvailable(latest)}
			if skip := skipReason(m, latest.UserVersion); skip != nil {
				tv.BulkSkip = skip.Code
			}
			out.Behind = append(out.Behind, tv)
		}
	}
	order := map[string]int{}
	for i, t := range sortedNewestFirst(templates) {
		order[t.UserVersion] = i
	}
	for _, r := range rows {
		out.Versions = append(out.Versions, *r)
	}
	slices.SortFunc(out.Versions, func(a, b VersionCount) int {
		ia, inA := order[a.Version]
		ib, inB := order[b.Version]
		switch {
		case inA && inB:
			return cmp.Compare(ia, ib)
		case inA != inB: // catalogue versions first
			if inA {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.Version, a.Version)
	})
	return out
}

// countTrial counts a pipeline's committed version by where it stands.
func countTrial(r *VersionCount, p release.Pipeline) {
	switch {
	case p.ReviewPending():
		r.UnderReview++
	case p.ReleasePending():
		r.Approved++
	default:
		r.Committed++
	}
}

// sortedNewestFirst orders templates as release.LatestTemplate ranks them.
func sortedNewestFirst(templates []wechat.Template) []wechat.Template {
	out := slices.Clone(templates)
	slices.SortFunc(out, func(a, b wechat.Template) int {
		if c := cmp.Compare(b.CreateTime, a.CreateTime); c != 0 {
			return c
		}
		return cmp.Compare(b.TemplateID, a.TemplateID)
	})
	return out
}
