# Linli API server: `docker build -t linli .` then
#   docker run -p 8000:8000 -v linli-data:/data -e LINLI_JWT_SECRET=<32+ chars> linli
# The container migrates the database, then serves on port 8000. Other commands
# replace the default one, e.g. `docker run ... linli seed-demo`; `token` needs
# -e LINLI_ENV=dev.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The pinned versions of requirements.lock, without the dev extras.
COPY pyproject.toml requirements.lock ./
COPY service ./service
RUN pip install -c requirements.lock .

# The migrations are found next to the `service` package (service/migrate.py),
# and the installed wheel does not carry them: run the package from /app.
COPY alembic.ini ./
COPY migrations ./migrations
ENV PYTHONPATH=/app

RUN groupadd --system --gid 10001 linli \
    && useradd --system --uid 10001 --gid linli --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin linli \
    && mkdir -p /data \
    && chown linli:linli /data

# A production deployment by default: it refuses to start without a JWT secret or
# key (LINLI_JWT_SECRET, LINLI_JWT_PUBLIC_KEY or LINLI_JWT_JWKS_URL). SQLite on
# the /data volume serves one machine; set LINLI_DATABASE_URL to
# postgresql+psycopg://... for more.
ENV LINLI_ENV=prod \
    LINLI_DATABASE_URL=sqlite:////data/linli.db \
    LINLI_ALLOW_SQLITE_IN_PROD=true
VOLUME /data

USER linli
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["python", "-m", "service"]
CMD ["serve", "--migrate", "--host", "0.0.0.0", "--port", "8000"]
