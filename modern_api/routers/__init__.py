"""One APIRouter per area, named like the legacy blueprints they port."""
