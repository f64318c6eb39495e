"""A model's identity: its spec, plus a digest of its weights when they are a local folder.

A folder's spec ("hf:runs/x/model", "builtin:answerer") stays the same when the weights in it change (a
retrained built-in model, a second training into the same folder). Keyed by the spec alone, the response
cache would serve the old weights' answers for the new ones, and a bench or probe run directory would
resume with records of the old weights. `weights_identity` appends a digest of the weights to the spec of
any local folder ("hf:<folder>#<digest>"). `get_model` gives that identity to the backend it loads, so the
cache key of every role (target, questioner, judge, captioner, synth's producers) carries it; bench and
probe open their run directories with it, so a run of other weights is refused instead of resumed. Hub ids,
servers and scripted models keep their spec as it is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from scotoma.models.spec import ModelSpec

_HASH_LIMIT = 256 * 2**20  # hash weights up to this size in full; bigger folders by size and mtime


def weights_digest(folder: str | Path) -> str:
    """A short digest of the *.safetensors in `folder`: their bytes, or (size, mtime) when large."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors weights in {folder}")
    digest = hashlib.sha256()
    full = sum(f.stat().st_size for f in files) <= _HASH_LIMIT
    for f in files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes() if full else f"{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def local_folder(spec: str) -> Path | None:
    """The weights folder of an hf: folder or builtin: spec, or None (hub ids, servers, scripted)."""
    parsed = ModelSpec.parse(spec)
    if parsed.kind == "builtin":
        from scotoma.models.builtin import builtin_path

        return builtin_path(parsed.target)
    if parsed.kind == "hf" and Path(parsed.target).is_dir():
        return Path(parsed.target)
    return None


def weights_identity(spec: str) -> str:
    """`spec`, with "#<digest>" of its weights when they are a local folder of safetensors."""
    try:
        folder = local_folder(spec)
    except (ValueError, FileNotFoundError):  # a name of a model passed in memory, an unknown builtin:
        return spec  # loading it says what is wrong
    if folder is not None and any(folder.glob("*.safetensors")):
        return f"{spec}#{weights_digest(folder)}"
    return spec


__all__ = ["local_folder", "weights_digest", "weights_identity"]
