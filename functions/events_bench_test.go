package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"wxchannel/functions"
	"wxchannel/shared/local/cputime"
	"wxchannel/shared/local/dynamoserver"
	"wxchannel/shared/local/stack"
	"wxchannel/shared/local/testenv"
	"wxchannel/shared/outbox"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/webhook/receiver"
)

// BenchmarkEventsPerChange makes each change of a work order's life, and
// of a serial-number registration, through the function that serves it
// behind the API Gateway v2 adapter, and counts what the change wrote: the
// outbox events (new outbox items in the service table's stream), the
// DynamoDB calls by operation (ddb-calls/change), and the items of its
// transaction (tx-items/change) with how many of them are events
// (tx-events/change). The order or registration is brought to just before
// the change outside the timer. It fails unless every change writes exactly
// one event, inside the change's own transaction: the event costs the
// change an item, not a call.
//
//	go test -run '^$' -bench BenchmarkEventsPerChange -benchtime 1x ./functions/
func BenchmarkEventsPerChange(b *testing.B) {
	items := &transactionItems{}
	w := &eventWorld{benchWorld: newBenchWorld(b, items.option()), items: items}
	w.stream = w.env.Embedded(b, "it reads the service table's stream")
	w.allowSerialRegistration(b)
	for _, c := range eventChanges {
		b.Run(c.name, func(b *testing.B) { w.measure(b, c) })
	}
}

// eventWorld is the bench world with what counts a change's writes.
type eventWorld struct {
	*benchWorld
	items  *transactionItems
	stream *dynamoserver.Server
	orders int
}

// underWay is a work order (or a registration) being taken through its
// life: who acts on it, and what the previous steps answered.
type underWay struct {
	n                         int
	customer, engineer, admin string
	id                        string
	version                   float64
}

// lifeStep is one change: the function serving it, its request and its
// answer's status; note keeps what later steps need from the answer.
type lifeStep struct {
	name, function string
	status         int
	request        func(o *underWay) *http.Request
	note           func(o *underWay, body map[string]any)
}

// eventChange is a change measured after steps taken untimed.
type eventChange struct {
	name   string
	before []lifeStep
	change lifeStep
}

// The steps of a work order's life and of a registration, in order.
var (
	createStep = lifeStep{name: "create", function: "workordercreate", status: http.StatusCreated,
		request: func(o *underWay) *http.Request {
			return jsonRequest("POST", "/portal/work-orders", o.customer, orderBody(o.n), "Idempotency-Key", fmt.Sprintf("events-%08d", o.n))
		},
		note: func(o *underWay, body map[string]any) { o.id, _ = body["work_order"].(map[string]any)["id"].(string) }}
	acceptStep = engineerStep("accept", "/accept", nil, http.StatusOK)
	enRoute    = engineerStep("en_route", "/status", map[string]any{"status": "en_route"}, http.StatusOK)
	inProgress = engineerStep("in_progress", "/status", map[string]any{"status": "in_progress"}, http.StatusOK)
	complete   = engineerStep("complete", "/status", map[string]any{"status": "completed"}, http.StatusOK)
	checkInAt  = engineerStep("check_in", "/check-in", nil, http.StatusCreated)
	checkOutAt = engineerStep("check_out", "/check-out", nil, http.StatusOK)
	rateStep   = customerStep("rate", "/rating", map[string]any{"stars": 5, "comment": "Quick and tidy"})
	cancelStep = customerStep("cancel", "/cancel", nil)
	pending    = lifeStep{name: "registration_pending", function: "portalregister", status: http.StatusAccepted,
		request: func(o *underWay) *http.Request {
			return jsonRequest("POST", "/portal/registration/device", o.customer, map[string]any{"device_sn": fmt.Sprintf("RG-%06d", o.n),
				"latitude": 31.2, "longitude": 121.4, "address": "1 Lujiazui Ring Road"})
		},
		note: func(o *underWay, body map[string]any) {
			o.id, _ = body["id"].(string)
			o.version, _ = body["version"].(float64)
		}}
	approve = adminStep("registration_approve", "/approve", func(o *underWay) map[string]any {
		return map[string]any{"version": o.version, "customer_id": fmt.Sprintf("cust-%06d", o.n)}
	})
	reject = adminStep("registration_reject", "/reject", func(o *underWay) map[string]any {
		return map[string]any{"version": o.version, "reason": "The serial number is not one of ours"}
	})
)

// eventChanges are the changes measured, in the order of an order's life.
var eventChanges = func() []eventChange {
	life := []lifeStep{createStep, acceptStep, enRoute, checkInAt, inProgress, checkOutAt, complete, rateStep}
	var out []eventChange
	for i, s := range life {
		out = append(out, eventChange{name: s.name, before: life[:i], change: s})
	}
	return append(out,
		eventChange{name: "cancel", before: []lifeStep{createStep}, change: cancelStep},
		eventChange{name: pending.name, change: pending},
		eventChange{name: approve.name, before: []lifeStep{pending}, change: approve},
		eventChange{name: reject.name, before: []lifeStep{pending}, change: reject})
}()

// engineerStep is an engineer's request on the order, at its site.
func engineerStep(name, path string, body map[string]any, status int) lifeStep {
	return lifeStep{name: name, function: "engineerapi", status: status, request: func(o *underWay) *http.Request {
		b := body
		if path == "/check-in" || path == "/check-out" {
			site := orderBody(o.n)
			b = map[string]any{"latitude": site["latitude"], "longitude": site["longitude"]}
		}
		return jsonRequest("POST", "/engineer/work-orders/"+o.id+path, o.engineer, b)
	}}
}

// customerStep is the customer's request on their order.
func customerStep(name, path string, body map[string]any) lifeStep {
	return lifeStep{name: name, function: "workorders", status: http.StatusOK, request: func(o *underWay) *http.Request {
		return jsonRequest("POST", "/portal/work-orders/"+o.id+path, o.customer, body)
	}}
}

// adminStep is the tenant admin's decision on the registration.
func adminStep(name, path string, body func(o *underWay) map[string]any) lifeStep {
	return lifeStep{name: name, function: "adminportal", status: http.StatusNoContent, request: func(o *underWay) *http.Request {
		return jsonRequest("POST", "/admin/registrations/"+o.id+path, o.admin, body(o))
	}}
}

// allowSerialRegistration lets the bench tenant's customers register by
// serial number.
func (w *eventWorld) allowSerialRegistration(b *testing.B) {
	st := w.json(b, "GET", "/admin/portal/settings", w.admin, nil, http.StatusOK)
	st["serial_registration"] = true
	w.json(b, "PUT", "/admin/portal/settings", w.admin, st, http.StatusOK)
}

// next starts a work order's (or registration's) life: a new customer
// (ten orders an hour each) and a new engineer (check-in limits) for each.
func (w *eventWorld) next(b *testing.B, c eventChange) *underWay {
	w.orders++
	o := &underWay{n: 500000 + w.orders, customer: w.login(b, fmt.Sprintf("openid-events-%d", w.orders)),
		engineer: w.env.StaffToken(b, "acme", fmt.Sprintf("eng-events-%d", w.orders), staffauth.RoleEngineer), admin: w.admin}
	for _, s := range c.before {
		rec := w.serveRouter(b, s.request(o))
		if rec.Code != s.status {
			b.Fatalf("%s: %d, want %d: %s", s.name, rec.Code, s.status, rec.Body)
		}
		if s.note != nil {
			var body map[string]any
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			s.note(o, body)
		}
	}
	return o
}

// measure times the change and reports, per change, the events it wrote,
// its DynamoDB calls by operation and its transaction's items.
func (w *eventWorld) measure(b *testing.B, c eventChange) {
	var evs, calls, txItems, txEvents int
	perOp := map[string]int{}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		run := w.lambda(b, c.change.function, c.change.request(w.next(b, c)))
		after := w.streamEnd()
		w.env.Calls.Reset()
		w.items.reset()
		b.StartTimer()
		status := run()
		b.StopTimer()
		if status != c.change.status {
			b.Fatalf("%s: %d, want %d", c.name, status, c.change.status)
		}
		n := w.eventsAfter(after)
		items, inTx := w.items.counts()
		if n != 1 || inTx != 1 {
			b.Fatalf("%s wrote %d events, %d of them in a transaction; want exactly one, in the change's transaction", c.name, n, inTx)
		}
		evs, txItems, txEvents = evs+n, txItems+items, txEvents+inTx
		for op, k := range w.env.Calls.Calls() {
			calls += k
			perOp[op] += k
		}
		b.StartTimer()
	}
	b.StopTimer()
	per := func(v int) float64 { return float64(v) / float64(b.N) }
	b.ReportMetric(per(evs), "events/change")
	b.ReportMetric(per(calls), "ddb-calls/change")
	for op, k := range perOp {
		b.ReportMetric(per(k), "ddb-"+op+"/change")
	}
	b.ReportMetric(per(txItems), "tx-items/change")
	b.ReportMetric(per(txEvents), "tx-events/change")
}

// streamEnd is the sequence number of the service table's last stream
// record ("" for none).
func (w *eventWorld) streamEnd() string {
	records := w.stream.StreamRecords(w.env.Deps.Config.ServiceTable, "", 0)
	if len(records) == 0 {
		return ""
	}
	return records[len(records)-1].Change.SequenceNumber
}

// eventsAfter counts the outbox items inserted after the stream record
// after: the events, as the stream consumer sees them.
func (w *eventWorld) eventsAfter(after string) int {
	n := 0
	for _, r := range w.stream.StreamRecords(w.env.Deps.Config.ServiceTable, after, 0) {
		sk, ok := r.Change.Keys["sk"]
		if r.EventName == string(events.DynamoDBOperationTypeInsert) && ok && sk.DataType() == events.DataTypeString &&
			strings.HasPrefix(sk.String(), outbox.SortKeyPrefix) {
			n++
		}
	}
	return n
}

// transactionItems counts, at the client, the items of the transactions
// a function writes (TransactWriteItems) and how many of them are outbox
// events: once per call, whatever the SDK retries.
type transactionItems struct {
	mu            sync.Mutex
	items, events int
}

// option installs the counter on the test environment's DynamoDB client.
func (t *transactionItems) option() testenv.Option {
	return func(o *stack.PartsOptions) { o.ClientOptions = append(o.ClientOptions, t.install) }
}

func (t *transactionItems) install(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CountTransactionItems", t.count), middleware.After)
	})
}

func (t *transactionItems) count(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
	middleware.InitializeOutput, middleware.Metadata, error,
) {
	if tx, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
		evs := 0
		for _, it := range tx.TransactItems {
			if it.Put == nil {
				continue
			}
			if sk, ok := it.Put.Item["sk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(sk.Value, outbox.SortKeyPrefix) {
				evs++
			}
		}
		t.mu.Lock()
		t.items, t.events = t.items+len(tx.TransactItems), t.events+evs
		t.mu.Unlock()
	}
	return next.HandleInitialize(ctx, in)
}

func (t *transactionItems) counts() (items, events int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.items, t.events
}

func (t *transactionItems) reset() {
	t.mu.Lock()
	t.items, t.events = 0, 0
	t.mu.Unlock()
}

// deliveryLoad is how many events BenchmarkEventDelivery queues.
type deliveryLoad struct {
	tenants, ordersPerTenant, eventsPerOrder int
}

func (l deliveryLoad) events() int { return l.tenants * l.ordersPerTenant * l.eventsPerOrder }

// BenchmarkEventDelivery carries events from the outbox to the tenants'
// CRMs end to end on loopback: the stream into the fan-out, the fan-out
// into the events queue (the SQS stand-in), the queue into the delivery
// function, which signs and posts each event to its tenant's webhook (a
// receiver verifying signatures). 2,000 events of 200 work orders of 20
// tenants (400 of 40 orders with -short) are put in the outbox before the
// timer starts; the run ends when nothing due is left. It reports the
// events delivered per second and the process's CPU time per delivered
// event (the pipeline, the stand-ins and the receivers together), and with
// one tenant's CRM down (it answers 503) the others' rate, the down
// tenant's backlog and how often its CRM was called. No latency is
// injected; the stand-ins, the receivers and the pipeline share this
// machine's cores, and one poller feeds the delivery function (Lambda runs
// several).
//
//	go test -run '^$' -bench BenchmarkEventDelivery -benchtime 1x ./functions/
func BenchmarkEventDelivery(b *testing.B) {
	load := deliveryLoad{tenants: 20, ordersPerTenant: 10, eventsPerOrder: 10}
	if testing.Short() {
		load.ordersPerTenant = 2
	}
	for _, down := range []bool{false, true} {
		name := "crm=all_up"
		if down {
			name = "crm=one_down"
		}
		b.Run(name, func(b *testing.B) { measureDelivery(b, load, down) })
	}
}

func measureDelivery(b *testing.B, load deliveryLoad, down bool) {
	var delivered, backlog, downCalls, calls int
	var took, cpu time.Duration
	for range b.N {
		b.StopTimer()
		d := newDeliveryWorld(b, load)
		if down {
			d.crms[0].SetDown(true)
		}
		d.queue(b, load)
		d.Calls.Reset()
		b.StartTimer()
		start, cpu0 := time.Now(), cputime.Process()
		if _, err := d.Events.Pump(context.Background()); err != nil {
			b.Fatalf("event pipeline: %v", err)
		}
		took, cpu = took+time.Since(start), cpu+cputime.Process()-cpu0
		b.StopTimer()
		for _, n := range d.Calls.Calls() {
			calls += n
		}
		got, left, attempts := d.settle(b, load, down)
		delivered, backlog, downCalls = delivered+got, backlog+left, downCalls+attempts
		b.StartTimer()
	}
	b.StopTimer()
	runs := float64(b.N)
	b.ReportMetric(float64(load.events()), "events/run")
	b.ReportMetric(float64(delivered)/runs, "delivered/run")
	b.ReportMetric(float64(delivered)/took.Seconds(), "events/s")
	b.ReportMetric(float64(backlog)/runs, "backlog/run")
	b.ReportMetric(float64(downCalls)/runs, "down-crm-calls/run")
	perEvent := float64(max(delivered, 1))
	b.ReportMetric(float64(calls)/perEvent, "ddb-calls/event")
	if cputime.Supported() {
		b.ReportMetric(float64(cpu.Microseconds())/perEvent, "cpu-µs/event")
	}
	b.ReportMetric(float64(load.tenants), "tenants")
	b.ReportMetric(float64(load.tenants*load.ordersPerTenant), "work-orders")
}

// deliveryWorld is the product with one CRM per tenant.
type deliveryWorld struct {
	*testenv.API
	tenants []string
	admins  []string
	crms    []*receiver.Receiver
}

func newDeliveryWorld(b *testing.B, load deliveryLoad) *deliveryWorld {
	d := &deliveryWorld{API: testenv.Setup(b, functions.Mount)}
	if d.Events == nil {
		b.Skip("the event pipeline needs the embedded DynamoDB server's stream")
	}
	for i := range load.tenants {
		tenantID := fmt.Sprintf("tenant%02d", i)
		admin := d.Staff(tenantID, "admin-1", staffauth.RoleAdmin)
		recv, _ := startCRM(d.API, admin, fmt.Sprintf("whsec_%s-crm-shared-secret-0001", tenantID))
		d.tenants, d.admins, d.crms = append(d.tenants, tenantID), append(d.admins, admin), append(d.crms, recv)
	}
	return d
}

// queue puts the load's events in the outbox as changes put them, in
// transactions of 100: each work order's events in the order they happen,
// one event of an order per transaction.
func (d *deliveryWorld) queue(b *testing.B, load deliveryLoad) {
	ctx := context.Background()
	lifecycle := []string{outbox.WorkOrderCreated, outbox.WorkOrderAccepted, outbox.WorkOrderEnRoute, outbox.WorkOrderCheckedIn,
		outbox.WorkOrderInProgress, outbox.WorkOrderCheckedOut, outbox.WorkOrderCompleted, outbox.WorkOrderRated}
	for step := range load.eventsPerOrder {
		var batch []outbox.Event
		for t, tenantID := range d.tenants {
			for o := range load.ordersPerTenant {
				id := fmt.Sprintf("2611%02d%014d", t, o)
				ev, err := outbox.New(tenantID, lifecycle[step%len(lifecycle)], outbox.Entity{Type: outbox.EntityWorkOrder, ID: id, Version: step + 1},
					d.Clock.Now(), orderSnapshot(id, step+1))
				if err != nil {
					b.Fatal(err)
				}
				batch = append(batch, ev)
			}
		}
		for start := 0; start < len(batch); start += 100 {
			tx := d.DB.Dynamo.WriteTx()
			for _, ev := range batch[start:min(start+100, len(batch))] {
				if err := outbox.Add(tx, d.DB.Service, ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Run(ctx); err != nil {
				b.Fatalf("put events in the outbox: %v", err)
			}
		}
	}
}

// orderSnapshot is an event's data about the size of a work order's.
func orderSnapshot(id string, version int) map[string]any {
	return map[string]any{"id": id, "version": version, "status": "accepted", "category": "repair",
		"description": "The compressor makes a grinding noise", "device_sn": "AC-000042", "contact_name": "Li Lei",
		"phone": "13800138000", "address": "88 Century Avenue, Pudong, Shanghai", "latitude": 31.2304, "longitude": 121.4737,
		"engineer_id": "eng-7", "created_at": 1795500000, "updated_at": 1795500000}
}

// settle checks what the CRMs got and returns the events they accepted,
// the down tenant's backlog as its status page shows it and how often its
// CRM was called. Every CRM that is up must have got all its events.
func (d *deliveryWorld) settle(b *testing.B, load deliveryLoad, down bool) (delivered, backlog, downCalls int) {
	perTenant := load.ordersPerTenant * load.eventsPerOrder
	for i, recv := range d.crms {
		accepted := map[string]bool{}
		for _, got := range recv.Deliveries() {
			if got.Status >= 200 && got.Status <= 299 && got.Verified {
				accepted[got.EventID] = true
			}
		}
		if down && i == 0 {
			st := d.Must(d.Do("GET", "/admin/events/status", d.admins[i], nil), http.StatusOK)
			left, _ := st.Get("backlog").(float64)
			backlog, downCalls = int(left), len(recv.Deliveries())
			continue
		}
		if len(accepted) != perTenant {
			b.Fatalf("%s's CRM accepted %d events, want %d", d.tenants[i], len(accepted), perTenant)
		}
		delivered += len(accepted)
	}
	return delivered, backlog, downCalls
}
