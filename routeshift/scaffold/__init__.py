"""routeshift scaffold: the starting point of the port of one legacy route.

    rules    a werkzeug rule as a FastAPI path with typed parameters (pure)
    shapes   JSON samples merged into shapes, planned as Pydantic models (pure)
    render   the source of the FastAPI module and of the contract case file (pure)
    guards   the decorators around a legacy view, and its `unauthenticated` case (pure)
    plan     the edge: finds the route, sends the samples to the legacy app in-process
             (routeshift.prove.harness.Harness), decides where the files go (the modern
             app's package, found with importlib) and writes them, never over a file
             unless forced

Its errors are routeshift.errors.ScaffoldError and ScaffoldExists.
"""

__all__: list[str] = []
