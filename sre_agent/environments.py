"""Environment names as real projects spell them: prod / prd / production are one environment.

A prod-only safety check that compares against "prod" silently never runs on a project that says
"prd"; every rule asks this module instead of comparing strings itself.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

ALIASES = {
    "prod": "prod", "prd": "prod", "production": "prod", "本番": "prod", "live": "prod",
    "stg": "stg", "stage": "stg", "staging": "stg", "検証": "stg",
    "dev": "dev", "develop": "dev", "development": "dev", "開発": "dev",
    "test": "test", "qa": "test", "sandbox": "dev",
}
TOKEN = re.compile(r"[A-Za-z]+|本番|検証|開発")
# The project's own spellings (`environments` in its configuration), for the review running now.
_PROJECT_ALIASES: ContextVar[dict[str, str]] = ContextVar("sre_agent_environment_aliases", default={})


def canonical(name: str) -> str | None:
    """The canonical environment of a name such as `prd`, or None when it names none."""
    key = name.strip().lower()
    return ALIASES.get(key) or _PROJECT_ALIASES.get().get(key)


@contextmanager
def project_aliases(aliases: dict[str, str]) -> Iterator[None]:
    """Extra spellings (`{"honban": "prod"}`) while one review runs; the built-in ones stay."""
    token = _PROJECT_ALIASES.set({k.lower(): v for k, v in aliases.items()})
    try:
        yield
    finally:
        _PROJECT_ALIASES.reset(token)


def environment_of_path(path: str) -> str | None:
    """Infer the environment from a parameter file path: `parameters/prd.json`, `envs/prod/x.tfvars`."""
    parts = path.replace("\\", "/").split("/")
    for part in reversed(parts):
        for token in reversed(TOKEN.findall(part)):
            env = canonical(token)
            if env:
                return env
    return None


def is_prod(name: str | None) -> bool:
    return name is not None and canonical(name) == "prod"
