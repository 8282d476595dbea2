package functions_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"wxchannel/functions"
)

// notShipped are packages that exist for local runs and tests only: the
// harness under shared/local, the WeChat simulator and the stand-ins they
// are built on. No function binary may link one.
var notShipped = []string{
	"wxchannel/shared/local",
	"wxchannel/shared/wechat/wechatsim",
	"wxchannel/shared/webhook/receiver",
	"github.com/johannesboyne/gofakes3",
	"github.com/truora/minidyn",
	"net/http/httptest",
	"testing",
}

// TestFunctionBinariesLinkNoHarness lists each function's dependencies as
// `make build` builds it and refuses any package that only serves local
// runs and tests.
func TestFunctionBinariesLinkNoHarness(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for _, f := range functions.All {
		t.Run(f.Name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./"+f.Name)
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list: %v\n%s", err, out)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 {
				t.Fatalf("go list -deps returned %d packages; the check would prove nothing", len(deps))
			}
			for _, dep := range deps {
				for _, bad := range notShipped {
					if dep == bad || strings.HasPrefix(dep, bad+"/") {
						t.Errorf("%s links %s, which only serves local runs and tests", f.Name, dep)
					}
				}
			}
		})
	}
}
