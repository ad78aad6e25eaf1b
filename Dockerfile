# The production-like image used by docker-compose.yml (web, worker and beat share it).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --system --uid 10001 --home /app crosscheck
COPY pyproject.toml ./
COPY config ./config
COPY core ./core
COPY privacy ./privacy
COPY audit ./audit
COPY verification ./verification
COPY cases ./cases
COPY templates ./templates
COPY locale ./locale
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && python -m config.translations \
 && DJANGO_SETTINGS_MODULE=config.settings.local python manage.py collectstatic --noinput --verbosity 0
USER crosscheck
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4"]
