"""The node's logs: one line per operational event, on standard error."""
