"""The Kubeflow tests need the kubeflow extra (kfp); without it they are skipped, loudly."""

import pytest

pytest.importorskip("kfp", reason="the kubeflow extra is not installed: "
                    "pip install -e '.[dev,kubeflow]'")
