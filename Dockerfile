# One image for every production process: `booking api` (default), `booking worker`,
# `booking migrate`. docker-compose.yml shows how they run together.
#
# Python 3.11 is the version the test suite runs on (requires-python >= 3.11).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Build stage: a virtualenv holding the installed project (a regular install, not editable,
# so the image needs no source tree; the migrations travel as package data of `core.infra`).
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# README.md is the package's long description, so the build reads it.
COPY pyproject.toml README.md ./
# One line per package that pyproject.toml's [tool.setuptools.packages.find] includes;
# tests/unit/test_deployment.py fails when a package is added there but not here.
COPY core ./core
COPY api ./api
COPY worker ./worker
COPY workflows ./workflows
COPY activities ./activities
COPY sandbox ./sandbox
COPY cli ./cli
COPY devstack ./devstack
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/booking --help > /dev/null

# Runtime stage: the virtualenv only, run by an unprivileged user.
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 booking \
    && useradd --system --uid 10001 --gid booking --create-home --home-dir /home/booking booking
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# The working directory is where Settings looks for `.env` and DATA_DIR (embedded mode only);
# production passes settings as environment variables, so it stays empty. A numeric USER lets
# Kubernetes (runAsNonRoot) verify the user is not root.
WORKDIR /home/booking
USER 10001:10001

# 8000: the HTTP API (API_PORT). 9464: the worker's Prometheus exporter (WORKER_METRICS_ADDRESS).
EXPOSE 8000 9464
# The API drains requests and the worker finishes in-flight tasks on SIGTERM (SHUTDOWN_GRACE).
STOPSIGNAL SIGTERM
ENTRYPOINT ["booking"]
CMD ["api"]
