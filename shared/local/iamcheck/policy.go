// Package iamcheck proves the functions' DynamoDB permissions from the
// calls they make: a recorder on the SDK client notes each call's action,
// table and index under the function serving it, and the template's
// policies must allow every one of them (a policy that lost an action a
// test exercised fails that test) and grant nothing no test exercised.
// The embedded server cannot see IAM; AWS can.
package iamcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resource is what a DynamoDB statement names: a table (by its logical
// name in the template) or an index of it ("*" for every index).
type Resource struct {
	Table string
	Index string
}

func (r Resource) String() string {
	if r.Index == "" {
		return r.Table
	}
	return r.Table + "/index/" + r.Index
}

// Grant is one action on one resource a function's policy allows.
type Grant struct {
	Action   string // e.g. "dynamodb:Query"
	Resource Resource
}

// Policies are the DynamoDB grants of every function in the template, by
// the function's name (its "function" tag).
type Policies map[string][]Grant

// Load reads the template's functions and their DynamoDB statements.
func Load(templatePath string) (Policies, error) {
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Tags     yaml.Node   `yaml:"Tags"`
				Policies []yaml.Node `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", templatePath, err)
	}
	if len(doc.Resources) == 0 {
		return nil, fmt.Errorf("%s declares no resources", templatePath)
	}
	out := Policies{}
	for logical, res := range doc.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		var tags map[string]string
		_ = res.Properties.Tags.Decode(&tags)
		name := tags["function"]
		if name == "" {
			return nil, fmt.Errorf("%s has no function tag", logical)
		}
		grants := []Grant{}
		for _, p := range res.Properties.Policies {
			g, err := policyGrants(&p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", logical, err)
			}
			grants = append(grants, g...)
		}
		out[name] = grants
	}
	return out, nil
}

// policyGrants reads one entry of a function's Policies: an IAM policy
// document; SAM's DynamoDB policy templates are refused, since they grant
// more than a function needs and cannot be checked here.
func policyGrants(p *yaml.Node) ([]Grant, error) {
	var doc struct {
		Statement []struct {
			Effect   string    `yaml:"Effect"`
			Action   yaml.Node `yaml:"Action"`
			Resource yaml.Node `yaml:"Resource"`
		} `yaml:"Statement"`
	}
	if p.Kind == yaml.MappingNode && len(p.Content) == 2 && strings.HasPrefix(p.Content[0].Value, "DynamoDB") {
		return nil, fmt.Errorf("the SAM policy template %s grants more than asked: write the statement", p.Content[0].Value)
	}
	if p.Kind != yaml.MappingNode || p.Decode(&doc) != nil {
		return nil, nil // a managed policy name or another SAM template
	}
	var out []Grant
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		var actions []string
		for _, a := range scalars(&st.Action) {
			if strings.HasPrefix(a.Value, "dynamodb:") {
				actions = append(actions, a.Value)
			}
		}
		if len(actions) == 0 {
			continue
		}
		for _, r := range scalars(&st.Resource) {
			res, err := resource(r)
			if err != nil {
				return nil, err
			}
			for _, a := range actions {
				out = append(out, Grant{Action: a, Resource: res})
			}
		}
	}
	return out, nil
}

// scalars lists a node that is a scalar or a sequence of scalars.
func scalars(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

var (
	getAttArn = regexp.MustCompile(`^(\w+)\.Arn$`)
	subIndex  = regexp.MustCompile(`^\$\{(\w+)\.Arn\}/index/([\w*-]+)$`)
)

// resource reads a DynamoDB statement's resource: !GetAtt Table.Arn or
// !Sub "${Table.Arn}/index/name".
func resource(n *yaml.Node) (Resource, error) {
	switch {
	case n.Tag == "!GetAtt" && getAttArn.MatchString(n.Value):
		return Resource{Table: getAttArn.FindStringSubmatch(n.Value)[1]}, nil
	case n.Tag == "!Sub" && subIndex.MatchString(n.Value):
		m := subIndex.FindStringSubmatch(n.Value)
		return Resource{Table: m[1], Index: m[2]}, nil
	}
	return Resource{}, fmt.Errorf(
		"line %d: a DynamoDB resource must be !GetAtt <Table>.Arn or !Sub \"${<Table>.Arn}/index/<name>\", got %s %q",
		n.Line, n.Tag, n.Value)
}

// Allows reports whether function's policy allows a call.
func (p Policies) Allows(function string, c Call) bool {
	return slices.ContainsFunc(p[function], func(g Grant) bool { return g.covers(c) })
}

// covers reports whether a grant allows a call.
func (g Grant) covers(c Call) bool {
	if g.Action != c.Action && g.Action != "dynamodb:*" {
		return false
	}
	r := g.Resource
	if r.Table != c.Table {
		return false
	}
	return r.Index == c.Index || (c.Index != "" && r.Index == "*")
}

// TemplatePath finds template.yaml at the module root, from the working
// directory of a test (a package directory) upwards.
func TemplatePath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "template.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
