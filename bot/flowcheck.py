"""`relais flows check`: every flow and every catalog, all problems at once."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot import keyword_texts, safety_texts
from bot import texts as system_texts
from bot.engine import defaults
from bot.engine.flow import load_library
from bot.engine.problems import FlowError
from bot.engine.text import for_language
from bot.flowtexts import FlowText, iter_flow_texts
from bot.i18n import CatalogError, Catalogs, check_catalogs
from bot.safety_lexicon import check_lexicon


def check(flows_dir: Path, locales_dir: Path) -> list[str]:
    """Problems as `file:line: message` lines; empty when everything is fine.

    Flows: schema, targets that point nowhere, unreachable steps, dead ends. Catalogs:
    a text missing in a shipped language, placeholders that differ from the source, a
    text longer than its SMS budget once translated.
    """
    # The crisis lexicon and helplines (flows/safety.yaml) are checked with the flows.
    safety = [str(problem) for problem in check_lexicon(flows_dir / "safety.yaml")]
    try:
        library = load_library(flows_dir)
    except FlowError as error:
        # Texts of a broken flow cannot be listed reliably; fix the flow first.
        return safety + [str(problem) for problem in error.problems]
    try:
        catalogs = Catalogs.load(locales_dir)
    except CatalogError as error:
        return [str(error)]
    texts = [
        text
        for flow in library
        for text in iter_flow_texts(Path(flow.file).read_text(encoding="utf-8"), flow.file)
    ]
    texts.extend(marked_texts())
    catalog_problems = check_catalogs(texts, catalogs, finish=for_language)
    return safety + [str(problem) for problem in catalog_problems]


# Modules whose N_("…") texts people receive: the engine's defaults, the system texts.
MARKED_MODULES = (defaults, system_texts, keyword_texts, safety_texts)


def marked_texts() -> Iterator[FlowText]:
    """Texts marked N_("…") in Python (engine defaults, system texts), with their lines."""
    for module in MARKED_MODULES:
        yield from _marked_in(Path(str(module.__file__)))


def _marked_in(path: Path) -> Iterator[FlowText]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "N_"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield FlowText(
                file=_display(path), line=node.lineno, step="(system)", msgid=node.args[0].value
            )


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
