"""Operating settings read from the environment, each with a clear error when it is not usable."""

from collections.abc import Mapping

from sugars_dagster.errors import ConfigError


def int_setting(environ: Mapping[str, str], name: str, default: int, minimum: int, meaning: str) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; it is {meaning}") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below {minimum}; it is {meaning}")
    return value
