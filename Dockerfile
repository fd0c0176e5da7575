# A small image: slim Python, a non-root user, the database on a volume, migrations then the bot.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/bot.db \
    HEALTH_PORT=8080

RUN useradd --create-home --uid 10001 bot && mkdir /data && chown bot /data
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY cogs ./cogs
COPY roadmaps ./roadmaps
COPY migrations ./migrations
RUN pip install -e '.[postgres]'

USER bot
VOLUME ["/data"]
EXPOSE 8080
# Ready = gateway connected, database answering, schedulers running, no backlog; start-period covers migrations.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["python", "-m", "bot", "health"]
CMD ["sh", "-c", "python -m bot db upgrade && exec python -m bot run"]
