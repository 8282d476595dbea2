package iamcheck

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Uses names the components each function uses (TokenManager for those
// that call WeChat): a component's recorded calls count as the function's.
type Uses map[string][]string

// expand returns calls with each component call repeated under every
// function that uses the component.
func (u Uses) expand(calls []Call) []Call {
	var out []Call
	for _, c := range calls {
		comp := c.Component()
		if comp == "" {
			out = append(out, c)
			continue
		}
		for fn, comps := range u {
			if slices.Contains(comps, comp) {
				c.Function = fn
				out = append(out, c)
			}
		}
	}
	return out
}

// Denied returns the calls the policies do not allow, a component's calls
// under each function that uses it.
func (p Policies) Denied(calls []Call, uses Uses) []Call {
	var out []Call
	for _, c := range uses.expand(calls) {
		if !p.Allows(c.Function, c) {
			out = append(out, c)
		}
	}
	return out
}

// Unused returns, by function, the grants no recorded call needed (its
// own, or those of a component it uses): a permission the function has but
// no test shows it needing.
func (p Policies) Unused(calls []Call, uses Uses) map[string][]Grant {
	calls = uses.expand(calls)
	out := map[string][]Grant{}
	for fn, grants := range p {
		for _, g := range grants {
			used := slices.ContainsFunc(calls, func(c Call) bool { return c.Function == fn && g.covers(c) })
			if !used {
				out[fn] = append(out[fn], g)
			}
		}
	}
	return out
}

// RecordEnv names a directory where each test process appends the calls
// it recorded, for the check over the whole suite (cmd/iamcoverage).
const RecordEnv = "WXCHANNEL_IAM_RECORD"

// Save appends calls to this process's file in dir ("" does nothing).
func Save(dir string, calls []Call) error {
	if dir == "" || len(calls) == 0 {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("calls-%d.tsv", os.Getpid())), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, c := range calls {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", c.Function, c.Action, c.Table, c.Index)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// Read collects every call saved in dir.
func Read(dir string) ([]Call, error) {
	files, err := filepath.Glob(filepath.Join(dir, "calls-*.tsv"))
	if err != nil {
		return nil, err
	}
	seen := map[Call]bool{}
	var out []Call
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for line := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
			f := strings.Split(line, "\t")
			if len(f) != 4 {
				continue
			}
			c := Call{Function: f[0], Action: f[1], Table: f[2], Index: f[3]}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}
