"""Installs tfadv: adversarial training for Keras 3 / TensorFlow image classifiers."""

import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    """The `__version__` of `tfadv/_version.py`, read as text (importing tfadv needs TensorFlow)."""
    with open(os.path.join(HERE, "tfadv", "_version.py"), encoding="utf-8") as f:
        match = re.search(r'^__version__ = "([^"]+)"$', f.read(), re.MULTILINE)
    if match is None:
        raise RuntimeError('tfadv/_version.py defines no `__version__ = "..."` line.')
    return match.group(1)


# The CPU wheel by default; GPU users install with TFADV_TENSORFLOW="tensorflow[and-cuda]".
TENSORFLOW = os.environ.get("TFADV_TENSORFLOW", "tensorflow-cpu")

INSTALL_REQUIRES = [
    f"{TENSORFLOW}>=2.18,<2.22",
    "keras>=3.8,<4",
    "numpy>=1.26",
    "absl-py>=2.0",
    "ml_collections>=1.0",  # recipes are ml_collections config files (tfadv train --config)
    "tensorflow-datasets>=4.9",
    "keras-tuner>=1.4",
    "scipy>=1.10",  # with scikit-learn: keras-tuner's BayesianOptimization
    "scikit-learn>=1.3",
    "tf2onnx>=1.17",
    "onnx>=1.14",
    "onnxruntime>=1.18",
    "matplotlib>=3.8",  # tfadv train's robust-accuracy-per-epoch plot, sweep and table figures
]

JAX = ["jax>=0.4.30"]
DOCS = ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.27"]

setup(
    name="tfadv",
    version=read_version(),
    description="Adversarial training for Keras 3 / TensorFlow image classifiers through model.fit.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tfadv", "tfadv.*"]),
    py_modules=["tfadv_cli"],  # the console script: quiets TensorFlow before `import tfadv`
    package_data={"tfadv.data": ["_embedded/*.npz", "_embedded/*.md"]},
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require={
        # `build` and the build backend (pyproject.toml's build-system), for the packaging test,
        # which builds without isolation (no download): a new venv's setuptools is older.
        "test": [
            "pytest>=8",
            "pytest-xdist>=3.5",
            "ruff>=0.6",
            "build>=1.2",
            "setuptools>=68",
            "wheel",
            *DOCS,
            # The JAX backend's tier (tests/backends): the CPU wheel, never in the default install.
            *JAX,
        ],
        # Keras' JAX backend (KERAS_BACKEND=jax): the CPU wheel; on a GPU use jax[cuda12].
        "jax": JAX,
        # Keras' PyTorch backend (KERAS_BACKEND=torch), for the opt-in `-m torch_backend` tier.
        # Install the CPU wheel first (`pip install torch==2.13.0 --index-url
        # https://download.pytorch.org/whl/cpu`): a plain `torch` requirement pulls the CUDA build.
        "torch": ["torch>=2.1"],
        # mkdocs.yml: the site, its API reference from the docstrings (built by tests/test_docs.py).
        "docs": DOCS,
        "plot": ["matplotlib>=3.8"],  # a default dependency now; kept for `pip install tfadv[plot]`
        "bench": [
            "adversarial-robustness-toolbox>=1.20",
            "multiprocess",
            # benchmarks/autoattack_parity.py: the reference AutoAttack in PyTorch. Install the CPU
            # wheel first (`pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu`
            # or a local CPU wheel): a plain `torch` requirement pulls the CUDA build (gigabytes).
            # onnx2torch needs torchvision; the parity benchmark's default converter does not.
            "torch>=2.1",
            "torchattacks>=3.5",
            "onnx2torch>=1.5",
        ],
    },
    entry_points={"console_scripts": ["tfadv=tfadv_cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Keras",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
