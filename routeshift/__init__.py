"""routeshift: move a Flask app to FastAPI one route at a time.

The gateway (`build_gateway`, or `app_from_environment` for `uvicorn gateway:app`) serves
every route of a legacy Flask app from the legacy or the modern side, as the registry
(`migration_status.yaml`, `load_registry`) says. Contract tests (`Harness`, `case`,
`generated_test`) prove a port equal before it takes traffic.

Every name below is loaded on first use, so `import routeshift` stays cheap (flask does
the same). The package's layout, by concern: routeshift.registry, .apps, .decide,
.store, .prove, .track, .compat, .serve, .scaffold and .cli.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module that defines it (one import path per name)
_EXPORTS = {
    "build_gateway": "routeshift.serve.assemble",
    "app_from_environment": "routeshift.serve.assemble",
    "Gateway": "routeshift.serve.gateway",
    "load_registry": "routeshift.registry.load",
    "Registry": "routeshift.registry.model",
    "Case": "routeshift.prove.cases",
    "case": "routeshift.prove.cases",
    "Harness": "routeshift.prove.harness",
    "StateHook": "routeshift.prove.harness",
    "generated_test": "routeshift.prove.generated",
    "AppImportError": "routeshift.errors",
    "CaseFileError": "routeshift.errors",
    "CompareError": "routeshift.errors",
    "ContractMismatch": "routeshift.errors",
    "EditError": "routeshift.errors",
    "FileError": "routeshift.errors",
    "GenerateError": "routeshift.errors",
    "LifespanError": "routeshift.errors",
    "MetricsError": "routeshift.errors",
    "RegistryError": "routeshift.errors",
    "RouteshiftError": "routeshift.errors",
    "ScaffoldError": "routeshift.errors",
    "ScaffoldExists": "routeshift.errors",
    "StoreError": "routeshift.errors",
}

__all__ = [
    "AppImportError",
    "Case",
    "CaseFileError",
    "CompareError",
    "ContractMismatch",
    "EditError",
    "FileError",
    "Gateway",
    "GenerateError",
    "Harness",
    "LifespanError",
    "MetricsError",
    "Registry",
    "RegistryError",
    "RouteshiftError",
    "ScaffoldError",
    "ScaffoldExists",
    "StateHook",
    "StoreError",
    "__version__",
    "app_from_environment",
    "build_gateway",
    "case",
    "generated_test",
    "load_registry",
]

if TYPE_CHECKING:
    from routeshift.errors import (
        AppImportError,
        CaseFileError,
        CompareError,
        ContractMismatch,
        EditError,
        FileError,
        GenerateError,
        LifespanError,
        MetricsError,
        RegistryError,
        RouteshiftError,
        ScaffoldError,
        ScaffoldExists,
        StoreError,
    )
    from routeshift.prove.cases import Case, case
    from routeshift.prove.generated import generated_test
    from routeshift.prove.harness import Harness, StateHook
    from routeshift.registry.load import load_registry
    from routeshift.registry.model import Registry
    from routeshift.serve.assemble import app_from_environment, build_gateway
    from routeshift.serve.gateway import Gateway


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'routeshift' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
