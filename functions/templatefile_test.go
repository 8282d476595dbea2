package functions_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"gopkg.in/yaml.v3"
)

// rawTemplate is template.yaml as a tree of maps, lists and scalars, with
// the short-form intrinsics (!Ref, !Sub, !GetAtt, ...) in their long form
// ({"Ref": ...}, {"Fn::Sub": ...}). The checks of properties goformation
// does not model read it.
type rawTemplate map[string]any

func readTemplate(t *testing.T) rawTemplate {
	t.Helper()
	b, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	tree, err := yamlTree(&doc)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	m, ok := tree.(map[string]any)
	if !ok {
		t.Fatal("template.yaml is not a mapping")
	}
	return m
}

func yamlTree(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return yamlTree(n.Content[0])
	case yaml.AliasNode:
		return yamlTree(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := yamlTree(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return longForm(n.Tag, m), nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlTree(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return longForm(n.Tag, l), nil
	}
	if isIntrinsicTag(n.Tag) {
		return longForm(n.Tag, n.Value), nil
	}
	var v any
	err := n.Decode(&v)
	return v, err
}

func isIntrinsicTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// longForm turns a value tagged !Name into CloudFormation's long form.
func longForm(tag string, v any) any {
	if !isIntrinsicTag(tag) {
		return v
	}
	switch name := tag[1:]; name {
	case "Ref", "Condition":
		return map[string]any{name: v}
	case "GetAtt":
		if s, ok := v.(string); ok {
			resource, attribute, _ := strings.Cut(s, ".")
			return map[string]any{"Fn::GetAtt": []any{resource, attribute}}
		}
		return map[string]any{"Fn::GetAtt": v}
	default:
		return map[string]any{"Fn::" + name: v}
	}
}

// dig follows keys through nested maps; nil when one is missing.
func dig(v any, keys ...string) any {
	if r, ok := v.(rawTemplate); ok {
		v = map[string]any(r)
	}
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (r rawTemplate) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for logical, res := range r["Resources"].(map[string]any) {
		out[logical] = res.(map[string]any)
	}
	return out
}

// functionResources maps the "function" tag of each AWS::Serverless::Function
// to its logical id.
func (r rawTemplate) functionResources() map[string]string {
	out := map[string]string{}
	for logical, res := range r.resources() {
		if res["Type"] == "AWS::Serverless::Function" {
			if name, ok := dig(res, "Properties", "Tags", "function").(string); ok {
				out[name] = logical
			}
		}
	}
	return out
}

// goformationGaps are the properties goformation v7 does not model the way
// SAM and CloudFormation define them, by resource type: each is dropped
// before goformation parses the template (or renamed to goformation's
// spelling), and the tests below check it on the raw tree instead.
var goformationGaps = map[string]func(props map[string]any){
	"AWS::Serverless::HttpApi": func(props map[string]any) {
		// SAM spells it AccessLogSettings, goformation AccessLogSetting.
		if v, ok := props["AccessLogSettings"]; ok {
			props["AccessLogSetting"] = v
			delete(props, "AccessLogSettings")
		}
		// A map of route keys in SAM, one route's settings in goformation
		// (TestThrottledRoutesExist).
		delete(props, "RouteSettings")
	},
	"AWS::Serverless::Function": func(props map[string]any) {
		// Not modelled (TestEveryFunctionLogsJSONToItsOwnGroup).
		delete(props, "LoggingConfig")
		// RetryPolicy of Schedule events is not modelled
		// (TestJobsRunOncePerPeriodWithinTheirOwnTimeout).
		events, _ := props["Events"].(map[string]any)
		for _, ev := range events {
			if p, ok := dig(ev, "Properties").(map[string]any); ok && dig(ev, "Type") == "Schedule" {
				delete(p, "RetryPolicy")
			}
		}
	},
}

// loadTemplate parses template.yaml with goformation, past its gaps.
func loadTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	raw := readTemplate(t)
	for _, res := range raw.resources() {
		props, _ := res["Properties"].(map[string]any)
		if patch := goformationGaps[res["Type"].(string)]; patch != nil && props != nil {
			patch(props)
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := goformation.ParseJSON(b)
	if err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	return tpl
}
