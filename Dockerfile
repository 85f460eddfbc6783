# Production image. Not built on the development machines (they have no Docker engine); the
# wheel it installs is built and inspected by tests/test_packaging.py, which needs no engine.

# 1. Postmonger and SLDS from npm, installed once in a build stage.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# 2. The wheel: setup.py copies static/, config.json and the npm files the pages load into the
#    package, so the installed service needs nothing beside it.
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml setup.py README.md config.json ./
COPY static ./static
COPY activity ./activity
COPY --from=assets /build/node_modules ./node_modules
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# 3. The service: the wheel and its dependencies, no source tree, no PYTHONPATH.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ACTIVITY_DATABASE_URL=sqlite:////data/activity.db
RUN useradd --system --create-home --uid 10001 activity \
    && mkdir -p /data && chown activity /data
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER activity
WORKDIR /home/activity
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["rokt-activity", "serve", "--host", "0.0.0.0", "--port", "8080"]
