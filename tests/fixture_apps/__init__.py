"""Apps the toolkit is tested with besides the example: a Flask app full of routing
and WSGI pitfalls (flask_shop) and its partial FastAPI port (fastapi_shop)."""
