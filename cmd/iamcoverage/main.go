// Command iamcoverage checks the functions' DynamoDB permissions against
// the calls the whole test suite recorded (`make test` runs it after the
// tests): every grant in template.yaml must be needed by a call some test
// made under that function. The tests themselves fail on a call the
// template does not allow.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"wxchannel/functions"
	"wxchannel/shared/local/iamcheck"
)

func main() {
	record := flag.String("record", "", "directory the tests saved their calls in ("+iamcheck.RecordEnv+")")
	template := flag.String("template", "template.yaml", "the SAM template")
	flag.Parse()
	if err := run(*record, *template, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iamcoverage:", err)
		os.Exit(1)
	}
}

func run(record, template string, out io.Writer) error {
	if record == "" {
		return fmt.Errorf("-record is required")
	}
	policies, err := iamcheck.Load(template)
	if err != nil {
		return err
	}
	calls, err := iamcheck.Read(record)
	if err != nil {
		return err
	}
	if len(calls) == 0 {
		return fmt.Errorf("no calls recorded in %s: run the tests with %s set", record, iamcheck.RecordEnv)
	}
	uses := iamcheck.Uses{}
	for _, f := range functions.All {
		if f.CallsWeChat {
			uses[f.Name] = []string{iamcheck.TokenManager}
		}
	}
	denied := policies.Denied(calls, uses)
	for _, c := range denied {
		fmt.Fprintf(out, "not allowed: %s\n", c)
	}
	unused := policies.Unused(calls, uses)
	fns := make([]string, 0, len(unused))
	for fn := range unused {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	for _, fn := range fns {
		for _, g := range unused[fn] {
			fmt.Fprintf(out, "unused: %s %s on %s\n", fn, g.Action, g.Resource)
		}
	}
	switch {
	case len(denied) > 0:
		return fmt.Errorf("%d calls the template does not allow (AccessDenied in AWS)", len(denied))
	case len(fns) > 0:
		return fmt.Errorf("policies grant what no test exercised: remove it, or add the test that needs it")
	}
	fmt.Fprintf(out, "iamcoverage: %d DynamoDB actions recorded over %d functions, each allowed and each grant used\n",
		len(calls), len(policies))
	return nil
}
