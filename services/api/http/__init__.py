"""HTTP plumbing around the routes: body limits, problem details, the OpenAPI document,
metrics, Idempotency-Key replay, the interactive docs and date bounds."""
