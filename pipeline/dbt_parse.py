"""`python -m pipeline.dbt_parse`: write dbt_project/target/manifest.json.

@dbt_assets reads the manifest when the definitions are imported, so `make` runs this
before anything (tests, the UI, `make run`) imports `pipeline.definitions`.
"""

from __future__ import annotations

import subprocess
import sys

from pipeline import config, warehouse


def main() -> int:
    env = warehouse.dbt_env()
    from pipeline.resources import dbt_executable

    cmd = [dbt_executable(), "parse", "--quiet", "--project-dir", str(config.DBT_PROJECT_DIR),
           "--profiles-dir", str(config.DBT_PROJECT_DIR)]
    return subprocess.call(cmd, cwd=config.DBT_PROJECT_DIR, env=env)


if __name__ == "__main__":
    sys.exit(main())
