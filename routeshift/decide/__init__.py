"""Which side serves a request: the per-request decision, pure (classify)."""

__all__: list[str] = []
