# One image for the code server, the webserver, the daemon and the run containers or pods.
FROM python:3.13.9-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    TZ=UTC

WORKDIR /opt/dagster/app

# s3 for backups to object storage; docker for runs in their own containers
# (docker-compose.runs.yml); build with EXTRAS=s3,k8s for Dagster's Helm chart (deploy/helm/).
ARG EXTRAS=s3,docker

# The dependencies get a layer of their own, installed from the lock before the package is copied:
# a code change rebuilds only the layers below. pip works out which locked pins the project and
# its extras need (a dry run, nothing installed), deploy/image_requirements.py lists them.
COPY pyproject.toml constraints.txt README.md deploy/image_requirements.py ./
RUN mkdir sugars_dagster \
    && pip install --dry-run --quiet --ignore-installed --report /tmp/plan.json -c constraints.txt ".[${EXTRAS}]" \
    && python image_requirements.py /tmp/plan.json > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm -rf sugars_dagster image_requirements.py /tmp/plan.json /tmp/requirements.txt

# The package itself, without touching the dependencies installed above.
COPY sugars_dagster ./sugars_dagster
RUN pip install --no-deps ".[${EXTRAS}]" && pip check

COPY deploy/dagster.yaml workspace.yaml /opt/dagster/home/
COPY deploy/docker-runs/dagster.yaml /opt/dagster/docker-runs/dagster.yaml

RUN useradd --system --uid 10001 --home-dir /opt/dagster dagster \
    && mkdir -p /opt/dagster/data/export /opt/dagster/compute-logs \
    && chown -R dagster /opt/dagster/home /opt/dagster/data /opt/dagster/compute-logs
USER dagster
