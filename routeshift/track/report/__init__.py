"""Progress of a migration: the pure model (progress) and its formats (table, markdown,
html, with words and style shared by them), and the flat listing of `routeshift routes`
(listing). The CLI and the admin pages print what these return; import each name from
the module that defines it."""

__all__: list[str] = []
