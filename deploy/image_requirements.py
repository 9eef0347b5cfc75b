"""Print the locked pins an install of this project needs, from `pip install --dry-run --report`.

The Dockerfile installs these before it copies the package, so that the dependencies form a layer
of their own that a code change does not rebuild.
"""

import json
import sys

with open(sys.argv[1]) as report:
    plan = json.load(report)["install"]
for item in plan:
    name, version = item["metadata"]["name"], item["metadata"]["version"]
    if name.replace("_", "-").lower() != "sugars-dagster":
        print(f"{name}=={version}")
