"""Which side serves a request: the per-request decision, pure (classify)."""
