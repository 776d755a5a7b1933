"""Redaction keys kept outside a cassette (`druid-sim record --redaction-key`).

By default a cassette's placeholders are HMACs under a random salt stored in its own header, so anyone
can replay it, in CI too, with nothing but the file. The price: with the cassette in hand, a short or
common password can be guessed offline (try a candidate, compare placeholders). A key kept outside the
cassette removes that: the header names the key by `key_id` (an HMAC of a fixed label, which says
nothing about the key), and a replay needs the key itself, from `--redaction-key FILE`, the
`DRUID_SIM_REDACTION_KEY` environment variable (a CI secret) or the default key file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from druid_sim.util.quoting import shown

#: The environment variable holding a redaction key (its 64 hex digits), e.g. a CI secret.
KEY_ENV = "DRUID_SIM_REDACTION_KEY"
_KEY_ID_LABEL = b"druid-sim redaction key id"
_KEY_HEX_DIGITS = 64


class RedactionKeyError(ValueError):
    """A redaction key cannot be found, read or used; the message says how to fix it."""


def default_key_file() -> Path:
    """``$XDG_CONFIG_HOME/druid-sim/redaction.key`` (``~/.config/...`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "druid-sim" / "redaction.key"


def key_id(key: str) -> str:
    """The public name of a key: 16 hex digits of HMAC-SHA256(key, a fixed label)."""
    return hmac.new(key.encode("ascii"), _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _checked(key: str, source: str) -> str:
    key = key.strip().lower()
    if len(key) != _KEY_HEX_DIGITS or any(c not in "0123456789abcdef" for c in key):
        raise RedactionKeyError(
            f"{source} is not a druid-sim redaction key ({_KEY_HEX_DIGITS} hex digits); make one with "
            "`druid-sim record --redaction-key FILE ...`, which creates FILE"
        )
    return key


def read_key(path: str | Path) -> str:
    """The key stored in ``path``; raises RedactionKeyError naming the file and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise RedactionKeyError(f"the redaction key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RedactionKeyError(f"cannot read the redaction key file {path} ({exc})") from None
    return _checked(text, f"{path}")


def create_or_read_key(path: str | Path) -> str:
    """The key in ``path``, creating the file (mode 0600, parents 0700) with a new random key if missing."""
    path = Path(path)
    if path.exists():
        return read_key(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_hex(_KEY_HEX_DIGITS // 2)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another recorder made it a moment ago: use theirs
        return read_key(path)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def recording_key(path: str | Path | None) -> str | None:
    """The key a new recording uses: ``path`` (created if missing), else ``$DRUID_SIM_REDACTION_KEY``, else None
    (a salt in the header)."""
    if path:
        return create_or_read_key(path)
    env = os.environ.get(KEY_ENV)
    return _checked(env, f"${KEY_ENV}") if env else None


def find_key(wanted_id: str, path: str | Path | None = None) -> str:
    """The key whose id is ``wanted_id``: from ``path``, else ``$DRUID_SIM_REDACTION_KEY``, else the default file.

    Raises RedactionKeyError saying where it looked and how to provide the key.
    """
    tried: list[str] = []
    candidates: list[tuple[str, str]] = []
    if path is not None:
        candidates.append((read_key(path), f"--redaction-key {path}"))
    else:
        env = os.environ.get(KEY_ENV)
        if env:
            candidates.append((_checked(env, f"${KEY_ENV}"), f"${KEY_ENV}"))
        default = default_key_file()
        if default.exists():
            candidates.append((read_key(default), str(default)))
        else:
            tried.append(f"{default} (does not exist)")
    for key, source in candidates:
        if key_id(key) == wanted_id:
            return key
        tried.append(f"{source} (key id {key_id(key)})")
    where = "; ".join(tried) or "nowhere"
    raise RedactionKeyError(
        f"this cassette was redacted with a key kept outside it (key id {shown(wanted_id)}), and that key was not found "
        f"(looked at: {where}). Replay it with --redaction-key FILE (the file `druid-sim record --redaction-key` "
        f"used) or set {KEY_ENV} to the key's 64 hex digits, e.g. from a CI secret"
    )
