package functions_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"wxchannel/functions"
	"wxchannel/shared/lambdarun"
	"wxchannel/shared/storage"
)

func loadTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// SAM names the HttpApi property AccessLogSettings; goformation v7's
	// struct calls it AccessLogSetting and rejects the real name.
	raw = []byte(strings.Replace(string(raw), "\n      AccessLogSettings:", "\n      AccessLogSetting:", 1))
	// It also models RouteSettings as one route's settings, where SAM takes
	// a map of route keys; TestThrottledRoutesExist checks that block.
	raw = routeSettingsBlock.ReplaceAll(raw, nil)
	tpl, err := goformation.ParseYAML(raw)
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return tpl
}

// routeSettingsBlock is the HttpApi's RouteSettings map.
var routeSettingsBlock = regexp.MustCompile(`(?m)^      RouteSettings:\n(?:        .*\n|\s*#.*\n)+`)

// TestThrottledRoutesExist: every route the HTTP API throttles on its own
// is a route a function serves (a renamed route would silently lose its
// limit).
func TestThrottledRoutesExist(t *testing.T) {
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	block := routeSettingsBlock.Find(raw)
	keys := regexp.MustCompile(`(?m)^        "([A-Z]+ [^"]+)":$`).FindAllSubmatch(block, -1)
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
		if !served[string(k[1])] {
			t.Errorf("the template throttles %q, which no function serves", k[1])
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
			got = append(got, fmt.Sprintf("index %s projection %v", ix.IndexName, deref(ix.Projection.ProjectionType)))
		}
		for _, ix := range want.GlobalSecondaryIndexes {
			for _, k := range ix.KeySchema {
				exp = append(exp, fmt.Sprintf("index %s %s:%s", *ix.IndexName, *k.AttributeName, k.KeyType))
			}
			exp = append(exp, fmt.Sprintf("index %s projection %s", *ix.IndexName, ix.Projection.ProjectionType))
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
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
