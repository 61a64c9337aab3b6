# A small image that runs `tweetchat run` as a non-root user, the database on a volume.
#   docker build -t tweetchat-bot .
#   docker run -d --name tweetchat --env-file .env -v tweetchat-data:/data tweetchat-bot
# or, with the restart policy and health check: docker compose up -d (compose.yaml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY data ./data
# The last step builds what the guidance search keeps between starts (the English and
# typo tables, the model's float32 weights) inside the package, read-only at run time.
RUN pip install . \
 && python -c "from pathlib import Path; import bot.guidance as g; g.prepare(Path('/app/data/guidance.toml'))" \
 && useradd --system --uid 10001 --no-create-home --home-dir /app tweetchat \
 && mkdir -p /data \
 && chown tweetchat /data

USER 10001
ENV TWEETCHAT_DATABASE=/data/tweetchat.db \
    TWEETCHAT_DATA_DIR=/app/data
VOLUME ["/data"]
# Healthy when the database is writable and the running bot's heartbeat (written every
# 30 s) says its gateway is connected and its dispatcher alive: `tweetchat health`.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
  CMD ["tweetchat", "health"]
ENTRYPOINT ["tweetchat"]
CMD ["run"]
