"""What goes out to the case system: the outbox of events and the signed POST that delivers them."""
