"""Redis and processes: key names, the directory store, call state, waiting callers, callbacks, events, records."""
