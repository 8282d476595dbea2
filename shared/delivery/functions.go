// Package delivery carries the tenants' events to their CRMs: the stream
// consumer queues each new outbox event (Fanout), the queue consumer
// signs and posts it to the tenant's webhook with retries and dead
// letters (Deliverer), and the admin API configures the webhook, pages
// the event feed, shows the delivery status and replays (docs/events.md,
// docs/webhooks.md).
package delivery

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"wxchannel/shared/app"
	"wxchannel/shared/attrcrypt"
	"wxchannel/shared/awsconf"
	"wxchannel/shared/config"
	"wxchannel/shared/httpapi"
	"wxchannel/shared/notify"
	"wxchannel/shared/outbox"
	"wxchannel/shared/staffauth"
	"wxchannel/shared/tokens"
	"wxchannel/shared/webhook"
)

// queueFromDeps is the events queue the configuration names. Building it
// calls nothing.
func queueFromDeps(d *app.Deps) (*Queue, error) {
	if err := d.Config.Require(config.EnvEventsQueueURL); err != nil {
		return nil, err
	}
	cfg, err := awsconf.FromEnv(d.Config.Region, d.Config.SQSEndpoint != "")
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if d.Config.SQSEndpoint != "" {
			o.BaseEndpoint = &d.Config.SQSEndpoint
		}
	})
	return NewQueue(client, d.Config.EventsQueueURL), nil
}

// storeFromDeps is the delivery store, sealing webhook secrets as the
// WeChat tokens are sealed (KMS data keys in AWS, the local key locally).
func storeFromDeps(d *app.Deps) *Store {
	return NewStore(d.DB, attrcrypt.FromConfig(d.Config, d.Secrets, d.Now))
}

// webhookClient is the client posting to CRMs.
func webhookClient(d *app.Deps) *webhook.Client {
	return webhook.NewClient(webhook.ClientOptions{AllowPrivate: d.Config.WebhookAllowPrivate})
}

// NewAdminHandler serves the adminevents function.
func NewAdminHandler(_ context.Context, d *app.Deps) (*httpapi.Router, error) {
	staff, err := staffauth.FromDeps(d)
	if err != nil {
		return nil, err
	}
	queue, err := queueFromDeps(d)
	if err != nil {
		return nil, err
	}
	h := &admin{store: storeFromDeps(d), feed: outbox.NewFeed(d.DB.Service, d.Now), queue: queue, client: webhookClient(d),
		urls:  webhook.URLOptions{AllowHTTP: d.Config.WebhookAllowPrivate, AllowPrivate: d.Config.WebhookAllowPrivate},
		staff: staff, now: d.Now}
	return h.routes(httpapi.NewRouter(d.Log)), nil
}

// NewFanoutHandler builds the eventfanout function: the service table's
// stream consumer.
func NewFanoutHandler(_ context.Context, d *app.Deps) (app.StreamHandler, error) {
	queue, err := queueFromDeps(d)
	if err != nil {
		return nil, err
	}
	return NewFanout(queue, storeFromDeps(d), d.Log).Handle, nil
}

// NewDeliveryHandler builds the eventdelivery function: the events
// queue's consumer.
func NewDeliveryHandler(_ context.Context, d *app.Deps) (app.QueueHandler, error) {
	queue, err := queueFromDeps(d)
	if err != nil {
		return nil, err
	}
	sender := notify.NewSender(notify.NewStore(d.DB), d.WeChat, tokens.FromDeps(d), d.Config.PublicAppID, d.Log, d.Now)
	return NewDeliverer(storeFromDeps(d), sender, webhookClient(d), queue.client, queue.url, d.Log, d.Now).Handle, nil
}
