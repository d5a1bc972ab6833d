# Wharfinger: the token service, API and registry webhook (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WHARFINGER_DATA_DIR=/data WHARFINGER_LISTEN=0.0.0.0:5080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY eventstore ./eventstore
COPY projections ./projections
COPY web ./web
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /data wharfinger \
    && mkdir -p /data/keys && chown -R wharfinger /data

USER wharfinger
VOLUME ["/data"]
EXPOSE 5080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5080/api/v1/_ping', timeout=2)"]
CMD ["wharfinger", "serve"]
