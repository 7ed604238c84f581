"""The embedded stack's SECRETS_ENCRYPTION_KEY: the configured one, or one generated once and
kept in DATA_DIR beside the embedded database whose org secrets it seals (mode 0600), so
`booking dev` and the `booking` commands run against its embedded database need no set-up.
Production sets the key itself: the `booking` commands use this only with DATABASE_URL unset."""

import os

from pydantic import SecretStr

from core.infra.config import Settings
from core.infra.keys import generate_key

KEY_FILE = "secrets-key"


def with_dev_secrets_key(settings: Settings) -> Settings:
    """`settings`, with the key kept in DATA_DIR when none is configured."""
    if settings.secrets_encryption_key is not None:
        return settings
    data_dir = settings.data_dir.expanduser().resolve()
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two commands starting at once keep the one key written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(generate_key("dev"))
    key = SecretStr(path.read_text().strip())
    return settings.model_copy(update={"secrets_encryption_key": key})
