"""Alerts pushed from the monitor node to an organisation's own systems: subscriptions
(`subscriptions`) and their signed, retried, durable deliveries (`deliveries`)."""
