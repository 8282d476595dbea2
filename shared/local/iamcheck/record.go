package iamcheck

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"wxchannel/shared/logging"
)

// Call is one IAM action a function's DynamoDB call needs: a transaction
// needs PutItem, UpdateItem, DeleteItem or ConditionCheckItem on each of
// its items' tables, TransactGetItems GetItem, a Query on an index needs
// Query on the index.
type Call struct {
	Function string
	Action   string
	Table    string // the table's logical name in the template (else its own)
	Index    string
}

func (c Call) String() string {
	return fmt.Sprintf("%s %s on %s", c.Function, c.Action, Resource{Table: c.Table, Index: c.Index})
}

// TokenManager names the token manager as a component: any function that
// calls WeChat may refresh a token on demand (expired, or rejected with
// 40001/42001) or find a refresh token revoked, so it needs whatever the
// token manager does. The token manager's own tests record its calls
// under this name (AsComponent); cmd/iamcoverage holds every function
// that calls WeChat to them.
const TokenManager = "tokens"

// componentPrefix marks a component's calls among the functions'.
const componentPrefix = "@"

// AsComponent returns ctx under which a test's calls are recorded as the
// named component's rather than a function's.
func AsComponent(ctx context.Context, name string) context.Context {
	return logging.WithFunction(ctx, componentPrefix+name)
}

// Component returns the component a call was recorded under, or "".
func (c Call) Component() string {
	if name, ok := strings.CutPrefix(c.Function, componentPrefix); ok {
		return name
	}
	return ""
}

// Recorder notes the IAM actions of every call made through a client
// under a function (logging.Function of the call's context); calls made
// outside any function (a test's own setup) are not the functions' and are
// left out.
type Recorder struct {
	mu     sync.Mutex
	tables map[string]string // physical name → the template's logical name
	calls  map[Call]bool     // tables by physical name
}

// SetTables names the template's table (logical name) behind each
// physical table name; calls are reported under the logical names.
func (r *Recorder) SetTables(physicalToLogical map[string]string) {
	r.mu.Lock()
	r.tables = physicalToLogical
	r.mu.Unlock()
}

// Install adds the recorder to a client's options.
func (r *Recorder) Install(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("RecordIAMActions",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				if fn := logging.Function(ctx); fn != "" {
					r.record(fn, in.Parameters)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

// Calls returns what was recorded, sorted.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, 0, len(r.calls))
	for c := range r.calls {
		if logical := r.tables[c.Table]; logical != "" {
			c.Table = logical
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (r *Recorder) record(fn string, input any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[Call]bool{}
	}
	for _, a := range actions(input) {
		r.calls[Call{Function: fn, Action: "dynamodb:" + a.action, Table: a.table, Index: a.index}] = true
	}
}

type action struct{ action, table, index string }

// actions lists the IAM actions an operation's input needs.
func actions(input any) []action {
	switch in := input.(type) {
	case *dynamodb.GetItemInput:
		return []action{{"GetItem", aws.ToString(in.TableName), ""}}
	case *dynamodb.PutItemInput:
		return []action{{"PutItem", aws.ToString(in.TableName), ""}}
	case *dynamodb.UpdateItemInput:
		return []action{{"UpdateItem", aws.ToString(in.TableName), ""}}
	case *dynamodb.DeleteItemInput:
		return []action{{"DeleteItem", aws.ToString(in.TableName), ""}}
	case *dynamodb.QueryInput:
		return []action{{"Query", aws.ToString(in.TableName), aws.ToString(in.IndexName)}}
	case *dynamodb.ScanInput:
		return []action{{"Scan", aws.ToString(in.TableName), aws.ToString(in.IndexName)}}
	case *dynamodb.BatchGetItemInput:
		return perTable("BatchGetItem", keysOf(in.RequestItems))
	case *dynamodb.BatchWriteItemInput:
		return perTable("BatchWriteItem", keysOf(in.RequestItems))
	case *dynamodb.TransactWriteItemsInput:
		return transactWrite(in)
	case *dynamodb.TransactGetItemsInput:
		var out []action
		for _, it := range in.TransactItems {
			if it.Get != nil {
				out = append(out, action{"GetItem", aws.ToString(it.Get.TableName), ""})
			}
		}
		return out
	case *dynamodb.DescribeTableInput:
		return []action{{"DescribeTable", aws.ToString(in.TableName), ""}}
	}
	return []action{{fmt.Sprintf("%T", input), "", ""}} // an operation the checker does not know: never allowed
}

func transactWrite(in *dynamodb.TransactWriteItemsInput) []action {
	var out []action
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			out = append(out, action{"PutItem", aws.ToString(it.Put.TableName), ""})
		case it.Update != nil:
			out = append(out, action{"UpdateItem", aws.ToString(it.Update.TableName), ""})
		case it.Delete != nil:
			out = append(out, action{"DeleteItem", aws.ToString(it.Delete.TableName), ""})
		case it.ConditionCheck != nil:
			out = append(out, action{"ConditionCheckItem", aws.ToString(it.ConditionCheck.TableName), ""})
		}
	}
	return out
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func perTable(op string, tables []string) []action {
	out := make([]action, len(tables))
	for i, t := range tables {
		out[i] = action{op, t, ""}
	}
	return out
}
