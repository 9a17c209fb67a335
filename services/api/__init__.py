"""The agency node's HTTP API (CONTRACT.md): routes turn requests into commands on
the application and domain answers into JSON or problem details."""
