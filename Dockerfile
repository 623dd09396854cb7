# nwi: the `nwi` CLI and the Kubernetes operator (`nwi operator`, see deploy/).
# Build: docker build -t ghcr.io/nwi/nwi:0.1.0 .
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
# the libyang bindings (nwi.schema) are built here against Debian's libyang2
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libyang2-dev gcc \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY nwi ./nwi
COPY drivers ./drivers
RUN python -m venv /opt/nwi \
 && /opt/nwi/bin/pip install --no-cache-dir --disable-pip-version-check .

FROM python:3.11-slim-bookworm
# the runtime needs no compiler and no shell tools beyond the base image; libyang2 is the C library
# behind nwi.schema's bindings
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libyang2 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/nwi /opt/nwi
ENV PATH=/opt/nwi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NWI_STATE_DIR=/var/lib/nwi
# non-root (matches runAsUser in deploy/deployment.yaml); the root filesystem can be read-only:
# state goes to /var/lib/nwi and temporary files to /tmp, both volumes in the Deployment
RUN mkdir -p /var/lib/nwi && chown 65532:65532 /var/lib/nwi
USER 65532:65532
EXPOSE 8000 8080
ENTRYPOINT ["nwi"]
CMD ["operator"]
