"""Progress: the CI gate (gate) and the status report in every format (report)."""

__all__: list[str] = []
