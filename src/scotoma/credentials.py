"""Credentials must never reach a log: spec strings and configs are written to spec.json, caches and
reports. `find_credential` spots the two ways a secret slips into a spec string, so both the spec parser
(scotoma.models.spec) and the run directory (scotoma.runlog) refuse it before anything is written.
"""

from __future__ import annotations

import re

# An option such as ?api_key=... or &hf_token=...: a name with a part (between underscores) that names a
# secret. Names ending in _env (api_key_env=OPENAI_API_KEY) only name the environment variable holding
# the secret, which is how a secret should be given; max_tokens is a count, not a token.
_OPTION = re.compile(r"[?&](?P<name>[A-Za-z0-9_]+)=(?P<value>[^&\s\"]*)")
_SECRET_PARTS = {"key", "apikey", "token", "secret", "password", "passwd", "pwd", "credential", "credentials"}
# user:password@ inside a URL (e.g. openai:gpt-4o@https://user:pw@host/v1)
_URL_USERINFO = re.compile(r"://[^/@\s\"]+:[^/@\s\"]*@")

HOW = (
    "put the secret in an environment variable (for openai: specs name it with the api_key_env option, "
    "default OPENAI_API_KEY); specs are written to run directories and caches"
)


def find_credential(text: str) -> str | None:
    """What in `text` looks like a secret (e.g. "option 'api_key'"), or None."""
    for match in _OPTION.finditer(text):
        parts = match.group("name").lower().split("_")
        if _SECRET_PARTS & set(parts) and parts[-1] != "env" and match.group("value"):
            return f"option {match.group('name')!r}"
    if _URL_USERINFO.search(text):
        return "a user:password@ in a URL"
    return None


__all__ = ["HOW", "find_credential"]
