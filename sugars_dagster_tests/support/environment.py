"""The environment of the product's processes in tests and benchmarks: this process's, less
every SUGARS_* and DAGSTER_* setting of the machine running them, plus the test's own."""

import os
from collections.abc import Mapping

PRODUCT_PREFIXES = ("SUGARS_", "DAGSTER_")


def product_environment(*settings: Mapping[str, str], without: tuple[str, ...] = ()) -> dict[str, str]:
    """This environment without the product's settings (nor those starting with `without`), then
    `settings` in order, later ones winning."""
    dropped = PRODUCT_PREFIXES + without
    environment = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    for layer in settings:
        environment |= layer
    return environment
