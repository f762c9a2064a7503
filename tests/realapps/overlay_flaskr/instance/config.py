"""flaskr's instance config (the tutorial's place for a deployment's settings).

FLASKR_DATABASE, when set, names the database: two servers of one checkout (gunicorn
and the gateway) each get their own. The session lifetime is long so that the signed
login cookies in tests/contracts/*.yaml stay valid (Flask rejects a session cookie
whose signature is older than PERMANENT_SESSION_LIFETIME, 31 days by default).
"""

import os
from datetime import timedelta

if "FLASKR_DATABASE" in os.environ:
    DATABASE = os.environ["FLASKR_DATABASE"]
PERMANENT_SESSION_LIFETIME = timedelta(days=36500)
