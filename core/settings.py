"""One typed settings object, built once at start-up from the environment and an
optional `.env` file, then passed down. Nothing else reads os.environ."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


@dataclass(frozen=True)
class Settings:
    project_dir: Path
    data_dir: Path          # SQLite files, tracker store, logs (embedded default)
    model_dir: Path         # trained Rasa models
    database_url: str       # grid directory, tickets, broadcasts
    bot_names: tuple[str, ...]
    host: str
    port: int               # Rasa server (channels, demo page)
    action_port: int        # rasa-sdk action server
    staff_port: int = 5080  # staff HTTP API (broadcasts; the console uses it)
    staff_token: str = ""   # bearer token of the staff API; generated into DATA_DIR if unset
    onebot_api_url: str = ""        # OneBot implementation (QQ account) for broadcasts
    onebot_access_token: str = ""
    broadcast_concurrency: int = 48
    broadcast_lease: float = 60.0
    broadcast_limits: tuple[tuple[str, str], ...] = ()   # (platform, "20/60:5") overrides
    cors_origins: tuple[str, ...] = ()   # other web origins allowed to call the Rasa server
    event_broker_url: str = ""   # amqp://user:password@host:port/ : Rasa's Pika broker (statistics)

    @classmethod
    def current(cls) -> Settings:
        """This process's settings: built from the environment on first use, then
        cached (components that Rasa or rasa-sdk construct cannot be handed them)."""
        return _current()

    @classmethod
    def forget_current(cls) -> None:
        """Build `current()` afresh on its next call (tests that change the environment)."""
        _current.cache_clear()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 project_dir: Path | None = None) -> Settings:
        project = Path(project_dir or os.environ.get("CLOUD_DOCTOR_HOME") or PROJECT_DIR).resolve()
        merged = {**_read_dotenv(project / ".env"), **(os.environ if env is None else env)}
        data_dir = Path(merged.get("DATA_DIR", project / "var")).resolve()
        model_dir = Path(merged.get("MODEL_DIR", project / "models")).resolve()
        database_url = merged.get("DATABASE_URL") or f"sqlite:///{data_dir / 'cloud_doctor.db'}"
        names = tuple(n.strip() for n in merged.get("BOT_NAMES", "云博士").split(",") if n.strip())
        try:
            port = int(merged.get("PORT", "5005"))
            action_port = int(merged.get("ACTION_PORT", "5055"))
            staff_port = int(merged.get("STAFF_PORT", "5080"))
            concurrency = int(merged.get("BROADCAST_CONCURRENCY", "48"))
            lease = float(merged.get("BROADCAST_LEASE", "60"))
        except ValueError as exc:
            raise ValueError(f"PORT, ACTION_PORT, STAFF_PORT, BROADCAST_CONCURRENCY and "
                             f"BROADCAST_LEASE must be numbers: {exc}") from exc
        if concurrency < 1 or lease < 3:
            raise ValueError("BROADCAST_CONCURRENCY must be >= 1 and BROADCAST_LEASE >= 3")
        limits = tuple((key.removeprefix("BROADCAST_LIMIT_").lower(), value)
                       for key, value in sorted(merged.items())
                       if key.startswith("BROADCAST_LIMIT_") and value)
        return cls(
            project_dir=project,
            data_dir=data_dir,
            model_dir=model_dir,
            database_url=database_url,
            bot_names=names or ("云博士",),
            host=merged.get("HOST", "127.0.0.1"),
            port=port,
            action_port=action_port,
            staff_port=staff_port,
            staff_token=merged.get("STAFF_API_TOKEN", ""),
            onebot_api_url=merged.get("ONEBOT_API_URL", ""),
            onebot_access_token=merged.get("ONEBOT_ACCESS_TOKEN", ""),
            broadcast_concurrency=concurrency,
            broadcast_lease=lease,
            broadcast_limits=limits,
            cors_origins=tuple(o.strip() for o in merged.get("CORS_ORIGINS", "").split(",")
                               if o.strip()),
            event_broker_url=_amqp_url(merged.get("EVENT_BROKER_URL", "")),
        )


def _amqp_url(value: str) -> str:
    """EVENT_BROKER_URL: empty (the SQL event broker) or amqp[s]://user:password@host[:port]/."""
    value = value.strip()
    if not value:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("amqp", "amqps") or not parts.hostname or not parts.username:
        raise ValueError("EVENT_BROKER_URL must look like amqp://user:password@host:5672/ "
                         "(RabbitMQ for the statistics' event broker)")
    return value


@functools.lru_cache(maxsize=1)
def _current() -> Settings:
    return Settings.from_env()


MIN_TOKEN_LENGTH = 16
_PLACEHOLDER = ("CHANGE_ME", "CHANGEME", "PLACEHOLDER", "<", ">", "XXX")


def check_secret(name: str, value: str) -> str:
    """A configured secret must be long and not the sample's placeholder; the error
    says which variable is wrong without repeating its value."""
    if len(value) < MIN_TOKEN_LENGTH:
        raise ValueError(f"{name} is too short ({len(value)} characters; at least "
                         f"{MIN_TOKEN_LENGTH}): set a long random value or leave it unset")
    if any(mark in value.upper() for mark in _PLACEHOLDER):
        raise ValueError(f"{name} is still the placeholder of .env.example: set a long random "
                         "value or leave it unset")
    return value


def make_private(directory: Path) -> Path:
    """Create `directory` for the service's user only (0700) and take group and other
    permissions off what is in it (databases hold webhook keys and conversations)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    for path in directory.rglob("*"):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            path.chmod(mode & 0o700)
    return directory
