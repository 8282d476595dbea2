package release

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/binding"
	"wxchannel/shared/storage"
	"wxchannel/shared/wechat"
)

// What the platform's view across tenants reads of the pipelines: every
// bound mini program with its pipeline, read by key in batches, and the
// rules an admin's version alert follows, so the operator's view and the
// tenant's never disagree.

// LatestTemplate is the newest template of the catalogue (nil when it is
// empty): the one an admin's submission takes by default.
func LatestTemplate(templates []wechat.Template) *wechat.Template { return latestTemplate(templates) }

// Templates lists the platform's code templates.
func (s *Service) Templates(ctx context.Context) ([]wechat.Template, error) {
	ts, err := s.wx.TemplateList(ctx, s.tokens.ComponentTokenSource())
	if err != nil {
		return nil, fmt.Errorf("template list: %w", err)
	}
	return ts, nil
}

// ReviewPending says WeChat is reviewing the pipeline's code: nothing can
// be submitted until the review ends or is withdrawn.
func (p Pipeline) ReviewPending() bool { return p.State.reviewPending() }

// NewVersionAvailable is the alert the tenant's admin sees in Versions: a
// newer template than the released version can be submitted. It is off
// while a review is pending, and when latest is approved and only waits
// to be released.
func (p Pipeline) NewVersionAvailable(latest *wechat.Template) bool {
	if latest == nil || p.State.reviewPending() || p.ReleasedVersion == latest.UserVersion {
		return false
	}
	return !p.ReleasePending() || p.Version != latest.UserVersion
}

// HasBeenReviewed says WeChat once accepted a submission of this mini
// program (it has an audit id or a release): its categories, privacy
// declarations and basic information were then complete. A mini program
// never submitted has not been prepared by its admin yet.
func (p Pipeline) HasBeenReviewed() bool { return p.AuditID != 0 || p.ReleasedVersion != "" }

// Member is a mini program bound to a tenant, with its release pipeline
// (idle when nothing was ever submitted).
type Member struct {
	TenantID string
	AppID    string
	Binding  binding.Binding
	Pipeline Pipeline
}

// authorizerPage is the largest page api_get_authorizer_list answers
// (https://developers.weixin.qq.com/doc/oplatform/openApi/authorization-management/api_getauthorizerlist.html).
const authorizerPage = 500

// maxAuthorizerPages bounds the listing (500,000 authorizers) so that a
// reply whose total never ends cannot loop for ever.
const maxAuthorizerPages = 1000

// BoundMiniPrograms lists every mini program bound to a tenant. The
// mini programs authorized to the platform come from WeChat's authorizer
// list (pages of 500, with the component token): a bound mini program is
// always among them, and the list needs neither a Scan nor an index. Their
// bindings and pipelines are then read by key, consistently, 50 mini
// programs per BatchGetItem; authorizers not bound to a tenant (official
// accounts, mini programs never or no longer bound) are left out.
func (s *Service) BoundMiniPrograms(ctx context.Context) ([]Member, error) {
	var appids []string
	seen := map[string]bool{}
	for page, offset := 0, 0; page < maxAuthorizerPages; page++ {
		list, err := s.wx.AuthorizerList(ctx, s.tokens.ComponentTokenSource(), offset, authorizerPage)
		if err != nil {
			return nil, fmt.Errorf("authorizer list at %d: %w", offset, err)
		}
		for _, a := range list.List {
			if a.AuthorizerAppID != "" && !seen[a.AuthorizerAppID] {
				seen[a.AuthorizerAppID] = true
				appids = append(appids, a.AuthorizerAppID)
			}
		}
		offset += len(list.List)
		if len(list.List) == 0 || offset >= list.TotalCount {
			break
		}
	}
	members, err := s.membersByAppID(ctx, appids)
	if err != nil {
		return nil, err
	}
	out := make([]Member, 0, len(members))
	for _, m := range members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.TenantID, b.TenantID) })
	return out, nil
}

// MembersOf returns the bound mini programs of tenants, by tenant id; a
// tenant without one (never bound, unbound) is absent. Two rounds of
// consistent BatchGetItem: the tenants' binding records, then each mini
// program's binding and pipeline.
func (s *Service) MembersOf(ctx context.Context, tenantIDs []string) (map[string]Member, error) {
	keys := make([]dynamo.Keyed, 0, len(tenantIDs))
	for _, id := range dedupe(tenantIDs) {
		keys = append(keys, dynamo.Keys{storage.TenantPartition(id), binding.SK})
	}
	appOf := map[string]string{}
	if len(keys) > 0 {
		var byTenant []binding.Binding
		err := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).All(ctx, &byTenant)
		if err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: none of them exists
			return nil, fmt.Errorf("read tenants' bindings: %w", err)
		}
		for _, b := range byTenant {
			if b.Bound() && b.AppID != "" {
				appOf[b.AppID] = b.TenantID
			}
		}
	}
	members, err := s.membersByAppID(ctx, sortedKeys(appOf))
	if err != nil {
		return nil, err
	}
	out := map[string]Member{}
	for appid, tenantID := range appOf {
		// Both records must name each other: a pair being rebound is not
		// the tenant's mini program yet.
		if m, ok := members[appid]; ok && m.TenantID == tenantID {
			out[tenantID] = m
		}
	}
	return out, nil
}

// membersByAppID reads the binding and the pipeline of each mini program
// (both in its partition) and keeps those bound, by appid.
func (s *Service) membersByAppID(ctx context.Context, appids []string) (map[string]Member, error) {
	out := map[string]Member{}
	if len(appids) == 0 {
		return out, nil
	}
	keys := make([]dynamo.Keyed, 0, 2*len(appids))
	for _, appid := range appids {
		keys = append(keys, dynamo.Keys{pipelinePK(appid), binding.SK}, dynamo.Keys{pipelinePK(appid), skPipeline})
	}
	bindings, pipelines := map[string]binding.Binding{}, map[string]Pipeline{}
	// guregu/dynamo sends 100 keys per BatchGetItem and retries what
	// DynamoDB leaves unprocessed.
	it := s.table.Batch("pk", "sk").Get(keys...).Consistent(true).Iter()
	var item dynamo.Item
	for it.Next(ctx, &item) {
		if err := decodeMemberItem(item, bindings, pipelines); err != nil {
			return nil, err
		}
		item = nil
	}
	if err := it.Err(); err != nil && !errors.Is(err, dynamo.ErrNotFound) { // ErrNotFound: none of them exists
		return nil, fmt.Errorf("read bindings and pipelines: %w", err)
	}
	for appid, b := range bindings {
		if !b.Bound() || b.AppID != appid || b.TenantID == "" {
			continue
		}
		p, ok := pipelines[appid]
		if !ok {
			p = Pipeline{PK: pipelinePK(appid), SK: skPipeline, AppID: appid, TenantID: b.TenantID, State: StateIdle}
		}
		out[appid] = Member{TenantID: b.TenantID, AppID: appid, Binding: b, Pipeline: p}
	}
	return out, nil
}

// decodeMemberItem files a binding or a pipeline item read in a batch.
func decodeMemberItem(item dynamo.Item, bindings map[string]binding.Binding, pipelines map[string]Pipeline) error {
	sk, _ := item["sk"].(*types.AttributeValueMemberS)
	switch {
	case sk != nil && sk.Value == binding.SK:
		var b binding.Binding
		if err := dynamo.UnmarshalItem(item, &b); err != nil {
			return fmt.Errorf("decode binding: %w", err)
		}
		bindings[b.AppID] = b
	case sk != nil && sk.Value == skPipeline:
		var p Pipeline
		if err := dynamo.UnmarshalItem(item, &p); err != nil {
			return fmt.Errorf("decode pipeline: %w", err)
		}
		pipelines[p.AppID] = p
	}
	return nil
}

func dedupe(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
