"""Progress: the CI gate (gate) and the status report in every format (report)."""
