"""Settings from the environment, read once at start-up (SPEC: configuration by environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_FILE = "dibao.db"
DEFAULT_KEY_FILE = "dibao-keys.json"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    key_file: Path
    demo: bool = False
    graphiql: bool = False
    cors_origins: tuple[str, ...] = ()  # browsers' origins allowed to call the API; none by default

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def load_settings(*, demo: bool = False) -> Settings:
    """The embedded default is an SQLite file in the working folder."""
    url = os.environ.get("DIBAO_DATABASE_URL") or sqlite_url(Path.cwd() / DEFAULT_DATABASE_FILE)
    key_file = Path(os.environ.get("DIBAO_KEY_FILE") or Path.cwd() / DEFAULT_KEY_FILE)
    origins = tuple(
        o.strip() for o in os.environ.get("DIBAO_CORS_ORIGINS", "").split(",") if o.strip()
    )
    return Settings(
        database_url=url, key_file=key_file, demo=demo, graphiql=demo, cors_origins=origins
    )
