"""The prompts are jinja2 templates in the top-level `prompts/` folder (one source of truth).

`sre_agent/prompts` is a symbolic link to it, so the templates are found the same way from a
source checkout, an editable install and a wheel (where setuptools copies the linked files in
as package data, see pyproject's package-data). The bundled technical standards are read the
same way from `standards/` when present.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

PACKAGE_DIR = Path(__file__).resolve().parent.parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def _folder(name: str) -> Path | None:
    for candidate in (PACKAGE_DIR / name, CHECKOUT_DIR / name):
        if candidate.is_dir():
            return candidate
    return None


@cache
def environment() -> jinja2.Environment:
    folder = _folder("prompts")
    if folder is None:
        raise FileNotFoundError("sre_agent prompts folder not found (broken installation)")
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=False,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def render(name: str, **values: object) -> str:
    return environment().get_template(name).render(**values)


def bundled_standards(own: str | None = None) -> list[dict[str, str]]:
    """The project's own standards folder when given (`--standards DIR`), else ours."""
    from sre_agent.project import standard_files

    folder = Path(own) if own else _folder("standards")
    if folder is None or not folder.is_dir():
        return []
    return [{"name": path.relative_to(folder).as_posix(), "text": path.read_text(encoding="utf-8").strip()}
            for path in standard_files(folder)]
