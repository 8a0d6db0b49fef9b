"""The pipeline's images (docker/trainer.Dockerfile, docker/pipeline.Dockerfile), checked
without a Docker engine: pinned bases and installs, non-root, every file they copy exists and
enters the build context, their commands are sqlrec's, and the components name them."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sqlrec import cli
from sqlrec.kubeflow import components, katib

REPO = Path(__file__).resolve().parents[3]
DOCKER = REPO / "docker"
TRAINER, PIPELINE = DOCKER / "trainer.Dockerfile", DOCKER / "pipeline.Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines()
                                          if not line.lstrip().startswith("#")))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip()]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def dockerignore_allows(path: str) -> bool:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    parts = Path(path).parts
    return any("/".join(parts[:length]) in allowed for length in range(1, len(parts) + 1))


@pytest.mark.parametrize("dockerfile", [TRAINER, PIPELINE], ids=lambda path: path.name)
def test_every_copied_file_exists_and_enters_the_build_context(dockerfile):
    sources = [path for instruction, argument in instructions(dockerfile)
               if instruction == "COPY" and not argument.startswith("--from")
               for path in shlex.split(argument)[:-1]]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert dockerignore_allows(source), f"{source} is left out by .dockerignore"


@pytest.mark.parametrize("dockerfile", [TRAINER, PIPELINE], ids=lambda path: path.name)
def test_the_images_run_as_the_non_root_user_and_their_command_is_sqlrecs(dockerfile):
    steps = instructions(dockerfile)
    users = [argument for instruction, argument in steps if instruction == "USER"]
    assert users[-1] == "10001:10001"
    command = json.loads(dict(steps)["CMD"])
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts
    if command[-1] != "--help":
        assert cli.build_parser().parse_args(command[1:]).func.__module__.startswith(
            "sqlrec.cli.")
    # batch images: the service's health check would ask a port nobody listens on
    assert dict(steps)["HEALTHCHECK"] == "NONE"


def test_the_trainer_is_cuda_13_with_implicits_gpu_build_at_pinned_versions():
    steps = instructions(TRAINER)
    base = next(argument for instruction, argument in steps
                if instruction == "ARG" and argument.startswith("CUDA_IMAGE="))
    assert re.fullmatch(r"CUDA_IMAGE=nvidia/cuda:13\.\d+\.\d+-runtime-ubuntu\d+\.\d+", base)
    install = " ".join(argument for instruction, argument in steps if instruction == "RUN"
                       and "--constraint docker/kubeflow-constraints.txt" in argument)
    assert '".[kubeflow]"' in install and '"implicit[gpu]"' in install
    # implicit's gpu extra asks for rmm-cu13, which the constraints (a CPU machine's) lack
    gpu_extra = re.search(r"rmm-cu13==([\d.]+)", install)
    assert gpu_extra, install
    assert "pip check" in install
    # the project as the service image lays it out: the trainer reads the same profile
    env = " ".join(argument for instruction, argument in steps if instruction == "ENV")
    assert "SQLREC_PROJECT_DIR=/app" in env and "DBT_PROFILES_DIR=/app" in env
    assert "OPENBLAS_NUM_THREADS=1" in env


def test_the_pipeline_image_is_the_service_image_plus_kfp_at_the_tested_versions():
    steps = instructions(PIPELINE)
    base = next(argument for instruction, argument in steps if instruction == "ARG")
    service = (DOCKER / "Dockerfile").read_text()
    assert base == "SQLREC_IMAGE=sqlrec:0.1.0" and "-t sqlrec:0.1.0" in service
    install = " ".join(argument for instruction, argument in steps if instruction == "RUN")
    locked = pins(DOCKER / "kubeflow-constraints.txt")
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["kubeflow"]
    for line in extra:
        requirement = Requirement(line)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert f"{requirement.name}=={locked[name]}" in install
        assert requirement.specifier.contains(locked[name])


def test_the_kubeflow_constraints_agree_with_the_service_constraints_where_kfp_allows():
    service, kubeflow = pins(DOCKER / "constraints.txt"), pins(DOCKER / "kubeflow-constraints.txt")
    differing = {name for name in set(service) & set(kubeflow) if service[name] != kubeflow[name]}
    # kfp 2.17 pins requests exactly; nothing else may differ from what the service runs
    assert differing <= {"requests"}
    assert set(service) <= set(kubeflow)


def test_the_components_and_the_katib_trials_name_these_images():
    built = set()
    for dockerfile in (TRAINER, PIPELINE):
        tags = re.findall(r"docker build -f docker/\S+ -t (\S+) \.", dockerfile.read_text())
        built.update(tag for tag in tags if tag != "sqlrec:0.1.0")
    assert set(components.IMAGES) == built
    assert katib.TRAINER_IMAGE == components.TRAINER_IMAGE
