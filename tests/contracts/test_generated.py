"""Generated requests to every ported route of the example, sent to both sides.

Each test draws ROUTESHIFT_GENERATED_EXAMPLES (default 25) requests from the modern
route's models and path parameters (routeshift.prove.strategies), keeps those that legacy's
url_map routes to the entry, and runs each against a fresh copy of the seeded database
per side (the `routeshift_state` fixture of conftest.py).
"""

from __future__ import annotations

from routeshift import generated_test

test_get_user = generated_test("users.get_user", "GET")
test_list_users = generated_test("users.list_users", "GET")
test_slow = generated_test("main.slow", "GET")
test_get_task = generated_test("tasks.get_task", "GET")
test_create_user = generated_test("users.create_user", "POST")
test_create_task = generated_test("tasks.create_task", "POST")
test_me = generated_test("auth.me", "GET")
