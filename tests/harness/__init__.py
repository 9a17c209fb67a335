"""What the tests and the benchmarks build on: stores, cases, stories, nodes.

- `stores`: the eventsourcing environment of a test store (`sqlite_env`, `encrypted`).
- `builders`: the one opening builder, a valid body per step, the actors, and `Story`,
  which drives both agencies' streams of one case through the domain.
- `given`: given/when steps over a `Story` for the rule tests (`R(...)`, `C(...)`).
- `walks`: walks through whole cases over the demo's moves (services/network/demo_cases.py).
- `referring_node`: a referring node's application fed the partner's facts, for read-model tests.
- `exchange_nodes`: agency nodes exchanging over a real broker, parts started one by one,
  what a test posts to an inbox itself (`sending`) and reads back (`play`, `dead_letters`,
  `delivered_once`).
- `homeward_run`: `homeward run`, the whole embedded network, on the worker's ports.
- `sealed_wire`: a hand-crafted message sealed to its recipient, as it goes on the wire.
- `tls_terminator`: TLS in front of the local broker, with a certificate a test's CA made.
- `http_nodes`: two agency nodes over HTTP, built by services/bootstrap.py.
- `openid_provider`: the suite's own minimal OpenID provider over TLS, with knobs for
  refusals, unnamed keys and key rotations.
- `packaged_provider`: an independent OpenID provider (oidc-provider-mock, on Authlib) over
  TLS, with introspection, JWT access tokens and key rotation added from Authlib's parts;
  `provider_shapes`: its users' claims shaped as Keycloak's and Entra ID's, and the settings
  that read them.
- `support`: the real services: ports, Docker, PostgreSQL, Kafka.
"""
