"""Contract cases of the example apps (a package, so its conftest is not `conftest`)."""
