"""The crossing between the apps: ported routes reusing the legacy app's session, errors,
JSON and URLs. Empty until that issue lands; serve may import it."""

__all__: list[str] = []
