"""How the node logs: HOMEWARD_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR; default INFO) and
HOMEWARD_LOG_FORMAT (`json`, one JSON object a line, the default; or `text`)."""

from __future__ import annotations

from typing import Literal

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogSettingsError(Exception):
    """A bad logging setting, in one line."""


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEWARD_LOG_", extra="ignore",
                                      env_ignore_empty=True, case_sensitive=False)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = "json"


def log_settings() -> LogSettings:
    try:
        return LogSettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "HOMEWARD_LOG_" + str(first["loc"][0]).upper()
        raise LogSettingsError(f"{name}: {first['msg']}") from None
