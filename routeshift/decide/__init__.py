"""Which side serves a request: the per-request decision (classify) and the decision
applied to the response, for either side (stamp). Pure: no I/O of their own."""

__all__: list[str] = []
