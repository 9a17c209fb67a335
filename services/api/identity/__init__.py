"""Who is calling: bearer tokens verified against the provider's keys (or asked about when
opaque), and the agency and roles read from their claims."""
