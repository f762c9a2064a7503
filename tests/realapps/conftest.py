"""The overlays are files of the projects under test (a contracts conftest.py, ports),
not tests of this suite: never collected here."""

collect_ignore = ["overlay_flaskr", "overlay_apiflask_token", "overlay_apiflask_orm"]
