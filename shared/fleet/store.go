package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/release"
	"wxchannel/shared/storage"
)

// Items of the platform table this package owns (docs/data-model.md,
// "fleet"):
//
//	bulkjob#<id> / job            the bulk submission: template, targets, halt
//	bulkjob#<id> / tenant#<t>     one tenant's outcome, written once
//	fleet#bulkrun / lease         the one bulk run in progress, platform-wide
const (
	jobPartitionPrefix = "bulkjob#"
	skJob              = "job"
	skResultPrefix     = "tenant#"
	leasePK            = "fleet#bulkrun"
	leaseSK            = "lease"
)

func jobPK(id string) string { return jobPartitionPrefix + id }

// jobRetention is how long a job and its outcomes are kept.
const jobRetention = 90 * 24 * time.Hour

// Halt is why the last run of a job stopped before its targets were done.
type Halt struct {
	Code     string `dynamo:"code" json:"code"`
	Message  string `dynamo:"message" json:"message"`
	Solution string `dynamo:"solution" json:"solution"`
	At       int64  `dynamo:"at" json:"at"`
}

// Job is a bulk submission's definition. Its targets are fixed when it is
// created, so repeating the request works through the same tenants.
type Job struct {
	PK         string `dynamo:"pk,hash" json:"-"`
	SK         string `dynamo:"sk,range" json:"-"`
	ID         string `dynamo:"id" json:"id"`
	TemplateID int64  `dynamo:"template_id" json:"template_id"`
	Version    string `dynamo:"user_version" json:"version"`
	Manual     bool   `dynamo:"manual" json:"manual"`
	AllBehind  bool   `dynamo:"all_behind" json:"all_behind"`
	// Requested is the tenant list as asked (sorted, without repeats);
	// empty for all_behind.
	Requested []string `dynamo:"requested,omitempty" json:"-"`
	// Targets are the tenants the job works through, sorted.
	Targets   []string `dynamo:"targets,omitempty" json:"-"`
	CreatedAt int64    `dynamo:"created_at" json:"created_at"`
	CreatedBy string   `dynamo:"created_by" json:"created_by"`
	Halted    *Halt    `dynamo:"halted,omitempty" json:"halted,omitempty"`
	TTL       int64    `dynamo:"ttl" json:"-"`
}

// Outcome is how a bulk submission ended for one tenant.
type Outcome string

// Outcomes. A tenant without one is pending.
const (
	OutcomeSubmitted Outcome = "submitted"
	OutcomeSkipped   Outcome = "skipped"
	OutcomeFailed    Outcome = "failed"
)

// Result is one tenant's outcome in a job, written once: a repeated run
// never submits a tenant that has one.
type Result struct {
	PK       string  `dynamo:"pk,hash" json:"-"`
	SK       string  `dynamo:"sk,range" json:"-"`
	TenantID string  `dynamo:"tenant_id" json:"tenant_id"`
	AppID    string  `dynamo:"appid,omitempty" json:"appid,omitempty"`
	Outcome  Outcome `dynamo:"outcome" json:"outcome"`
	// Code says why a tenant was skipped or failed; Message and Solution
	// are for the operator, WeChatCode is WeChat's errcode when WeChat
	// refused.
	Code       string        `dynamo:"code,omitempty" json:"code,omitempty"`
	Message    string        `dynamo:"message,omitempty" json:"message,omitempty"`
	Solution   string        `dynamo:"solution,omitempty" json:"solution,omitempty"`
	WeChatCode int           `dynamo:"wechat_errcode,omitempty" json:"wechat_errcode,omitempty"`
	State      release.State `dynamo:"state,omitempty" json:"state,omitempty"`
	AuditID    int64         `dynamo:"audit_id,omitempty" json:"audit_id,omitempty"`
	At         int64         `dynamo:"at" json:"at"`
	TTL        int64         `dynamo:"ttl" json:"-"`
}

// Store holds every access pattern of bulk jobs and the run lease.
type Store struct{ table dynamo.Table }

// NewStore returns the job store in db's platform table.
func NewStore(db *storage.DB) *Store { return &Store{table: db.Platform} }

// errJobNotFound is the answer for an id no job has.
var errJobNotFound = errors.New("bulk job not found")

// Load reads a job and its outcomes with one consistent Query of its
// partition (paged past 1 MB by the client); errJobNotFound when there is
// no job by id.
func (s *Store) Load(ctx context.Context, id string) (Job, map[string]Result, error) {
	var items []dynamo.Item
	if err := s.table.Get("pk", jobPK(id)).Consistent(true).All(ctx, &items); err != nil {
		return Job{}, nil, fmt.Errorf("query bulk job: %w", err)
	}
	var job Job
	found := false
	results := map[string]Result{}
	for _, item := range items {
		sk, _ := item["sk"].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		if sk.Value == skJob {
			if err := dynamo.UnmarshalItem(item, &job); err != nil {
				return Job{}, nil, fmt.Errorf("decode bulk job: %w", err)
			}
			found = true
			continue
		}
		var r Result
		if err := dynamo.UnmarshalItem(item, &r); err != nil {
			return Job{}, nil, fmt.Errorf("decode bulk result: %w", err)
		}
		results[r.TenantID] = r
	}
	if !found {
		return Job{}, nil, errJobNotFound
	}
	return job, results, nil
}

// Create writes a new job if no job has its id; storage.ErrConflict when
// one has.
func (s *Store) Create(ctx context.Context, job Job) error {
	job.PK, job.SK = jobPK(job.ID), skJob
	return storage.TranslateErr(s.table.Put(job).If("attribute_not_exists('pk')").Run(ctx))
}

// Record writes a tenant's outcome unless it has one: the first outcome
// stands. It reports whether this one was written.
func (s *Store) Record(ctx context.Context, jobID string, r Result) (bool, error) {
	r.PK, r.SK = jobPK(jobID), skResultPrefix+r.TenantID
	err := s.table.Put(r).If("attribute_not_exists('pk')").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record bulk result: %w", err)
	}
	return true, nil
}

// SetHalt records why the job's run stopped (nil clears it), if the job
// exists.
func (s *Store) SetHalt(ctx context.Context, jobID string, h *Halt) error {
	u := s.table.Update("pk", jobPK(jobID)).Range("sk", skJob).If("attribute_exists('pk')")
	if h == nil {
		u = u.Remove("halted")
	} else {
		u = u.Set("halted", h)
	}
	if err := u.Run(ctx); err != nil {
		return fmt.Errorf("set bulk halt: %w", storage.TranslateErr(err))
	}
	return nil
}

// runLease is the one bulk run in progress on the platform.
type runLease struct {
	PK      string `dynamo:"pk,hash"`
	SK      string `dynamo:"sk,range"`
	Owner   string `dynamo:"owner"`
	JobID   string `dynamo:"job_id"`
	UntilMS int64  `dynamo:"until_ms"`
	TTL     int64  `dynamo:"ttl"`
}

// TakeRunLease makes the caller the platform's one bulk run until now +
// d, if no other run holds an unexpired lease. It returns the lease's
// owner token, or storage.ErrConflict with how long the other run may
// still hold it.
func (s *Store) TakeRunLease(ctx context.Context, jobID string, now time.Time, d time.Duration) (string, time.Duration, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	owner := hex.EncodeToString(b[:])
	l := runLease{PK: leasePK, SK: leaseSK, Owner: owner, JobID: jobID, UntilMS: now.Add(d).UnixMilli(),
		TTL: now.Add(d + time.Hour).Unix()}
	err := s.table.Put(l).If("attribute_not_exists('pk') OR 'until_ms' < ?", now.UnixMilli()).Run(ctx)
	if err == nil {
		return owner, 0, nil
	}
	if !dynamo.IsCondCheckFailed(err) {
		return "", 0, fmt.Errorf("take bulk run lease: %w", err)
	}
	// Held: how long for is only a hint to the caller, so a failed read
	// answers with the longest a lease lasts.
	var held runLease
	if err := s.table.Get("pk", leasePK).Range("sk", dynamo.Equal, leaseSK).Consistent(true).One(ctx, &held); err != nil {
		return "", d, storage.ErrConflict
	}
	return "", max(time.UnixMilli(held.UntilMS).Sub(now), time.Second), storage.ErrConflict
}

// ReleaseRunLease ends the caller's lease (nothing when another run has
// taken it since).
func (s *Store) ReleaseRunLease(ctx context.Context, owner string) error {
	err := s.table.Delete("pk", leasePK).Range("sk", leaseSK).If("'owner' = ?", owner).Run(ctx)
	if err != nil && !dynamo.IsCondCheckFailed(err) {
		return fmt.Errorf("release bulk run lease: %w", err)
	}
	return nil
}
