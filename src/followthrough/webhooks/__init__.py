"""Webhooks: events of the history sent to other systems, signed by the Standard Webhooks
specification, queued in the event's own transaction and delivered after it commits."""
