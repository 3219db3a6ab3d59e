"""Webhooks: organisations' push subscriptions to their feed events (issue 5)."""
