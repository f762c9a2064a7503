"""flaskr's own app, for the ports: its templates, session, database and hooks.

`with ctx:` in a handler runs its code inside flaskr's request context of the request,
after flaskr's before_request hooks (g.user); flaskr's session is saved on the way out.
"""

from typing import Annotated

from fastapi import Depends

from routeshift.compat import Legacy, LegacyContext

legacy = Legacy("flaskr:create_app()")
Context = Annotated[LegacyContext, Depends(legacy.context)]
