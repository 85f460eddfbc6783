# Production image. Not built on the development machines (they have no Docker engine);
# kept simple so that it is correct by reading.

# 1. Front-end assets (Postmonger, SLDS) from npm, installed once in a build stage.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# 2. The Python service.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    ACTIVITY_DATABASE_URL=sqlite:////data/activity.db
RUN useradd --system --create-home --uid 10001 activity \
    && mkdir -p /data && chown activity /data
WORKDIR /app
COPY pyproject.toml README.md config.json ./
COPY activity ./activity
RUN pip install --no-cache-dir .
COPY static ./static
COPY --from=assets /build/node_modules ./node_modules
# The service finds config.json, static/ and node_modules/ beside the installed package's
# source root; run from /app so that the checkout layout holds.
ENV PYTHONPATH=/app
USER activity
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
CMD ["rokt-activity", "serve", "--host", "0.0.0.0", "--port", "8080"]
