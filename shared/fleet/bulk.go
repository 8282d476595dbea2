package fleet

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"wxchannel/shared/apperr"
	"wxchannel/shared/release"
	"wxchannel/shared/storage"
	"wxchannel/shared/tenant"
	"wxchannel/shared/wechat"
)

// Throttle is the pace of bulk submissions. WeChat counts review
// submissions against a monthly quota shared by every mini program of the
// platform (wxa/queryquota; 85085 once spent), rate-limits each API per
// account (getApiQuota's component_rate_limit) and reviews one version of
// a mini program at a time (85009). docs/fleet.md has the sources.
type Throttle struct {
	// InFlight bounds the submissions under way at once.
	InFlight int
	// Interval is the least time between the starts of two submissions.
	Interval time.Duration
	// PerRun bounds the tenants one request takes on; the rest wait for
	// the request to be repeated.
	PerRun int
	// Budget is how long after its start a run still starts submissions.
	Budget time.Duration
	// Lease is how long a run holds the platform's one bulk run lease;
	// the run is cut off before it ends, so two runs never overlap.
	Lease time.Duration
}

// DefaultThrottle is at most 4 submissions at once and 2 a second, 20
// tenants a request, none started after 15 s, so that a request (with
// three WeChat calls and a few DynamoDB calls per tenant) ends well inside
// API Gateway's 30 s.
var DefaultThrottle = Throttle{InFlight: 4, Interval: 500 * time.Millisecond, PerRun: 20, Budget: 15 * time.Second,
	Lease: 40 * time.Second}

func (t Throttle) withDefaults() Throttle {
	d := DefaultThrottle
	if t.InFlight > 0 {
		d.InFlight = t.InFlight
	}
	if t.Interval > 0 {
		d.Interval = t.Interval
	}
	if t.PerRun > 0 {
		d.PerRun = t.PerRun
	}
	if t.Budget > 0 {
		d.Budget = t.Budget
	}
	if t.Lease > 0 {
		d.Lease = t.Lease
	}
	return d
}

// MaxTargets bounds the tenants of one job (its definition stays far
// below DynamoDB's 400 KB item limit).
const MaxTargets = 1000

// BulkRequest asks for a version to be submitted for review for a list
// of tenants, or for every tenant behind it.
type BulkRequest struct {
	// ID names the job: repeating a request with the same id continues
	// it and never submits a tenant twice.
	ID         string   `json:"id"`
	TemplateID int64    `json:"template_id"`
	Tenants    []string `json:"tenants"`
	AllBehind  bool     `json:"all_behind"`
	// Manual allows a template other than the latest.
	Manual bool `json:"manual"`
}

var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (r *BulkRequest) validate() error {
	if !jobIDPattern.MatchString(r.ID) {
		return apperr.InvalidField("id", "1 to 64 letters, digits, '-' or '_'")
	}
	if r.TemplateID <= 0 {
		return apperr.InvalidField("template_id", "a template id of the catalogue is required")
	}
	if r.AllBehind == (len(r.Tenants) > 0) {
		return apperr.BadRequest("invalid_selection", "give either tenants or all_behind: true")
	}
	if len(r.Tenants) > MaxTargets {
		return apperr.InvalidField("tenants", "at most 1000 tenants per job")
	}
	for i, t := range r.Tenants {
		if !tenant.ValidID(t) {
			return apperr.InvalidField("tenants", fmt.Sprintf("entry %d is not a tenant id", i))
		}
	}
	r.Tenants = sortedUnique(r.Tenants)
	return nil
}

// matches says whether a repeated request asks for the job already made.
func (j Job) matches(r BulkRequest) bool {
	return j.TemplateID == r.TemplateID && j.AllBehind == r.AllBehind && j.Manual == r.Manual && slices.Equal(j.Requested, r.Tenants)
}

// JobStatus is where a job stands.
type JobStatus string

// Job statuses.
const (
	// JobRunning: tenants are pending; repeat the request to go on.
	JobRunning JobStatus = "running"
	// JobHalted: the last run stopped on the platform's review quota;
	// repeat the request once it allows more.
	JobHalted JobStatus = "halted"
	// JobDone: every tenant has an outcome.
	JobDone JobStatus = "done"
)

// Counts are a job's tenants by outcome.
type Counts struct {
	Targets   int `json:"targets"`
	Submitted int `json:"submitted"`
	Skipped   int `json:"skipped"`
	Failed    int `json:"failed"`
	Pending   int `json:"pending"`
}

// Deferred is a tenant a run left pending after a passing failure (a
// timeout, WeChat busy); the next run tries it again.
type Deferred struct {
	TenantID string `json:"tenant_id"`
	Code     string `json:"code"`
	Message  string `json:"message"`
}

// RunSummary is what one request's run did.
type RunSummary struct {
	// Taken counts the tenants the run took on.
	Taken int `json:"taken"`
	// Submissions counts its calls to submit.
	Submissions int        `json:"submissions"`
	Deferred    []Deferred `json:"deferred,omitempty"`
}

// JobView is a job as the operator sees it.
type JobView struct {
	Job
	Status  JobStatus `json:"status"`
	Counts  Counts    `json:"counts"`
	Results []Result  `json:"results"`
	// Pending are the tenants without an outcome yet.
	Pending []string    `json:"pending"`
	Run     *RunSummary `json:"run,omitempty"`
}

func viewOf(job Job, results map[string]Result, run *RunSummary) JobView {
	v := JobView{Job: job, Results: []Result{}, Pending: []string{}, Run: run}
	for _, t := range job.Targets {
		r, ok := results[t]
		if !ok {
			v.Pending = append(v.Pending, t)
			continue
		}
		v.Results = append(v.Results, r)
		switch r.Outcome {
		case OutcomeSubmitted:
			v.Counts.Submitted++
		case OutcomeSkipped:
			v.Counts.Skipped++
		case OutcomeFailed:
			v.Counts.Failed++
		}
	}
	v.Counts.Targets, v.Counts.Pending = len(job.Targets), len(v.Pending)
	switch {
	case len(v.Pending) == 0:
		v.Status = JobDone
	case job.Halted != nil:
		v.Status = JobHalted
	default:
		v.Status = JobRunning
	}
	return v
}

// Job returns a job with its outcomes.
func (s *Service) Job(ctx context.Context, id string) (JobView, error) {
	if !jobIDPattern.MatchString(id) {
		return JobView{}, apperr.InvalidField("id", "1 to 64 letters, digits, '-' or '_'")
	}
	job, results, err := s.jobs.Load(ctx, id)
	if errors.Is(err, errJobNotFound) {
		return JobView{}, apperr.E(apperr.NotFound, "bulk_job_not_found", "no bulk submission has this id")
	}
	if err != nil {
		return JobView{}, err
	}
	return viewOf(job, results, nil), nil
}

// BulkSubmit creates the job req names, or finds it when the request is
// repeated, and runs it for one bounded batch of its pending tenants. Only
// one run goes on at a time on the whole platform, so the throttle's
// bounds hold for the platform's submissions and not per request.
func (s *Service) BulkSubmit(ctx context.Context, operator string, req BulkRequest) (JobView, error) {
	if err := req.validate(); err != nil {
		return JobView{}, err
	}
	owner, wait, err := s.jobs.TakeRunLease(ctx, req.ID, s.now(), s.throttle.Lease)
	if errors.Is(err, storage.ErrConflict) {
		return JobView{}, apperr.E(apperr.RateLimited, "bulk_run_in_progress",
			"another bulk submission is running; repeat this request shortly").After(wait)
	}
	if err != nil {
		return JobView{}, err
	}
	defer func() {
		// Released even when the request's time is up, or the next run
		// waits for the lease to expire.
		if err := s.jobs.ReleaseRunLease(context.WithoutCancel(ctx), owner); err != nil {
			s.log.WarnContext(ctx, "bulk run lease left to expire", "err", err.Error())
		}
	}()
	// The run ends before its lease does, so no other run overlaps it.
	ctx, cancel := context.WithTimeout(ctx, s.throttle.Lease-5*time.Second)
	defer cancel()
	job, results, err := s.findOrCreate(ctx, operator, req)
	if err != nil {
		return JobView{}, err
	}
	run := s.run(ctx, job, results)
	job, results, err = s.jobs.Load(ctx, job.ID)
	if err != nil {
		return JobView{}, err
	}
	return viewOf(job, results, &run), nil
}

// findOrCreate loads the job req names, or creates it: its template
// checked against the catalogue, its targets fixed.
func (s *Service) findOrCreate(ctx context.Context, operator string, req BulkRequest) (Job, map[string]Result, error) {
	job, results, err := s.jobs.Load(ctx, req.ID)
	if err == nil {
		if !job.matches(req) {
			return Job{}, nil, errJobMismatch
		}
		return job, results, nil
	}
	if !errors.Is(err, errJobNotFound) {
		return Job{}, nil, err
	}
	job, err = s.newJob(ctx, operator, req)
	if err != nil {
		return Job{}, nil, err
	}
	err = s.jobs.Create(ctx, job)
	if errors.Is(err, storage.ErrConflict) {
		// Made meanwhile, by the same request repeated or another.
		if job, results, err = s.jobs.Load(ctx, req.ID); err != nil {
			return Job{}, nil, err
		}
		if !job.matches(req) {
			return Job{}, nil, errJobMismatch
		}
		return job, results, nil
	}
	if err != nil {
		return Job{}, nil, err
	}
	return job, map[string]Result{}, nil
}

var errJobMismatch = apperr.E(apperr.Conflict, "bulk_job_mismatch",
	"a bulk submission with this id asked for another template or other tenants; use a new id")

func (s *Service) newJob(ctx context.Context, operator string, req BulkRequest) (Job, error) {
	templates, err := s.pipelines.Templates(ctx)
	if err != nil {
		return Job{}, err
	}
	i := slices.IndexFunc(templates, func(t wechat.Template) bool { return t.TemplateID == req.TemplateID })
	if i < 0 {
		return Job{}, apperr.E(apperr.NotFound, "template_not_found", "the catalogue has no template with this id")
	}
	chosen := templates[i]
	if latest := release.LatestTemplate(templates); latest.TemplateID != chosen.TemplateID && !req.Manual {
		return Job{}, apperr.BadRequest("manual_required", "versions other than the latest need \"manual\": true")
	}
	targets := req.Tenants
	if req.AllBehind {
		members, err := s.pipelines.BoundMiniPrograms(ctx)
		if err != nil {
			return Job{}, err
		}
		targets = nil
		for _, m := range members {
			if m.Pipeline.ReleasedVersion != chosen.UserVersion {
				targets = append(targets, m.TenantID)
			}
		}
		targets = sortedUnique(targets)
	}
	if len(targets) > MaxTargets {
		return Job{}, apperr.Errorf(apperr.Rejected, "too_many_targets",
			"%d tenants are behind; a job takes at most %d: give them as tenant lists", len(targets), MaxTargets)
	}
	now := s.now()
	return Job{ID: req.ID, TemplateID: chosen.TemplateID, Version: chosen.UserVersion, Manual: req.Manual, AllBehind: req.AllBehind,
		Requested: req.Tenants, Targets: targets, CreatedAt: now.Unix(), CreatedBy: operator, TTL: now.Add(jobRetention).Unix()}, nil
}

func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
