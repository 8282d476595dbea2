# Build, test and run the WeChat mini program channel. `make run` and
# `make test` need nothing but Go: modules come through the Go module proxy.

GO        ?= go
FUNCTIONS := $(filter-out testdata,$(notdir $(patsubst %/,%,$(wildcard functions/*/))))
BUILD_DIR ?= build
LDFLAGS   := -s -w -buildid=
GOFLAGS_LAMBDA := -trimpath -tags lambda.norpc -ldflags '$(LDFLAGS)'
TEST_FLAGS ?= -count=1 -timeout 15m
FUZZTIME  ?= 10s

.PHONY: test-moto run test build bench bench-all lint lint-template fuzz deploy clean demo sizes console-screenshots openapi

## run: start the dev server (embedded DynamoDB + WeChat simulator) on $DEV_ADDR (127.0.0.1:8080); `devserver -h` lists its flags
# Built, then exec'd: a stop signal reaches the server itself (`go run`
# would not pass SIGTERM on, leaving the port taken).
run:
	$(GO) build -o $(BUILD_DIR)/devserver ./cmd/devserver && exec $(BUILD_DIR)/devserver $(DEV_FLAGS)

## demo: the walkthrough over HTTP against the dev server `make run` started (another terminal; the same DEV_ADDR)
demo:
	$(GO) run ./cmd/demo

## test: every test against the embedded DynamoDB server and the WeChat simulator, then the IAM coverage of the calls they made
test:
	@rec=$$(mktemp -d) && trap 'rm -rf "$$rec"' EXIT && \
	WXCHANNEL_IAM_RECORD=$$rec $(GO) test $(TEST_FLAGS) ./... && \
	$(GO) run ./cmd/iamcoverage -record $$rec

## openapi: regenerate docs/openapi.json (and its embedded copy) from the route table in shared/apispec/contract
openapi:
	$(GO) generate ./shared/apispec

## console-screenshots: the console's browser tests, writing each page's screenshot into docs/console (needs Chromium)
console-screenshots:
	CONSOLE_SCREENSHOTS=docs/console $(GO) test -count=1 -run 'TestAnAdmin|TestEveryPage' ./shared/console/

## test-moto: the end-to-end packages and the walkthrough against moto's DynamoDB server (Python 3 with moto 5)
test-moto:
	.ci/moto-e2e

## build: one stripped linux/arm64 `bootstrap` per function under build/<name>/
build: $(addprefix $(BUILD_DIR)/,$(addsuffix /bootstrap,$(FUNCTIONS)))
	@$(MAKE) --no-print-directory sizes

$(BUILD_DIR)/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $@ ./functions/$*

sizes:
	@for f in $(FUNCTIONS); do printf '%-18s %s bytes\n' $$f $$(wc -c < $(BUILD_DIR)/$$f/bootstrap); done

FORCE:

## bench: measure everything and write docs/bench-report.md (about 15 minutes)
bench:
	$(GO) run ./cmd/benchreport -out docs/bench-report.md

## bench-all: every Go benchmark of every package, raw
bench-all:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

## lint: go vet, gofmt, golangci-lint (pinned in tools/go.mod, built through the Go module proxy) and lint-template
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool -modfile=tools/go.mod golangci-lint run ./...
	@$(MAKE) --no-print-directory lint-template

## lint-template: cfn-lint on template.yaml (it applies the SAM transform); any error or warning fails.
## Skipped with a note where cfn-lint is not installed, unless REQUIRE_CFN_LINT=1 (CI).
lint-template:
	@if ! command -v cfn-lint >/dev/null 2>&1; then \
	  if [ -n "$(REQUIRE_CFN_LINT)" ]; then echo "cfn-lint is not installed: pip install cfn-lint" >&2; exit 1; fi; \
	  echo "cfn-lint is not installed, template.yaml not linted (pip install cfn-lint)"; exit 0; \
	fi; \
	cfn-lint --version; \
	cfn-lint --non-zero-exit-code warning template.yaml

## fuzz: each fuzz target for a short fixed budget
fuzz:
	@pkgs=$$($(GO) list ./...) || exit 1; \
	for pkg in $$pkgs; do \
	  targets=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "$$targets"; exit 1; }; \
	  for t in $$(echo "$$targets" | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

## deploy: sam build + sam deploy with samconfig.toml's default profile (needs the AWS SAM CLI and credentials)
deploy:
	sam build
	sam deploy

# SAM's makefile build method calls build-<LogicalId> with ARTIFACTS_DIR set;
# without it the bootstrap would land in /bootstrap, so refuse.
define sam_target
build-$(1):
	@if [ -z "$$(ARTIFACTS_DIR)" ]; then \
	  echo "build-$(1): ARTIFACTS_DIR is not set; sam build sets it (make build builds every function locally)" >&2; exit 1; fi
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$(2)
endef
$(eval $(call sam_target,TicketPushFunction,ticketpush))
$(eval $(call sam_target,AuthCallbackFunction,authcallback))
$(eval $(call sam_target,AdminBindingFunction,adminbinding))
$(eval $(call sam_target,UserLoginFunction,userlogin))
$(eval $(call sam_target,WorkOrderCreateFunction,workordercreate))
$(eval $(call sam_target,ReviewSubmitFunction,reviewsubmit))
$(eval $(call sam_target,WeChatEventsFunction,wechatevents))
$(eval $(call sam_target,PortalRegisterFunction,portalregister))
$(eval $(call sam_target,AdminPortalFunction,adminportal))
$(eval $(call sam_target,WorkOrdersFunction,workorders))
$(eval $(call sam_target,EngineerApiFunction,engineerapi))
$(eval $(call sam_target,AdminMileageFunction,adminmileage))
$(eval $(call sam_target,ReleaseAdminFunction,releaseadmin))
$(eval $(call sam_target,TokenRefreshFunction,tokenrefresh))
$(eval $(call sam_target,AuditReconcileFunction,auditreconcile))
$(eval $(call sam_target,VisitCloseFunction,visitclose))
$(eval $(call sam_target,AdminDeskFunction,admindesk))
$(eval $(call sam_target,AdminEventsFunction,adminevents))
$(eval $(call sam_target,AdminNotifyFunction,adminnotify))
$(eval $(call sam_target,PlatformAdminFunction,platformadmin))
$(eval $(call sam_target,ConsoleFunction,console))
$(eval $(call sam_target,ApiSpecFunction,apispec))
$(eval $(call sam_target,EventFanoutFunction,eventfanout))
$(eval $(call sam_target,EventDeliveryFunction,eventdelivery))

clean:
	rm -rf $(BUILD_DIR)
