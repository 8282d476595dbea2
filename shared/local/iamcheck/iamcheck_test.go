package iamcheck_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wxchannel/shared/local/iamcheck"
)

const sample = `Resources:
  ReaderFunction:
    Type: AWS::Serverless::Function
    Properties:
      Tags:
        function: reader
      Policies:
        - Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, dynamodb:Query]
              Resource:
                - !GetAtt ServiceTable.Arn
                - !Sub "${ServiceTable.Arn}/index/gsi1"
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: !Ref Secret
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      Tags: [{Key: Name, Value: x}]
`

func load(t *testing.T, yaml string) iamcheck.Policies {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := iamcheck.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPoliciesAllowExactlyTheirActionsAndResources(t *testing.T) {
	p := load(t, sample)
	call := func(action, table, index string) iamcheck.Call {
		return iamcheck.Call{Function: "reader", Action: action, Table: table, Index: index}
	}
	cases := []struct {
		call iamcheck.Call
		want bool
	}{
		{call("dynamodb:GetItem", "ServiceTable", ""), true},
		{call("dynamodb:Query", "ServiceTable", "gsi1"), true},
		{call("dynamodb:Query", "ServiceTable", ""), true},
		{call("dynamodb:Query", "ServiceTable", "gsi2"), false},
		{call("dynamodb:PutItem", "ServiceTable", ""), false},
		{call("dynamodb:GetItem", "PlatformTable", ""), false},
		{iamcheck.Call{Function: "writer", Action: "dynamodb:GetItem", Table: "ServiceTable"}, false},
	}
	for _, c := range cases {
		if got := p.Allows(c.call.Function, c.call); got != c.want {
			t.Errorf("%s: allowed %v, want %v", c.call, got, c.want)
		}
	}
	unused := p.Unused([]iamcheck.Call{call("dynamodb:GetItem", "ServiceTable", ""), call("dynamodb:Query", "ServiceTable", "gsi1")}, nil)
	var names []string
	for _, g := range unused["reader"] {
		names = append(names, g.Action+" "+g.Resource.String())
	}
	// GetItem on the index, and Query on the table itself, were never needed.
	slices.Sort(names)
	if strings.Join(names, "; ") != "dynamodb:GetItem ServiceTable/index/gsi1; dynamodb:Query ServiceTable" {
		t.Errorf("unused grants %v", names)
	}
}

// A component's calls count for every function that uses it, and must be
// allowed to each.
func TestAComponentsCallsCountForTheFunctionsThatUseIt(t *testing.T) {
	p := load(t, sample)
	lease := iamcheck.Call{Function: "@" + iamcheck.TokenManager, Action: "dynamodb:GetItem", Table: "ServiceTable"}
	uses := iamcheck.Uses{"reader": {iamcheck.TokenManager}}
	if denied := p.Denied([]iamcheck.Call{lease}, uses); len(denied) != 0 {
		t.Fatalf("denied %v", denied)
	}
	if unused := p.Unused([]iamcheck.Call{lease}, uses); len(unused["reader"]) != 3 {
		t.Fatalf("unused %v: the component's GetItem is the reader's", unused)
	}
	write := iamcheck.Call{Function: "@" + iamcheck.TokenManager, Action: "dynamodb:PutItem", Table: "ServiceTable"}
	if denied := p.Denied([]iamcheck.Call{write}, uses); len(denied) != 1 || denied[0].Function != "reader" {
		t.Fatalf("a component's write the reader may not make: denied %v", denied)
	}
	if denied := p.Denied([]iamcheck.Call{write}, nil); len(denied) != 0 {
		t.Fatalf("a component nobody uses: denied %v", denied)
	}
}

func TestSAMDynamoDBPolicyTemplatesAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "template.yaml")
	tpl := strings.Replace(sample, "        - AWSSecretsManagerGetSecretValuePolicy:", "        - DynamoDBCrudPolicy:\n            TableName: !Ref ServiceTable\n        - AWSSecretsManagerGetSecretValuePolicy:", 1)
	if err := os.WriteFile(path, []byte(tpl), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := iamcheck.Load(path); err == nil || !strings.Contains(err.Error(), "DynamoDBCrudPolicy") {
		t.Fatalf("load: %v, want the policy template refused", err)
	}
}

func TestSavedCallsAreReadBackOnce(t *testing.T) {
	dir := t.TempDir()
	calls := []iamcheck.Call{{Function: "a", Action: "dynamodb:GetItem", Table: "T"}, {Function: "a", Action: "dynamodb:Query", Table: "T", Index: "gsi1"}}
	for range 2 {
		if err := iamcheck.Save(dir, calls); err != nil {
			t.Fatal(err)
		}
	}
	got, err := iamcheck.Read(dir)
	if err != nil || len(got) != 2 || got[1] != calls[1] {
		t.Fatalf("read %v %v", got, err)
	}
}
