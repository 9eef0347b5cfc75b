"""Operating settings read from the environment, each with a clear error when it is not usable.

Every number has an upper bound as well as a lower one: a value that loads must also work for
years of sensor ticks (a look-back of a million days, a retry delay of 10^12 minutes would load
and then break every tick).
"""

from collections.abc import Mapping

from sugars_dagster.errors import ConfigError


def int_setting(
    environ: Mapping[str, str], name: str, default: int, minimum: int, maximum: int, meaning: str
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; it is {meaning}") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below {minimum}; it is {meaning}")
    if value > maximum:
        raise ConfigError(f"{name}={value} is above {maximum}; it is {meaning}")
    return value
