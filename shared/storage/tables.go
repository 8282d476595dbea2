// Package storage connects to DynamoDB and defines the project's tables once,
// for the local/test setup and for the template check alike.
package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names shared by every item. Items are addressed by pk/sk; the
// generic index keys let one table serve several access patterns, each
// written down in docs/data-model.md.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	AttrGSI3PK = "gsi3pk"
	AttrGSI3SK = "gsi3sk"
	// AttrTTL holds an epoch-second expiry; DynamoDB deletes such items
	// lazily, so code that depends on expiry also checks the time itself.
	AttrTTL = "ttl"
)

// Index names.
const (
	IndexGSI1 = "gsi1"
	IndexGSI2 = "gsi2"
	IndexGSI3 = "gsi3"
)

// IndexSpec is a global secondary index and its projection.
type IndexSpec struct {
	Name     string
	HashKey  string
	RangeKey string
	// ProjectionType is ALL when empty; with INCLUDE, NonKeyAttributes are
	// the attributes projected besides the table's and the index's keys.
	ProjectionType   types.ProjectionType
	NonKeyAttributes []string
}

// Projection is the index's projection as CreateTable takes it.
func (ix IndexSpec) Projection() *types.Projection {
	if ix.ProjectionType == "" {
		return &types.Projection{ProjectionType: types.ProjectionTypeAll}
	}
	return &types.Projection{ProjectionType: ix.ProjectionType, NonKeyAttributes: ix.NonKeyAttributes}
}

// TableSpec is one table: its logical name (the template's resource and the
// environment variable holding the physical name), keys, indexes and TTL.
type TableSpec struct {
	Logical      string // template resource name, e.g. "PlatformTable"
	EnvVar       string // environment variable with the physical name
	HashKey      string
	RangeKey     string
	Indexes      []IndexSpec
	TTLAttribute string
}

// Tables is the single source of truth of the project's tables. Every key
// attribute is a string.
var Tables = []TableSpec{
	{
		// WeChat platform state: verify tickets, component and authorizer
		// tokens, leases, push de-duplication, bindings and the release
		// pipeline. gsi1 answers "tokens due for refresh" and appid lookups.
		Logical: "PlatformTable", EnvVar: "PLATFORM_TABLE",
		HashKey: AttrPK, RangeKey: AttrSK,
		Indexes:      []IndexSpec{{Name: IndexGSI1, HashKey: AttrGSI1PK, RangeKey: AttrGSI1SK}},
		TTLAttribute: AttrTTL,
	},
	{
		// Tenants' service data: portal settings, terminal users,
		// invitations, devices, work orders, check-ins. gsi1 lists a
		// user's or engineer's items; gsi2 is the geohash index of the
		// orders offered to nearby engineers, projecting only what their
		// list shows (workorder.NearbyOrder, held to it by a test).
		Logical: "ServiceTable", EnvVar: "SERVICE_TABLE",
		HashKey: AttrPK, RangeKey: AttrSK,
		Indexes: []IndexSpec{
			{Name: IndexGSI1, HashKey: AttrGSI1PK, RangeKey: AttrGSI1SK},
			{Name: IndexGSI2, HashKey: AttrGSI2PK, RangeKey: AttrGSI2SK, ProjectionType: types.ProjectionTypeInclude,
				NonKeyAttributes: []string{"id", "category", "status", "latitude", "longitude", "created_at"}},
			// The work-order desk: gsi3pk = desk#<tenant>#<status>, gsi3sk =
			// <created ns>#<id>, projecting what the desk's list shows
			// (workorder.DeskAttributes, held to it by a test).
			{Name: IndexGSI3, HashKey: AttrGSI3PK, RangeKey: AttrGSI3SK, ProjectionType: types.ProjectionTypeInclude,
				NonKeyAttributes: []string{"id", "status", "category", "priority", "due_at", "engineer_id", "engineer_name",
					"device_sn", "user_id", "contact_name", "address", "created_at", "version"}},
		},
		TTLAttribute: AttrTTL,
	},
}

// CreateInput returns the CreateTable request for a spec under a physical name.
func (s TableSpec) CreateInput(name string) *dynamodb.CreateTableInput {
	attrs := map[string]bool{s.HashKey: true, s.RangeKey: true}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(s.HashKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(s.RangeKey), KeyType: types.KeyTypeRange},
		},
	}
	for _, ix := range s.Indexes {
		attrs[ix.HashKey], attrs[ix.RangeKey] = true, true
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(ix.HashKey), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(ix.RangeKey), KeyType: types.KeyTypeRange},
			},
			Projection: ix.Projection(),
		})
	}
	for _, a := range sortedKeys(attrs) {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS,
		})
	}
	return in
}

// CreateTables creates every table under the names given by physical
// (logical name → physical name), skipping tables that already exist, and
// waits until each is ACTIVE: DynamoDB (and DynamoDB Local) create a table
// in CREATING state and refuse writes until then. It is for local runs and
// tests; in AWS the template creates the tables.
func CreateTables(ctx context.Context, client *dynamodb.Client, physical map[string]string) error {
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second
	})
	for _, spec := range Tables {
		name := physical[spec.Logical]
		if name == "" {
			return fmt.Errorf("create tables: no physical name for %s", spec.Logical)
		}
		_, err := client.CreateTable(ctx, spec.CreateInput(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
	}
	for _, spec := range Tables {
		name := physical[spec.Logical]
		if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 2*time.Minute); err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
