package functions_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"wxchannel/functions"
	"wxchannel/shared/componentpush"
	"wxchannel/shared/config"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/logging"
	"wxchannel/shared/storage"
	"wxchannel/shared/tokens"
)

// TestThrottledRoutesExist: every route the HTTP API throttles on its own
// is a route a function serves (a renamed route would silently lose its
// limit).
func TestThrottledRoutesExist(t *testing.T) {
	var keys []string
	for _, res := range readTemplate(t).resources() {
		if res["Type"] != "AWS::Serverless::HttpApi" {
			continue
		}
		settings, _ := dig(res, "Properties", "RouteSettings").(map[string]any)
		for k := range settings {
			keys = append(keys, k)
		}
	}
	if len(keys) < 4 {
		t.Fatalf("found %d throttled routes in the template", len(keys))
	}
	served := map[string]bool{}
	d := offlineDeps(t)
	for _, f := range functions.All {
		if f.HTTP == nil {
			continue
		}
		_, patterns, err := lambdarun.Handler(context.Background(), f.Name, f.HTTP, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range patterns {
			served[apiRoute(p)] = true
		}
	}
	for _, k := range keys {
		if !served[k] {
			t.Errorf("the template throttles %q, which no function serves", k)
		}
	}
}

// templateFunctions maps the "function" tag of each AWS::Serverless::Function
// to its resource.
func templateFunctions(t *testing.T, tpl *cloudformation.Template) map[string]*serverless.Function {
	t.Helper()
	out := map[string]*serverless.Function{}
	for logical, fn := range tpl.GetAllServerlessFunctionResources() {
		name := fn.Tags["function"]
		if name == "" {
			t.Errorf("%s has no function tag", logical)
			continue
		}
		if _, dup := out[name]; dup {
			t.Errorf("two resources are tagged function=%s", name)
		}
		out[name] = fn
	}
	return out
}

func TestEveryFunctionFolderHasOneResourceAndBack(t *testing.T) {
	tpl := loadTemplate(t)
	fns := templateFunctions(t, tpl)
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "testdata" {
			folders = append(folders, e.Name())
			if _, err := os.Stat(e.Name() + "/main.go"); err != nil {
				t.Errorf("functions/%s has no main.go", e.Name())
			}
		}
	}
	var declared, catalogued []string
	for name := range fns {
		declared = append(declared, name)
	}
	for _, f := range functions.All {
		catalogued = append(catalogued, f.Name)
	}
	sort.Strings(folders)
	sort.Strings(declared)
	sort.Strings(catalogued)
	if !slices.Equal(folders, declared) {
		t.Errorf("function folders %v != template resources %v", folders, declared)
	}
	if !slices.Equal(folders, catalogued) {
		t.Errorf("function folders %v != functions.All %v", folders, catalogued)
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for logical, fn := range tpl.GetAllServerlessFunctionResources() {
		want := fmt.Sprintf("$(eval $(call sam_target,%s,%s))", logical, fn.Tags["function"])
		if !strings.Contains(string(makefile), want) {
			t.Errorf("Makefile lacks the SAM build target for %s: %s", logical, want)
		}
	}
}

// apiRoute turns a ServeMux pattern into API Gateway's "METHOD /path" form.
func apiRoute(pattern string) string {
	return regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(pattern, "{$1+}")
}

func TestRoutesInCodeMatchTemplate(t *testing.T) {
	tpl := loadTemplate(t)
	fns := templateFunctions(t, tpl)
	d := offlineDeps(t)
	for _, f := range functions.All {
		t.Run(f.Name, func(t *testing.T) {
			res := fns[f.Name]
			if res == nil {
				t.Fatalf("no template resource")
			}
			var inTemplate []string
			var schedules []string
			for evName, ev := range res.Events {
				switch ev.Type {
				case "HttpApi":
					p := ev.Properties.HttpApiEvent
					if p == nil || p.Method == nil || p.Path == nil {
						t.Fatalf("event %s has no method/path", evName)
					}
					inTemplate = append(inTemplate, strings.ToUpper(*p.Method)+" "+*p.Path)
				case "Schedule":
					p := ev.Properties.ScheduleEvent
					if p == nil || p.Schedule == "" {
						t.Fatalf("event %s has no schedule", evName)
					}
					schedules = append(schedules, p.Schedule)
				case "DynamoDB":
					if f.Stream == nil {
						t.Errorf("event %s feeds a stream to a function that consumes none", evName)
					}
				case "SQS":
					if f.Queue == nil {
						t.Errorf("event %s feeds a queue to a function that consumes none", evName)
					}
				default:
					t.Errorf("unexpected event type %s", ev.Type)
				}
			}
			var inCode []string
			if f.HTTP != nil {
				_, patterns, err := lambdarun.Handler(context.Background(), f.Name, f.HTTP, d)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range patterns {
					inCode = append(inCode, apiRoute(p))
				}
			}
			sort.Strings(inCode)
			sort.Strings(inTemplate)
			if !slices.Equal(inCode, inTemplate) {
				t.Errorf("routes in code %v != routes in template %v", inCode, inTemplate)
			}
			if f.Job != nil {
				want := fmt.Sprintf("rate(%d minutes)", int(f.Every.Minutes()))
				if len(schedules) != 1 || schedules[0] != want {
					t.Errorf("schedules %v, want [%s]", schedules, want)
				}
			} else if len(schedules) > 0 {
				t.Errorf("HTTP function has schedules %v", schedules)
			}
		})
	}
}

func TestTablesMatchDefinitions(t *testing.T) {
	tpl := loadTemplate(t)
	tables := tpl.GetAllDynamoDBTableResources()
	if len(tables) != len(storage.Tables) {
		t.Errorf("template has %d tables, code defines %d", len(tables), len(storage.Tables))
	}
	for _, spec := range storage.Tables {
		res := tables[spec.Logical]
		if res == nil {
			t.Errorf("template lacks table %s", spec.Logical)
			continue
		}
		want := spec.CreateInput("x")
		var got, exp []string
		for _, a := range res.AttributeDefinitions {
			got = append(got, "attr "+a.AttributeName+":"+a.AttributeType)
		}
		for _, a := range want.AttributeDefinitions {
			exp = append(exp, "attr "+*a.AttributeName+":"+string(a.AttributeType))
		}
		for _, k := range res.KeySchema {
			got = append(got, fmt.Sprintf("key %s:%s", k.AttributeName, k.KeyType))
		}
		for _, k := range want.KeySchema {
			exp = append(exp, fmt.Sprintf("key %s:%s", *k.AttributeName, k.KeyType))
		}
		for _, ix := range res.GlobalSecondaryIndexes {
			for _, k := range ix.KeySchema {
				got = append(got, fmt.Sprintf("index %s %s:%s", ix.IndexName, k.AttributeName, k.KeyType))
			}
			var projection string
			var nonKey []string
			if ix.Projection != nil {
				projection, nonKey = deref(ix.Projection.ProjectionType), ix.Projection.NonKeyAttributes
			}
			got = append(got, projectionLine(ix.IndexName, projection, nonKey))
		}
		for _, ix := range want.GlobalSecondaryIndexes {
			for _, k := range ix.KeySchema {
				exp = append(exp, fmt.Sprintf("index %s %s:%s", *ix.IndexName, *k.AttributeName, k.KeyType))
			}
			exp = append(exp, projectionLine(*ix.IndexName, string(ix.Projection.ProjectionType), ix.Projection.NonKeyAttributes))
		}
		sort.Strings(got)
		sort.Strings(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("%s differs:\ntemplate %v\ncode     %v", spec.Logical, got, exp)
		}
		if res.BillingMode == nil || *res.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("%s is not on-demand", spec.Logical)
		}
		if res.PointInTimeRecoverySpecification == nil || res.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled == nil || !*res.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled {
			t.Errorf("%s lacks point-in-time recovery", spec.Logical)
		}
		if res.SSESpecification == nil || !res.SSESpecification.SSEEnabled {
			t.Errorf("%s lacks server-side encryption", spec.Logical)
		}
		if res.TimeToLiveSpecification == nil || deref(res.TimeToLiveSpecification.AttributeName) != spec.TTLAttribute || !res.TimeToLiveSpecification.Enabled {
			t.Errorf("%s TTL attribute is not %s", spec.Logical, spec.TTLAttribute)
		}
		if res.DeletionProtectionEnabled == nil || !*res.DeletionProtectionEnabled {
			t.Errorf("%s lacks deletion protection", spec.Logical)
		}
	}
}

// projectionLine states an index's projection: its type and, for
// INCLUDE, the non-key attributes in any order (DynamoDB keeps them as a
// set).
func projectionLine(index, projection string, nonKey []string) string {
	attrs := slices.Clone(nonKey)
	sort.Strings(attrs)
	return fmt.Sprintf("index %s projection %s %v", index, projection, attrs)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestGlobalsSetEveryVariableConfigRequires: every variable a function may
// require of shared/config (config.Config.Require knows it) is set for
// every function by the Globals.
func TestGlobalsSetEveryVariableConfigRequires(t *testing.T) {
	vars, _ := dig(readTemplate(t), "Globals", "Function", "Environment", "Variables").(map[string]any)
	required := requirableVariables(t)
	if !slices.Contains(required, config.EnvPlatformTable) {
		t.Fatalf("found %v; expected %s among them", required, config.EnvPlatformTable)
	}
	for _, name := range required {
		if _, ok := vars[name]; !ok {
			t.Errorf("Globals do not set %s, which config.Require checks", name)
		}
	}
}

// requirableVariables are the values of shared/config's Env* constants
// that config.Config.Require accepts.
func requirableVariables(t *testing.T) []string {
	t.Helper()
	dir := "../shared/config"
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Env") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					value, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					if config.IsMissing(config.Config{}.Require(value)) {
						out = append(out, value)
					}
				}
			}
		}
	}
	return out
}

// TestFunctionsRunOnTheArchitectureTheMakefileBuildsFor: a bootstrap built
// for one architecture does not start on the other.
func TestFunctionsRunOnTheArchitectureTheMakefileBuildsFor(t *testing.T) {
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	goarchs := map[string]bool{}
	for _, m := range regexp.MustCompile(`GOARCH=(\w+)`).FindAllSubmatch(makefile, -1) {
		goarchs[string(m[1])] = true
	}
	if len(goarchs) != 1 {
		t.Fatalf("the Makefile builds for %v; want one architecture", goarchs)
	}
	lambdaArch := map[string]string{"arm64": "arm64", "amd64": "x86_64"}
	var want string
	for goarch := range goarchs {
		want = lambdaArch[goarch]
	}
	raw := readTemplate(t)
	if got := dig(raw, "Globals", "Function", "Architectures"); !reflect.DeepEqual(got, []any{want}) {
		t.Errorf("Globals' Architectures %v, want [%s]", got, want)
	}
	for name, logical := range raw.functionResources() {
		if got := dig(raw.resources()[logical], "Properties", "Architectures"); got != nil && !reflect.DeepEqual(got, []any{want}) {
			t.Errorf("%s runs on %v, the Makefile builds %s", name, got, want)
		}
	}
}

// statefulTypes hold what a deletion or a replacement would lose: the
// tables, the photos, the key sealing the stored tokens (without it every
// authorizer must authorize again) and the secrets (the operator's WeChat
// values; the signing keys behind printed QR codes and the CRM's staff
// tokens). Log groups are not among them: they are named after the
// functions, so one left behind would block deploying the same stage
// again, and their retention bounds them. Nor are the Elastic IPs: one
// left behind would not be reused by a new stack.
var statefulTypes = []string{
	"AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SecretsManager::Secret",
}

func TestStatefulResourcesAreRetained(t *testing.T) {
	seen := map[string]int{}
	for logical, res := range readTemplate(t).resources() {
		typ, _ := res["Type"].(string)
		if !slices.Contains(statefulTypes, typ) {
			continue
		}
		seen[typ]++
		if res["DeletionPolicy"] != "Retain" || res["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s (%s): DeletionPolicy %v, UpdateReplacePolicy %v; want both Retain",
				logical, typ, res["DeletionPolicy"], res["UpdateReplacePolicy"])
		}
	}
	for _, typ := range statefulTypes {
		if seen[typ] == 0 {
			t.Errorf("no %s in the template: update statefulTypes", typ)
		}
	}
}

// TestOnlyFunctionsThatCallWeChatRunInTheVPC: WeChat refuses platform
// calls from IPs not on the whitelist, so every function that calls WeChat
// leaves through the NAT gateways' Elastic IPs, from the private subnets;
// the others stay outside the VPC (no ENIs, no NAT charges).
func TestOnlyFunctionsThatCallWeChatRunInTheVPC(t *testing.T) {
	raw := readTemplate(t)
	resources := raw.resources()
	logicals := raw.functionResources()
	want := map[string]any{
		"SubnetIds": map[string]any{"Fn::If": []any{"CreateVpc",
			[]any{map[string]any{"Ref": "PrivateSubnetA"}, map[string]any{"Ref": "PrivateSubnetB"}},
			map[string]any{"Ref": "ExistingPrivateSubnetIds"}}},
		"SecurityGroupIds": map[string]any{"Fn::If": []any{"CreateVpc",
			[]any{map[string]any{"Ref": "WeChatCallersSecurityGroup"}},
			map[string]any{"Ref": "ExistingSecurityGroupIds"}}},
	}
	for _, f := range functions.All {
		vpc := dig(resources[logicals[f.Name]], "Properties", "VpcConfig")
		switch {
		case f.InVPC() && !reflect.DeepEqual(vpc, want):
			t.Errorf("%s calls WeChat or a CRM: its VpcConfig is %v, want the private subnets %v", f.Name, vpc, want)
		case !f.InVPC() && vpc != nil:
			t.Errorf("%s calls neither WeChat nor a CRM but runs in the VPC", f.Name)
		}
	}
	if dig(raw, "Globals", "Function", "VpcConfig") != nil {
		t.Error("Globals put every function in the VPC")
	}
	// The private subnets leave through the NAT gateways, whose addresses
	// are the output the whitelist is filled from.
	for _, route := range []string{"PrivateDefaultRouteA", "PrivateDefaultRouteB"} {
		if dig(resources[route], "Properties", "NatGatewayId") == nil {
			t.Errorf("%s does not route through a NAT gateway", route)
		}
	}
	if out := dig(raw, "Outputs", "WeChatEgressIps", "Value"); !strings.Contains(fmt.Sprint(out), "NatIpA") {
		t.Errorf("WeChatEgressIps output %v does not name the NAT gateways' Elastic IPs", out)
	}
}

// TestEveryFunctionLogsJSONToItsOwnGroup: each function's log group is
// created by the stack (with its retention) under the name Lambda would
// give it, before the function can write to it.
func TestEveryFunctionLogsJSONToItsOwnGroup(t *testing.T) {
	raw := readTemplate(t)
	resources := raw.resources()
	if got := dig(raw, "Globals", "Function", "LoggingConfig", "LogFormat"); got != "JSON" {
		t.Errorf("Globals' LogFormat %v, want JSON", got)
	}
	retention := map[string]any{"Ref": "LogRetentionDays"}
	for name, logical := range raw.functionResources() {
		props := dig(resources[logical], "Properties")
		functionName := "wxchannel-${Stage}-" + name
		if got := dig(props, "FunctionName", "Fn::Sub"); got != functionName {
			t.Errorf("%s: FunctionName %v, want %s", name, dig(props, "FunctionName"), functionName)
		}
		group, _ := dig(props, "LoggingConfig", "LogGroup", "Ref").(string)
		lg := resources[group]
		if lg == nil || lg["Type"] != "AWS::Logs::LogGroup" {
			t.Errorf("%s: LoggingConfig.LogGroup %v is not a log group of the stack", name, dig(props, "LoggingConfig"))
			continue
		}
		if got := dig(lg, "Properties", "LogGroupName", "Fn::Sub"); got != "/aws/lambda/"+functionName {
			t.Errorf("%s: log group named %v, want /aws/lambda/%s", name, got, functionName)
		}
		if got := dig(lg, "Properties", "RetentionInDays"); !reflect.DeepEqual(got, retention) {
			t.Errorf("%s: log retention %v, want %v", name, got, retention)
		}
	}
	format := fmt.Sprint(dig(resources["HttpApi"], "Properties", "AccessLogSettings", "Format"))
	for _, field := range []string{"$context.routeKey", "$context.status", "$context.integrationLatency", "$context.integrationStatus",
		"$context.requestTime", "$context.identity.userAgent", "$context.responseLength", "$context.requestId"} {
		if !strings.Contains(format, field) {
			t.Errorf("the access log format lacks %s", field)
		}
	}
}

// TestJobsRunOncePerPeriodWithinTheirOwnTimeout: a scheduled run is never
// retried (the next run is the retry) nor delivered after its period, and
// has a timeout of its own, longer than an HTTP function's and shorter
// than its period.
func TestJobsRunOncePerPeriodWithinTheirOwnTimeout(t *testing.T) {
	raw := readTemplate(t)
	resources := raw.resources()
	logicals := raw.functionResources()
	httpTimeout, _ := dig(raw, "Globals", "Function", "Timeout").(int)
	for _, f := range functions.All {
		if f.Job == nil {
			continue
		}
		props := dig(resources[logicals[f.Name]], "Properties")
		period := int(f.Every.Seconds())
		events, _ := dig(props, "Events").(map[string]any)
		for evName, ev := range events {
			if dig(ev, "Type") != "Schedule" {
				continue
			}
			retries := dig(ev, "Properties", "RetryPolicy", "MaximumRetryAttempts")
			age, _ := dig(ev, "Properties", "RetryPolicy", "MaximumEventAgeInSeconds").(int)
			if retries != 0 || age < 60 || age > period {
				t.Errorf("%s %s: RetryPolicy %v; want no retry and an event age of 60..%d s", f.Name, evName,
					dig(ev, "Properties", "RetryPolicy"), period)
			}
		}
		if got := dig(props, "EventInvokeConfig", "MaximumRetryAttempts"); got != 0 {
			t.Errorf("%s: asynchronous retries %v, want 0", f.Name, got)
		}
		timeout, _ := dig(props, "Timeout").(int)
		if timeout <= httpTimeout || timeout >= period {
			t.Errorf("%s: Timeout %d s; want its own, above the HTTP functions' %d s and below its %d s period", f.Name, timeout, httpTimeout, period)
		}
	}
}

// TestAlarmsWatchTheMetricsTheCodeWrites: the metrics the functions write
// as embedded-metric-format lines are the ones the alarms read, in the
// same namespace and dimension (a renamed metric would leave its alarm
// watching nothing, or alarming for ever).
func TestAlarmsWatchTheMetricsTheCodeWrites(t *testing.T) {
	stage := []any{map[string]any{"Name": logging.MetricsDimension, "Value": map[string]any{"Ref": "Stage"}}}
	watched := map[string]bool{}
	for _, res := range readTemplate(t).resources() {
		if res["Type"] != "AWS::CloudWatch::Alarm" || dig(res, "Properties", "Namespace") != logging.MetricsNamespace {
			continue
		}
		name, _ := dig(res, "Properties", "MetricName").(string)
		watched[name] = true
		if dims := dig(res, "Properties", "Dimensions"); !reflect.DeepEqual(dims, stage) {
			t.Errorf("the alarm on %s has dimensions %v, want %v", name, dims, stage)
		}
	}
	for _, metric := range []string{componentpush.MetricVerifyTicketReceived, tokens.MetricRefreshFailures} {
		if !watched[metric] {
			t.Errorf("no alarm watches %s/%s", logging.MetricsNamespace, metric)
		}
	}
}
