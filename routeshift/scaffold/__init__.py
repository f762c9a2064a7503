"""routeshift scaffold: the starting point of the port of one legacy route.

    rules    a werkzeug rule as a FastAPI path with typed parameters (pure)
    shapes   JSON samples merged into shapes, planned as Pydantic models (pure)
    render   the source of the FastAPI module and of the contract case file (pure)
    plan     the edge: finds the route, sends the samples to the legacy app in-process
             (routeshift.contract.Harness), decides where the files go (the modern app's
             package, found with importlib) and writes them, never over a file unless forced

Errors:

    ScaffoldError (RouteshiftError)   the route or an option does not fit the apps
    +-- ScaffoldExists                a file to write exists and force was not given
"""

from __future__ import annotations

from routeshift.errors import ScaffoldError, ScaffoldExists
from routeshift.scaffold.plan import (
    OutputFile,
    Package,
    Scaffold,
    find_route,
    modern_package,
    plan_scaffold,
    write_files,
)
from routeshift.scaffold.render import (
    HandlerSpec,
    ModuleSpec,
    Rendered,
    Sample,
    render_case_file,
    render_module,
)
from routeshift.scaffold.rules import PathParameter, PathTranslation, translate_rule
from routeshift.scaffold.shapes import Shape, infer_shape, plan_models

__all__ = [
    "HandlerSpec",
    "ModuleSpec",
    "OutputFile",
    "Package",
    "PathParameter",
    "PathTranslation",
    "Rendered",
    "Sample",
    "Scaffold",
    "ScaffoldError",
    "ScaffoldExists",
    "Shape",
    "find_route",
    "infer_shape",
    "modern_package",
    "plan_models",
    "plan_scaffold",
    "render_case_file",
    "render_module",
    "translate_rule",
    "write_files",
]
