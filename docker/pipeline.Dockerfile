# syntax=docker/dockerfile:1
# sqlrec-pipeline: the dbt and Python steps of the Kubeflow pipeline (build, blend, evaluate,
# quality gate, publish). It is the service image (docker/Dockerfile) with the kubeflow extra:
# KFP runs each step as a lightweight Python component, whose launcher needs kfp in the image.
#   docker build -f docker/Dockerfile -t sqlrec:0.1.0 .
#   docker build -f docker/pipeline.Dockerfile -t sqlrec-pipeline:0.1.0 .
# kfp and its dependencies at the versions of docker/kubeflow-constraints.txt (those the tests
# ran; `docker/lock_requirements.py --extra kubeflow` writes it).
ARG SQLREC_IMAGE=sqlrec:0.1.0
FROM ${SQLREC_IMAGE}
USER root
COPY docker/kubeflow-constraints.txt /tmp/kubeflow-constraints.txt
RUN PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 /opt/sqlrec/bin/pip install \
      --constraint /tmp/kubeflow-constraints.txt kfp==2.17.3 kfp-kubernetes==2.17.3 \
 && /opt/sqlrec/bin/pip check \
 && rm /tmp/kubeflow-constraints.txt
USER 10001:10001
# a batch step, not the service: no health check to answer
HEALTHCHECK NONE
CMD ["sqlrec", "pipeline", "--help"]
