"""The source text of a port: the FastAPI module and the contract case file (pure).

One module because both are the text one scaffold writes: the FastAPI module is nearly
all of it (imports, models, a stub and a docstring per handler, laid out as ruff format
would), and the case file of the requests sent to legacy is forty lines beside it.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from routeshift._asgi import HTTP_METHODS
from routeshift.compare import Reply
from routeshift.prove.cases import Case
from routeshift.scaffold.rules import PathParameter, PathTranslation, py_str
from routeshift.scaffold.shapes import Model, ModelPlanner, camel, infer_shape

__all__ = [
    "yaml_scalar",
    "IMPORTED_NAMES",
    "PROSE",
    "WIDTH",
    "HandlerSpec",
    "ModuleSpec",
    "Rendered",
    "Sample",
    "render_case_file",
    "render_module",
]

WIDTH = 100
PROSE = 88  # docstring paragraphs read better narrower than the code
_RESPONSE_CLASSES = {"text/html": "HTMLResponse", "text/plain": "PlainTextResponse"}
_NOT_JSON = object()


@dataclass(frozen=True, slots=True)
class Sample:
    """One request sent to legacy (`label` names it: a case id) and its answer."""

    label: str
    method: str
    path: str
    reply: Reply

    @property
    def mimetype(self) -> str:
        return self.reply.content_type.partition(";")[0].strip().lower()

    @property
    def json(self) -> Any:
        """The parsed JSON body, or `_NOT_JSON`."""
        mimetype = self.mimetype
        if mimetype != "application/json" and not mimetype.endswith("+json"):
            return _NOT_JSON
        try:
            return json.loads(self.reply.body)
        except ValueError:
            return _NOT_JSON

    def __repr__(self) -> str:
        return f"Sample({self.label!r}, {self.method} {self.path} -> {self.reply.status})"


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    """One handler to write: a method of the rule and legacy's answers to it."""

    method: str
    name: str
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """Everything `render_module` needs; `source` says where the samples came from."""

    endpoint: str
    view: str
    translation: PathTranslation
    handlers: tuple[HandlerSpec, ...]
    path: str = ""
    tag: str = ""
    source: str = ""
    date_helper: str | None = None

    @property
    def fastapi_path(self) -> str:
        return self.path or self.translation.path


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered module and one line per handler ("GET /me -> async def me() -> Me")."""

    text: str
    signatures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Answer:
    """How a handler answers: its return annotation, decorator arguments, a TODO."""

    annotation: str
    decorator: tuple[str, ...] = ()
    todo: str = ""


_IMPORT_FROM = {
    "Annotated": "typing",
    "Any": "typing",
    "Literal": "typing",
    "APIRouter": "fastapi",
    "Path": "fastapi",
    "Response": "fastapi",
    "HTMLResponse": "fastapi.responses",
    "PlainTextResponse": "fastapi.responses",
    "RedirectResponse": "fastapi.responses",
    "BaseModel": "pydantic",
    "ConfigDict": "pydantic",
    "Field": "pydantic",
}
#: Names the generated module imports (a model or handler cannot take them).
IMPORTED_NAMES = frozenset(_IMPORT_FROM)


def render_module(spec: ModuleSpec) -> Rendered:
    """The source of a FastAPI module: the models, `router` and one stub per handler."""
    planner = ModelPlanner(spec.date_helper, taken={"router", *IMPORTED_NAMES})
    answers = [_answer(handler, planner) for handler in spec.handlers]
    roots = {a.annotation: h for h, a in zip(spec.handlers, answers, strict=True)}
    blocks = [""]
    for model in planner.models:
        root = roots.get(model.name)
        doc = f"What legacy answers to {root.method} {spec.translation.rule}." if root else ""
        blocks.append("\n".join(_render_model(model, doc)))
    tags = f"tags=[{py_str(spec.tag)}]" if spec.tag else ""
    blocks.append(f"router = APIRouter({tags})")
    signatures = []
    for handler, answer in zip(spec.handlers, answers, strict=True):
        lines, signature = _render_handler(spec, handler, answer)
        blocks.append("\n".join(lines))
        signatures.append(signature)
    used = _names_used(planner.models, answers, spec.translation.parameters)
    imports = "\n".join(_render_imports(used))
    # ruff's isort: two blank lines after the imports before a class, one before `router`
    after_imports = "\n\n\n" if planner.models else "\n\n"
    code = "\n\n\n".join(blocks[1:])
    text = _module_docstring(spec) + "\n\n" + imports + after_imports + code + "\n"
    return Rendered(text, tuple(signatures))


def _answer(handler: HandlerSpec, planner: ModelPlanner) -> _Answer:
    ok = [s for s in handler.samples if 200 <= s.reply.status < 300]
    statuses = sorted({s.reply.status for s in ok})
    decorator: list[str] = []
    if len(statuses) == 1 and statuses[0] != 200:
        decorator.append(f"status_code={statuses[0]}")
    bodies = [s.json for s in ok]
    if ok and all(body is not _NOT_JSON for body in bodies):
        before = len(planner.models)
        annotation = planner.annotation(infer_shape(bodies), camel(handler.name) + "Response")
        if any(model.has_optional for model in planner.models[before:]):
            decorator.append("response_model_exclude_unset=True")
        model = annotation if before < len(planner.models) else "the answer"
        return _Answer(annotation, tuple(decorator), f"port the view; return {_a(model)}.")
    if ok:
        mimetypes = {s.mimetype for s in ok}
        kind = _RESPONSE_CLASSES.get(next(iter(mimetypes)), "") if len(mimetypes) == 1 else ""
        what = ", ".join(sorted(mimetypes))
        if kind:
            decorator.append(f"response_class={kind}")
        return _Answer(
            kind or "Response", tuple(decorator), f"port the view (legacy answered {what})."
        )
    if any(300 <= s.reply.status < 400 for s in handler.samples):
        return _Answer("RedirectResponse", (), "port the view (legacy answered a redirect).")
    if handler.samples:
        todo = "port the view; no sample was answered with success, so the type is unknown."
    else:
        todo = "port the view; there was no sample, so the response type is unknown."
    return _Answer("Any", tuple(decorator), todo)


def _a(name: str) -> str:
    if name.startswith("the "):
        return name
    return f"an {name}" if name[:1].upper() in "AEIOU" else f"a {name}"


def _names_used(
    models: Sequence[Model], answers: Sequence[_Answer], parameters: Sequence[PathParameter]
) -> set[str]:
    used = {"APIRouter"}
    annotations = [f.annotation for m in models for f in m.fields]
    annotations += [a.annotation for a in answers]
    annotations += [p.annotation for p in parameters]
    for annotation in annotations:
        code = re.sub(r'"(?:\\.|[^"\\])*"', "", annotation)  # names, not Literal's strings
        used.update(re.findall(r"[A-Za-z_][\w.]*", code))
    used.update(d.partition("=")[2] for a in answers for d in a.decorator)
    if models:
        used.add("BaseModel")
    if any(m.has_aliases for m in models):
        used.update({"ConfigDict", "Field"})
    if any(p.python_name != p.name for p in parameters):
        used.update({"Annotated", "Path"})
    return used


def _render_imports(used: set[str]) -> list[str]:
    lines = ["from __future__ import annotations", ""]
    stdlib = ["import uuid"] if "uuid.UUID" in used else []
    modules: dict[str, list[str]] = {}
    for name, module in _IMPORT_FROM.items():
        if name in used:
            modules.setdefault(module, []).append(name)
    for group in (("typing",), ("fastapi", "fastapi.responses", "pydantic")):
        section = stdlib if group == ("typing",) else []
        for module in group:
            if module in modules:
                section.append(f"from {module} import {', '.join(sorted(modules[module]))}")
        if section:
            lines += [*section, ""]
    return lines[:-1]


def _render_model(model: Model, doc: str) -> list[str]:
    lines = [f"class {model.name}(BaseModel):"]
    if doc:
        lines += [*_docstring(doc, "    "), ""]
    if model.has_aliases:
        lines += ["    model_config = ConfigDict(populate_by_name=True)", ""]
    for found in model.fields:
        for comment in found.comments:
            lines += _wrap(comment, WIDTH, initial_indent="    # ", subsequent_indent="    # ")
        arguments = (["default=None"] if found.optional else []) + (
            [f"alias={py_str(found.alias)}"] if found.alias is not None else []
        )
        head = f"    {found.name}: {found.annotation}"
        if found.alias is not None:
            lines += _call(f"{head} = Field", arguments, "", indent="    ")
        else:
            lines.append(head + (" = None" if found.optional else ""))
    if lines[-1] == "":
        lines.pop()
    if len(lines) == 1:
        lines.append("    pass")
    return lines


#: the methods an APIRouter has a decorator for (all but CONNECT)
_ROUTER_METHODS = frozenset(m.lower() for m in HTTP_METHODS - {"CONNECT"})


def _render_handler(
    spec: ModuleSpec, handler: HandlerSpec, answer: _Answer
) -> tuple[list[str], str]:
    lines = []
    if "response_model_exclude_unset=True" in answer.decorator:
        lines.append("# keys that legacy leaves out stay out: optional fields are left unset")
    path = py_str(spec.fastapi_path)
    if handler.method.lower() in _ROUTER_METHODS:
        lines += _call(f"@router.{handler.method.lower()}", [path, *answer.decorator], "")
    else:
        methods = f"methods=[{py_str(handler.method)}]"
        lines += _call("@router.api_route", [path, methods, *answer.decorator], "")
    parameters = [_parameter(p) for p in spec.translation.parameters]
    tail = f" -> {answer.annotation}:"
    lines += _call(f"async def {handler.name}", parameters, tail)
    lines += _handler_docstring(spec, handler)
    lines += _wrap(
        "TODO: " + answer.todo, WIDTH, initial_indent="    # ", subsequent_indent="    # "
    )
    lines.append(f"    raise NotImplementedError({py_str(_todo_message(spec, handler))})")
    signature = (
        f"{handler.method} {spec.fastapi_path} -> async def {handler.name}"
        f"({', '.join(parameters)}){tail[:-1]}"
    )
    return lines, signature


def _todo_message(spec: ModuleSpec, handler: HandlerSpec) -> str:
    several = len(spec.handlers) > 1
    return f"TODO: port {spec.endpoint}" + (f" ({handler.method})" if several else "")


def _parameter(parameter: PathParameter) -> str:
    if parameter.python_name == parameter.name:
        return f"{parameter.name}: {parameter.annotation}"
    alias = py_str(parameter.name)
    return f"{parameter.python_name}: Annotated[{parameter.annotation}, Path(alias={alias})]"


def _handler_docstring(spec: ModuleSpec, handler: HandlerSpec) -> list[str]:
    text = _wrap(_doc(f"Port of the legacy view {spec.endpoint} ({spec.view})."), WIDTH - 7)
    text.append("")
    rule = spec.translation.rule
    if not handler.samples:
        text += _wrap(_doc(f"Legacy: {handler.method} {rule}; no sample was sent."), WIDTH - 4)
    else:
        text += _wrap(
            _doc(f"Legacy: {handler.method} {rule}; its answers to the samples:"), WIDTH - 4
        )
    answers: dict[tuple[int, str], list[str]] = {}
    for sample in handler.samples:
        key = (sample.reply.status, sample.mimetype or "no body")
        answers.setdefault(key, []).append(sample.label)
    for (status, mimetype), labels in sorted(answers.items()):
        line = _doc(f"{status} {mimetype}: {', '.join(labels)}")
        text += _wrap(line, WIDTH - 4, initial_indent=" " * 4, subsequent_indent=" " * 8)
    converted = [p for p in spec.translation.parameters if p.converter not in _PLAIN]
    if converted:
        what = ", ".join(f"{p.name} {p.werkzeug}" for p in converted)
        text += ["", *_wrap(_doc(f"werkzeug converters: {what}."), WIDTH - 4)]
    lines = ['    """' + text[0]] + [f"    {line}" if line else "" for line in text[1:]]
    return [*lines, '    """']


_PLAIN = frozenset({"default", "string", "int", "float"})


def _module_docstring(spec: ModuleSpec) -> str:
    methods = ", ".join(h.method for h in spec.handlers)
    head = f"{methods} {spec.fastapi_path}: the port of legacy view {spec.endpoint}, scaffolded"
    head += " by routeshift."
    body = (
        f"{spec.source} Fill in the handler, include `router` in the app, and check the port "
        f"with `routeshift contract --route {spec.endpoint}`."
    )
    note = (
        "The handlers are `async def`: make one a plain `def` if its port calls blocking "
        "code (a database session, for example)."
    )
    paragraphs = [_fill(_doc(head), WIDTH - 3), _fill(_doc(body), PROSE), _fill(note, PROSE)]
    return '"""' + "\n\n".join(paragraphs) + '\n"""'


def _call(head: str, arguments: Sequence[str], tail: str, indent: str = "") -> list[str]:
    """`head(arguments)tail` laid out as ruff format lays a call out."""
    one_line = f"{head}({', '.join(arguments)}){tail}"
    if len(one_line) <= WIDTH or not arguments:
        return [one_line]
    inner = f"{indent}    {', '.join(arguments)}"
    if len(inner) <= WIDTH:
        return [f"{head}(", inner, f"{indent}){tail}"]
    return [f"{head}(", *(f"{indent}    {a}," for a in arguments), f"{indent}){tail}"]


def _wrap(
    text: str, width: int, initial_indent: str = "", subsequent_indent: str = ""
) -> list[str]:
    """textwrap.wrap that never breaks a word (paths, case ids) or a `code span` in two."""
    kept = re.sub(r"`[^`]*`", lambda span: span.group().replace(" ", "\x00"), text)
    lines = textwrap.wrap(
        kept,
        width,
        initial_indent=initial_indent,
        subsequent_indent=subsequent_indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace("\x00", " ") for line in lines]


def _fill(text: str, width: int) -> str:
    return "\n".join(_wrap(text, width))


def _docstring(text: str, indent: str) -> list[str]:
    """A docstring: on one line when it fits, else wrapped with the quotes on their own."""
    one_line = f'{indent}"""{_doc(text)}"""'
    if len(one_line) <= WIDTH:
        return [one_line]
    lines = _wrap(_doc(text), WIDTH - len(indent) - 3)
    return [f'{indent}"""{lines[0]}', *(indent + line for line in lines[1:]), f'{indent}"""']


def _doc(text: str) -> str:
    """Text that is safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


# --- the case file ---------------------------------------------------------------------


def render_case_file(
    endpoint: str, rule: str, cases: Sequence[Case], comments: Mapping[str, str] | None = None
) -> str:
    """A case file (<contracts_dir>/<endpoint>.yaml) with one case per sample request;
    `comments` (case id -> text) says above a case why it is there."""
    methods = ", ".join(dict.fromkeys(c.method for c in cases)) or "GET"
    lines = [
        f"# {methods} {rule} ({endpoint}): written by routeshift scaffold with the requests",
        "# it sent to legacy. Add a case for every answer the route gives; run them with",
        f"# `routeshift contract --route {endpoint}`.",
        "cases:",
    ]
    for item in cases:
        if comments and item.id in comments:
            lines.append(f"  # {comments[item.id]}")
        lines += [
            f"  - id: {yaml_scalar(item.id)}",
            f"    method: {item.method}",
            f"    path: {yaml_scalar(item.path)}",
        ]
        if item.query:
            pairs = ", ".join(f"{yaml_scalar(k)}: {_yaml_value(v)}" for k, v in item.query.items())
            lines.append(f"    query: {{{pairs}}}")
        if item.headers:
            pairs = ", ".join(
                f"{yaml_scalar(k)}: {_yaml_value(v)}" for k, v in item.headers.items()
            )
            lines.append(f"    headers: {{{pairs}}}")
        if not item.safe:
            lines.append(
                "    # not sent by scaffold (it would write): give it its body, e.g. json: {}"
            )
    if not cases:  # no example path fits the rule (a custom converter)
        lines[-1] = "# no request could be built from the rule: add one per answer, e.g."
        lines += ["#  - id: found", f"#    path: {rule}", "cases: []"]
    return "\n".join(lines) + "\n"


def yaml_scalar(text: str) -> str:
    """`text` plain when YAML reads it back as the same string, else double-quoted."""
    plain = not re.search(r"[{}\[\],#&*!|>'\"%@`]", text) and text == text.strip()
    if plain:
        try:
            plain = yaml.safe_load(f"k: {text}") == {"k": text}
        except yaml.YAMLError:
            plain = False
    return text if plain else json.dumps(text)


def _yaml_value(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    return json.dumps(value)
