"""Live calls in Redis: call state, waiting callers, offers and engagements, callbacks, records, events, attempts, the presence log."""
