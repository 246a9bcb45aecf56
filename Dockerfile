# One image for the api, worker and migrate services; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The quarterly report's PDF: WeasyPrint draws with pango, and Chinese needs a CJK font (else boxes).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home kexiang
WORKDIR /app

# Dependencies get their own layer, listed straight from pyproject.toml, so a source
# change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# The source stays root-owned and read-only to the app; only .data (settings.data_dir) is writable.
RUN pip install --no-deps . \
    && mkdir -p .data \
    && chown kexiang:kexiang .data

USER kexiang
CMD ["python", "worker.py"]
