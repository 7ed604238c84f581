"""Settings handed to a real `booking` subprocess the way production hands them: as environment."""

import os
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from core.infra.config import Settings

REPO = Path(__file__).resolve().parents[1]


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """`settings` as the environment a `booking` process reads them from, plus `extra`; the
    parent's own project settings are dropped so they cannot leak in."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, timedelta):
            value = value.total_seconds()
        env[name.upper()] = str(value)
    env.update(PYTHONPATH=str(REPO), **extra)
    return env
