"""flaskr's own app, for the ports: its templates, session, database and hooks."""

from flaskr import create_app

app = create_app()
