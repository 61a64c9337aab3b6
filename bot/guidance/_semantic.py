"""Sentence vectors for the guidance search: all-MiniLM-L6-v2, run in NumPy.

The model is the sentence-transformers model all-MiniLM-L6-v2 (Apache-2.0; see
``model/NOTICE.md``), bundled in the package as int8 weights with a scale per row
(``model/minilm-l6-int8.safetensors``, made by ``tools/make_minilm_int8.py``) and its WordPiece
tokenizer (``model/tokenizer.json``, read by the ``tokenizers`` library). Nothing is
downloaded. A BERT encoder is six layers of the same few matrix products; writing them
here keeps the install to NumPy and a 3 MB tokenizer wheel instead of PyTorch.

Vectors are mean-pooled over the tokens and normalised, as sentence-transformers does, so
a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from bot.config import DEFAULT_DATA_DIR
from bot.guidance._cache import DEQUANTISED

if TYPE_CHECKING:
    from bot.guidance._knowledge import Entry

MODEL_DIR = Path(__file__).with_name("model")
WEIGHTS = MODEL_DIR / "minilm-l6-int8.safetensors"
TOKENIZER = MODEL_DIR / "tokenizer.json"
MODEL_ID = "all-MiniLM-L6-v2/int8"
MAX_TOKENS = 256  # the model's own max_seq_length
LAYERS, HEADS, HIDDEN = 6, 12, 384
_EPS = 1e-12


# safetensors: an 8-byte header length, a JSON header naming each array's dtype, shape and
# byte range, then the bytes. Memory-mapped: no read and no per-array unzipping (an .npz
# took 60 ms), and only the rows of the word embeddings a text uses are ever paged in.
SAFETENSORS_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I8": np.int8}


def read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays of a .safetensors file (read-only views of the mapped file) and its
    metadata. :raises ValueError: when the file is not a whole safetensors file."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    size = struct.unpack("<Q", data[:8].tobytes())[0]
    header = json.loads(data[8:8 + size].tobytes())
    body = data[8 + size:]
    metadata = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        if end > len(body):
            raise ValueError(f"{path.name}: {name} runs past the end of the file")
        out[name] = body[start:end].view(SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out, metadata


def write_safetensors(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> None:
    """Write arrays as a .safetensors file, whole or not at all (a temporary file renamed)."""
    names = {np.dtype(v): k for k, v in SAFETENSORS_DTYPES.items()}
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, value in arrays.items():
        header[name] = {"dtype": names[value.dtype], "shape": list(value.shape),
                        "data_offsets": [offset, offset + value.nbytes]}
        offset += value.nbytes
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # keep the arrays 8-byte aligned
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(struct.pack("<Q", len(head)) + head)
            for value in arrays.values():
                out.write(np.ascontiguousarray(value).tobytes())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _stamp(path: Path) -> str:
    info = path.stat()
    return f"{MODEL_ID}:{info.st_size}:{info.st_mtime_ns}"


def dequantised(weights: Path, cache: Path | None) -> dict[str, np.ndarray]:
    """Every array of the int8 model but the word embeddings, as float32: from ``cache``
    (memory-mapped; 43 MB written beside the other caches the first time) when it was
    made from this weights file, else dequantised here (about 30 ms) and written there."""
    if cache is not None:
        try:
            arrays, metadata = read_safetensors(cache)
            if metadata.get("source") == _stamp(weights):
                return arrays
        except (OSError, ValueError, KeyError, struct.error):
            pass  # missing, stale or damaged: made again below
    arrays, _ = read_safetensors(weights)
    out: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if name.startswith("embeddings.word_embeddings."):
            continue
        if name.endswith(".q"):
            out[name[:-2]] = array.astype(np.float32) * arrays[name[:-2] + ".scale"]
        elif not name.endswith(".scale"):
            out[name] = np.asarray(array)
    if cache is not None:
        try:
            write_safetensors(cache, out, {"source": _stamp(weights)})
        except OSError:
            pass  # a read-only folder or a full disk: dequantised again at the next start
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (error under 1.5e-7): NumPy has no erf."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _EPS) * gain + bias


class Encoder:
    """Turns texts into unit vectors (384 numbers each)."""

    def __init__(self, weights: Path = WEIGHTS, tokenizer: Path = TOKENIZER) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        arrays, _ = read_safetensors(weights)
        # The word embeddings stay int8 (11.7 M numbers): only the rows a text uses are
        # turned back into floats. The rest is float32, kept between starts (dequantised).
        self._vocab_q = arrays["embeddings.word_embeddings.weight.q"]
        self._vocab_scale = arrays["embeddings.word_embeddings.weight.scale"]
        self._w = dequantised(weights, DEQUANTISED if weights == WEIGHTS else None)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        """Unit vectors, one row per text."""
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch):
            chunk = order[start:start + batch]
            longest = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), longest), dtype=np.int64)
            mask = np.zeros((len(chunk), longest), dtype=np.float32)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._w
        n, length = ids.shape
        x = (self._vocab_q[ids].astype(np.float32) * self._vocab_scale[ids]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = HIDDEN // HEADS
        blocked = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."

            def linear(v: np.ndarray, name: str) -> np.ndarray:
                # Two-dimensional, so NumPy hands the product to BLAS (a 3-D product with
                # a transposed matrix falls back to a loop 20 times slower).
                # (W @ vᵀ)ᵀ: the weight matrix as stored (row-major) on the left runs
                # about 40% faster in OpenBLAS than v @ Wᵀ for the few rows of a query.
                flat = np.ascontiguousarray((w[p + name + ".weight"] @ v.reshape(-1, v.shape[-1]).T).T)
                return (flat + w[p + name + ".bias"]).reshape(*v.shape[:-1], -1)

            def heads(v: np.ndarray) -> np.ndarray:
                return v.reshape(n, length, HEADS, head).transpose(0, 2, 1, 3)

            q = heads(linear(x, "attention.self.query"))
            k = heads(linear(x, "attention.self.key"))
            v = heads(linear(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, HIDDEN)
            x = _layer_norm(linear(context, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = _gelu(linear(x, "intermediate.dense"))
            x = _layer_norm(linear(hidden, "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@lru_cache(maxsize=1)
def shared_encoder() -> Encoder:
    """One encoder per process (about 90 MB of float32 weights)."""
    return Encoder()


# --- the entries' vectors ------------------------------------------------------------------

# What of an entry is embedded, and how each kind counts: an entry's "question" score is
# its best title or phrasing (examples of how people ask), its "answer" score the title
# with the answer. Weights fitted on the tuning part of the evaluation set
# (benchmarks/guidance/tuning.toml; see benchmarks/README.md).
QUESTION_KINDS = ("title", "phrasing")
ANSWER_KINDS = ("answer",)


def entry_texts(entries: Sequence["Entry"]) -> tuple[list[str], list[int], list[str]]:
    """(texts, owning entry index, kind) for every passage embedded."""
    texts, owners, kinds = [], [], []
    for i, e in enumerate(entries):
        for kind, text in [("title", e.title), ("answer", f"{e.title}. {e.answer}"),
                           *(("phrasing", p) for p in e.phrasings)]:
            texts.append(text)
            owners.append(i)
            kinds.append(kind)
    return texts, owners, kinds


class EntryVectors:
    """The vectors of every entry's passages, cached by text in ``cache`` (an .npz file):
    only passages not seen before are encoded (about 25 ms each)."""

    def __init__(self, entries: Sequence["Entry"], cache: Path | None = None,
                 encoder: Encoder | None = None) -> None:
        self.encoder = encoder or shared_encoder()
        texts, owners, kinds = entry_texts(entries)
        self.matrix = cached_vectors(texts, cache, self.encoder)
        self.owners = np.array(owners, dtype=np.int64)
        self.kinds = np.array(kinds)
        self.count = len(entries)
        self._question = np.isin(self.kinds, QUESTION_KINDS)
        self._answer = np.isin(self.kinds, ANSWER_KINDS)
        self._question_count = np.maximum(np.bincount(self.owners[self._question], minlength=self.count), 1)

    def similarities(self, query_vector: np.ndarray, mean_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Per entry: (question-like similarity, answer similarity). The question-like one
        is the best of the entry's title and phrasings, blended with their mean by
        ``mean_share``: an entry that several phrasings bring near beats one that a single
        phrasing does."""
        sims = self.matrix @ query_vector
        question = np.full(self.count, -1.0, dtype=np.float32)
        answer = np.full(self.count, -1.0, dtype=np.float32)
        np.maximum.at(question, self.owners[self._question], sims[self._question])
        np.maximum.at(answer, self.owners[self._answer], sims[self._answer])
        if mean_share:
            total = np.zeros(self.count, dtype=np.float32)
            np.add.at(total, self.owners[self._question], sims[self._question])
            question = (1 - mean_share) * question + mean_share * total / self._question_count
        return question, answer


# Caches read as well as a file's own: the bundled knowledge file's vectors, so a copy or
# an edit of it (tests, a server's own file) encodes only what changed.
SHARED_CACHES: list[Path] = [DEFAULT_DATA_DIR / "guidance.vectors.npz",
                             DEFAULT_DATA_DIR / "guidance.vectors.scope.npz"]


def cached_vectors(texts: Sequence[str], cache: Path | None, encoder: Encoder) -> np.ndarray:
    """The vectors of ``texts`` (one row each), encoding only those no cache holds."""
    known: dict[str, np.ndarray] = {}
    for shared in SHARED_CACHES:
        if shared != cache:
            known.update(_read_cache(shared))
    own = _read_cache(cache)
    known.update(own)
    keys = [_key(t) for t in texts]
    missing = {k: t for k, t in zip(keys, texts) if k not in known}
    if missing:
        for key, vector in zip(missing, encoder.encode(list(missing.values()))):
            known[key] = vector.astype(np.float16).astype(np.float32)  # as the cache keeps it
    if missing or set(own) != set(keys):
        _write_cache(cache, {k: known[k] for k in dict.fromkeys(keys)})
    return np.stack([known[k] for k in keys]) if texts else np.zeros((0, HIDDEN), np.float32)


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _read_cache(path: Path | None) -> dict[str, np.ndarray]:
    """Vectors by text key (a hash of the text) from the cache file, if any."""
    if path is None or not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["model"]) != MODEL_ID:
                return {}
            return dict(zip(stored["keys"].tolist(), stored["vectors"].astype(np.float32)))
    except (OSError, ValueError, KeyError):
        return {}  # a damaged cache is rebuilt


def _write_cache(path: Path | None, vectors: dict[str, np.ndarray]) -> None:
    if path is None:
        return
    try:
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")  # writers never share one
        np.savez(tmp, model=np.array(MODEL_ID), keys=np.array(list(vectors)),
                 vectors=np.stack(list(vectors.values())).astype(np.float16))
        tmp.replace(path)
    except OSError:
        pass  # a read-only data folder: vectors are recomputed at each start
