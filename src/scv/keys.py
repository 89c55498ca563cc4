"""Secret keys (HMAC) from the environment or a key file: never logged, never in the lakehouse.

Shared by the erasure register (`scv.erasure`) and pseudonymisation (`scv.pseudonymise`),
each with its own variable and file setting under `compliance:`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from scv.errors import ConfigError
from scv.lakehouse import Lakehouse, is_uri


def read_key(env: str, key_file: str | None, setting: str, base_dir: Path, lake: Lakehouse, *,
             create: bool = False, missing: str) -> bytes:
    """The key: environment variable `env`, else `key_file` (relative to `base_dir`).

    `setting` names the key file's place in scv.yaml for messages. With `create`, a configured
    key file that does not exist yet is made (32 random bytes as hex, readable by the owner
    only). `missing` is the message when neither is given: it should name both ways.
    """
    if os.environ.get(env):
        return os.environ[env].encode("utf-8")
    if key_file:
        path = Path(key_file)
        path = path if path.is_absolute() else base_dir / path
        if not is_uri(lake.root) and path.resolve().is_relative_to(Path(lake.root).resolve()):
            raise ConfigError(f"{setting}: {path} is inside the lakehouse; "
                           "keep the key apart from the data it protects")
        if path.is_file():
            return path.read_bytes().strip()
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            return path.read_bytes().strip()
        raise ConfigError(f"{setting}: {path} does not exist; restore it, or set {env}")
    raise ConfigError(missing)
