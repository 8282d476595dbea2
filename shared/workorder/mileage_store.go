package workorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guregu/dynamo/v2"

	"wxchannel/shared/apperr"
	"wxchannel/shared/storage"
)

// MaxReportVisits bounds the visits one admin report reads. Lambda answers
// at most 6 MB and a leg takes about 350 bytes of JSON: 10,000 visits (a
// month of 30 engineers at 10 a day) stay near 4 MB. A larger tenant
// narrows the period or reads one engineer at a time (engineer_id).
const MaxReportVisits = 10000

// engineerVisits returns an engineer's visits filed under the local dates
// from to to (YYYY-MM-DD), read consistently from their partition.
func (s *Store) engineerVisits(ctx context.Context, tenantID, engineerID, from, to string) ([]Visit, error) {
	var visits []Visit
	err := s.table.Get("pk", engineerPK(tenantID, engineerID)).
		Range("sk", dynamo.Between, "visit#"+from, "visit#"+to+"~").Consistent(true).All(ctx, &visits)
	if err != nil {
		return nil, fmt.Errorf("read visits: %w", err)
	}
	return visits, nil
}

// tenantDayVisits returns the visits of a tenant's local date from gsi1
// (one partition per date), of one engineer when engineerID is not "".
// The index is eventually consistent: a visit or a correction made a
// moment ago may show a moment later.
func (s *Store) tenantDayVisits(ctx context.Context, tenantID, date, engineerID string, limit int) ([]Visit, error) {
	q := s.table.Get("gsi1pk", visitDayPK(tenantID, date)).Index(storage.IndexGSI1)
	if engineerID != "" {
		q = q.Range("gsi1sk", dynamo.BeginsWith, engineerID+"#")
	}
	var visits []Visit
	it := q.Iter()
	var v Visit
	for it.Next(ctx, &v) {
		if engineerID == "" || v.EngineerID == engineerID {
			visits = append(visits, v)
		}
		if len(visits) > limit {
			return nil, errReportTooLarge
		}
		v = Visit{}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read the visits of %s: %w", date, err)
	}
	return visits, nil
}

var errReportTooLarge = apperr.Errorf(apperr.Rejected, "report_too_large",
	"the period holds more than %d visits; choose a shorter period or one engineer (engineer_id)", MaxReportVisits)

// mileageAudit is one entry of the tenant's mileage audit trail: an
// admin's correction of a leg, with the value it replaced.
type mileageAudit struct {
	PK             string `dynamo:"pk,hash"`
	SK             string `dynamo:"sk,range"`
	EngineerID     string `dynamo:"engineer_id"`
	LegID          string `dynamo:"leg_id"`
	Date           string `dynamo:"date"`
	ComputedMeters int    `dynamo:"computed_m"`
	OldMeters      int    `dynamo:"old_m"`
	NewMeters      int    `dynamo:"new_m"`
	Reason         string `dynamo:"reason"`
	By             string `dynamo:"by"`
	At             int64  `dynamo:"at"`
}

func mileageAuditPK(tenantID string) string {
	return storage.TenantPartition(tenantID) + "#mileage-audit"
}

func mileageAuditSK(at time.Time, legID string) string {
	return fmt.Sprintf("correction#%019d#%s", at.UnixNano(), legID)
}

// correctLeg writes an admin's correction of the leg ending at visit v in
// one transaction: the visit's correction if its correction count is
// still the one read, and the audit entry.
func (s *Store) correctLeg(ctx context.Context, v Visit, c legCorrection, audit mileageAudit) error {
	u := s.table.Update("pk", v.PK).Range("sk", v.SK).Set("leg_correction", c).Set("leg_rev", v.LegRev+1)
	if v.LegRev == 0 {
		u = u.If("attribute_exists('pk') AND attribute_not_exists('leg_rev')")
	} else {
		u = u.If("'leg_rev' = ?", v.LegRev)
	}
	tx := s.db.Dynamo.WriteTx()
	tx.Update(u)
	tx.Put(s.table.Put(audit).If("attribute_not_exists('pk')"))
	err := tx.Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return apperr.E(apperr.Conflict, "leg_changed", "the leg was corrected by someone else meanwhile; reload the report and retry")
	}
	if err != nil {
		return fmt.Errorf("correct leg: %w", err)
	}
	return nil
}

// mileageAudits returns the tenant's corrections made between from and to,
// oldest first.
func (s *Store) mileageAudits(ctx context.Context, tenantID string, from, to time.Time) ([]mileageAudit, error) {
	var out []mileageAudit
	err := s.table.Get("pk", mileageAuditPK(tenantID)).
		Range("sk", dynamo.Between, fmt.Sprintf("correction#%019d", from.UnixNano()), fmt.Sprintf("correction#%019d~", to.UnixNano())).
		Consistent(true).All(ctx, &out)
	if err != nil && !errors.Is(err, dynamo.ErrNotFound) {
		return nil, fmt.Errorf("read the mileage audit trail: %w", err)
	}
	return out, nil
}

// legDate is the local date a leg id (a visit id) is filed under.
func legDate(id string) (string, bool) {
	m := visitIDPattern.FindStringSubmatch(id)
	if m == nil {
		return "", false
	}
	if _, err := time.Parse(time.DateOnly, m[1]); err != nil {
		return "", false
	}
	return m[1], true
}
