"""Reaching Redis: URLs and Sentinel sets, the circuit breaker the webhooks talk through, the embedded server."""
