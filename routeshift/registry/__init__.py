"""The registry file, migration_status.yaml: its records (model), reading it with line
marks (load, source), holding it against the apps (fit), whether a route may move
(readiness), and editing it in place (edit, roundtrip). Pure but for load and edit."""

__all__: list[str] = []
