"""What the webhooks and the commands both do: each use case once, between the rules and the adapters."""
