// Package notify delivers rollout notifications to JSON webhooks and Slack-compatible
// incoming webhooks from a bounded queue, with retries, so sending never blocks a reconcile.
package notify
