"""HTTP handlers: read, verify, one domain call, respond."""
