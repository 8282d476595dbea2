package fleet

import (
	"context"
	"sync"
	"time"

	"wxchannel/shared/release"
)

// run takes on up to PerRun pending tenants: each is skipped with why, or
// submitted at the throttle's pace. A refusal on the platform's review
// quota stops the run; the tenant it hit stays pending.
func (s *Service) run(ctx context.Context, job Job, results map[string]Result) RunSummary {
	var sum RunSummary
	if job.Halted != nil {
		if err := s.jobs.SetHalt(ctx, job.ID, nil); err != nil {
			s.log.WarnContext(ctx, "clear bulk halt", "job", job.ID, "err", err.Error())
		}
	}
	var batch []string
	for _, t := range job.Targets {
		if _, done := results[t]; !done && len(batch) < s.throttle.PerRun {
			batch = append(batch, t)
		}
	}
	if len(batch) == 0 {
		return sum
	}
	members, err := s.pipelines.MembersOf(ctx, batch)
	if err != nil {
		s.log.WarnContext(ctx, "bulk run could not read the pipelines", "job", job.ID, "err", err.Error())
		sum.Deferred = append(sum.Deferred, Deferred{Code: codeUnavailable, Message: "the pipelines could not be read; repeat the request"})
		return sum
	}
	r := &runner{s: s, job: job, sum: &sum, sem: make(chan struct{}, s.throttle.InFlight), deadline: s.startDeadline(ctx)}
	for _, tenantID := range batch {
		if !r.take(ctx, tenantID, members) {
			break
		}
	}
	r.wg.Wait()
	return sum
}

// submissionGrace is what a submission started last may take: a few
// WeChat calls with their retries and the pipeline's write.
const submissionGrace = 10 * time.Second

// startDeadline is when a run stops starting submissions: after its
// budget, and early enough that the last one ends within the request.
func (s *Service) startDeadline(ctx context.Context) time.Time {
	deadline := time.Now().Add(s.throttle.Budget)
	if d, ok := ctx.Deadline(); ok && d.Add(-submissionGrace).Before(deadline) {
		deadline = d.Add(-submissionGrace)
	}
	return deadline
}

// runner is one run's state: the pace, the submissions in flight and
// whether the quota stopped it. Pacing is in wall-clock time: it is WeChat's
// rate, whatever clock the product runs on.
type runner struct {
	s        *Service
	job      Job
	sum      *RunSummary
	sem      chan struct{}
	wg       sync.WaitGroup
	deadline time.Time
	next     time.Time

	mu     sync.Mutex
	halted bool
}

// take handles one tenant: a skip is recorded at once, a submission waits
// for its turn. It reports whether the run goes on.
func (r *runner) take(ctx context.Context, tenantID string, members map[string]release.Member) bool {
	if r.stopped() || ctx.Err() != nil || time.Now().After(r.deadline) {
		return false
	}
	m, bound := members[tenantID]
	var skip *Result
	if !bound {
		skip = skipResult(tenantID, "", codeNotBound)
	} else {
		skip = skipReason(m, r.job.Version)
	}
	if skip != nil {
		r.count(func(s *RunSummary) { s.Taken++ })
		r.record(ctx, *skip)
		return true
	}
	if !r.pace(ctx) {
		return false
	}
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if r.stopped() { // the quota ran out while this one waited
		<-r.sem
		return false
	}
	r.count(func(s *RunSummary) { s.Taken++; s.Submissions++ })
	r.wg.Go(func() {
		defer func() { <-r.sem }()
		r.submit(ctx, m)
	})
	return true
}

// pace waits for the next submission's turn.
func (r *runner) pace(ctx context.Context) bool {
	if wait := time.Until(r.next); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
	r.next = time.Now().Add(r.s.throttle.Interval)
	return true
}

func (r *runner) submit(ctx context.Context, m release.Member) {
	p, err := r.s.pipelines.Submit(ctx, m.TenantID, r.job.TemplateID, true)
	res, next := resultOf(m, p, err)
	switch next {
	case recordIt:
		r.record(ctx, res)
	case haltRun:
		r.halt(ctx, res)
	case deferIt:
		r.s.log.WarnContext(ctx, "bulk submission deferred", "job", r.job.ID, "tenant", m.TenantID, "err", err.Error())
		r.count(func(s *RunSummary) {
			s.Deferred = append(s.Deferred, Deferred{TenantID: m.TenantID, Code: res.Code, Message: res.Message})
		})
	}
}

func (r *runner) record(ctx context.Context, res Result) {
	now := r.s.now()
	res.At, res.TTL = now.Unix(), now.Add(jobRetention).Unix()
	if _, err := r.s.jobs.Record(ctx, r.job.ID, res); err != nil {
		r.s.log.WarnContext(ctx, "bulk outcome not recorded", "job", r.job.ID, "tenant", res.TenantID, "err", err.Error())
		r.count(func(s *RunSummary) {
			s.Deferred = append(s.Deferred, Deferred{TenantID: res.TenantID, Code: codeUnavailable,
				Message: "the outcome could not be stored; the next run looks again"})
		})
	}
}

// halt stops the run: the platform's review quota is spent, so every
// further submission would be refused too.
func (r *runner) halt(ctx context.Context, res Result) {
	r.mu.Lock()
	first := !r.halted
	r.halted = true
	r.mu.Unlock()
	r.count(func(s *RunSummary) {
		s.Deferred = append(s.Deferred, Deferred{TenantID: res.TenantID, Code: res.Code, Message: res.Message})
	})
	if !first {
		return
	}
	h := &Halt{Code: res.Code, Message: res.Message, Solution: res.Solution, At: r.s.now().Unix()}
	if err := r.s.jobs.SetHalt(ctx, r.job.ID, h); err != nil {
		r.s.log.WarnContext(ctx, "bulk halt not recorded", "job", r.job.ID, "err", err.Error())
	}
}

func (r *runner) stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.halted
}

func (r *runner) count(change func(*RunSummary)) {
	r.mu.Lock()
	change(r.sum)
	r.mu.Unlock()
}
