"""Contract tests: case files (cases), the harness that sends a case to both apps
(harness), generated cases (generated, strategies: the `generate` extra) and the pytest
plugin (pytest_plugin)."""

__all__: list[str] = []
