# syntax=docker/dockerfile:1
# sqlrec-trainer: the pipeline's training step (ALS on the GPU with implicit's CUDA 13 build,
# EASE) and the Katib trials; every other sqlrec command works in it too.
#   docker build -f docker/trainer.Dockerfile -t sqlrec-trainer:0.1.0 .
#   docker run --rm --gpus all sqlrec-trainer:0.1.0 python -c "import implicit.gpu; print(implicit.gpu.HAS_CUDA)"
# The package and the kubeflow extra are installed from this repository at the versions of
# docker/kubeflow-constraints.txt (those the tests ran); implicit's GPU extra adds RAPIDS' memory
# manager for CUDA 13, pinned here. Pin the base by digest in your registry's CI.
ARG CUDA_IMAGE=nvidia/cuda:13.0.2-runtime-ubuntu24.04

FROM ${CUDA_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install --yes --no-install-recommends python3.12 python3.12-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3.12 -m venv /opt/sqlrec \
 && /opt/sqlrec/bin/pip install pip==26.3 setuptools==84.2.1
WORKDIR /src
COPY docker/kubeflow-constraints.txt docker/kubeflow-constraints.txt
COPY pyproject.toml README.md ./
COPY python/sqlrec python/sqlrec
RUN /opt/sqlrec/bin/pip install --no-build-isolation \
      --constraint docker/kubeflow-constraints.txt ".[kubeflow]" "implicit[gpu]" \
      rmm-cu13==26.10.0 \
 && /opt/sqlrec/bin/pip check

FROM ${CUDA_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install --yes --no-install-recommends python3.12 \
 && rm -rf /var/lib/apt/lists/*
# as docker/Dockerfile: the dbt project at /app, the baked profile, and implicit's advice of
# single-threaded BLAS (its GPU and CPU solvers bring their own parallelism)
ENV PATH=/opt/sqlrec/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SQLREC_PROJECT_DIR=/app \
    DBT_PROFILES_DIR=/app \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    MPLCONFIGDIR=/tmp/matplotlib \
    OPENBLAS_NUM_THREADS=1
RUN groupadd --system --gid 10001 sqlrec \
 && useradd --system --uid 10001 --gid sqlrec --home-dir /home/sqlrec --create-home \
            --shell /usr/sbin/nologin sqlrec
COPY --from=build /opt/sqlrec /opt/sqlrec
WORKDIR /app
COPY dbt_project.yml ./
COPY models models
COPY macros macros
COPY seeds seeds
COPY tests tests
COPY analyses analyses
COPY profiles/profiles.yml profiles.yml
RUN mkdir target logs && chown sqlrec:sqlrec target logs
USER 10001:10001
# a batch image (pipeline steps, Katib trials): nothing listens, so no health check
HEALTHCHECK NONE
CMD ["sqlrec", "train"]
