"""What was observed: the records (records) and their stored form (rows), redaction
before anything is kept (redact), the tables (schema) and their versions (migrations),
the SQL store (sql) and the writer thread that feeds it (writer)."""

__all__: list[str] = []
