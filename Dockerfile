# One image for the code server, the webserver and the daemon.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    TZ=UTC

WORKDIR /opt/dagster/app

# Dependencies first (locked), so code changes do not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
COPY sugars_dagster ./sugars_dagster
RUN pip install -c constraints.txt ".[s3,docker]"

COPY dagster.yaml workspace.yaml /opt/dagster/home/
COPY deploy/docker-runs/dagster.yaml /opt/dagster/docker-runs/dagster.yaml

RUN useradd --system --uid 10001 --home-dir /opt/dagster dagster \
    && mkdir -p /opt/dagster/data /opt/dagster/compute-logs \
    && chown -R dagster /opt/dagster/home /opt/dagster/data /opt/dagster/compute-logs
USER dagster
